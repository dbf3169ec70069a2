"""Written Dafny types -> the canonical types the converters understand (see `convert.py`).

Synonyms are expanded, datatypes and subset/newtypes get a key (`Module.Name`), type parameters become
`("tvar", name)`, and what Python cannot carry (functions, classes, iset/imap, ...) becomes
`("unsupported", text)`.
"""

from __future__ import annotations

import re

from backends.dafny.pybuild.dtypes import Type, show
from backends.dafny.pybuild.interface import Interface

_BV = re.compile(r"bv(0|[1-9]\d*)")
_SCALAR = {"int": ("int",), "nat": ("nat",), "bool": ("bool",), "char": ("char",), "real": ("real",),
           "ORDINAL": ("ordinal",)}


def key(module: tuple[str, ...], name: str) -> str:
    return ".".join((*module, name))


def resolve(t: Type, api: Interface, module: tuple[str, ...], tvars: frozenset[str] = frozenset(),
            _depth: int = 0) -> tuple:
    if _depth > 40:
        return ("unsupported", show(t))
    name, args = t[0], t[1:]
    r = lambda a: resolve(a, api, module, tvars, _depth + 1)
    if name in tvars and not args:
        return ("tvar", name)
    if name in _SCALAR and not args:
        return _SCALAR[name]
    if _BV.fullmatch(name):
        return ("bv", int(name[2:]))
    if name in ("seq", "set", "multiset", "array", "array2") and not args:  # `a: array`: element type inferred
        return (name, ("any",))
    if name == "map" and not args:
        return ("map", ("any",), ("any",))
    if name in ("seq", "set", "multiset") and len(args) == 1:
        return (name, r(args[0]))
    if name == "map" and len(args) == 2:
        return ("map", r(args[0]), r(args[1]))
    if name == "tuple":
        return ("tuple", *(r(a) for a in args))
    if name in ("array", "array2") and len(args) == 1:
        return (name, r(args[0]))
    dt = api.datatype(module, name)
    if dt is not None:
        return ("dt", key(dt.module, dt.name), *(r(a) for a in args))
    nt = api.named_type(module, name)
    if nt is not None and nt.base is not None:
        if nt.kind == "synonym":
            return resolve(_subst(nt.base, dict(zip(nt.type_params, args))), api, nt.module, tvars, _depth + 1)
        if nt.type_params:
            return ("unsupported", show(t))
        base = resolve(nt.base, api, nt.module, frozenset(), _depth + 1)
        return ("sub", key(nt.module, nt.name), base)
    return ("unsupported", show(t))


def _subst(t: Type, env: dict) -> Type:
    if not t[1:] and t[0] in env:
        return env[t[0]]
    return (t[0], *(_subst(a, env) for a in t[1:]))


def pyhint(t: tuple) -> str:
    """The Python type a canonical type maps to, for docstrings and the README (`pytypes.annotation` writes the
    annotations themselves)."""
    k = t[0]
    if t == ("seq", ("char",)) or k == "char":
        return "str"
    return {
        "int": "int", "nat": "int", "bv": "int", "ordinal": "int", "bool": "bool", "real": "Fraction",
    }.get(k) or {
        "seq": lambda: f"list[{pyhint(t[1])}]", "array": lambda: f"list[{pyhint(t[1])}]",
        "array2": lambda: f"list[list[{pyhint(t[1])}]]", "set": lambda: f"set[{pyhint(t[1])}]",
        "multiset": lambda: f"Counter[{pyhint(t[1])}]", "map": lambda: f"dict[{pyhint(t[1])}, {pyhint(t[2])}]",
        "tuple": lambda: "tuple[" + ", ".join(pyhint(a) for a in t[1:]) + "]",
        "dt": lambda: t[1].split(".")[-1] + (f"[{', '.join(pyhint(a) for a in t[2:])}]" if t[2:] else ""),
        "sub": lambda: f"{pyhint(t[2])} ({t[1].split('.')[-1]})", "tvar": lambda: str(t[1]),
    }.get(k, lambda: "object")()


def uses(t: tuple, kind: str) -> bool:
    if t[0] == kind:
        return True
    return any(isinstance(a, tuple) and uses(a, kind) for a in t[1:])
