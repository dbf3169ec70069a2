"""What a verified artifact offers to Python: its compiled top-level members, datatypes and named types.

Read from the declaration outline (`backends.dafny.syntax`): signatures are parsed here, clause texts are kept
exactly as written. Only what Dafny compiles is offered: ghost members, lemmas, classes, traits and iterators
are skipped (and listed in `Interface.skipped`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backends.dafny.pybuild.dtypes import Param, Type, TypeSyntaxError, _Cursor, parse_params, parse_type
from backends.dafny.syntax import IDENT, KEYWORD, NUMBER, OP, Decl, Token, outline


@dataclass
class Member:
    name: str
    module: tuple[str, ...]  # () for the default module
    kind: str  # method | function | predicate
    params: list[Param]
    outs: list[Param]  # method outs; for a function its result (named or `_result`)
    requires: list[str]
    ensures: list[str]
    modifies: list[str]  # parameter names the method may modify
    type_params: list[str] = field(default_factory=list)
    result_named: bool = True  # functions: does the result have a name?
    line: int = 0
    reads: list[str] = field(default_factory=list)
    tparams_text: str = ""  # `<T(==)>` as written, or ""

    @property
    def qualified(self) -> str:
        return ".".join((*self.module, self.name))


@dataclass
class Ctor:
    name: str
    fields: list[Param]


@dataclass
class Datatype:
    name: str
    module: tuple[str, ...]
    type_params: list[str]
    ctors: list[Ctor]
    co: bool = False


@dataclass
class NamedType:
    """`type N = T` (synonym), `type N = x: T | P` (subset) or `newtype N = x: T | P`."""

    name: str
    module: tuple[str, ...]
    kind: str  # synonym | subset | newtype | opaque
    base: Type | None
    var: str | None = None
    constraint: str | None = None
    type_params: list[str] = field(default_factory=list)


@dataclass
class Const:
    name: str
    module: tuple[str, ...]
    type: Type | None


@dataclass
class Interface:
    members: list[Member] = field(default_factory=list)
    datatypes: list[Datatype] = field(default_factory=list)
    types: list[NamedType] = field(default_factory=list)
    consts: list[Const] = field(default_factory=list)
    modules: list[tuple[str, ...]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    module_spans: dict[tuple[str, ...], int] = field(default_factory=dict)  # offset where to insert helpers

    def datatype(self, module: tuple[str, ...], name: str) -> Datatype | None:
        return _lookup(self.datatypes, module, name)

    def named_type(self, module: tuple[str, ...], name: str) -> NamedType | None:
        return _lookup(self.types, module, name)


def _lookup(items, module: tuple[str, ...], name: str):
    parts = tuple(name.split("."))
    if len(parts) > 1:  # qualified: relative to this module, then absolute
        for base in (module, ()):
            want = (*base, *parts[:-1])
            for it in items:
                if it.module == want and it.name == parts[-1]:
                    return it
    for it in items:
        if it.module == module and it.name == parts[-1]:
            return it
    found = [it for it in items if it.name == parts[-1]]
    return found[0] if len(found) == 1 else None


def _text(src: str, toks: list[Token]) -> str:
    if not toks:
        return ""
    return src[toks[0].offset:toks[-1].end]


def _group(toks: list[Token], i: int) -> int:
    """Index of the bracket closing the one at `i`."""
    opening = toks[i].text
    closing = {"(": ")", "<": ">", "[": "]", "{": "}"}[opening]
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j]
        if t.kind == OP and t.text == opening:
            depth += 1
        elif t.kind == OP and t.text == closing:
            depth -= 1
            if depth == 0:
                return j
    raise TypeSyntaxError(f"unbalanced {opening!r}")


def _type_params(toks: list[Token], i: int) -> tuple[list[str], int]:
    if i < len(toks) and toks[i].kind == OP and toks[i].text == "<":
        j = _group(toks, i)
        names, depth = [], 0
        for t in toks[i + 1:j]:
            if t.kind == OP and t.text == "(":
                depth += 1
            elif t.kind == OP and t.text == ")":
                depth -= 1
            elif depth == 0 and t.kind == IDENT:
                names.append(t.text)
        return names, j + 1
    return [], i


def _callable(d: Decl, src: str, module: tuple[str, ...]) -> Member:
    sig = d.signature
    tparams, i = _type_params(sig, 0)
    if i >= len(sig) or sig[i].text != "(":
        raise TypeSyntaxError("no parameter list")
    j = _group(sig, i)
    params = parse_params(sig[i + 1:j])
    outs: list[Param] = []
    k = j + 1
    result_named = True
    if d.kind == "method":
        if k < len(sig) and sig[k].text == "returns":
            a = k + 1
            b = _group(sig, a)
            outs = parse_params(sig[a + 1:b])
    else:
        if k < len(sig) and sig[k].text == ":":
            rest = sig[k + 1:]
            cur = _Cursor(rest)
            if rest and rest[0].text == "(" and len(rest) > 2 and rest[1].kind in (IDENT, KEYWORD) \
                    and rest[2].text == ":":
                b = _group(rest, 0)
                outs = parse_params(rest[1:b])
            else:
                outs = [Param("_result", parse_type(cur), False, _text(src, rest))]
                result_named = False
        elif d.kind == "predicate":
            outs = [Param("_result", ("bool",), False, "bool")]
            result_named = False
        if d.kind == "predicate" and not outs:
            outs = [Param("_result", ("bool",), False, "bool")]
    req = [_text(src, c.tokens) for c in d.clauses if c.keyword == "requires"]
    ens = [_text(src, c.tokens) for c in d.clauses if c.keyword == "ensures"]
    names = {p.name for p in params}
    modifies: list[str] = []
    reads: list[str] = []
    for c in d.clauses:
        if c.keyword in ("modifies", "reads"):
            target = modifies if c.keyword == "modifies" else reads
            for t in c.tokens:
                if t.kind == IDENT and t.text in names and t.text not in target:
                    target.append(t.text)
    kind = "predicate" if d.kind == "predicate" else d.kind
    tptext = _text(src, sig[:i]) if tparams else ""
    return Member(d.name, module, kind, params, outs, req, ens, modifies, tparams, result_named, d.start_line,
                  reads, tptext)


def _fields(toks: list[Token]) -> list[Param]:
    """Constructor formals: `name: T` or just `T` (unnamed, called `#i` by Dafny)."""
    out: list[Param] = []
    cur = _Cursor(toks)
    n = 0
    while cur.peek() is not None:
        ghost = False
        while cur.peek() is not None and cur.peek().text in ("ghost", "nameonly"):
            ghost = ghost or cur.peek().text == "ghost"
            cur.i += 1
        t0, t1 = cur.peek(), cur.peek(1)
        if t0 is not None and t0.kind in (IDENT, NUMBER) and t1 is not None and t1.text == ":":
            name = t0.text
            cur.i += 2
        else:
            name = f"#{n}"
        start = cur.i
        typ = parse_type(cur)
        out.append(Param(name, typ, ghost, " ".join(t.text for t in toks[start:cur.i])))
        n += 1
        if cur.at(","):
            cur.i += 1
    return out


def _named_type(d: Decl, src: str, module: tuple[str, ...]) -> NamedType:
    sig = d.signature
    i = 0
    while i < len(sig) and sig[i].text == "(":
        i = _group(sig, i) + 1
    tparams, i = _type_params(sig, i)
    if i >= len(sig) or sig[i].text != "=":
        return NamedType(d.name, module, "opaque", None, type_params=tparams)
    i += 1
    if i < len(sig) and sig[i].text == "...":
        i += 1
    rest = sig[i:]
    kw = "newtype" if d.kind == "newtype" else "subset"
    if len(rest) >= 2 and rest[0].kind == IDENT and rest[1].text in (":", "|"):
        var = rest[0].text
        cur = _Cursor(rest)
        cur.i = 1
        base: Type = ("int",)
        if cur.at(":"):
            cur.i += 1
            base = parse_type(cur)
        constraint = None
        if cur.at("|"):
            constraint = _text(src, rest[cur.i + 1:])
        return NamedType(d.name, module, kw, base, var, constraint, tparams)
    cur = _Cursor(rest)
    base = parse_type(cur)
    return NamedType(d.name, module, "synonym" if d.kind == "type" else "newtype", base, None, None, tparams)


def read_interface(src: str) -> Interface:
    ol = outline(src)
    api = Interface()
    api.modules.append(())
    api.module_spans[()] = len(src)

    def visit(decls: list[Decl], module: tuple[str, ...]) -> None:
        for d in decls:
            q = ".".join((*module, d.name))
            if d.kind == "module":
                if "abstract" in d.modifiers or d.refines:
                    api.skipped.append(f"module {q} (abstract or refining modules are not compiled here)")
                    continue
                sub = (*module, *d.name.split("."))
                api.modules.append(sub)
                if d.body:
                    api.module_spans[sub] = ol.tokens[d.body[1] - 1].offset  # the closing brace
                visit(d.children, sub)
            elif d.kind in ("method", "function", "predicate"):
                if "ghost" in d.modifiers or set(d.modifiers) & {"least", "greatest", "twostate"}:
                    continue
                try:
                    api.members.append(_callable(d, src, module))
                except TypeSyntaxError as e:
                    api.skipped.append(f"{d.kind} {q}: signature not understood ({e})")
            elif d.kind in ("datatype", "codatatype"):
                try:
                    tparams, _ = _type_params(d.signature, 0)
                    ctors = [Ctor(c.name, _fields(c.signature[1:-1]) if c.signature else [])
                             for c in d.children if c.kind == "ctor"]
                    api.datatypes.append(Datatype(d.name, module, tparams, ctors, d.kind == "codatatype"))
                except TypeSyntaxError as e:
                    api.skipped.append(f"datatype {q}: not understood ({e})")
                for c in d.children:
                    if c.kind in ("method", "function", "predicate", "const"):
                        api.skipped.append(f"{c.kind} {q}.{c.name} (datatype members are not wrapped)")
            elif d.kind in ("type", "newtype"):
                try:
                    api.types.append(_named_type(d, src, module))
                except TypeSyntaxError as e:
                    api.skipped.append(f"type {q}: not understood ({e})")
            elif d.kind == "const":
                if "ghost" in d.modifiers:
                    continue
                typ = None
                sig = d.signature
                if len(sig) >= 3 and sig[1].text == ":":
                    try:
                        typ = parse_type(_Cursor(sig[2:]))
                    except TypeSyntaxError:
                        typ = None
                api.consts.append(Const(d.name, module, typ))
            elif d.kind in ("class", "trait", "iterator"):
                api.skipped.append(f"{d.kind} {q} (classes, traits and iterators are not wrapped)")
            elif d.kind == "lemma":
                continue

    visit(ol.decls, ())
    return api

