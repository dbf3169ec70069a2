"""Dafny types as plain nested tuples, parsed from outline tokens.

A type is a tuple `(name, *args)`: `("int",)`, `("seq", ("int",))`, `("map", K, V)`, `("tuple", A, B)`,
`("array", T)`, `("array2", T)`, user types by their (possibly qualified) name `("M.Shape", T)`. Tuples of
strings and tuples only, so a type can be written into generated code with `repr` and read back as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends.dafny.syntax import IDENT, KEYWORD, NUMBER, OP, Token

Type = tuple

BUILTIN_SCALARS = frozenset({"int", "nat", "bool", "char", "real", "string", "ORDINAL", "object", "object?"})
COLLECTIONS = frozenset({"seq", "set", "iset", "multiset", "map", "imap"})


class TypeSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Param:
    name: str
    type: Type
    ghost: bool = False
    text: str = ""  # the type as written


class _Cursor:
    def __init__(self, toks: list[Token]):
        self.toks, self.i = toks, 0

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def at(self, text: str) -> bool:
        t = self.peek()
        return t is not None and t.text == text and t.kind in (OP, KEYWORD, IDENT)

    def take(self, text: str | None = None) -> Token:
        t = self.peek()
        if t is None or (text is not None and t.text != text):
            raise TypeSyntaxError(f"expected {text or 'a token'}, found {t.text if t else 'the end'!r}")
        self.i += 1
        return t


def parse_type(cur: _Cursor) -> Type:
    t = _nonarrow(cur)
    if cur.peek() is not None and cur.peek().kind == OP and cur.peek().text in ("->", "-->", "~>"):
        args = [t]
        while cur.peek() is not None and cur.peek().kind == OP and cur.peek().text in ("->", "-->", "~>"):
            cur.i += 1
            args.append(_nonarrow(cur))
        return ("->", *args)
    return t


def _nonarrow(cur: _Cursor) -> Type:
    t = cur.peek()
    if t is None:
        raise TypeSyntaxError("missing type")
    if t.kind == OP and t.text == "(":
        cur.i += 1
        items: list[Type] = []
        while not cur.at(")"):
            if cur.at("ghost"):
                cur.i += 1
            items.append(parse_type(cur))
            if cur.at(","):
                cur.i += 1
            elif not cur.at(")"):
                raise TypeSyntaxError(f"unexpected {cur.peek().text if cur.peek() else 'end'!r} in a tuple type")
        cur.take(")")
        if len(items) == 1:
            return items[0]
        return ("tuple", *items)
    if t.kind not in (IDENT, KEYWORD):
        raise TypeSyntaxError(f"unexpected {t.text!r} where a type should start")
    parts = [t.text]
    cur.i += 1
    while cur.at(".") and cur.peek(1) is not None and cur.peek(1).kind in (IDENT, KEYWORD):
        cur.i += 1
        parts.append(cur.take().text)
    name = ".".join(parts)
    args: list[Type] = []
    if cur.at("<"):
        cur.i += 1
        while not cur.at(">"):
            args.append(parse_type(cur))
            if cur.at(","):
                cur.i += 1
            elif not cur.at(">"):
                raise TypeSyntaxError(f"unexpected {cur.peek().text if cur.peek() else 'end'!r} in type arguments")
        cur.take(">")
    if name == "string":
        return ("seq", ("char",))
    return (name, *args)


def _skip_expr(cur: _Cursor) -> None:
    depth = 0
    while cur.peek() is not None:
        t = cur.peek()
        if t.kind == OP and t.text in "([{":
            depth += 1
        elif t.kind == OP and t.text in ")]}":
            if depth == 0:
                return
            depth -= 1
        elif t.kind == OP and t.text == "," and depth == 0:
            return
        cur.i += 1


def parse_params(toks: list[Token]) -> list[Param]:
    """The formals between `(` and `)` (exclusive): `[ghost] [nameonly] [older] x: T [:= default], ...`."""
    cur = _Cursor(toks)
    out: list[Param] = []
    while cur.peek() is not None:
        ghost = False
        while cur.peek() is not None and cur.peek().text in ("ghost", "nameonly", "older", "new"):
            ghost = ghost or cur.peek().text == "ghost"
            cur.i += 1
        name_tok = cur.take()
        if name_tok.kind not in (IDENT, KEYWORD, NUMBER):
            raise TypeSyntaxError(f"unexpected {name_tok.text!r} where a parameter name should be")
        cur.take(":")
        start = cur.i
        typ = parse_type(cur)
        text = " ".join(x.text for x in toks[start:cur.i])
        if cur.at(":="):
            cur.i += 1
            _skip_expr(cur)
        out.append(Param(name_tok.text, typ, ghost, text))
        if cur.at(","):
            cur.i += 1
        elif cur.peek() is not None:
            raise TypeSyntaxError(f"unexpected {cur.peek().text!r} after parameter {name_tok.text}")
    return out


def parse_type_tokens(toks: list[Token]) -> Type:
    cur = _Cursor(toks)
    t = parse_type(cur)
    if cur.peek() is not None:
        raise TypeSyntaxError(f"unexpected {cur.peek().text!r} after a type")
    return t


def show(t: Type) -> str:
    """Dafny spelling of a type (for messages and docstrings)."""
    name, args = t[0], t[1:]
    if name == "seq" and args == (("char",),):
        return "string"
    if name == "tuple":
        return "(" + ", ".join(show(a) for a in args) + ")"
    if name == "->":
        return " -> ".join(show(a) for a in args)
    return name + ("<" + ", ".join(show(a) for a in args) + ">" if args else "")
