"""Plain Python values <-> Dafny's compiled Python values, by Dafny type; boundary checks.

This file is copied verbatim into every built package (as `_qed.py`): it imports nothing from qed, only the
package's own vendored Dafny runtime, which the package hands over with `Registry(runtime)`.

Types are the canonical tuples of `backends.dafny.pybuild.resolve`:
  ("int",) ("nat",) ("bool",) ("char",) ("real",) ("bv", n) ("seq", T) ("set", T) ("multiset", T)
  ("map", K, V) ("tuple", T...) ("array", T) ("array2", T) ("dt", key, T...) ("sub", key, base) ("tvar", name)
  ("any",) ("unsupported", text)
where `("seq", ("char",))` is a Dafny string (a Python str).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from fractions import Fraction
from typing import Any, Callable, Iterator, Optional

#: A canonical Dafny type: a tuple of strings, ints and nested types (see the module docstring).
DType = tuple[Any, ...]
#: One constructor field as the registry keeps it: (Python field name, attribute in Dafny's class, type).
Field = tuple[str, str, DType]


class ContractViolation(ValueError):
    """A call broke the contract the verified code relies on: a `requires` clause, a parameter's type or a
    subset type (such as nat). Raised before any compiled code runs. `clause` is the Dafny text."""

    def __init__(self, message: str, *, member: Optional[str] = None, clause: Optional[str] = None) -> None:
        super().__init__(message)
        self.member, self.clause = member, clause


class ContractTypeError(ContractViolation, TypeError):
    """An argument is not a value of the parameter's Dafny type."""


class ProgramHalted(RuntimeError):
    """The compiled program halted (a failing `expect`); Dafny prints `[Program halted] ...` for this."""


def _short(v: object, limit: int = 80) -> str:
    r = repr(v)
    return r if len(r) <= limit else r[:limit - 3] + "..."


def show(t: DType) -> str:
    """Dafny spelling of a canonical type (for messages)."""
    name, args = t[0], t[1:]
    if t == ("seq", ("char",)):
        return "string"
    if name == "tuple":
        return "(" + ", ".join(show(a) for a in args) + ")"
    if name in ("dt", "sub"):
        key = str(args[0])
        targs = args[1:] if name == "dt" else ()
        return key + ("<" + ", ".join(show(a) for a in targs) + ">" if targs else "")
    if name == "bv":
        return f"bv{args[0]}"
    if name in ("tvar", "unsupported"):
        return str(args[0])
    return str(name) + ("<" + ", ".join(show(a) for a in args) + ">" if args else "")


# ------------------------------------------------------------------------------------------- datatypes


class DatatypeValue:
    """Base of the classes of datatype constructors, which are frozen dataclasses generated with `eq=False`:
    equality and hashing by value are defined here, so that a value holding lists, sets or dicts (a Dafny seq,
    set or map field) is still hashable, as Dafny values are."""

    __slots__ = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, DatatypeValue)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *(_hashable(v) for v in self._values())))

    def __copy__(self) -> DatatypeValue:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> DatatypeValue:
        return self  # immutable; fields hold plain values that are never mutated through it

    def __reduce__(self) -> tuple[type[DatatypeValue], tuple[Any, ...]]:
        return (type(self), self._values())

    def __iter__(self) -> Iterator[Any]:  # tuple-like unpacking: x, y = point
        return iter(self._values())


def _hashable(v: Any) -> object:
    if _is_instance(v, list):
        return tuple(_hashable(x) for x in v)
    if _is_instance(v, dict):
        return tuple(sorted(((_hashable(k), _hashable(x)) for k, x in v.items()), key=repr))
    if _is_instance(v, set):
        return frozenset(v)
    return v


# ------------------------------------------------------------------------------------------- registry


class Registry:
    """Everything the converters need about one package: its runtime, datatypes and subset-type checks.

    Dafny's runtime and generated code are untyped, so their values are `Any` here."""

    def __init__(self, runtime: Any) -> None:
        self.rt = runtime
        #: key -> {"base": class, "tparams": names, "ctors": [{"plain": class, "gen": class, "fields": (Field...)}]}
        self.datatypes: dict[str, dict[str, Any]] = {}
        self.by_gen_class: dict[Any, tuple[str, dict[str, Any]]] = {}
        #: key -> (type name, base type, compiled constraint check or None, constraint text)
        self.checks: dict[str, tuple[str, DType, Optional[Callable[[Any], Any]], str]] = {}

    def add_datatype(self, key: str, base: type, tparams: tuple[str, ...],
                     ctors: list[tuple[type, Any, tuple[Field, ...]]]) -> None:
        """ctors: (plain class, Dafny's class, ((plain field, Dafny's attribute, type), ...))."""
        info: dict[str, Any] = {"base": base, "tparams": tuple(tparams), "ctors": []}
        for plain, gen, fields in ctors:
            c: dict[str, Any] = {"plain": plain, "gen": gen, "fields": tuple(fields)}
            info["ctors"].append(c)
            self.by_gen_class[gen] = (key, c)
        self.datatypes[key] = info

    def add_check(self, key: str, name: str, base: DType, fn: Optional[Callable[[Any], Any]],
                  constraint: str) -> None:
        self.checks[key] = (name, base, fn, constraint)

    # ---- plain -> Dafny
    def to_dafny(self, v: Any, t: DType, where: str) -> Any:
        rt = self.rt
        k = t[0]
        if k in ("int", "ordinal"):
            if isinstance(v, bool) or not isinstance(v, int):
                raise self._type_error(v, t, where)
            return v
        if k == "nat":
            if isinstance(v, bool) or not isinstance(v, int):
                raise self._type_error(v, t, where)
            if v < 0:
                raise ContractViolation(f"{where}: {v} is not a nat (nat requires 0 <= x)", clause="0 <= x")
            return v
        if k == "bv":
            if isinstance(v, bool) or not isinstance(v, int):
                raise self._type_error(v, t, where)
            if not 0 <= v < 2 ** t[1]:
                raise ContractViolation(f"{where}: {v} is not a bv{t[1]} (0 <= x < 2^{t[1]})")
            return v
        if k == "bool":
            if not isinstance(v, bool):
                raise self._type_error(v, t, where)
            return v
        if k == "char":
            if not isinstance(v, str) or len(v) != 1:
                raise self._type_error(v, t, where, "a one-character str")
            if 0xD800 <= ord(v) <= 0xDFFF:
                raise ContractViolation(f"{where}: {v!r} is a surrogate, not a Dafny char")
            return rt.CodePoint(v)
        if k == "real":
            if isinstance(v, bool) or not isinstance(v, (int, Fraction)):
                raise self._type_error(v, t, where, "an int or fractions.Fraction")
            return rt.BigRational(v)
        if k == "seq":
            if t[1] == ("char",):
                if not isinstance(v, str):
                    raise self._type_error(v, t, where, "a str")
                for c in v:
                    if 0xD800 <= ord(c) <= 0xDFFF:
                        raise ContractViolation(f"{where}: the string holds a surrogate, not a Dafny char")
                return rt.SeqWithoutIsStrInference(map(rt.CodePoint, v))
            if not _is_list(v):
                raise self._type_error(v, t, where, "a list")
            return rt.SeqWithoutIsStrInference([self.to_dafny(x, t[1], f"{where}[{i}]") for i, x in enumerate(v)])
        if k == "array":
            if not _is_list(v):
                raise self._type_error(v, t, where, "a list")
            arr = rt.Array(None, len(v))
            for i, x in enumerate(v):
                arr[i] = self.to_dafny(x, t[1], f"{where}[{i}]")
            return arr
        if k == "array2":
            if not _is_list(v) or not all(_is_list(r) for r in v):
                raise self._type_error(v, t, where, "a list of lists")
            rows: list[Any] = list(v)
            n1 = len(rows[0]) if rows else 0
            if any(len(r) != n1 for r in rows):
                raise ContractViolation(f"{where}: rows of a 2-D array must have the same length")
            arr = rt.Array(None, len(rows), n1)
            for i, row in enumerate(rows):
                for j, x in enumerate(row):
                    arr[i, j] = self.to_dafny(x, t[1], f"{where}[{i}][{j}]")
            return arr
        if k == "set":
            if not _is_instance(v, (set, frozenset)):
                raise self._type_error(v, t, where, "a set")
            return rt.Set(frozenset(self.to_dafny(x, t[1], f"{where} element") for x in v))
        if k == "multiset":
            if _is_instance(v, dict):  # Counter or any mapping element -> count
                counts: Counter[Any] = Counter()
                for x, n in v.items():
                    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                        raise ContractViolation(f"{where}: multiplicity of {_short(x)} must be an int >= 0")
                    if n:
                        counts[self.to_dafny(x, t[1], f"{where} element")] += n
                return rt.MultiSet(counts)
            if _is_list(v):
                return rt.MultiSet([self.to_dafny(x, t[1], f"{where} element") for x in v])
            raise self._type_error(v, t, where, "a collections.Counter (or a list of elements)")
        if k == "map":
            if not _is_instance(v, dict):
                raise self._type_error(v, t, where, "a dict")
            return rt.Map({self.to_dafny(a, t[1], f"{where} key"): self.to_dafny(b, t[2], f"{where}[{_short(a)}]")
                           for a, b in v.items()})
        if k == "tuple":
            n = len(t) - 1
            if not _is_instance(v, tuple) or len(v) != n:
                raise self._type_error(v, t, where, f"a tuple of {n}")
            return tuple(self.to_dafny(x, tt, f"{where}[{i}]") for i, (x, tt) in enumerate(zip(v, t[1:])))
        if k == "dt":
            info = self.datatypes.get(t[1])
            if info is None:
                raise ContractTypeError(f"{where}: datatype {t[1]} is not available from Python")
            for c in info["ctors"]:
                if type(v) is c["plain"]:
                    env = dict(zip(info["tparams"], t[2:]))
                    args = [self.to_dafny(getattr(v, pf), _subst(ft, env), f"{where}.{pf}")
                            for pf, _, ft in c["fields"]]
                    return c["gen"](*args)
            names = ", ".join(c["plain"].__name__ for c in info["ctors"])
            raise self._type_error(v, t, where, f"a {t[1]} value ({names})")
        if k == "sub":
            name, base, fn, constraint = self.checks[t[1]]
            d = self.to_dafny(v, base, where)
            if fn is not None and not fn(d):
                raise ContractViolation(f"{where}: {_short(v)} is not a {name} ({constraint})", clause=constraint)
            return d
        if k in ("any", "tvar"):
            return self.to_dafny_dyn(v, where)
        raise ContractTypeError(f"{where}: values of Dafny type {show(t)} cannot be passed from Python")

    def to_dafny_dyn(self, v: Any, where: str) -> Any:
        """No static type (a type parameter): convert by the value's own Python type."""
        rt = self.rt
        if isinstance(v, (bool, int)):
            return v
        if isinstance(v, Fraction):
            return rt.BigRational(v)
        if isinstance(v, str):
            return rt.SeqWithoutIsStrInference(map(rt.CodePoint, v))
        if _is_list(v):
            items = [self.to_dafny_dyn(x, where) for x in v]
            return tuple(items) if isinstance(v, tuple) else rt.SeqWithoutIsStrInference(items)
        if _is_instance(v, Counter):
            bag: Counter[Any] = Counter({self.to_dafny_dyn(x, where): n for x, n in v.items()})
            return rt.MultiSet(list(bag.elements()))
        if _is_instance(v, (set, frozenset)):
            return rt.Set(frozenset(self.to_dafny_dyn(x, where) for x in v))
        if _is_instance(v, dict):
            return rt.Map({self.to_dafny_dyn(a, where): self.to_dafny_dyn(b, where) for a, b in v.items()})
        if isinstance(v, DatatypeValue):
            for info in self.datatypes.values():
                for c in info["ctors"]:
                    if type(v) is c["plain"]:
                        return c["gen"](*[self.to_dafny_dyn(getattr(v, pf), where) for pf, _, _ in c["fields"]])
        raise ContractTypeError(f"{where}: cannot pass {_short(v)} to a generic Dafny parameter")

    def _type_error(self, v: object, t: DType, where: str, want: Optional[str] = None) -> ContractTypeError:
        return ContractTypeError(f"{where}: expected {want or 'a ' + show(t)} for Dafny type {show(t)}, "
                                 f"got {type(v).__name__} {_short(v)}")

    # ---- Dafny -> plain
    def from_dafny(self, v: Any, t: DType, hashable: bool = False) -> Any:
        k = t[0]
        if k in ("int", "nat", "bv", "ordinal", "bool"):
            return v
        if k == "char":
            return str(v)
        if k == "real":
            return Fraction(v.numerator, v.denominator)
        if k == "seq":
            if t[1] == ("char",):
                return "".join(str(c) for c in v.Elements)
            items = [self.from_dafny(x, t[1], hashable) for x in v.Elements]
            return tuple(items) if hashable else items
        if k == "array":
            items = [self.from_dafny(v[i], t[1], hashable) for i in range(v.length(0))]
            return tuple(items) if hashable else items
        if k == "array2":
            rows = [[self.from_dafny(v[i, j], t[1], hashable) for j in range(v.length(1))]
                    for i in range(v.length(0))]
            return tuple(tuple(r) for r in rows) if hashable else rows
        if k == "set":
            s = {self.from_dafny(x, t[1], True) for x in v}
            return frozenset(s) if hashable else s
        if k == "multiset":
            bag: Counter[Any] = Counter()
            for x, n in _entries(v):
                if n > 0:
                    bag[self.from_dafny(x, t[1], True)] += n
            return bag
        if k == "map":
            return {self.from_dafny(a, t[1], True): self.from_dafny(b, t[2], hashable) for a, b in _entries(v)}
        if k == "tuple":
            return tuple(self.from_dafny(x, tt, hashable) for x, tt in zip(v, t[1:]))
        if k == "dt":
            hit = self.by_gen_class.get(type(v))
            if hit is None:
                return self.from_dafny_dyn(v, hashable)
            key, c = hit
            env = dict(zip(self.datatypes[key]["tparams"], t[2:]))
            return c["plain"](*[self.from_dafny(getattr(v, ga), _subst(ft, env)) for _, ga, ft in c["fields"]])
        if k == "sub":
            return self.from_dafny(v, self.checks[t[1]][1], hashable)
        return self.from_dafny_dyn(v, hashable)

    def from_dafny_dyn(self, v: Any, hashable: bool = False) -> Any:
        rt = self.rt
        if isinstance(v, rt.CodePoint):
            return str(v)
        if isinstance(v, rt.BigRational):
            return Fraction(v.numerator, v.denominator)
        if isinstance(v, (bool, int)):
            return v
        if isinstance(v, rt.Seq):
            el = v.Elements
            if el and all(isinstance(x, rt.CodePoint) for x in el):
                return "".join(str(x) for x in el)
            items = [self.from_dafny_dyn(x, hashable) for x in el]
            return tuple(items) if hashable else items
        if isinstance(v, rt.MultiSet):
            return Counter({self.from_dafny_dyn(x, True): n for x, n in _entries(v) if n > 0})
        if isinstance(v, rt.Map):
            return {self.from_dafny_dyn(a, True): self.from_dafny_dyn(b, hashable) for a, b in _entries(v)}
        if _is_instance(v, frozenset):
            s = {self.from_dafny_dyn(x, True) for x in v}
            return frozenset(s) if hashable else s
        if isinstance(v, rt.Array):
            return [self.from_dafny_dyn(v[i], hashable) for i in range(v.length(0))]
        hit = self.by_gen_class.get(type(v))
        if hit is not None:
            _, c = hit
            return c["plain"](*[self.from_dafny_dyn(getattr(v, ga)) for _, ga, _ in c["fields"]])
        if _is_instance(v, tuple):
            return tuple(self.from_dafny_dyn(x, hashable) for x in v)
        return v

    def mutable(self, v: object, where: str) -> None:
        """A modified array must come as a list: its new contents are written back into it."""
        if not isinstance(v, list):
            raise ContractTypeError(f"{where}: the method modifies this array, so pass a list (got "
                                    f"{type(v).__name__}); its new contents are written back into it")

    def write_back(self, target: object, arr: Any, t: DType) -> None:
        """Put the contents of Dafny array `arr` back into the caller's list (same object)."""
        if isinstance(target, list):
            target[:] = self.from_dafny(arr, t)


def _is_instance(v: Any, types: type | tuple[type, ...]) -> bool:
    """isinstance() that leaves `v` typed `Any` (isinstance would narrow it to list[Unknown] and the like)."""
    return isinstance(v, types)


def _is_list(v: Any) -> bool:
    """A list or tuple that is not a datatype value (a Dafny seq or array from Python)."""
    return isinstance(v, (list, tuple)) and not isinstance(v, DatatypeValue)


def _entries(v: Any) -> list[tuple[Any, Any]]:
    """The (key, value) pairs of the runtime's Map or MultiSet (both override items() with a property)."""
    return list(dict.items(v))  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType]


def _subst(t: DType, env: dict[str, DType]) -> DType:
    if not env:
        return t
    if t[0] == "tvar":
        return env.get(t[1], ("any",))
    if t[0] in ("sub", "unsupported", "bv"):
        return t
    if t[0] == "dt":
        return (t[0], t[1], *(_subst(a, env) for a in t[2:]))
    return (t[0], *(_subst(a, env) for a in t[1:]))


def require(ok: object, member: str, clause: str, args: dict[str, object]) -> None:
    """Raise ContractViolation quoting `clause` unless the compiled check said True."""
    if ok is not True:
        shown = ", ".join(f"{k}={_short(v, 60)}" for k, v in args.items())
        raise ContractViolation(f"{member}: precondition `requires {clause}` does not hold for {shown}",
                                member=member, clause=clause)
