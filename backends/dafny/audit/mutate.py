"""Mutants of an implementation's bodies: one small syntactic change each, on the executable code only.

Operators (`backends.audit_protocol.MUTATION_OPERATORS`):

* `arithmetic`: `+` <-> `-`, `*` -> `+`, `/` -> `*`, `%` -> `/`;
* `comparison`: `<` -> `<=`/`>`, `<=` -> `<`, `>` -> `>=`/`<`, `>=` -> `>`, `==` <-> `!=`;
* `logical`: `&&` <-> `||`;
* `constant`: an integer literal n -> n + 1, n - 1; `true` <-> `false`;
* `off_by_one`: a bound of a loop (`while i < n` -> `i < n - 1` / `n + 1`; `for i := lo to hi` -> `hi - 1`,
  `lo + 1`);
* `swap_branches`: `if c { A } else { B }` -> `if c { B } else { A }`; `if c then a else b` and an `if` without
  `else` -> the guard negated;
* `drop_statement`: one simple statement ending with `;` removed (not declarations, not proof statements).

Loop invariants, `decreases`/`modifies` clauses, `assert`/`assume`/`reveal`/`calc` statements and `ghost`
statements are proof, not behaviour: they are never mutated.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from backends.audit_protocol import Mutant

from ..syntax import ATTR_OPEN, IDENT, KEYWORD, NUMBER, OP, Token, outline

_LOOP_CLAUSES = {"invariant", "decreases", "modifies", "reads", "ensures", "requires"}
_PROOF_STMTS = {"assert", "assume", "expect", "reveal", "calc", "ghost", "print"}
_TYPE_WORDS = {"seq", "set", "iset", "map", "imap", "multiset", "array", "array2", "array3"}
_OPERAND_END_KW = {"true", "false", "null", "this"}
_ARITH = {"+": ["-"], "-": ["+"], "*": ["+"], "/": ["*"], "%": ["/"]}
_COMPARE = {"<": ["<=", ">"], "<=": ["<"], ">": [">=", "<"], ">=": [">"], "==": ["!="], "!=": ["=="]}
_LOGIC = {"&&": ["||"], "||": ["&&"]}


@dataclass(frozen=True)
class Edit:
    operator: str
    start: int  # source offsets
    end: int
    replacement: str
    line: int
    description: str


def _close(toks: list[Token], i: int) -> int:
    """Index of the bracket closing toks[i]: `(`, `[`, `{` or an attribute's `{:` (closed by `}`, so both open a
    brace), or len(toks) - 1."""
    closing = {"(": ")", "[": "]", "{": "}", "{:": "}"}[toks[i].text]
    openers = ("{", "{:") if closing == "}" else (toks[i].text,)
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].kind in (OP, ATTR_OPEN) and toks[j].text in openers:
            depth += 1
        elif toks[j].kind == OP and toks[j].text == closing:
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def _proof_zones(toks: list[Token], lo: int, hi: int) -> list[bool]:
    """For each token in [lo, hi): is it proof (a loop clause, an assert..., a ghost statement)?"""
    proof = [False] * len(toks)
    i = lo
    while i < hi:
        t = toks[i]
        if t.kind in (KEYWORD, IDENT) and t.text in _LOOP_CLAUSES:
            end = _clause_end(toks, i + 1, hi)  # up to the next clause or the loop body
        elif t.kind in (KEYWORD, IDENT) and t.text in _PROOF_STMTS and _starts_statement(toks, i):
            end = min(_statement_end(toks, i, hi) + 1, hi)
        else:
            i += 1
            continue
        for k in range(i, end):
            proof[k] = True
        i = end
    return proof


def _clause_end(toks: list[Token], j: int, hi: int) -> int:
    """Where a loop clause starting before `j` ends: at the next clause or `{` outside brackets (or `hi`), or at a
    closer or `;` that is not its own (the clause of a lambda inside a statement: `(i requires 0 <= i => ...)`)."""
    while j < hi:
        u = toks[j]
        if (u.kind == OP and u.text in "([") or u.kind == ATTR_OPEN:
            j = _close(toks, j) + 1  # a bracketed part or an attribute (`{:trigger ...}`) belongs to the clause
            continue
        if u.kind == OP and u.text == ";":
            return min(j + 1, hi)  # Dafny still accepts `invariant P;`
        if (u.kind == OP and u.text in ("{", ")", "]", "}")) or (u.kind in (KEYWORD, IDENT)
                                                               and u.text in _LOOP_CLAUSES):
            break
        j += 1
    return min(j, hi)


def _statement_end(toks: list[Token], i: int, hi: int) -> int:
    """The index of the last token of the proof statement at `i`: its `;`, or the `}` that closes a `calc` or an
    `assert ... by { }` (those end without `;`); brackets and set displays are skipped whole."""
    j = i + 1
    while j < hi:
        u = toks[j]
        if (u.kind == OP and u.text in "([{") or u.kind == ATTR_OPEN:
            ends_here = u.text == "{" and (toks[i].text == "calc" or toks[j - 1].text == "by")
            j = _close(toks, j)
            if ends_here:
                return j
        elif u.kind == OP and u.text == ";":
            return j
        j += 1
    return j


def _starts_statement(toks: list[Token], i: int) -> bool:
    prev = toks[i - 1] if i > 0 else None
    return prev is None or (prev.kind == OP and prev.text in ("{", "}", ";"))


def _operand_end(t: Token) -> bool:
    return t.kind in (IDENT, NUMBER, "string", "char") or (t.kind == OP and t.text in (")", "]", "|")) or \
        (t.kind == KEYWORD and t.text in _OPERAND_END_KW)


def _atom_end(toks: list[Token], i: int, hi: int) -> int | None:
    """The exclusive end of a simple operand starting at i (`n`, `a.Length`, `|s|`, `f(x)`, `3`), or None."""
    t = toks[i]
    if t.kind == OP and t.text == "|":
        j = i + 1
        while j < hi and not (toks[j].kind == OP and toks[j].text == "|"):
            j += 1
        return j + 1 if j < hi else None
    if t.kind == NUMBER:
        return i + 1
    if t.kind != IDENT:
        return None
    j = i + 1
    while j + 1 < hi and toks[j].text == "." and toks[j + 1].kind in (IDENT, KEYWORD):
        j += 2
    if j < hi and toks[j].kind == OP and toks[j].text in "([":
        j = _close(toks, j) + 1
    return j


def edits_for(src: str, toks: list[Token], lo: int, hi: int) -> dict[str, list[Edit]]:
    """Every candidate edit in the body tokens [lo, hi), by operator."""
    proof = _proof_zones(toks, lo, hi)
    out: dict[str, list[Edit]] = {op: [] for op in ("arithmetic", "comparison", "logical", "constant", "off_by_one",
                                                    "swap_branches", "drop_statement")}

    def add(op: str, a: int, b: int, rep: str, line: int, desc: str) -> None:
        out[op].append(Edit(op, a, b, rep, line, desc))

    for i in range(lo, hi):
        if proof[i]:
            continue
        t = toks[i]
        prev = toks[i - 1] if i > lo else None
        if t.kind == OP and t.text in _ARITH and prev is not None and _operand_end(prev) and not (
                t.text == "-" and prev.kind == OP and prev.text in ("(", "[", ",")):
            for r in _ARITH[t.text]:
                add("arithmetic", t.offset, t.end, r, t.line, f"`{t.text}` -> `{r}`")
        elif t.kind == OP and t.text in _COMPARE:
            if t.text in ("<", ">") and prev is not None and prev.text in _TYPE_WORDS:
                continue
            if t.text == "<" and prev is not None and prev.kind == IDENT and prev.text[:1].isupper() and \
                    i + 2 < hi and toks[i + 2].text in (">", ","):
                continue  # a generic type's arguments, most likely
            for r in _COMPARE[t.text]:
                add("comparison", t.offset, t.end, r, t.line, f"`{t.text}` -> `{r}`")
        elif t.kind == OP and t.text in _LOGIC:
            for r in _LOGIC[t.text]:
                add("logical", t.offset, t.end, r, t.line, f"`{t.text}` -> `{r}`")
        elif t.kind == NUMBER and t.text.isdigit() and not (prev is not None and prev.text == "."):
            n = int(t.text)
            neg = prev is not None and prev.text == "-" and not _operand_end(toks[i - 2]) if i - 2 >= lo else False
            for w in (n + 1, n - 1):
                if w >= 0 or not neg:
                    add("constant", t.offset, t.end, str(w) if w >= 0 else f"({w})", t.line, f"`{n}` -> `{w}`")
        elif t.kind == KEYWORD and t.text in ("true", "false"):
            r = "false" if t.text == "true" else "true"
            add("constant", t.offset, t.end, r, t.line, f"`{t.text}` -> `{r}`")
        if t.kind == KEYWORD and t.text == "while":
            _loop_bounds(src, toks, i + 1, hi, proof, add)
        elif t.kind == KEYWORD and t.text == "for":
            _for_bounds(src, toks, i + 1, hi, add)
        elif t.kind == KEYWORD and t.text == "if":
            _branches(src, toks, i, hi, add)
        if _starts_statement(toks, i) and t.kind in (IDENT, KEYWORD) and t.text not in (
                "var", "ghost", "assert", "assume", "expect", "reveal", "calc", "if", "while", "for", "match",
                "forall", "label", "else", "case", "print", "modify"):
            _drop(src, toks, i, hi, add)
    return out


def _guard_end(toks: list[Token], i: int, hi: int) -> int:
    depth = 0
    j = i
    while j < hi:
        u = toks[j]
        if u.kind == OP and u.text in "([":
            depth += 1
        elif u.kind == OP and u.text in ")]":
            depth -= 1
        elif depth == 0 and ((u.kind == OP and u.text == "{") or (u.kind in (KEYWORD, IDENT) and u.text in
                                                                  (_LOOP_CLAUSES | {"then"}))):
            return j
        j += 1
    return hi


def _shift_bound(src, toks, first, end, add, deltas) -> None:
    """Off-by-one mutants of the bound spanning tokens `first` .. `end - 1`."""
    a, b = toks[first].offset, toks[end - 1].end
    text = src[a:b]
    for d in deltas:
        add("off_by_one", a, b, f"({text} {d})", toks[first].line, f"bound `{text}` -> `{text} {d}`")


def _loop_bounds(src, toks, i, hi, proof, add) -> None:
    end = _guard_end(toks, i, hi)
    for j in range(i, end):
        t = toks[j]
        if t.kind == OP and t.text in ("<", "<=", ">", ">=", "!=") and j + 1 < end:
            k = _atom_end(toks, j + 1, end)
            if k is None or k > end:
                continue
            _shift_bound(src, toks, j + 1, k, add, ("- 1", "+ 1"))


def _for_bounds(src, toks, i, hi, add) -> None:
    # for i := lo to hi   |   for i := hi downto lo
    j = i
    while j < hi and not (toks[j].kind == OP and toks[j].text == ":="):
        j += 1
    end = _guard_end(toks, j, hi)
    for k in range(j, end):
        t = toks[k]
        if (t.kind == OP and t.text == ":=") or (t.kind in (KEYWORD, IDENT) and t.text in ("to", "downto")):
            e = _atom_end(toks, k + 1, end) if k + 1 < end else None
            if e is None:
                continue
            _shift_bound(src, toks, k + 1, e, add, ("+ 1", "- 1"))


def _branches(src, toks, i, hi, add) -> None:
    end = _guard_end(toks, i + 1, hi)
    if end >= hi or end == i + 1:
        return
    guard = src[toks[i + 1].offset:toks[end - 1].end]
    t = toks[end]
    if t.kind == OP and t.text == "{":
        close = _close(toks, end)
        if close + 2 < hi and toks[close + 1].text == "else" and toks[close + 2].text == "{":
            close2 = _close(toks, close + 2)
            a_text = src[toks[end].offset:toks[close].end]
            b_text = src[toks[close + 2].offset:toks[close2].end]
            rep = f"{b_text} else {a_text}"
            add("swap_branches", toks[end].offset, toks[close2].end, rep, toks[i].line,
                "the `then` and `else` blocks swapped")
            return
        if not (close + 1 < hi and toks[close + 1].text == "else"):
            add("swap_branches", toks[i + 1].offset, toks[end - 1].end, f"!({guard})", toks[i].line,
                f"guard `{_short(guard)}` negated (the block runs when it did not)")
        return
    if t.text == "then":
        add("swap_branches", toks[i + 1].offset, toks[end - 1].end, f"!({guard})", toks[i].line,
            f"guard `{_short(guard)}` negated (`then` and `else` swapped)")


def _drop(src, toks, i, hi, add) -> None:
    depth = 0
    for j in range(i, hi):
        u = toks[j]
        if u.kind == OP and u.text in "([":
            depth += 1
        elif u.kind == OP and u.text in ")]":
            depth -= 1
        elif u.kind == OP and u.text in "{}" and depth == 0:
            return  # a compound statement, or the end of the block
        elif u.kind == OP and u.text == ";" and depth == 0:
            text = src[toks[i].offset:u.end]
            a, b = toks[i].offset, u.end
            line_start = src.rfind("\n", 0, a) + 1
            line_end = src.find("\n", b)
            if not src[line_start:a].strip() and line_end >= 0 and not src[b:line_end].strip():
                a, b = line_start, line_end + 1  # the statement is alone on its line: drop the line
            add("drop_statement", a, b, "", toks[i].line, f"`{_short(text)}` dropped")
            return


def _short(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= 60 else one[:57] + "..."


def mutants(src: str, members: Sequence[str], limit: int, file_name: str = "impl.dfy") -> list[Mutant]:
    """Up to `limit` mutants per member, taken round-robin over the operators (in source order within each)."""
    ol = outline(src)
    toks = ol.tokens
    out: list[Mutant] = []
    seen: set[str] = {src}
    for name in members:
        d = next((d for d in ol.walk() if d.qualified == name and d.body is not None), None)
        if d is None:
            continue
        lo, hi = d.body[0] + 1, d.body[1] - 1
        by_op = edits_for(src, toks, lo, hi)
        queues = [list(v) for v in by_op.values() if v]
        picked: list[Edit] = []
        while queues and len(picked) < limit:
            for q in list(queues):
                if not q:
                    queues.remove(q)
                    continue
                picked.append(q.pop(0))
                if len(picked) >= limit:
                    break
        for e in picked:
            text = src[:e.start] + e.replacement + src[e.end:]
            if text in seen:
                continue
            seen.add(text)
            diff = "".join(difflib.unified_diff(src.splitlines(True), text.splitlines(True), f"a/{file_name}",
                                                f"b/{file_name}", n=1))
            out.append(Mutant(name, len(out) + 1, e.operator, e.line, e.description, text, diff))
    return out
