r"""The annotate guard: the candidate must be the given program plus proof hints, and nothing else.

In annotate mode the user gives a complete Dafny program P (code and contract, without proof hints) and the LLM
returns a candidate C. `check_annotation(P, C, candidate_file)` says whether C keeps every token of P's code and
contract: both are reduced to their token sequences with every *hint span* removed (comments and whitespace never
count), and the two sequences must be equal, token for token. Escapes from proof inside the hints (`assume`,
`{:axiom}`, `{:verify false}`, bodiless members, `decreases *`...) are not judged here: run
`backends.dafny.integrity.check_integrity(C, file)` beside this guard. Equal text is not equal meaning (a hint can
change the type Dafny infers for the program's own variables, or shadow them): `meaning.py` asks Dafny itself
and compares its compiled and resolved readings of both programs (rules QED-E204..E208).

What P states is part of P: each of P's lemmas stays, with its header and clauses token for token (its body is
compared like code: it may gain hints, its own statements stay); each of P's own proof statements (`assert`,
`calc`, `reveal`, `ghost var`, lemma calls, `forall ... ensures`) and loop invariants stays at its place (between
the same code tokens, in the same order), token for token. A candidate may add hints before or after them, a
`by { ... }` proof to an assert, hints inside a `calc`'s step blocks or a `forall`'s body, and proof-performance
attributes; it may not delete, weaken, move or re-state them. P's loop `decreases`/`modifies` and member
`decreases` clauses are termination and framing proofs: free, as everywhere.

Rule table (ids are stable; new rules get new ids):

| id | rule |
|---|---|
| QED-E200 | qedgen could not read the candidate's declaration structure (the outline parser gave up) |
| QED-E201 | the code or contract of the given program changed (first differing place, expected vs found tokens) |
| QED-E202 | a hint contains code (an assignment, a statement keyword, a method call or allocation in a ghost variable...) |
| QED-E203 | a new lemma, function, predicate or ghost variable reuses a name that the program uses (it could change what that name refers to, or shadow a variable) |
| QED-E204 | (meaning check) Dafny compiles a definition of the program differently in the candidate, or not at all: a hint changed what the code does (an inferred type, a shadowed variable, a call from a hint) |
| QED-E205 | (meaning check) the candidate adds compiled code under a name the program's compiled code uses (so the program could run it) |
| QED-E206 | (meaning check) Dafny's resolved reading (inferred types of locals and bound variables, in code and ghost code) differs between the program and the candidate |
| QED-E207 | (meaning check) the program compiles and the candidate does not (a hint made code uncompilable: the compiled meaning cannot be compared) |
| QED-E208 | (meaning check) the meanings could not be compared: Dafny timed out, crashed, wrote nothing readable, or does not resolve the candidate |
| QED-E209 | a lemma of the program is missing, renamed, moved, declared twice, or its header, clauses or own statements changed |
| QED-E210 | a proof statement or loop invariant of the program is missing, changed, moved or out of order |

What counts as a hint (everything else is code or contract and must stay exactly as in P):

* declarations: in C, every `lemma` (any modifiers: ghost, static, twostate, least, greatest; legacy `colemma`,
  `inductive lemma`) and every `function`/`predicate` (ghost or not, any modifiers) whose qualified name P does
  not declare. A new method, class, datatype, const, field, module... is NOT a hint.
* member headers: the `decreases` clauses of methods, functions, lemmas, constructors... (a termination metric is
  proof; `requires`, `ensures`, `reads`, `modifies` of a member are contract), and the proof-performance
  attributes of any member (`{:isolate_assertions}`, `{:vcs_split_on_every_assert}`, `{:resource_limit ...}`,
  `@IsolateAssertions`..., see `integrity.PERF_ATTRIBUTES`);
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
non-ghost method (Dafny 4.11 accepts `ghost var x := M();` for a compiled method `M`, or an iterator's `MoveNext`,
and compiles the call) and a ghost variable may not even name one; `:=` may also stand for a named argument,
`Ctor(f := v)`. Ghost variables may not reuse any name the program uses (Dafny allows shadowing in an inner
block, which would redirect the program's own assignments to the ghost variable).
"""

from __future__ import annotations

import bisect
import difflib
from dataclasses import dataclass, field
from typing import Sequence

from backends.dafny.integrity import _AT_NAMES, PERF_ATTRIBUTES
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
    "QED-E204": "compiled code of the program changed",
    "QED-E205": "new compiled code under a name the program's code uses",
    "QED-E206": "Dafny's resolved reading of the program changed",
    "QED-E207": "candidate cannot be compiled, the program can",
    "QED-E208": "meaning could not be compared",
    "QED-E209": "lemma of the program changed",
    "QED-E210": "proof statement of the program missing, changed or moved",
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
    """A hint span [start, end). `kind` is one of `_CLAIM_KINDS` for a statement or loop clause that, in the
    given program, must stay; `claim_end` ends the part that is claimed (an `assert ... by`'s proof is free)."""

    start: int
    end: int
    what: str
    kind: str = ""
    claim_end: int | None = None
    names: tuple[str, ...] = ()  # the variables a `ghost var` declares


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
    new_decls: list[Decl] = field(default_factory=list)

    @property
    def tokens(self) -> list[Token]:
        return self.out.tokens

    def kept(self) -> list[int]:
        return [i for i in range(len(self.tokens)) if self.keep[i]]


class _Reducer:
    """Finds the hint spans of one program. `old_funcs`: the qualified names of P's functions/predicates and
    `program_lemmas` those of P's lemmas (both None when reducing P itself: then every lemma is P's own)."""

    def __init__(self, src: str, file: str, out: Outline, old_funcs: frozenset[str] | None,
                 program_lemmas: frozenset[str] | None = None) -> None:
        self.side = _Side(src, file, out, bytearray(b"\x01" * len(out.tokens)))
        self.toks = out.tokens
        self.n = len(self.toks)
        self.pair = out._parser.pair if out._parser else [-1] * self.n
        self.old_funcs = old_funcs
        self.program_lemmas = program_lemmas
        decls = list(out.walk())
        by_name: dict[str, set[str]] = {}
        for d in decls:
            if d.name:
                by_name.setdefault(d.name, set()).add(d.kind)
        self.lemma_names = frozenset(nm for nm, kinds in by_name.items() if kinds == {"lemma"})
        # `MoveNext`: an iterator's implicit compiled method (Dafny compiles `ghost var b := it.MoveNext();`)
        self.method_names = frozenset(d.name for d in out.walk() if d.kind in ("method", "constructor", "iterator")
                                      and "ghost" not in d.modifiers) | {"MoveNext"}
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

    def remove(self, start: int, end: int, what: str, kind: str = "", claim_end: int | None = None,
               names: tuple[str, ...] = ()) -> None:
        for k in range(start, min(end, self.n)):
            self.side.keep[k] = 0
        self.side.spans.append(_Span(start, end, what, kind, claim_end, names))

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
            o = self.pair[j]
            if o >= start and self.kind(o) == ATTR_OPEN:  # `x: int {:trigger f(x)} | ...`: attributes are transparent
                return self.cls(o - 1, start, bar_cls, for_bar)
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
                elif opener is not None and opener.text == "(" and self.kind(i - 1) == IDENT and (
                        self.text(i - 2) in ("(", ",") and i - 2 >= stack[-1]) and (
                        self.kind(stack[-1] - 1) == IDENT or self.text(stack[-1] - 1) in (")", ">")):
                    pass  # a named argument of a call, `Ctor(take := 4)`
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
    def is_program_lemma(self, d: Decl) -> bool:
        """A lemma of the given program: it stays (header and clauses frozen, the body may gain hints)."""
        return d.kind == "lemma" and (self.program_lemmas is None or d.qualified in self.program_lemmas)

    def reduce(self) -> _Side:
        for d in self.decls:
            if not d.is_callable or self.is_program_lemma(d):
                continue
            is_hint = d.kind == "lemma" or (
                self.old_funcs is not None and d.kind in ("function", "predicate") and d.qualified not in self.old_funcs)
            if is_hint and not self.removed(d.start):
                if self.decl_end_ok(d):
                    self.remove(d.start, d.end, d.kind)
                    if self.old_funcs is not None:
                        self.side.new_decls.append(d)
                else:
                    self.finding("QED-E202", d.start, f"qedgen cannot tell where {d.kind} `{d.qualified}` ends; "
                                 "write it in the usual form `... { body }`.")
        for d in self.decls:
            if not d.is_callable or self.removed(d.start):
                continue
            for a in d.attributes:  # proof-performance attributes of a member are hints
                name = _AT_NAMES.get(a.name, "") if a.form == "at" else a.name
                if name in PERF_ATTRIBUTES and not self.removed(a.start):
                    self.remove(a.start, a.end, "attribute")
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
        self.remove(start, stop, "decreases", "decreases")

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
                return self.accept(i, j + 1, "lemma call", kind="lemma_call")
        return None

    def accept(self, start: int, end: int, what: str, ghost_blocks: Sequence[tuple[int, int]] = (),
               ghost_var: bool = False, kind: str = "", claim_end: int | None = None,
               names: tuple[str, ...] = ()) -> int | None:
        bad = self.code_in(start, end, ghost_blocks, ghost_var)
        if bad:
            self.finding("QED-E202", bad[0], f"This {what} (`{render(self.toks[start:end], 80)}`) contains "
                         f"{bad[1]}; a hint may not contain code.")
            return None
        self.remove(start, end, what, kind, claim_end, names)
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
        kind = {"invariant": "invariant", "decreases": "loop_decreases"}.get(self.text(i), "loop_modifies")
        return self.accept(i, stop, f"loop `{self.text(i)}` clause", kind=kind)

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
            return self.accept(i, stop + 1, "assert", kind="assert")
        if self.is_kw(stop, "by") and self.is_op(stop + 1, "{") and self.pair[stop + 1] > 0:
            end = self.pair[stop + 1] + 1
            if end > hi:
                return None
            return self.accept(i, end, "assert ... by", ghost_blocks=[(stop + 1, end)], kind="assert",
                               claim_end=stop)
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
        return self.accept(i, end, "calc", ghost_blocks=[(j, end)], kind="calc")

    def reveal(self, i: int, hi: int) -> int | None:
        j = i + 1
        while j < hi and not self.is_op(j, ";"):
            if not (self.kind(j) == IDENT or (self.kind(j) == OP and self.text(j) in (".", ",", "(", ")", "<", ">"))):
                return None
            j += 1
        if j >= hi:
            return None
        return self.accept(i, j + 1, "reveal", kind="reveal")

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
        return self.accept(i, e + 1, "ghost variable", ghost_var=True, kind="ghost_var",
                           names=tuple(nm for nm, _ in names))

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
        return self.accept(i, end, "forall ... ensures", ghost_blocks=[(j, end)], kind="forall_ensures",
                           claim_end=j)


#: Hint statements and loop clauses that, when the given program has them, are part of what it claims: they stay.
_CLAIM_KINDS = frozenset({"assert", "calc", "reveal", "ghost_var", "lemma_call", "forall_ensures", "invariant"})
#: Attributes that only change how a claim is proved: ignored when the program's own claims are compared.
_CLAIM_PERF = PERF_ATTRIBUTES | {"split_here", "focus", "isolate", "subsumption"}


@dataclass
class _Region:
    """What is compared as one token sequence: the code and contract outside the program's lemmas (name "") or
    one lemma of the program (its qualified name). `kept`: its token indexes outside hint spans."""

    name: str
    decl: Decl | None
    kept: list[int] = field(default_factory=list)
    claims: list[_Span] = field(default_factory=list)

    def gap(self, span: _Span) -> int:
        """Where a span sits: how many of the region's kept tokens come before it."""
        return bisect.bisect_left(self.kept, span.start)


def _regions(side: _Side, program_lemmas: frozenset[str]) -> tuple[dict[str, _Region], list[Decl]]:
    """The regions of one side, and the program lemmas it declares twice."""
    regions = {"": _Region("", None)}
    owner: list[str] = [""] * len(side.tokens)
    twice: list[Decl] = []
    for d in side.out.walk():
        if d.kind != "lemma" or d.qualified not in program_lemmas:
            continue
        if d.qualified in regions:
            twice.append(d)
            continue
        regions[d.qualified] = _Region(d.qualified, d)
        owner[d.start:d.end] = [d.qualified] * (d.end - d.start)
    for i in range(len(side.tokens)):
        if side.keep[i]:
            regions[owner[i]].kept.append(i)
    for sp in side.spans:
        if sp.kind in _CLAIM_KINDS and sp.start < len(owner):
            regions[owner[sp.start]].claims.append(sp)
    return regions, twice


def _claim(side: _Side, sp: _Span) -> tuple[str, ...]:
    """The claimed text of a span: its tokens up to a `by` proof or a `forall`'s body, without the hint blocks of
    a `calc`, proof-performance attributes and a trailing `;` (so `assert P;` and `assert {:split_here} P by
    { ... }` claim the same; a proof may gain hints)."""
    toks, pair = side.tokens, side.out._parser.pair if side.out._parser else []
    out: list[str] = []
    i, end = sp.start, sp.claim_end if sp.claim_end is not None else sp.end
    calc_body = -1
    if sp.kind == "calc":
        calc_body = next((k for k in range(sp.start, end) if toks[k].kind == OP and toks[k].text == "{"), -1)
    while i < end:
        t = toks[i]
        if t.kind == ATTR_OPEN and pair and pair[i] > i and i + 1 < len(toks) and toks[i + 1].text in _CLAIM_PERF:
            i = pair[i] + 1
            continue
        if calc_body >= 0 and calc_body < i < pair[calc_body]:
            # a calc's step hints: `{ ... }` blocks and nested `calc`s directly in its body (a line cannot
            # start with `{`); the lines and operators are the claim
            depth_one = _innermost_open(pair, calc_body, i) == calc_body
            if depth_one and t.kind == OP and t.text == "{" and pair[i] > i:
                i = pair[i] + 1
                continue
            if depth_one and t.kind == KEYWORD and t.text == "calc":
                k = next((m for m in range(i, pair[calc_body]) if toks[m].kind == OP and toks[m].text == "{"), -1)
                if k >= 0 and pair[k] > k:
                    i = pair[k] + 1
                    continue
        out.append(t.text)
        i += 1
    if out and out[-1] == ";":
        out.pop()
    return tuple(out)


def _innermost_open(pair: list[int], outer: int, i: int) -> int:
    """The innermost bracket in (outer, i) that is still open at token `i` (or `outer`)."""
    best = outer
    k = outer + 1
    while k < i:
        j = pair[k]
        if j > k and j > i:  # opens before i, closes after it: enclosing
            best = k
            k += 1
        elif j > k:  # a closed group before i: skip it
            k = j + 1
        else:
            k += 1
    return best


def _violation(side: _Side, rule: str, i: int | None, message: str) -> IntegrityViolation:
    toks = side.tokens
    t = toks[i] if i is not None and toks else None
    member = side.out.member_at(t.line) if t is not None else None
    return IntegrityViolation(rule=rule, family=RuleFamily.frozen_code, message=message, file=side.file,
                              line=t.line if t else None, column=t.col if t else None, member=member)


def check_annotation(program_src: str, candidate_src: str, candidate_file: str,
                     program_file: str = "program.dfy", *, resolved: bool = False) -> list[IntegrityViolation]:
    """Is `candidate_src` the program `program_src` plus proof hints only? Returns the violations (empty: yes).

    `resolved`: the two texts are Dafny's resolved prints of the program and the candidate (`meaning.py`);
    messages then cite no line of those prints and carry no repair advice of their own.
    Raises `BadInput` when the given program itself cannot be read."""
    p_out = outline(program_src)
    if p_out.problems:
        raise BadInput(f"program {program_file}: cannot read its declarations ({p_out.problems[0]})",
                       "write the program in standard Dafny 4 syntax; `dafny resolve` should accept it")
    p_side = _Reducer(program_src, program_file, p_out, None).reduce()
    c_out = outline(candidate_src)
    fix = "" if resolved else f" {_FIX}"
    violations: list[IntegrityViolation] = []
    if c_out.problems:
        for problem in c_out.problems[:3]:
            line = int(problem.split(":")[0].split()[-1]) if problem.startswith("line ") else None
            violations.append(IntegrityViolation(
                rule="QED-E200", family=RuleFamily.frozen_code, file=candidate_file, line=line,
                message=f"qedgen could not read the declaration structure ({problem}). Write the candidate in "
                        f"standard Dafny 4 syntax (`dafny resolve` must accept it).{fix}"))
        return violations
    p_funcs = frozenset(d.qualified for d in p_out.walk() if d.kind in ("function", "predicate"))
    p_lemmas = frozenset(d.qualified for d in p_out.walk() if d.kind == "lemma")
    c_side = _Reducer(candidate_src, candidate_file, c_out, p_funcs, p_lemmas).reduce()
    for f in c_side.findings:
        violations.append(_violation(c_side, f.rule, f.index, f"{f.message}{fix}"))

    # every name the program uses (code, contract, its own hints): a new name may not take one over
    p_names = {t.text for t in p_side.tokens if t.kind == IDENT}
    for d in c_side.new_decls:
        if d.name in p_names:
            violations.append(_violation(c_side, "QED-E203", d.start,
                                         f"New {d.kind} `{d.qualified}` reuses the name `{d.name}`, which the "
                                         f"program uses; it could change what that name refers to. Give it a "
                                         f"fresh name."))

    p_regions, _ = _regions(p_side, p_lemmas)
    c_regions, twice = _regions(c_side, p_lemmas)
    for d in twice:
        violations.append(_violation(c_side, "QED-E209", d.start, f"Lemma `{d.qualified}` of the given program "
                                     f"is declared twice.{fix}"))
    same: list[str] = []  # regions whose code is unchanged: there the program's claims are looked for
    p_main, c_main = p_regions[""], c_regions[""]
    a, b = texts([p_side.tokens[i] for i in p_main.kept]), texts([c_side.tokens[i] for i in c_main.kept])
    if a != b:
        violations.append(_difference(p_side, p_main.kept, c_side, c_main.kept, a, b, resolved))
    else:
        same.append("")
    for q, pr in p_regions.items():
        if q and _lemma_unchanged(p_side, pr, c_side, c_regions.get(q), violations, resolved):
            same.append(q)

    matched: set[int] = set()  # ids of the candidate's spans that are the program's own claims
    for q in same:
        violations += _claims_kept(p_side, p_regions[q], c_side, c_regions[q], matched, resolved)
    for sp in c_side.spans:
        if sp.kind != "ghost_var" or id(sp) in matched:
            continue
        for name in sp.names:
            if name in p_names:
                violations.append(_violation(c_side, "QED-E203", sp.start,
                                             f"Ghost variable `{name}` reuses a name the program uses; it could "
                                             f"shadow a variable, parameter or field of the program (the "
                                             f"program's own statements would then update the ghost variable). "
                                             f"Give it a fresh name."))
    seen: set[tuple] = set()
    unique = []
    for v in sorted(violations, key=lambda v: (v.line or 0, v.column or 0, v.rule)):
        key = (v.rule, v.line, v.column, v.message)
        if key not in seen:
            seen.add(key)
            unique.append(v)
    return unique


def _lemma_unchanged(p: _Side, pr: _Region, c: _Side, cr: _Region | None, out: list[IntegrityViolation],
                     resolved: bool) -> bool:
    """Is the program's lemma `pr` in the candidate with the same header and clauses, and a body that is the
    program's plus hints? Appends QED-E209 when not."""
    where = "" if resolved else f" (program line {pr.decl.start_line})"
    keep = (" The program's lemmas are part of what it claims: keep each one, with its header and clauses "
            "unchanged; its body may gain hints.")
    if cr is None:
        out.append(IntegrityViolation(
            rule="QED-E209", family=RuleFamily.frozen_code, file=c.file, member=pr.name,
            message=f"Lemma `{pr.name}` of the given program{where} is missing from the candidate (removed, "
                    f"renamed, or moved to another module or class).{keep}"))
        return False

    def split(side: _Side, r: _Region) -> tuple[list[int], list[int]]:
        b0 = r.decl.body[0] if r.decl.body else r.decl.end
        return [i for i in r.kept if i < b0], [i for i in r.kept if i >= b0]

    (ph, pb), (ch, cb) = split(p, pr), split(c, cr)
    for part, pk, ck in (("header or a clause", ph, ch), ("body", pb, cb)):
        a, b = texts([p.tokens[i] for i in pk]), texts([c.tokens[i] for i in ck])
        if a != b:
            diff = _difference(p, pk, c, ck, a, b, resolved)
            detail = diff.message.split(": ", 1)[1].split(". ")[0] if ": " in diff.message else ""
            out.append(_violation(c, "QED-E209", ck[0] if ck else cr.decl.start,
                                  f"The {part} of lemma `{pr.name}` of the given program{where} changed: "
                                  f"{detail}.{keep}"))
            return False
    return True


def _claims_kept(p: _Side, pr: _Region, c: _Side, cr: _Region, matched: set[int],
                 resolved: bool) -> list[IntegrityViolation]:
    """The program's own claims in one region (asserts, invariants, ghost variables, calc, lemma calls...) must
    each be in the candidate at the same place (between the same code tokens), token for token, in order."""
    by_gap: dict[int, list[_Span]] = {}
    for sp in cr.claims:
        by_gap.setdefault(cr.gap(sp), []).append(sp)
    out = []
    for sp in pr.claims:
        g = pr.gap(sp)
        want = (sp.kind, _claim(p, sp))
        found = None
        for k, csp in enumerate(by_gap.get(g, [])):
            if (csp.kind, _claim(c, csp)) == want:
                found = k
                break
        if found is not None:
            matched.add(id(by_gap[g][found]))
            by_gap[g] = by_gap[g][found + 1:]  # in order: later claims match after this one
            continue
        # "here": right after the code token before it (where the program had it)
        at = cr.kept[g - 1] + 1 if g > 0 else (cr.kept[0] if cr.kept else None)
        where = "" if resolved else f" (program line {p.tokens[sp.start].line})"
        shown = render(p.tokens[sp.start:sp.claim_end if sp.claim_end is not None else sp.end], 100)
        out.append(_violation(c, "QED-E210", at,
                              f"The program's own {sp.what} `{shown}`{where} is missing here, changed or moved. "
                              f"What the given program states (asserts, loop invariants, ghost variables, calc, "
                              f"lemma calls) is part of it: keep each at its place, token for token and in "
                              f"order; you may add hints before or after it, and a `by {{ ... }}` proof to an "
                              f"assert."))
    return out


def _difference(p: _Side, p_kept: list[int], c: _Side, c_kept: list[int], a: tuple[str, ...],
                b: tuple[str, ...], resolved: bool = False) -> IntegrityViolation:
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
    if resolved:
        where_p = ""
    else:
        where_p = f" (program line {p_line})" if p_line else " (at the end of the program)"
    if op[0] == "insert":
        what = f"found {found_txt}, which is not in the given program and is not a proof hint"
    elif op[0] == "delete":
        what = f"the program's {exp_txt}{where_p} is missing"
    else:
        what = f"expected the program's {exp_txt}{where_p}, found {found_txt}"
    if not resolved and op[0] != "delete" and found and found[0].text in _HINT_STARTS:
        what += (f". If `{found[0].text}` starts a proof hint, qedgen could not be sure where it ends, so it counts as "
                 "code: write the hint plainly (one statement ending in `;`, a loop clause right before the next "
                 "clause or the loop body; put parentheses around an expression that ends in `>`, `|`, `*` or a "
                 "set display, and do not call methods, assign or allocate inside a hint)")
    context = [c.tokens[i] for i in c_kept[max(0, b0 - 4):b0]]
    after = f" after `{render(context, 60)}`" if context else ""
    if resolved:
        return _violation(c, "QED-E201", ci, f"after `{render(context, 60)}` the program has {exp_txt}, the candidate "
                          f"{found_txt}" if context else f"the program has {exp_txt}, the candidate {found_txt}")
    return _violation(c, "QED-E201", ci, f"The code or contract of the given program changed{after}: {what}. {_FIX}")
