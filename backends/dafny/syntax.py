r"""A declaration outline of Dafny 4.x source (no expression parser), on top of `lexer.py`.

`outline(src)` finds every declaration at module/class level (modules, imports, exports, classes, traits,
datatypes and their constructors, newtypes, types, iterators, methods, constructors, functions, predicates,
lemmas, consts and fields), with attributes, signature tokens, specification clauses in order, and body span.
It never raises: what it cannot read is recorded in `Outline.problems`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

from .lexer import (  # re-exported: callers use `syntax` for tokens and outline alike
    _ARRAY_OR_BV,
    ATTR_OPEN,
    CHAR,
    CONTEXTUAL,
    IDENT,
    INVALID,
    KEYWORD,
    KEYWORDS,
    NUMBER,
    OP,
    STRING,
    Comment,
    Directive,
    Lexed,
    Token,
    lex,
    preprocess,
    render,
    texts,
    tokenize,
)

__all__ = [
    "ATTR_OPEN", "CHAR", "CONTEXTUAL", "IDENT", "INVALID", "KEYWORD", "KEYWORDS", "NUMBER", "OP", "STRING",
    "Attribute", "Clause", "Comment", "Decl", "Directive", "Lexed", "Outline", "Token", "lex", "outline",
    "preprocess", "render", "texts", "tokenize",
]


# -------------------------------------------------------------------------------------------------- outline

CALLABLE_KINDS = frozenset({"method", "constructor", "lemma", "function", "predicate", "iterator"})
CONTAINER_KINDS = frozenset({"module", "class", "trait", "datatype", "codatatype", "newtype", "type"})
CLAUSE_KEYWORDS = frozenset({"requires", "ensures", "reads", "modifies", "decreases", "invariant", "witness"})
DECL_MODIFIERS = ("abstract", "ghost", "static", "opaque")
_DECL_START = frozenset({
    "method", "function", "predicate", "lemma", "constructor", "colemma", "copredicate", "inductive", "twostate",
    "iterator", "class", "trait", "datatype", "codatatype", "newtype", "type", "const", "var", "module", "import",
    "export", "ghost", "static", "abstract", "opaque", "include"})
_EXPR_END_KEYWORDS = frozenset({
    "true", "false", "null", "this", "int", "nat", "bool", "real", "char", "string", "ORDINAL", "object",
    "object?"})
#: After a complete expression, these cannot continue it: they start the next statement or declaration.
_STMT_START_KEYWORDS = frozenset({
    "var", "assert", "assume", "expect", "if", "while", "for", "return", "print", "calc", "label", "break",
    "continue", "modify", "yield", "ghost", "match", "forall"})
_INFIX_KEYWORDS = frozenset({"in", "is", "as", "then", "else", "by", "case", "returns", "yield", "yields"})
_SEMI_EXPR_KEYWORDS = frozenset({"var", "assert", "assume", "expect", "reveal", "calc"})
_LEGACY = {"copredicate": ("greatest", "predicate"), "colemma": ("greatest", "lemma")}


@dataclass
class Attribute:
    """`{:name args}` (form `brace`) or `@Name(args)` (form `at`); `start`/`end` are token indexes."""

    name: str
    args: list[Token]
    form: str
    start: int
    end: int
    line: int
    col: int

    @property
    def key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.form, self.name, texts(self.args))


@dataclass
class Clause:
    """A specification clause: `keyword` (e.g. `ensures`, `yield requires`) and its tokens after the keyword."""

    keyword: str
    tokens: list[Token]
    start: int  # token index of the keyword
    end: int  # token index after the clause
    line: int


@dataclass
class Decl:
    """One declaration. Token indexes are into `Outline.tokens`; `end`s are exclusive."""

    kind: str
    name: str
    qualified: str
    keyword: tuple[str, ...]
    modifiers: tuple[str, ...]
    attributes: list[Attribute]
    signature: list[Token]
    clauses: list[Clause]
    body: tuple[int, int] | None
    start: int
    end: int
    header_end: int
    start_line: int
    end_line: int
    body_start_line: int | None = None
    body_end_line: int | None = None
    children: list["Decl"] = field(default_factory=list)
    parent: "Decl | None" = field(default=None, repr=False)
    refines: str | None = None
    container: str | None = None  # kind of the enclosing declaration (None at module level)

    @property
    def is_callable(self) -> bool:
        return self.kind in CALLABLE_KINDS

    @property
    def has_body(self) -> bool:
        return self.body is not None

    def walk(self) -> Iterator["Decl"]:
        yield self
        for c in self.children:
            yield from c.walk()


@dataclass
class Outline:
    tokens: list[Token]
    decls: list[Decl]
    problems: list[str]
    comments: list[Comment] = field(default_factory=list)
    attr_close: frozenset[int] = frozenset()  # indexes of `}` tokens that close an attribute
    _parser: "_Parser | None" = field(default=None, repr=False)
    directives: list[Directive] = field(default_factory=list)
    _members_by_line: list[str | None] | None = field(default=None, repr=False)

    def walk(self) -> Iterator[Decl]:
        for d in self.decls:
            yield from d.walk()

    def find(self, qualified: str) -> Decl | None:
        return next((d for d in self.walk() if d.qualified == qualified), None)

    def member_at(self, line: int) -> str | None:
        """Qualified name of the innermost callable member whose lines contain `line` (the one that starts last).
        Answered from a per-line table built once, so a guard that asks for every finding stays linear."""
        if self._members_by_line is None:
            self._members_by_line = self._line_table()
        table = self._members_by_line
        return table[line] if 0 <= line < len(table) else None

    def _line_table(self) -> list[str | None]:
        callables = sorted((d for d in self.walk() if d.is_callable), key=lambda d: (d.start_line, d.start))
        last = max((d.end_line for d in callables), default=0)
        table: list[str | None] = [None] * (last + 1)
        stack: list[Decl] = []
        k = 0
        for line in range(1, last + 1):
            while k < len(callables) and callables[k].start_line <= line:
                stack.append(callables[k])
                k += 1
            while stack and stack[-1].end_line < line:  # an ended interval is only dropped once it is on top
                stack.pop()
            table[line] = stack[-1].qualified if stack else None
        return table

    def span(self, start: int, end: int) -> list[Token]:
        return self.tokens[start:end]

    def loop_has_body(self, i: int) -> bool:
        """At a `while`/`for` token: does the loop have a body (a block or `case` alternatives)?"""
        assert self._parser is not None
        return self._parser.loop_has_body(i)

    def forall_statement(self, i: int) -> tuple[bool, bool] | None:
        """At a `forall` token: None for a quantifier expression, else (has `ensures`, has a body)."""
        assert self._parser is not None
        return self._parser.forall_statement(i)


def _match_brackets(toks: Sequence[Token]) -> tuple[list[int], frozenset[int]]:
    """`pair[i]` is the index of the bracket matching bracket `i` (or -1); also the `}`s closing `{:`."""
    pair = [-1] * len(toks)
    stack: list[int] = []
    attr_close: set[int] = set()
    for i, t in enumerate(toks):
        if t.kind == OP and t.text in "([{" and len(t.text) == 1 or t.kind == ATTR_OPEN:
            stack.append(i)
        elif t.kind == OP and t.text in (")", "]", "}"):
            if stack:
                j = stack.pop()
                pair[i], pair[j] = j, i
                if toks[j].kind == ATTR_OPEN:
                    attr_close.add(i)
    return pair, frozenset(attr_close)


class _Parser:
    """Declaration-level recursive descent; expressions and bodies are skipped as balanced token runs."""

    def __init__(self, lexed: Lexed) -> None:
        self.toks = lexed.tokens
        self.n = len(self.toks)
        self.pair, self.attr_close = _match_brackets(self.toks)
        self.problems: list[str] = []
        self.bar_close: set[int] = set()
        self.i = 0

    # ---- token helpers
    def text(self, i: int | None = None) -> str:
        i = self.i if i is None else i
        return self.toks[i].text if i < self.n else ""

    def kind(self, i: int | None = None) -> str:
        i = self.i if i is None else i
        return self.toks[i].kind if i < self.n else ""

    def is_op(self, text: str, i: int | None = None) -> bool:
        i = self.i if i is None else i
        return i < self.n and self.toks[i].kind == OP and self.toks[i].text == text

    def is_word(self, word: str, i: int | None = None) -> bool:
        i = self.i if i is None else i
        return i < self.n and self.toks[i].kind in (KEYWORD, IDENT) and self.toks[i].text == word

    def line(self, i: int) -> int:
        if not self.toks:
            return 1
        return self.toks[min(i, self.n - 1)].line

    def skip_group(self) -> None:
        """At an opening bracket: move past its match (to the end when unmatched)."""
        j = self.pair[self.i]
        if j < 0:
            self.problems.append(f"line {self.line(self.i)}: unbalanced {self.text()!r}")
            self.i = self.n
        else:
            self.i = j + 1

    def ends_expr(self, j: int) -> bool:
        """Can an expression end with token `j`?"""
        if j < 0:
            return False
        t = self.toks[j]
        if t.kind in (IDENT, NUMBER, STRING, CHAR):
            return True
        if t.kind == KEYWORD:
            return t.text in _EXPR_END_KEYWORDS or bool(_ARRAY_OR_BV.fullmatch(t.text))
        if t.kind == OP:
            if t.text == "|":  # the closing bar of a cardinality `|s|`
                return j in self.bar_close
            if t.text == "]":  # but not the `#[k]` of `==#[k]`
                o = self.pair[j]
                return not (o > 0 and self.toks[o - 1].text == "#")
            if t.text == ")":
                return True
            if t.text == "}":
                return j not in self.attr_close
            if t.text == "*":  # wildcard in `reads *`, `decreases *`, `modifies *`
                p = self.toks[j - 1] if j > 0 else None
                return p is not None and (p.text in ("reads", "modifies", "decreases", "witness", ",", "(")
                                          or (j - 1) in self.attr_close)
        return False

    def starts_operand(self, i: int) -> bool:
        """Can token `i` begin an operand (so a `|` before it is a separator, not a closing bar)?"""
        if i >= self.n:
            return False
        t = self.toks[i]
        if t.kind in (IDENT, NUMBER, STRING, CHAR):
            return True
        if t.kind == KEYWORD:
            return t.text not in _INFIX_KEYWORDS and t.text not in CLAUSE_KEYWORDS and t.text not in _DECL_START
        return t.kind == OP and t.text in ("(", "[", "!", "|")

    def starts_decl(self, i: int) -> bool:
        t = self.text(i)
        if self.kind(i) == OP:
            return t == "@" and self.kind(i + 1) == IDENT
        if t in _DECL_START and self.kind(i) == KEYWORD:
            return True
        return t in ("least", "greatest") and self.text(i + 1) in ("predicate", "lemma")

    def at_clause_keyword(self) -> str | None:
        t = self.text()
        if self.kind() != KEYWORD:
            return None
        if t in CLAUSE_KEYWORDS:
            return t
        if t == "yield" and self.text(self.i + 1) in ("requires", "ensures"):
            return "yield " + self.text(self.i + 1)
        if t == "ghost" and self.text(self.i + 1) == "witness":
            return "ghost witness"
        return None

    def skip_expr(self, clause_stops: bool = True, extra_continue: frozenset[str] = frozenset()) -> None:
        """Skip one expression (or comma list): stop before anything that cannot continue it.

        A `match` is braced only when `{` comes right after its selector (Dafny's `MatchExpression`); a
        braceless match's cases run while `case` follows, and its last case ends like any expression (a `{`
        after it is a body, never part of the clause). A `case` with no `match` before it ends the expression,
        as in Dafny (braceless loop alternatives); where no declaration can follow, the caller records a
        problem rather than guess."""
        start = self.i
        match_pending = False  # a `match` selector is being read: a `{` after it opens the match's cases
        in_match = False  # a `match` was seen at this level (its cases may follow without braces)
        semis_pending = 0  # `var x := e; body` and `assert P; body` inside an expression
        open_bars = 0  # cardinality bars `|s|` opened and not yet closed
        while self.i < self.n:
            t = self.toks[self.i]
            prev_ends = self.i > start and self.ends_expr(self.i - 1)
            if t.kind == OP and t.text == "|":
                if not prev_ends:
                    open_bars += 1
                elif open_bars and not self.starts_operand(self.i + 1):
                    open_bars -= 1
                    self.bar_close.add(self.i)
                self.i += 1
                continue
            if t.kind == OP and t.text == ";" and semis_pending:
                semis_pending -= 1
                self.i += 1
                continue
            if t.kind == OP and t.text in (")", "]", "}", ";"):
                return
            if clause_stops and self.at_clause_keyword():
                return
            if t.text in extra_continue:
                self.i += 1
                continue
            if prev_ends:
                if t.kind == OP and t.text == "{" and not match_pending:
                    return
                if self.starts_decl(self.i):
                    return
                if t.kind in (IDENT, NUMBER, STRING, CHAR) or (
                        t.kind == KEYWORD and (t.text in _STMT_START_KEYWORDS or t.text in _EXPR_END_KEYWORDS)):
                    return
            if t.kind == KEYWORD and t.text == "match":
                match_pending = in_match = True
            elif t.kind == KEYWORD and t.text == "case":
                if not in_match:  # no match to continue: the expression ends (e.g. before loop alternatives)
                    return
                match_pending = False  # braceless: each case binds to the closest `match`
            elif t.kind == KEYWORD and t.text in _SEMI_EXPR_KEYWORDS:
                semis_pending += 1
            if (t.kind == OP and t.text in ("(", "[", "{")) or t.kind == ATTR_OPEN:
                if t.text == "{" and prev_ends:
                    match_pending = False  # the match's braced cases (a `{` after an operator is a display)
                self.skip_group()
                continue
            self.i += 1

    # ---- pieces of declarations
    def at_attributes(self) -> list[Attribute]:
        """`@Name(args)` attributes before a declaration."""
        out: list[Attribute] = []
        while self.is_op("@") and self.kind(self.i + 1) == IDENT:
            start = self.i
            name_tok = self.toks[self.i + 1]
            self.i += 2
            args: list[Token] = []
            if self.is_op("("):
                j = self.pair[self.i]
                end = j if j >= 0 else self.n
                args = self.toks[self.i + 1:end]
                self.skip_group()
            out.append(Attribute(name_tok.text, args, "at", start, self.i, self.toks[start].line,
                                 self.toks[start].col))
        return out

    def brace_attributes(self) -> list[Attribute]:
        """`{:name args}` attributes at the cursor."""
        out: list[Attribute] = []
        while self.kind() == ATTR_OPEN:
            start = self.i
            j = self.pair[self.i]
            end = j if j >= 0 else self.n
            inner = self.toks[self.i + 1:end]
            name = inner[0].text if inner else ""
            out.append(Attribute(name, inner[1:], "brace", start, min(end + 1, self.n), self.toks[start].line,
                                 self.toks[start].col))
            self.skip_group()
        return out

    def qualified_name(self) -> str:
        parts = []
        while self.kind() in (IDENT, KEYWORD) and self.text() not in ("refines", "{"):
            parts.append(self.text())
            self.i += 1
            if self.is_op(".") and self.kind(self.i + 1) in (IDENT, KEYWORD):
                self.i += 1
                continue
            break
        return ".".join(parts)

    def skip_type_params(self) -> None:
        if not self.is_op("<"):
            return
        depth = 0
        while self.i < self.n:
            t = self.text()
            if self.kind() == OP and t == "<":
                depth += 1
            elif self.kind() == OP and t == ">":
                depth -= 1
                if depth == 0:
                    self.i += 1
                    return
            elif self.kind() == OP and t == "(":
                self.skip_group()
                continue
            elif self.kind() == OP and t in ("{", "}", ";", ")"):
                return
            self.i += 1

    def skip_type(self) -> None:
        self.skip_nonarrow_type()
        while self.kind() == OP and self.text() in ("->", "-->", "~>"):
            self.i += 1
            self.skip_nonarrow_type()

    def skip_nonarrow_type(self) -> None:
        if self.is_op("("):
            self.skip_group()
            return
        if self.kind() not in (IDENT, KEYWORD):
            return
        while True:
            self.i += 1
            if self.is_op("<"):
                self.skip_type_params()
            if self.is_op(".") and self.kind(self.i + 1) in (IDENT, KEYWORD):
                self.i += 1
                continue
            return

    def clauses(self) -> list[Clause]:
        out: list[Clause] = []
        while self.i < self.n:
            kw = self.at_clause_keyword()
            if not kw:
                break
            start = self.i
            self.i += 2 if " " in kw else 1
            body_start = self.i
            self.skip_expr()
            body_end = self.i
            if self.is_op(";"):  # legacy `requires P;`: the semicolon is not part of the clause
                self.i += 1
            out.append(Clause(kw, self.toks[body_start:body_end], start, self.i, self.toks[start].line))
        return out

    # ---- declarations
    def decls(self, prefix: str, container: str | None, parent: Decl | None, top: bool) -> list[Decl]:
        out: list[Decl] = []
        while self.i < self.n:
            if self.is_op("}"):
                if top:
                    self.problems.append(f"line {self.line(self.i)}: unexpected '}}' at top level")
                    self.i += 1
                    continue
                return out
            if self.is_op(";"):
                self.i += 1
                continue
            before = self.i
            for d in self.decl(prefix, container, parent):
                out.append(d)
            if self.i == before:
                self.problems.append(
                    f"line {self.line(self.i)}: unexpected {self.text()!r} where a declaration should start")
                self.i += 1
        return out

    def decl(self, prefix: str, container: str | None, parent: Decl | None) -> list[Decl]:
        start = self.i
        attrs = self.at_attributes()
        mods: list[str] = []
        while self.kind() == KEYWORD and self.text() in DECL_MODIFIERS:
            mods.append(self.text())
            self.i += 1
            attrs += self.at_attributes()
        t, k = self.text(), self.kind()
        if k == KEYWORD and t == "include":
            self.i += 1
            name = self.text() if self.kind() == STRING else ""
            if name:
                self.i += 1
            return [self.make("include", name, prefix, ("include",), mods, attrs, start, container, parent)]
        if k == KEYWORD and t == "module":
            return [self.module(prefix, mods, attrs, start, container, parent)]
        if k == KEYWORD and t == "import":
            return [self.import_(prefix, mods, attrs, start, container, parent)]
        if k == KEYWORD and t == "export":
            return [self.export(prefix, mods, attrs, start, container, parent)]
        if k == KEYWORD and t in ("class", "trait"):
            return [self.class_(t, prefix, mods, attrs, start, container, parent)]
        if k == KEYWORD and t in ("datatype", "codatatype"):
            return [self.datatype(t, prefix, mods, attrs, start, container, parent)]
        if k == KEYWORD and t in ("newtype", "type"):
            return [self.typedecl(t, prefix, mods, attrs, start, container, parent)]
        if k == KEYWORD and t in ("const", "var"):
            return self.field_decl(t, prefix, mods, attrs, start, container, parent)
        phrase = self.callable_keyword()
        if phrase:
            return [self.callable(phrase, prefix, mods, attrs, start, container, parent)]
        if self.i != start:  # modifiers or @-attributes with nothing after them
            self.problems.append(f"line {self.line(self.i)}: modifiers not followed by a declaration")
        return []

    def callable_keyword(self) -> tuple[str, ...] | None:
        t0, t1 = self.text(), self.text(self.i + 1)
        if self.kind() not in (KEYWORD, IDENT):
            return None
        if t0 in ("function", "predicate"):
            return (t0, "method") if t1 == "method" else (t0,)
        if t0 in ("method", "lemma", "constructor", "iterator", "copredicate", "colemma") and self.kind() == KEYWORD:
            return (t0,)
        if t0 == "twostate" and t1 in ("function", "predicate", "lemma"):
            return (t0, t1)
        if t0 in ("least", "greatest", "inductive") and t1 in ("predicate", "lemma"):
            return (t0, t1)
        return None

    def make(self, kind: str, name: str, prefix: str, keyword: tuple[str, ...], mods: Sequence[str],
             attrs: list[Attribute], start: int, container: str | None, parent: Decl | None,
             signature: list[Token] | None = None, clauses: list[Clause] | None = None,
             body: tuple[int, int] | None = None, header_end: int | None = None) -> Decl:
        end = max(self.i, start + 1) if self.n else 0
        d = Decl(kind=kind, name=name, qualified=f"{prefix}{name}", keyword=keyword, modifiers=tuple(mods),
                 attributes=attrs, signature=signature or [], clauses=clauses or [], body=body, start=start,
                 end=min(end, self.n), header_end=self.i if header_end is None else header_end,
                 start_line=self.line(start), end_line=self.line(end - 1), container=container, parent=parent)
        if body:
            d.body_start_line, d.body_end_line = self.line(body[0]), self.line(body[1] - 1)
        return d

    def module(self, prefix, mods, attrs, start, container, parent) -> Decl:
        self.i += 1
        attrs = attrs + self.brace_attributes()
        name = self.qualified_name()
        refines = None
        if self.is_word("refines"):
            self.i += 1
            refines = self.qualified_name()
        d = self.make("module", name, prefix, ("module",), mods, attrs, start, container, parent)
        if self.is_op("{"):
            d.header_end = self.i
            close = self.pair[self.i]
            self.i += 1
            d.children = self.decls(f"{prefix}{name}.", "module", d, top=False)
            if close >= 0 and self.i == close:
                self.i += 1
            else:
                self.problems.append(f"line {d.start_line}: module {name} is not closed")
            d.body = (d.header_end, self.i)
        else:
            self.problems.append(f"line {d.start_line}: module {name} has no body")
        d.refines = refines
        self.finish(d)
        return d

    def import_(self, prefix, mods, attrs, start, container, parent) -> Decl:
        self.i += 1
        keyword: tuple[str, ...] = ("import",)
        if self.is_word("opened"):
            keyword = ("import", "opened")
            self.i += 1
        sig_start = self.i
        first = self.qualified_name()
        name = first.split(".")[-1] if first else ""
        if self.kind() == OP and self.text() in ("=", ":"):
            self.i += 1
            self.qualified_name()
            name = first
        if self.is_op("`"):
            self.i += 1
            if self.is_op("{"):
                self.skip_group()
            elif self.i < self.n:
                self.i += 1
        return self.make("import", name, prefix, keyword, mods, attrs, start, container, parent,
                         signature=self.toks[sig_start:self.i])

    def export(self, prefix, mods, attrs, start, container, parent) -> Decl:
        self.i += 1
        name = prefix.rstrip(".").split(".")[-1] if prefix else ""  # the default export set
        if self.kind() in (IDENT, NUMBER) and self.text() not in ("provides", "reveals", "extends"):
            name = self.text()
            self.i += 1
        sig_start = self.i
        while self.i < self.n:
            t = self.text()
            if t in ("provides", "reveals", "extends", "...", ",", ".", "*"):
                self.i += 1
            elif self.kind() in (IDENT, NUMBER) and (self.text(self.i - 1) in (
                    "provides", "reveals", "extends", ",", ".")):
                self.i += 1
            else:
                break
        return self.make("export", name, prefix, ("export",), mods, attrs, start, container, parent,
                         signature=self.toks[sig_start:self.i])

    def members(self, d: Decl, prefix: str) -> None:
        """At `{`: parse a member block into `d.children`."""
        d.header_end = self.i
        close = self.pair[self.i]
        self.i += 1
        d.children = self.decls(prefix, d.kind, d, top=False)
        if close >= 0 and self.i == close:
            self.i += 1
        else:
            self.problems.append(f"line {d.start_line}: members of {d.name} are not closed")
        d.body = (d.header_end, self.i)

    def type_head(self, attrs: list[Attribute]) -> tuple[list[Attribute], str, int]:
        """After a type keyword (`class`, `datatype`, `type`, ...): its attributes, its name ("" when missing) and
        where its signature starts."""
        self.i += 1
        attrs = attrs + self.brace_attributes()
        name = self.text() if self.kind() in (IDENT, KEYWORD) else ""
        if name:
            self.i += 1
        return attrs, name, self.i

    def class_(self, kw, prefix, mods, attrs, start, container, parent) -> Decl:
        attrs, name, sig_start = self.type_head(attrs)
        while self.i < self.n and not self.is_op("{") and not self.is_op("}"):
            if self.is_op("("):
                self.skip_group()
            else:
                self.i += 1
        d = self.make(kw, name, prefix, (kw,), mods, attrs, start, container, parent,
                      signature=self.toks[sig_start:self.i])
        if self.is_op("{"):
            self.members(d, f"{prefix}{name}.")
        else:
            self.problems.append(f"line {d.start_line}: {kw} {name} has no body")
        self.finish(d)
        return d

    def datatype(self, kw, prefix, mods, attrs, start, container, parent) -> Decl:
        attrs, name, sig_start = self.type_head(attrs)
        self.skip_type_params()
        ctors: list[Decl] = []
        if self.is_op("="):
            self.i += 1
            if self.is_op("..."):
                self.i += 1
            while self.i < self.n:
                if self.is_op("|"):
                    self.i += 1
                    continue
                c_start = self.i
                c_attrs = self.brace_attributes()
                if self.kind() == KEYWORD and self.text() == "ghost":
                    self.i += 1
                if self.kind() not in (IDENT, NUMBER):
                    break
                c_name = self.text()
                self.i += 1
                sig = self.i
                if self.is_op("("):
                    self.skip_group()
                ctors.append(self.make("ctor", c_name, f"{prefix}{name}.", ("ctor",), (), c_attrs, c_start,
                                       kw, None, signature=self.toks[sig:self.i]))
                if not self.is_op("|"):
                    break
        d = self.make(kw, name, prefix, (kw,), mods, attrs, start, container, parent,
                      signature=self.toks[sig_start:self.i])
        for c in ctors:
            c.parent = d
        if self.is_op("{"):
            self.members(d, f"{prefix}{name}.")
        d.children = ctors + d.children
        self.finish(d)
        return d

    def typedecl(self, kw, prefix, mods, attrs, start, container, parent) -> Decl:
        attrs, name, sig_start = self.type_head(attrs)
        while self.is_op("("):  # type parameter characteristics, e.g. type T(==)
            self.skip_group()
        self.skip_type_params()
        clauses: list[Clause] = []
        if self.is_op("="):
            self.i += 1
            if self.is_op("..."):
                self.i += 1
            if self.kind() == IDENT and self.kind(self.i + 1) == OP and self.text(self.i + 1) in (":", "|"):
                self.i += 1  # subset type / constrained newtype: x [: T] | constraint [witness ...]
                if self.is_op(":"):
                    self.i += 1
                    self.skip_type()
                if self.is_op("|"):
                    self.i += 1
                    self.skip_expr()
                clauses = self.clauses()
            else:
                self.skip_type()
        sig_end = clauses[0].start if clauses else self.i
        d = self.make(kw, name, prefix, (kw,), mods, attrs, start, container, parent,
                      signature=self.toks[sig_start:sig_end], clauses=clauses)
        if self.is_op("{"):
            self.members(d, f"{prefix}{name}.")
        self.finish(d)
        return d

    def field_decl(self, kw, prefix, mods, attrs, start, container, parent) -> list[Decl]:
        self.i += 1
        attrs = attrs + self.brace_attributes()
        names: list[str] = []
        sig_start = self.i
        clauses: list[Clause] = []
        while self.kind() in (IDENT, KEYWORD) and not self.starts_decl(self.i):
            names.append(self.text())
            self.i += 1
            if self.is_op(":"):
                self.i += 1
                self.skip_type()
            if self.is_op("..."):
                self.i += 1
            if kw == "const" and self.is_op(":="):
                c_start = self.i
                self.i += 1
                self.skip_expr()
                clauses.append(Clause(":=", self.toks[c_start + 1:self.i], c_start, self.i,
                                      self.toks[c_start].line))
            if self.is_op(","):
                self.i += 1
                self.brace_attributes()
                continue
            break
        sig_end = clauses[0].start if clauses else self.i
        if self.is_op(";"):
            self.i += 1
        if not names:
            self.problems.append(f"line {self.line(start)}: {kw} without a name")
            return []
        out = []
        for nm in names:
            d = self.make(kw, nm, prefix, (kw,), mods, attrs, start, container, parent,
                          signature=self.toks[sig_start:sig_end], clauses=clauses)
            out.append(d)
        return out

    def callable(self, phrase, prefix, mods, attrs, start, container, parent) -> Decl:
        self.i += len(phrase)
        attrs = attrs + self.brace_attributes()
        kind, implied = _callable_kind(phrase)
        name = ""
        if self.kind() == IDENT:
            name = self.text()
            self.i += 1
        if not name and kind == "constructor":
            name = "_ctor"
        sig_start = self.i
        if self.is_op("..."):
            self.i += 1
        self.skip_type_params()
        if self.is_op("["):  # KType of extreme predicates/lemmas
            self.skip_group()
        if self.is_op("("):
            self.skip_group()
        if kind == "iterator" and self.is_word("yields"):
            self.i += 1
            if self.is_op("("):
                self.skip_group()
        if self.is_word("returns"):
            self.i += 1
            if self.is_op("("):
                self.skip_group()
        if kind in ("function", "predicate") and self.is_op(":"):
            self.i += 1
            self.skip_type()
        signature = self.toks[sig_start:self.i]
        clauses = self.clauses()
        header_end = self.i
        body = None
        if self.is_op("{"):
            b0 = self.i
            self.skip_group()
            if kind in ("function", "predicate") and self.is_word("by") and self.is_word("method", self.i + 1) \
                    and self.is_op("{", self.i + 2):
                self.i += 2
                self.skip_group()
            body = (b0, self.i)
        elif self.is_op(";"):
            self.i += 1
        mods = tuple(mods) + tuple(m for m in implied if m not in mods)
        d = self.make(kind, name, prefix, phrase, mods, attrs, start, container, parent, signature=signature,
                      clauses=clauses, body=body, header_end=header_end)
        return d

    # ---- statements (used by the integrity guard on bodies)
    def loop_has_body(self, i: int) -> bool:
        self.i = i + 1
        if self.text(i) == "for":
            if self.kind() == IDENT:
                self.i += 1
            if self.is_op(":"):
                self.i += 1
                self.skip_type()
            if self.is_op(":="):
                self.i += 1
                self.skip_expr()
            if self.text() in ("to", "downto"):
                self.i += 1
                if self.is_op("*"):
                    self.i += 1
                else:
                    self.skip_expr()
        elif not (self.at_clause_keyword() or self.is_op("{") or self.is_word("case")):
            if self.is_op("*"):
                self.i += 1
            else:
                self.skip_expr()
        self.clauses()
        return self.is_op("{") or self.is_word("case")

    def forall_statement(self, i: int) -> tuple[bool, bool] | None:
        self.i = i + 1
        if self.is_op("("):
            self.skip_group()
        else:
            start = self.i
            while self.i < self.n:
                t = self.toks[self.i]
                if t.kind == OP and t.text == "::":
                    return None
                if t.kind == OP and t.text in (")", "]", "}", ";") or self.at_clause_keyword():
                    break
                if t.kind == OP and t.text == "{" and self.i > start and self.ends_expr(self.i - 1):
                    break
                if (t.kind == OP and t.text in ("(", "[", "{")) or t.kind == ATTR_OPEN:
                    self.skip_group()
                    continue
                self.i += 1
        if self.is_op("::"):
            return None
        clauses = self.clauses()
        has_ensures = any(c.keyword == "ensures" for c in clauses)
        return has_ensures, self.is_op("{")

    def finish(self, d: Decl) -> None:
        d.end = max(self.i, d.start + 1)
        d.end_line = self.line(d.end - 1)


def _callable_kind(phrase: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """Normalised kind and implied modifiers of a keyword phrase (`copredicate` = greatest predicate)."""
    if phrase[0] in _LEGACY:
        implied, kind = _LEGACY[phrase[0]]
        return kind, (implied,)
    if phrase[0] == "inductive":
        return phrase[1], ("least",)
    if phrase[0] in ("twostate", "least", "greatest"):
        return phrase[1], (phrase[0],)
    if len(phrase) == 2 and phrase[1] == "method":
        return phrase[0], ("method",)
    return phrase[0], ()


def outline(src: str, lexed: Lexed | None = None) -> Outline:
    """The declaration outline of `src`. Never raises; unreadable parts are listed in `problems`."""
    lexed = lexed or lex(src)
    p = _Parser(lexed)
    decls = p.decls("", None, None, top=True)
    return Outline(lexed.tokens, decls, p.problems, lexed.comments, p.attr_close, p, lexed.directives)


def changed_members(old_src: str, new_src: str) -> list[str] | None:
    """Qualified names of the callable members of `new_src` that are new or whose tokens differ from
    `old_src` (comments and whitespace do not count). None when the outlines cannot say (a problem in either,
    or a non-callable declaration changed, which may affect every member)."""
    old, new = outline(old_src), outline(new_src)
    if old.problems or new.problems:
        return None

    def parts(o: Outline) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, tuple[str, ...]]]]:
        members: dict[str, tuple[str, ...]] = {}
        rest: list[tuple[str, tuple[str, ...]]] = []
        for d in o.walk():
            if d.is_callable:
                members[d.qualified] = texts(o.tokens[d.start:d.end])
            elif not d.children:
                rest.append((d.qualified, texts(o.tokens[d.start:d.end])))
            else:  # a container: its header only (members are compared one by one)
                rest.append((d.qualified, texts(o.tokens[d.start:d.header_end])))
        return members, rest

    old_members, old_rest = parts(old)
    new_members, new_rest = parts(new)
    if old_rest != new_rest:
        return None
    return [q for q, toks in new_members.items() if old_members.get(q) != toks]
