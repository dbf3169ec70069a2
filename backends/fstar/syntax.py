"""The top-level declarations of an F* module, as the integrity guard compares them.

A declaration starts at a token in the first column that can only start one (`val`, `let`, `type`, `open`,
`module`, `friend`, `include`, `assume`, `[@@ ...]`, a qualifier such as `private` or `unfold`, an option
pragma, `effect`, `class`, `instance`, `exception`, `%splice`), and at `val`, `type`, `open`, `friend`,
`include`, `module` and option pragmas wherever they are (they cannot occur inside an expression). Attributes
and qualifiers belong to the declaration that follows them. Each declaration keeps its tokens, so two
declarations are the same when their token texts are the same: whitespace, line breaks and comments do not
matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lexer import Token, qualified, tokenize

__all__ = ["Decl", "Module", "outline"]

QUALIFIERS = frozenset({
    "private", "unfold", "inline_for_extraction", "noextract", "irreducible", "abstract", "noeq", "unopteq",
    "total", "new", "reifiable", "reflectable", "opaque_to_smt", "visible", "logic", "inline", "ghost",
    "rec", "tactic", "unfoldable",
})
_ANYWHERE = frozenset({"val", "type", "open", "friend", "include", "module"})
_COLUMN_ONE = _ANYWHERE | frozenset({"let", "assume", "effect", "new_effect", "sub_effect", "layered_effect",
                                     "class", "instance", "exception", "polymonadic_bind", "polymonadic_subcomp",
                                     "and"}) | QUALIFIERS


@dataclass
class Decl:
    """One top-level declaration. `kind`: val, let, type, open, include, friend, module (the header),
    module_abbrev, pragma, assume, effect, splice, blob, other. `names`: what it declares."""

    kind: str
    tokens: list[Token]
    names: list[str] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.tokens[0].line

    @property
    def end_line(self) -> int:
        return self.tokens[-1].line

    @property
    def key(self) -> tuple[str, ...]:
        """The declaration's token texts: equal keys are the same declaration, however laid out."""
        return tuple(t.text for t in self.tokens)

    def text(self) -> str:
        return " ".join(t.text for t in self.tokens)

    @property
    def has_body(self) -> bool:
        """A `let` or `type` with a definition (`=` after the head)."""
        return self.kind in ("let", "type") and any(t.text == "=" for t in self.tokens)

    @property
    def target(self) -> str | None:
        """The module an `open`/`include`/`friend`/`module X = Y` names."""
        if self.kind not in ("open", "include", "friend", "module_abbrev", "module"):
            return None
        words = [i for i, t in enumerate(self.tokens) if t.kind == "name"]
        if not words:
            return None
        if self.kind == "module_abbrev":
            eq = next((i for i, t in enumerate(self.tokens) if t.text == "="), None)
            after = [i for i in words if eq is not None and i > eq]
            return qualified(self.tokens, after[0])[0] if after else None
        return qualified(self.tokens, words[0])[0]


@dataclass
class Module:
    """A parsed F* file: its module name (from `module X`, or None), declarations and all tokens."""

    name: str | None
    decls: list[Decl]
    tokens: list[Token]

    def named(self, name: str) -> list[Decl]:
        return [d for d in self.decls if name in d.names]

    def of_kind(self, *kinds: str) -> list[Decl]:
        return [d for d in self.decls if d.kind in kinds]


#: words after which an expression (a local `let`) may follow; after any other word, a name, a literal or a
#: closing bracket an expression has ended, so a `let` there can only start a top-level declaration
_LEADS_EXPR = frozenset({
    "in", "then", "else", "begin", "do", "with", "when", "fun", "function", "match", "try", "if", "returns",
    "requires", "ensures", "decreases", "assert", "assume", "by", "of", "and", "not", "forall", "exists", "let",
    "rec", "val", "type", "open", "module", "include", "friend", "effect", "new_effect", "sub_effect",
    "layered_effect", "class", "instance", "exception", "calc", "introduce", "eliminate", "so", "using", "as",
    "at", "return", "synth", "attributes", "mutable",
}) | QUALIFIERS
_CLOSERS = frozenset({")", "]", "}", "|)", "|]", "|}", "()"})


def _ends_expr(prev: Token | None) -> bool:
    """`prev` can end an expression (so what follows it cannot continue that expression with `let`)."""
    if prev is None:
        return True
    if prev.kind in ("name", "number", "string", "char", "tvar"):
        return True
    if prev.kind == "ident":
        return prev.text not in _LEADS_EXPR
    return prev.kind == "punct" and prev.text in _CLOSERS


def _starts_decl(tok: Token, prev: Token | None) -> bool:
    if tok.kind == "pragma" or tok.kind == "splice" or tok.kind == "blob":
        return True
    if tok.kind == "punct" and tok.text in ("[@@", "[@@@", "[@") and tok.col == 1:
        return True
    if tok.kind != "ident":
        return False
    if tok.text in _ANYWHERE:
        if prev is not None and prev.text in ("let", "assume"):  # `let open M in e`; `assume val`
            return False
        return not (prev is not None and prev.kind == "op" and prev.text == "." and prev.offset + 1 == tok.offset)
    if tok.text not in _COLUMN_ONE or tok.text in ("and", "rec"):
        return tok.col == 1 and tok.text in _COLUMN_ONE
    # F* is not layout-sensitive: an indented top-level `let` is still one (it follows a finished expression)
    return tok.col == 1 or _ends_expr(prev)


def _only_prefix(tokens: list[Token]) -> bool:
    """True while a declaration holds only attributes and qualifiers (the keyword is still to come)."""
    depth = 0
    for t in tokens:
        if t.kind == "punct" and t.text in ("[@@", "[@@@", "[@"):
            depth += 1
        elif t.text == "]" and depth:
            depth -= 1
        elif depth == 0 and not (t.kind == "ident" and t.text in QUALIFIERS):
            return False
    return True


def outline(source: str) -> Module:
    """Split `source` into top-level declarations."""
    tokens = tokenize(source)
    groups: list[list[Token]] = []
    prev: Token | None = None
    for t in tokens:
        if not groups or (_starts_decl(t, prev) and not (_only_prefix(groups[-1]) and t.kind == "ident")
                          and not _continues(groups[-1], t)):
            groups.append([t])
        else:
            groups[-1].append(t)
        prev = t
    decls = [_classify(g) for g in groups]
    header = next((d for d in decls if d.kind == "module"), None)
    return Module(name=header.names[0] if header and header.names else None, decls=decls, tokens=tokens)


def _continues(group: list[Token], t: Token) -> bool:
    """`and` continues a `let rec`/`type` group; `rec` never starts a declaration."""
    return t.text in ("and", "rec") and any(x.text in ("let", "type") for x in group)


def _head(tokens: list[Token]) -> int:
    """Index of the first token after the leading attributes and qualifiers."""
    depth = 0
    for i, t in enumerate(tokens):
        if t.kind == "punct" and t.text in ("[@@", "[@@@", "[@"):
            depth += 1
        elif t.text == "]" and depth:
            depth -= 1
        elif depth == 0 and not (t.kind == "ident" and t.text in QUALIFIERS - {"rec"}):
            return i
    return len(tokens)


def _binder_name(tokens: list[Token], k: int) -> str | None:
    """The name bound at token `k`: an identifier, or an operator in parentheses (`( +! )`)."""
    if k >= len(tokens):
        return None
    t = tokens[k]
    if t.kind in ("ident", "name"):
        return t.text
    if t.text == "(" and k + 2 < len(tokens) and tokens[k + 1].kind == "op" and tokens[k + 2].text == ")":
        return f"( {tokens[k + 1].text} )"
    return None


def _classify(tokens: list[Token]) -> Decl:
    h = _head(tokens)
    if h >= len(tokens):
        return Decl("other", tokens)
    t = tokens[h]
    if t.kind == "pragma":
        return Decl("pragma", tokens)
    if t.kind == "splice":
        return Decl("splice", tokens)
    if t.kind == "blob":
        return Decl("blob", tokens)
    word = t.text
    if word == "module":
        if h + 1 < len(tokens) and tokens[h + 1].kind == "name":
            name, j = qualified(tokens, h + 1)
            if j < len(tokens) and tokens[j].text == "=":
                return Decl("module_abbrev", tokens, [name])
            return Decl("module", tokens, [name])
        return Decl("other", tokens)
    if word in ("open", "include", "friend"):
        return Decl(word, tokens)
    if word == "assume":
        kind = "assume"
        nxt = tokens[h + 1].text if h + 1 < len(tokens) else ""
        name = _binder_name(tokens, h + 2) if nxt in ("val", "type", "new") else _binder_name(tokens, h + 1)
        return Decl(kind, tokens, [name] if name else [])
    if word == "val":
        name = _binder_name(tokens, h + 1)
        return Decl("val", tokens, [name] if name else [])
    if word in ("let", "type"):
        return Decl(word, tokens, _bound_names(tokens, h))
    if word in ("effect", "new_effect", "sub_effect", "layered_effect", "polymonadic_bind", "polymonadic_subcomp"):
        return Decl("effect", tokens)
    return Decl("other", tokens)


def _bound_names(tokens: list[Token], h: int) -> list[str]:
    """Names a `let [rec] ... and ...` or `type ... and ...` group declares (constructors of a type too)."""
    names: list[str] = []
    is_type = tokens[h].text == "type"
    k = h + 1
    if k < len(tokens) and tokens[k].text == "rec":
        k += 1
    first = _binder_name(tokens, k)
    if first:
        names.append(first)
    depth = 0
    for i in range(k, len(tokens)):
        x = tokens[i]
        if x.text in ("(", "[", "{", "(|", "[|", "{|", "[@@", "[@", "[@@@", "!{", ".(", ".["):
            depth += 1
        elif x.text in (")", "]", "}", "|)", "|]", "|}") and depth:
            depth -= 1
        elif x.text == "and" and depth == 0 and x.col == 1 or (x.text == "and" and i > 0 and
                                                             tokens[i - 1].line < x.line):
            n = _binder_name(tokens, i + 1)
            if n:
                names.append(n)
        elif is_type and depth == 0 and x.text in ("|", "=") and i + 1 < len(tokens) and tokens[i + 1].kind == "name":
            names.append(tokens[i + 1].text)
    return names
