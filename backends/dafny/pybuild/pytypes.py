"""PEP 484 annotations for canonical Dafny types: the signatures of a built package.

Each annotation says what the converters in `convert.py` return for that type (and take, for parameters):
`int` for int, nat, bounded ints and subset types of int, `str` for char and string, `Fraction` for real,
`list` for seq and arrays, `tuple`/`frozenset` where a value must be hashable (inside sets, map keys and
multisets), `set`, `dict`, `Counter`, the datatype classes (generic ones with their type arguments), and
`Any` for a type parameter of a function (such values are converted by their runtime shape).

A generated module may define names of its own that shadow the ones an annotation needs (a Dafny function
called `list` or `Counter`); `Spelling` then reaches them through a private module alias instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backends.dafny.pybuild.dtypes import Type

BUILTINS = frozenset({"bool", "dict", "frozenset", "int", "list", "set", "str", "tuple", "type"})
_HOMES = {"Any": "typing", "ClassVar": "typing", "Generic": "typing", "Optional": "typing", "TypeVar": "typing",
          "Counter": "collections", "Fraction": "fractions"}


@dataclass(frozen=True)
class DatatypeRef:
    """Where the class of a datatype lives: its Dafny module, its Python name, its number of type parameters."""

    module: tuple[str, ...]
    name: str
    arity: int


def module_alias(module: tuple[str, ...]) -> str:
    """The private name under which a generated module imports another one (for its datatype classes)."""
    return "_m_" + "_".join(module) if module else "_m_root"


@dataclass
class Spelling:
    """How one generated module spells names in annotations, and the imports that this takes."""

    pkg: str
    module: tuple[str, ...]
    taken: frozenset[str]  # names the module defines itself (functions, classes, constants, fields, children)
    datatypes: dict[str, DatatypeRef]
    used: set[str] = field(default_factory=set)  # typing/collections/fractions names imported plainly
    aliases: dict[str, str] = field(default_factory=dict)  # private alias -> module imported under it

    def name(self, n: str) -> str:
        """A builtin, typing, collections or fractions name, as this module can write it."""
        home = "builtins" if n in BUILTINS else _HOMES[n]
        if n not in self.taken:
            if home != "builtins":
                self.used.add(n)
            return n
        self.aliases[f"_{home}"] = home
        return f"_{home}.{n}"

    def datatype(self, key: str) -> DatatypeRef | None:
        return self.datatypes.get(key)

    def datatype_class(self, ref: DatatypeRef) -> str:
        if ref.module == self.module:
            return ref.name
        alias = module_alias(ref.module)
        self.aliases[alias] = ".".join((self.pkg, *ref.module))
        return f"{alias}.{ref.name}"

    def imports(self) -> list[str]:
        """Import lines for what the annotations used (sorted; the plain ones first)."""
        lines = []
        for home in ("collections", "fractions", "typing"):
            names = sorted(n for n in self.used if _HOMES[n] == home)
            if names:
                lines.append(f"from {home} import {', '.join(names)}")
        lines += [f"import {mod} as {alias}" for alias, mod in sorted(self.aliases.items())]
        return lines


def annotation(t: tuple, sp: Spelling, tvars: dict[str, str] | None = None, hashable: bool = False) -> str:
    """The annotation of canonical type `t`. `tvars` maps the type parameters of a datatype class to its
    TypeVars (a function's type parameters are `Any`); `hashable` is True inside sets, map keys and multisets,
    where the converters give tuples and frozensets."""
    k = t[0]
    a = lambda u, h=hashable: annotation(u, sp, tvars, h)  # noqa: E731
    if k in ("int", "nat", "bv", "ordinal"):
        return sp.name("int")
    if k == "bool":
        return sp.name("bool")
    if k == "char" or t == ("seq", ("char",)):
        return sp.name("str")
    if k == "real":
        return sp.name("Fraction")
    if k in ("seq", "array"):
        return f"{sp.name('tuple')}[{a(t[1])}, ...]" if hashable else f"{sp.name('list')}[{a(t[1])}]"
    if k == "array2":
        if hashable:
            return f"{sp.name('tuple')}[{sp.name('tuple')}[{a(t[1])}, ...], ...]"
        return f"{sp.name('list')}[{sp.name('list')}[{a(t[1])}]]"
    if k == "set":
        return f"{sp.name('frozenset' if hashable else 'set')}[{a(t[1], True)}]"
    if k == "multiset":
        return f"{sp.name('Counter')}[{a(t[1], True)}]"
    if k == "map":
        return f"{sp.name('dict')}[{a(t[1], True)}, {a(t[2])}]"
    if k == "tuple":
        return f"{sp.name('tuple')}[{', '.join(a(u) for u in t[1:]) or '()'}]"
    if k == "dt":
        ref = sp.datatype(t[1])
        if ref is None:
            return sp.name("Any")
        cls = sp.datatype_class(ref)
        if not ref.arity:
            return cls
        args = [annotation(u, sp, tvars, False) for u in t[2:2 + ref.arity]]  # fields are never hashable forms
        args += [sp.name("Any")] * (ref.arity - len(args))
        return f"{cls}[{', '.join(args)}]"
    if k == "sub":
        return a(t[2])
    if k == "tvar" and tvars and t[1] in tvars:
        return tvars[t[1]]
    return sp.name("Any")


def returns(outs: list[Type], sp: Spelling) -> str:
    """A wrapper's return annotation: None, the one result, or a tuple of the results."""
    if not outs:
        return "None"
    if len(outs) == 1:
        return annotation(outs[0], sp)
    return f"{sp.name('tuple')}[{', '.join(annotation(t, sp) for t in outs)}]"
