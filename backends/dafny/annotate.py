r"""The annotate guard: the candidate must be the given program plus proof hints, and nothing else.

In annotate mode the user gives a complete Dafny program P (code and contract, without proof hints) and the LLM
returns a candidate C. `check_annotation(P, C, candidate_file)` says whether C keeps every token of P's code and
contract: both are reduced to their token sequences with every *hint span* removed (comments and whitespace never
count), and the two sequences must be equal, token for token. Escapes from proof inside the hints (`assume`,
`{:axiom}`, `{:verify false}`, bodiless members, `decreases *`...) are not judged here: run
`backends.dafny.integrity.check_integrity(C, file)` beside this guard.

Rule table (ids are stable; new rules get new ids):

| id | rule |
|---|---|
| QED-E200 | qedgen could not read the candidate's declaration structure (the outline parser gave up) |
| QED-E201 | the code or contract of the given program changed (first differing place, expected vs found tokens) |
| QED-E202 | a hint contains code (an assignment, a statement keyword, a method call or allocation in a ghost variable...) |
| QED-E203 | a new lemma, function, predicate or ghost variable reuses a name that the program's code or contract uses (it could change what that name refers to) |

What counts as a hint (everything else is code or contract and must stay exactly as in P):

* declarations: every `lemma` (any modifiers: ghost, static, twostate, least, greatest; legacy `colemma`,
  `inductive lemma`), in P and in C; in C also every `function`/`predicate` (ghost or not, any modifiers) whose
  qualified name P does not declare. A new method, class, datatype, const, field, module... is NOT a hint.
* member headers: the `decreases` clauses of methods, functions, constructors... (a termination metric is proof;
  `requires`, `ensures`, `reads`, `modifies` of a member are contract);
* loops: `invariant`, `decreases` and `modifies` clauses (with attributes, and a legacy `;` after them);
* statements, and the same forms as a prefix of an expression (`assert P; e` in a function body), recognised only
  where a statement or a whole expression starts (the previous token is `{`, `;`, `}`, `=>`, `then`, `else`, or
  the `:` of a statement label `label L:`; after an operator, `2 * assert P; 1 + 3` is 8, not `2 * 1 + 3`):
  `assert [attrs] [label:] E ;`, `assert ... by { ... }`, `calc [op] { ... }`, `reveal names ;`,
  `ghost var names [: T] [:= e | :| P] ;`, a call `[Q.]L[<T>](args) ;` of a name that only lemmas carry (no
  method, function, constructor, field... of the same name anywhere), and `forall ... ensures
  ... { ... }` (a `forall` statement with `ensures`: a proof; one WITHOUT `ensures` is an aggregate assignment,
  code).

Where a hint ends (C is hostile input): the end qedgen computes is never later than where Dafny's parser ends the
construct. Expressions are skipped as balanced bracket groups; a `{` at the top level of a hint expression ends it
when the previous token surely ends an expression (an identifier, literal, `)`, `]`, a closed `|s|`, a set
display's `}`), opens a group when it surely cannot (an operator, `in`, `then`, `multiset`...), and otherwise the
span is not treated as a hint at all. Whatever is not surely a hint is kept, so a candidate that Dafny reads
differently is rejected (QED-E201), never accepted: a false rejection is acceptable, a false acceptance is a lie.
Defense in depth: a hint span (outside `by { }`, calc and `forall ... ensures` bodies, which Dafny itself checks
as ghost code) may contain `:=` only as a let binding `var x := e;`, a ghost variable's initialiser, a sequence or
map update `[i := v]`, a datatype update `.(f := v)` or a map comprehension, may contain no statement keyword
(`while`, `for`, `return`, `print`, `new`, `modify`, `break`, `continue`, `yield`, `label`, `if` without `then`...),
and every `;` in it must close a let, an `assert`/`assume`/`expect`/`reveal` or a lemma call; no hint may call a
non-ghost method (Dafny 4.11 accepts `ghost var x := M();` for a compiled method `M`) and a ghost variable may not
even name one. Ghost variables may not shadow a name the program's code uses (Dafny allows shadowing in an
inner block, which would redirect the program's own assignments to the ghost variable).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Sequence

from backends.dafny.syntax import (
    _ARRAY_OR_BV,
    ATTR_OPEN,
    CHAR,
    IDENT,
    KEYWORD,
    NUMBER,
    OP,
    STRING,
    Decl,
    Outline,
    Token,
    outline,
    render,
    texts,
)
from verifier.errors import BadInput
from verifier.models import IntegrityViolation, RuleFamily

RULES_ANNOTATE: dict[str, str] = {
    "QED-E200": "candidate structure not readable",
    "QED-E201": "code or contract of the given program changed",
    "QED-E202": "code inside a hint",
    "QED-E203": "hint reuses a name of the program",
}

_FIX = ("Keep every token of the given program; add only loop invariants/decreases/modifies, assert statements, "
        "calc, reveal, ghost variables, lemma calls, forall-ensures proofs, and new lemmas/ghost "
        "functions/predicates.")

#: Keywords that surely end an expression when the next token is `{`.
_END_KW = frozenset({"true", "false", "null", "this", "int", "nat", "bool", "real", "char", "string", "ORDINAL",
                     "object", "object?"})
#: Keywords that may be a (type) name ending an expression, or a display keyword: never sure.
_COLLECTION_KW = frozenset({"set", "seq", "map", "imap", "iset", "multiset"})
_LOOP_CLAUSES = frozenset({"invariant", "decreases", "modifies"})
_ALL_CLAUSES = frozenset({"invariant", "decreases", "modifies", "requires", "ensures", "reads", "witness"})
#: Keywords that can never occur inside a hint expression (they start statements or declarations).
_STMT_KW = frozenset({"while", "for", "return", "print", "new", "modify", "break", "continue", "yield", "label",
                      "method", "function", "predicate", "lemma", "constructor", "class", "trait", "datatype",
                      "codatatype", "newtype", "type", "module", "import", "export", "include", "const",
                      "iterator", "ghost", "static", "twostate", "colemma", "copredicate", "inductive", "returns",
                      "opaque", "abstract", "refines"})
#: A hint statement (or expression prefix) may start only after one of these tokens.
_START_PREV = frozenset({"{", ";", "}", "=>", "then", "else"})
_HINT_STARTS = frozenset({"invariant", "decreases", "modifies", "assert", "calc", "reveal", "ghost", "forall",
                          "lemma", "function", "predicate"})
_SEMI_OWNERS = frozenset({"var", "assert", "assume", "expect"})


@dataclass
class _Span:
    start: int
    end: int
    what: str


@dataclass
class _Finding:
    rule: str
    index: int
    message: str


@dataclass
class _Side:
    """One program reduced to its code and contract: `keep[i]` is 1 for every token that is not in a hint."""

    src: str
    file: str
    out: Outline
    keep: bytearray
    spans: list[_Span] = field(default_factory=list)
    findings: list[_Finding] = field(default_factory=list)
    ghost_vars: dict[str, int] = field(default_factory=dict)  # ghost variable name -> token index
    new_decls: list[Decl] = field(default_factory=list)

    @property
    def tokens(self) -> list[Token]:
        return self.out.tokens

    def kept(self) -> list[int]:
        return [i for i in range(len(self.tokens)) if self.keep[i]]


class _Reducer:
    """Finds the hint spans of one program. `lemmas`: names that only lemmas carry; `old_funcs`: the qualified
    names of P's functions/predicates (None when reducing P itself)."""

    def __init__(self, src: str, file: str, out: Outline, old_funcs: frozenset[str] | None) -> None:
        self.side = _Side(src, file, out, bytearray(b"\x01" * len(out.tokens)))
        self.toks = out.tokens
        self.n = len(self.toks)
        self.pair = out._parser.pair if out._parser else [-1] * self.n
        self.old_funcs = old_funcs
        decls = list(out.walk())
        by_name: dict[str, set[str]] = {}
        for d in decls:
            if d.name:
                by_name.setdefault(d.name, set()).add(d.kind)
        self.lemma_names = frozenset(nm for nm, kinds in by_name.items() if kinds == {"lemma"})
        self.method_names = frozenset(d.name for d in out.walk() if d.kind in ("method", "constructor", "iterator")
                                      and "ghost" not in d.modifiers)
        self.decls = decls
        self.group_kind: dict[int, str] = {}  # close index of a `{` group skipped in a hint expression -> kind

    # ---------------------------------------------------------------------------------------------- helpers
    def text(self, i: int) -> str:
        return self.toks[i].text if 0 <= i < self.n else ""

    def kind(self, i: int) -> str:
        return self.toks[i].kind if 0 <= i < self.n else ""

    def is_op(self, i: int, text: str) -> bool:
        return 0 <= i < self.n and self.toks[i].kind == OP and self.toks[i].text == text

    def is_kw(self, i: int, text: str) -> bool:
        return 0 <= i < self.n and self.toks[i].kind == KEYWORD and self.toks[i].text == text

    def skip_attrs(self, i: int) -> int | None:
        while i < self.n and self.toks[i].kind == ATTR_OPEN:
            j = self.pair[i]
            if j < 0:
                return None
            i = j + 1
        return i

    def remove(self, start: int, end: int, what: str) -> None:
        for k in range(start, min(end, self.n)):
            self.side.keep[k] = 0
        self.side.spans.append(_Span(start, end, what))

    def finding(self, rule: str, i: int, message: str) -> None:
        self.side.findings.append(_Finding(rule, min(i, self.n - 1), message))

    # ---------------------------------------------------------------------- classes of the token before `{`
    def cls(self, j: int, start: int, bar_cls: dict[int, str], for_bar: bool = False) -> str:
        """Can an expression end with token `j` ('D': surely, 'N': surely not, 'A': not sure)?"""
        if j < start:
            return "N"
        t = self.toks[j]
        if t.kind in (IDENT, NUMBER, STRING, CHAR):
            return "D"
        if t.kind == KEYWORD:
            if self.is_op(j - 1, ".") or t.text in _END_KW or _ARRAY_OR_BV.fullmatch(t.text):  # `f.requires`
                return "D"
            if t.text in ("multiset", "iset"):
                return "A" if self.text(j - 1) in ("as", "is", ":") else "N"
            if t.text in _COLLECTION_KW:
                return "A"
            return "N"
        if t.kind == ATTR_OPEN:
            return "A"
        if t.kind != OP:
            return "A"
        x = t.text
        if x == ")":
            return "D"
        if x == "]":
            o = self.pair[j]
            return "A" if o > 0 and self.text(o - 1) == "#" else "D"
        if x == "}":
            k = self.group_kind.get(j)
            return {"display": "D", "match": "D", "calc": "N"}.get(k or "", "A")
        if x == ">":
            return "N" if for_bar else "A"
        if x == "|":
            return bar_cls.get(j, "A")
        if x == "*":
            c = self.cls(j - 1, start, bar_cls)
            return {"D": "N", "N": "D"}.get(c, "A")
        if x in ("..", "...", "#", "@", "`", "?", "'"):
            return "A"
        return "N"

    def scan_expr(self, i: int) -> tuple[int, bool]:
        """Skip one hint expression (or comma list) from token `i`. Returns (stop index, sure). The stop is never
        later than where Dafny ends the expression; `sure` is False when qedgen cannot tell (do not strip)."""
        start = i
        self.group_kind = {}
        match_pending = False
        calc_pending = False
        bars = 0
        bar_ambig = False
        bar_cls: dict[int, str] = {}
        comps: list[int] = []  # comprehensions whose range separator `|` may still come (bar depth at the keyword)
        semis = 0  # `;`s owed to a let `var x := e;` or `assert P;` inside the expression
        while i < self.n:
            t = self.toks[i]
            k, x = t.kind, t.text
            if k == OP:
                if x in (")", "]", "}") or (x == ";" and not semis):
                    return i, True
                if x == "{":
                    c = self.cls(i - 1, start, bar_cls)
                    j = self.pair[i]
                    if j < 0:
                        return i, False
                    if calc_pending and c in ("N", "D"):
                        self.group_kind[j] = "calc"
                        calc_pending = False
                        i = j + 1
                        continue
                    if match_pending and c == "D":
                        self.group_kind[j] = "match"
                        match_pending = False
                        i = j + 1
                        continue
                    if c == "N":
                        self.group_kind[j] = "display"
                        i = j + 1
                        continue
                    return i, c == "D"
                if x in ("(", "["):
                    j = self.pair[i]
                    if j < 0:
                        return i, False
                    i = j + 1
                    continue
                if x == "|":
                    c = self.cls(i - 1, start, bar_cls, for_bar=True)
                    if c == "N":  # after an operator (or at the start): an opening bar `|s|`
                        bars += 1
                        bar_cls[i] = "N"
                    elif c == "D" and comps and comps[-1] == bars:  # the range separator of a comprehension
                        comps.pop()
                        bar_cls[i] = "A"
                    elif c == "D" and bars > 0:  # inside `|...|` Dafny allows no bitwise `|`: a closing bar
                        bars -= 1
                        bar_cls[i] = "A" if bar_ambig else "D"
                        if bars == 0:
                            bar_ambig = False
                    elif c == "D":  # a separator or a bitwise or: never sure before a `{`
                        bar_cls[i] = "A"
                    else:
                        return i, False
                    i += 1
                    continue
                if x == "::" and comps and comps[-1] == bars:
                    comps.pop()
                if x == ";" and semis:
                    semis -= 1
                i += 1
                continue
            if k == ATTR_OPEN:
                j = self.pair[i]
                if j < 0:
                    return i, False
                i = j + 1
                continue
            prev_d = i > start and self.cls(i - 1, start, bar_cls) == "D"
            if k == KEYWORD and self.is_op(i - 1, ".") and i > start:  # `f.requires(x)`, `f.reads(x)`: members
                i += 1
                continue
            if k == KEYWORD:
                if x in _ALL_CLAUSES or x in _STMT_KW or x == "by":
                    return i, True
                if prev_d and x not in ("in", "is", "as", "then", "else", "case"):
                    return i, True
                if x == "match":
                    match_pending = True
                elif x == "calc":
                    calc_pending = True
                elif x == "case":
                    match_pending = False
                if x in ("match", "case") and bars > 0:
                    bar_ambig = True
                if x in ("set", "iset", "map", "imap", "forall", "exists") and not prev_d:
                    comps.append(bars)
                if x in ("var", "assert", "assume", "expect") and not prev_d:
                    semis += 1
                i += 1
                continue
            if prev_d and k in (IDENT, NUMBER, STRING, CHAR):
                return i, True
            i += 1
        return i, True

    # ------------------------------------------------------------------------------------- defense in depth
    def code_in(self, start: int, end: int, ghost_blocks: Sequence[tuple[int, int]] = (),
                ghost_var: bool = False) -> tuple[int, str] | None:
        """The first token in [start, end) that looks like code (outside `ghost_blocks`), with the reason."""
        stack: list[int] = []  # indexes of the open brackets
        seg_owner: list[int] = [0]  # per bracket level: `;`s owed to a let, assert, assume, expect
        seg_start: list[int] = [start]
        lets: list[int] = [0]  # per level: pending `var` bindings awaiting their `:=`
        maps: list[bool] = [False]
        ifs: list[int] = [0]
        i = start
        while i < end:
            if any(a <= i < b for a, b in ghost_blocks):
                i = next(b for a, b in ghost_blocks if a <= i < b)
                continue
            t = self.toks[i]
            k, x = t.kind, t.text
            if (k == OP and x in ("(", "[", "{")) or k == ATTR_OPEN:
                stack.append(i)
                seg_owner.append(0)
                seg_start.append(i + 1)
                lets.append(0)
                maps.append(False)
                ifs.append(0)
            elif k == OP and x in (")", "]", "}"):
                if stack:
                    stack.pop()
                    seg_owner.pop()
                    seg_start.pop()
                    lets.pop()
                    maps.pop()
                    if ifs.pop() > 0:
                        return i, "`if` without `then` (an if statement)"
            elif k == OP and x == ":=":
                opener = self.toks[stack[-1]] if stack else None
                if lets[-1] > 0:
                    lets[-1] -= 1
                elif opener is not None and opener.text == "[":
                    pass
                elif opener is not None and opener.text == "(" and self.is_op(stack[-1] - 1, "."):
                    pass
                elif maps[-1]:
                    pass
                else:
                    return i, "an assignment `:=`"
            elif k == OP and x == ":-":
                return i, "`:-` (an assignment that may fail)"
            elif k == OP and x == ";":
                owned = seg_owner[-1] > 0 or self.is_lemma_call(seg_start[-1], i) or (
                    self.kind(seg_start[-1]) == IDENT and self.text(seg_start[-1]) == "reveal") or (
                    i == end - 1 and not stack)  # the span's own terminator
                if not owned:
                    return i, "a `;` that ends a statement"
                if seg_owner[-1] > 0:
                    seg_owner[-1] -= 1
                seg_start[-1] = i + 1
            elif k == KEYWORD:
                if x in _STMT_KW and not (x == "ghost" and ghost_var and i == start):
                    return i, f"the statement keyword `{x}`"
                if x in _SEMI_OWNERS:
                    seg_owner[-1] += 1
                if x == "var":
                    lets[-1] += 1
                elif x in ("map", "imap"):
                    maps[-1] = True
                elif x == "if":
                    ifs[-1] += 1
                elif x == "then":
                    ifs[-1] = max(0, ifs[-1] - 1)
            elif k == IDENT and x in self.method_names and self.is_op(i + 1, "("):
                return i, f"a call of method `{x}`"
            elif k == IDENT and x in self.method_names and ghost_var:
                return i, f"a call of method `{x}`"
            i += 1
        if ifs[0] > 0:
            return end - 1, "`if` without `then` (an if statement)"
        return None

    def is_lemma_call(self, i: int, end: int) -> bool:
        """Tokens [i, end) are `[Q.]L[<T>](args)` for a name that only lemmas carry."""
        j = self.call_end(i)
        return j is not None and j == end

    def call_end(self, i: int) -> int | None:
        """End of `[Q.]*L[<T>](args)` at `i` (after the `)`), or None when `L` is not surely a lemma."""
        j = i
        last = None
        while j < self.n and (self.kind(j) == IDENT or self.is_kw(j, "this")):
            last = self.text(j)
            j += 1
            if self.is_op(j, ".") and (self.kind(j + 1) == IDENT):
                j += 1
                continue
            break
        if last is None or last not in self.lemma_names:
            return None
        if self.is_op(j, "<"):
            depth = 0
            while j < self.n:
                if self.is_op(j, "<"):
                    depth += 1
                elif self.is_op(j, ">"):
                    depth -= 1
                    if depth == 0:
                        j += 1
                        break
                elif not (self.kind(j) in (IDENT, KEYWORD) or self.is_op(j, ",") or self.is_op(j, "?")):
                    return None
                j += 1
        if not self.is_op(j, "(") or self.pair[j] < 0:
            return None
        return self.pair[j] + 1

    # ----------------------------------------------------------------------------------------- declarations
    def reduce(self) -> _Side:
        for d in self.decls:
            if not d.is_callable:
                continue
            is_hint = d.kind == "lemma" or (
                self.old_funcs is not None and d.kind in ("function", "predicate") and d.qualified not in self.old_funcs)
            if is_hint and not self.removed(d.start):
                if self.decl_end_ok(d):
                    self.remove(d.start, d.end, d.kind)
                    if d.kind != "lemma" or self.old_funcs is not None:
                        self.side.new_decls.append(d)
                else:
                    self.finding("QED-E202", d.start, f"qedgen cannot tell where {d.kind} `{d.qualified}` ends; "
                                 "write it in the usual form `... { body }`.")
        for d in self.decls:
            if not d.is_callable or self.removed(d.start):
                continue
            for cl in d.clauses:
                if cl.keyword == "decreases":
                    self.header_decreases(d, cl.start, cl.end)
            if d.body:
                self.body(d.body[0] + 1, d.body[1] - 1)
        return self.side

    def removed(self, i: int) -> bool:
        return 0 <= i < self.n and not self.side.keep[i]

    def decl_end_ok(self, d: Decl) -> bool:
        e = d.end
        if d.body and self.is_op(d.body[0], "{") and self.pair[d.body[0]] + 1 != d.body[1] and d.kind == "lemma":
            return False
        if e >= self.n:
            return True
        return self.is_op(e, "}") or self.out_starts_decl(e) or self.is_op(e, ";")

    def out_starts_decl(self, i: int) -> bool:
        p = self.side.out._parser
        return p is not None and p.starts_decl(i)

    def header_decreases(self, d: Decl, start: int, end: int) -> None:
        i = self.skip_attrs(start + 1)
        if i is None:
            return
        stop, sure = self.scan_expr(i)
        if not sure or stop == i:
            return
        if self.is_op(stop, ";"):
            stop += 1
        nxt = self.text(stop) if stop < self.n else ""
        if stop != end or not (nxt in _ALL_CLAUSES or nxt in ("{", "}") or stop >= self.n or self.out_starts_decl(stop)
                               or self.text(stop - 1) == ";"):
            return
        bad = self.code_in(start, stop)
        if bad:
            self.finding("QED-E202", bad[0], f"The `decreases` clause of `{d.qualified}` contains {bad[1]}.")
            return
        self.remove(start, stop, "decreases")

    # ------------------------------------------------------------------------------------------------- bodies
    def body(self, lo: int, hi: int) -> None:
        i = lo
        while i < hi:
            if not self.side.keep[i]:
                i += 1
                continue
            j = self.hint_at(i, hi)
            i = j if j is not None and j > i else i + 1

    def hint_at(self, i: int, hi: int) -> int | None:
        t = self.toks[i]
        k, x = t.kind, t.text
        if k == KEYWORD and x in _LOOP_CLAUSES:
            return self.loop_clause(i, hi)
        prev = self.text(i - 1)
        labelled = prev == ":" and self.kind(i - 2) == IDENT and self.is_kw(i - 3, "label")
        if not labelled and (prev not in _START_PREV or self.kind(i - 1) not in (OP, KEYWORD)):
            return None
        if k == KEYWORD and x == "assert":
            return self.assert_(i, hi)
        if k == KEYWORD and x == "calc":
            return self.calc(i, hi)
        if k == KEYWORD and x == "forall":
            return self.forall(i, hi)
        if k == KEYWORD and x == "ghost" and self.is_kw(i + 1, "var"):
            return self.ghost_var(i, hi)
        if k == IDENT and x == "reveal" and self.kind(i + 1) == IDENT:
            return self.reveal(i, hi)
        if k in (IDENT, KEYWORD):
            j = self.call_end(i)
            if j is not None and j < hi and self.is_op(j, ";"):
                return self.accept(i, j + 1, "lemma call")
        return None

    def accept(self, start: int, end: int, what: str, ghost_blocks: Sequence[tuple[int, int]] = (),
               ghost_var: bool = False) -> int | None:
        bad = self.code_in(start, end, ghost_blocks, ghost_var)
        if bad:
            self.finding("QED-E202", bad[0], f"This {what} (`{render(self.toks[start:end], 80)}`) contains "
                         f"{bad[1]}; a hint may not contain code.")
            return None
        self.remove(start, end, what)
        return end

    def loop_clause(self, i: int, hi: int) -> int | None:
        j = self.skip_attrs(i + 1)
        if j is None:
            return None
        stop, sure = self.scan_expr(j)
        if not sure or stop == j or stop >= hi:
            return None
        if self.is_op(stop, ";"):
            stop += 1
            if stop >= hi:
                return None
        elif not (self.is_op(stop, "{") or self.text(stop) in _LOOP_CLAUSES):
            return None
        return self.accept(i, stop, f"loop `{self.text(i)}` clause")

    def assert_(self, i: int, hi: int) -> int | None:
        j = self.skip_attrs(i + 1)
        if j is None:
            return None
        if self.kind(j) in (IDENT, NUMBER) and self.is_op(j + 1, ":"):
            j += 2
        stop, sure = self.scan_expr(j)
        if not sure or stop == j or stop >= hi:
            return None
        if self.is_op(stop, ";"):
            return self.accept(i, stop + 1, "assert")
        if self.is_kw(stop, "by") and self.is_op(stop + 1, "{") and self.pair[stop + 1] > 0:
            end = self.pair[stop + 1] + 1
            if end > hi:
                return None
            return self.accept(i, end, "assert ... by", ghost_blocks=[(stop + 1, end)])
        return None

    def calc(self, i: int, hi: int) -> int | None:
        j = self.skip_attrs(i + 1)
        if j is None:
            return None
        steps = 0
        while j < hi and not self.is_op(j, "{") and steps < 4:
            if self.kind(j) != OP:
                return None
            if self.is_op(j, "["):
                if self.text(j - 1) != "#" or self.pair[j] < 0:
                    return None
                j = self.pair[j] + 1
            else:
                j += 1
            steps += 1
        if not self.is_op(j, "{") or self.pair[j] < 0 or self.pair[j] >= hi:
            return None
        end = self.pair[j] + 1
        return self.accept(i, end, "calc", ghost_blocks=[(j, end)])

    def reveal(self, i: int, hi: int) -> int | None:
        j = i + 1
        while j < hi and not self.is_op(j, ";"):
            if not (self.kind(j) == IDENT or (self.kind(j) == OP and self.text(j) in (".", ",", "(", ")", "<", ">"))):
                return None
            j += 1
        if j >= hi:
            return None
        return self.accept(i, j + 1, "reveal")

    def ghost_var(self, i: int, hi: int) -> int | None:
        j = self.skip_attrs(i + 2)
        if j is None:
            return None
        names = []
        k = j
        while k < hi:
            if self.kind(k) == IDENT:
                names.append((self.text(k), k))
                k += 1
                if self.is_op(k, ":"):  # a type: up to `,`, `:=`, `:|` or `;` (brackets balanced)
                    k += 1
                    while k < hi and not (self.kind(k) == OP and self.text(k) in (",", ":=", ":|", ";")):
                        if self.kind(k) == OP and self.text(k) in ("(", "[", "{") and self.pair[k] > 0:
                            k = self.pair[k] + 1
                        else:
                            k += 1
                if self.is_op(k, ","):
                    k += 1
                    continue
            break
        if not names:
            return None
        # the end: the first `;` at depth 0 (Dafny's declaration ends at a `;` at depth 0, never before)
        e = k
        while e < hi and not self.is_op(e, ";"):
            if self.kind(e) in (OP, ATTR_OPEN) and (self.text(e) in ("(", "[", "{") or self.kind(e) == ATTR_OPEN):
                if self.pair[e] < 0 or self.pair[e] >= hi:
                    return None
                e = self.pair[e] + 1
                continue
            if self.kind(e) == OP and self.text(e) in (")", "]", "}"):
                return None
            e += 1
        if e >= hi:
            return None
        end = self.accept(i, e + 1, "ghost variable", ghost_var=True)
        if end is not None:
            for nm, idx in names:
                self.side.ghost_vars.setdefault(nm, idx)
        return end

    def forall(self, i: int, hi: int) -> int | None:
        j = self.skip_attrs(i + 1)
        if j is None:
            return None
        if self.is_op(j, "("):
            if self.pair[j] < 0:
                return None
            j = self.pair[j] + 1
            if self.text(j) != "ensures":
                return None
        else:
            stop, sure = self.scan_expr(j)
            if not sure or self.text(stop) != "ensures":
                return None  # a quantifier (`::`), an aggregate assignment (no `ensures`), or not sure
            if any(self.is_op(m, "::") for m in range(j, stop)):
                return None
            j = stop
        while self.is_kw(j, "ensures"):
            a = self.skip_attrs(j + 1)
            if a is None:
                return None
            stop, sure = self.scan_expr(a)
            if not sure or stop == a:
                return None
            j = stop
        if not self.is_op(j, "{") or self.pair[j] < 0 or self.pair[j] >= hi:
            return None
        end = self.pair[j] + 1
        return self.accept(i, end, "forall ... ensures", ghost_blocks=[(j, end)])


def _reduce(src: str, file: str, old_funcs: frozenset[str] | None) -> _Side:
    out = outline(src)
    return _Reducer(src, file, out, old_funcs).reduce()


def _violation(side: _Side, rule: str, i: int | None, message: str) -> IntegrityViolation:
    toks = side.tokens
    t = toks[i] if i is not None and toks else None
    member = side.out.member_at(t.line) if t is not None else None
    return IntegrityViolation(rule=rule, family=RuleFamily.frozen_code, message=message, file=side.file, line=t.line if t else None,
                              column=t.col if t else None, member=member)


def check_annotation(program_src: str, candidate_src: str, candidate_file: str,
                     program_file: str = "program.dfy") -> list[IntegrityViolation]:
    """Is `candidate_src` the program `program_src` plus proof hints only? Returns the violations (empty: yes).

    Raises `BadInput` when the given program itself cannot be read."""
    p_out = outline(program_src)
    if p_out.problems:
        raise BadInput(f"program {program_file}: cannot read its declarations ({p_out.problems[0]})",
                       "write the program in standard Dafny 4 syntax; `dafny resolve` should accept it")
    p_side = _Reducer(program_src, program_file, p_out, None).reduce()
    c_out = outline(candidate_src)
    violations: list[IntegrityViolation] = []
    if c_out.problems:
        for problem in c_out.problems[:3]:
            line = int(problem.split(":")[0].split()[-1]) if problem.startswith("line ") else None
            violations.append(IntegrityViolation(
                rule="QED-E200", family=RuleFamily.frozen_code, file=candidate_file, line=line,
                message=f"qedgen could not read the declaration structure ({problem}). Write the candidate in "
                        f"standard Dafny 4 syntax (`dafny resolve` must accept it). {_FIX}"))
        return violations
    p_funcs = frozenset(d.qualified for d in p_out.walk() if d.kind in ("function", "predicate"))
    c_side = _Reducer(candidate_src, candidate_file, c_out, p_funcs).reduce()
    for f in c_side.findings:
        violations.append(_violation(c_side, f.rule, f.index, f"{f.message} {_FIX}"))

    # names the program's code and contract use: a hint may not take them over
    p_kept = p_side.kept()
    p_names = {p_side.tokens[i].text for i in p_kept if p_side.tokens[i].kind == IDENT}
    p_lemmas = {d.qualified for d in p_out.walk() if d.kind == "lemma"}
    for d in c_side.new_decls:
        if d.kind == "lemma" and d.qualified in p_lemmas:
            continue
        if d.name in p_names:
            violations.append(_violation(c_side, "QED-E203", d.start,
                                         f"New {d.kind} `{d.qualified}` reuses the name `{d.name}`, which the "
                                         f"program's code or contract uses; it could change what that name refers "
                                         f"to. Give it a fresh name."))
    for name, idx in c_side.ghost_vars.items():
        if name in p_names and name not in p_side.ghost_vars:
            violations.append(_violation(c_side, "QED-E203", idx,
                                         f"Ghost variable `{name}` reuses the name of a variable of the program; "
                                         f"it could shadow it (the program's own statements would then update the "
                                         f"ghost variable). Give it a fresh name."))

    c_kept = c_side.kept()
    a = texts([p_side.tokens[i] for i in p_kept])
    b = texts([c_side.tokens[i] for i in c_kept])
    if a != b:
        violations.append(_difference(p_side, p_kept, c_side, c_kept, a, b))
    seen: set[tuple] = set()
    unique = []
    for v in sorted(violations, key=lambda v: (v.line or 0, v.column or 0, v.rule)):
        key = (v.rule, v.line, v.column, v.message)
        if key not in seen:
            seen.add(key)
            unique.append(v)
    return unique


def _difference(p: _Side, p_kept: list[int], c: _Side, c_kept: list[int], a: tuple[str, ...],
                b: tuple[str, ...]) -> IntegrityViolation:
    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    op = next(o for o in sm.get_opcodes() if o[0] != "equal")
    _, a0, a1, b0, b1 = op
    width = 8
    expected = [p.tokens[i] for i in p_kept[a0:min(a1, a0 + width)]]
    found = [c.tokens[i] for i in c_kept[b0:min(b1, b0 + width)]]
    exp_txt = f"`{render(expected, 100)}`" if expected else "nothing"
    found_txt = f"`{render(found, 100)}`" if found else "nothing"
    if b0 < len(c_kept):
        ci = c_kept[b0]
    else:
        ci = c_kept[-1] if c_kept else None
    p_line = p.tokens[p_kept[a0]].line if a0 < len(p_kept) else None
    where_p = f" (program line {p_line})" if p_line else " (at the end of the program)"
    if op[0] == "insert":
        what = f"found {found_txt}, which is not in the given program and is not a proof hint"
    elif op[0] == "delete":
        what = f"the program's {exp_txt}{where_p} is missing"
    else:
        what = f"expected the program's {exp_txt}{where_p}, found {found_txt}"
    if op[0] != "delete" and found and found[0].text in _HINT_STARTS:
        what += (f". If `{found[0].text}` starts a proof hint, qedgen could not be sure where it ends, so it counts as "
                 "code: write the hint plainly (one statement ending in `;`, a loop clause right before the next "
                 "clause or the loop body; put parentheses around an expression that ends in `>`, `|`, `*` or a "
                 "set display, and do not call methods, assign or allocate inside a hint)")
    context = [c.tokens[i] for i in c_kept[max(0, b0 - 4):b0]]
    after = f" after `{render(context, 60)}`" if context else ""
    return _violation(c, "QED-E201", ci, f"The code or contract of the given program changed{after}: {what}. "
                      f"{_FIX}")
