"""Contract clauses as Dafny predicates, compiled by Dafny beside the artifact.

For each compiled member `F`: `QedPre_F_k` (its k-th `requires`, over its parameters) and `QedPost_F_k` (its
k-th `ensures`, over parameters, results and, for arrays the method modifies, `qedold_a: seq<T>` snapshots that
stand for `old(a[..])`). For each subset type or newtype with a constraint: `QedIs_N(x)`. The predicates are
inserted at the end of the member's module; nothing in the artifact changes. A clause Dafny cannot compile
(ghost calls, unbounded quantifiers, `fresh`, `old` of something other than an array element) is dropped by
`translate.py` and listed as not checkable at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends.dafny.audit.calls import parse_call
from backends.dafny.pybuild.dtypes import show
from backends.dafny.pybuild.interface import Interface, Member
from backends.dafny.pybuild.resolve import resolve, uses
from backends.dafny.syntax import IDENT, KEYWORD, OP, tokenize


@dataclass
class Helper:
    name: str  # Dafny name
    module: tuple[str, ...]
    purpose: str  # pre | post | is
    owner: str  # member or type key
    index: int  # clause number (1-based), 0 for `is`
    clause: str  # the clause as written
    text: str = ""  # the Dafny declaration; "" when it cannot even be written (reason says why)
    reason: str = ""  # why it is not checkable (when dropped)

    @property
    def ok(self) -> bool:
        return bool(self.text) and not self.reason


def _decl_params(m: Member, api: Interface, with_outs: bool) -> tuple[list[str], bool]:
    """Formals of a helper: the member's compiled params (and outs); does any of them live on the heap?"""
    formals, heap = [], False
    tv = frozenset(m.type_params)
    items = list(m.params) + (list(m.outs) if with_outs and m.result_named else [])
    for p in items:
        if p.ghost:
            continue
        formals.append(f"{p.name}: {show(p.type)}")
        rt = resolve(p.type, api, m.module, tv)
        if uses(rt, "array") or uses(rt, "array2") or uses(rt, "unsupported"):
            heap = True
    return formals, heap


def rewrite_old(clause: str, snapshots: dict[str, str | None]) -> str | None:
    """`old(E)` -> `(E')` where E' reads the snapshot of each modified array (`a[i]` -> `qedold_a[i]`,
    `a.Length` -> `|qedold_a|`), `unchanged(a)` -> `a[..] == qedold_a`; None when E uses a modified array in
    any other way, or for `old@label`."""
    toks = tokenize(clause)
    if not any(t.text in ("old", "unchanged") and t.kind in (KEYWORD, IDENT) for t in toks):
        return clause
    out: list[str] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind in (KEYWORD, IDENT) and t.text == "unchanged":
            # unchanged(a) for a modified array a: its contents equal the snapshot
            if i + 3 < len(toks) and toks[i + 1].text == "(" and snapshots.get(toks[i + 2].text) \
                    and toks[i + 3].text == ")":
                out.append(f"({toks[i + 2].text}[..] == {snapshots[toks[i + 2].text]})")
                i += 4
                continue
            return None
        if t.kind in (KEYWORD, IDENT) and t.text == "old":
            if i + 1 >= len(toks) or toks[i + 1].text != "(":
                return None  # old@L
            depth, j = 0, i + 1
            while j < len(toks):
                if toks[j].kind == OP and toks[j].text in "([{":
                    depth += 1
                elif toks[j].kind == OP and toks[j].text in ")]}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(toks):
                return None
            inner = toks[i + 2:j]
            parts: list[str] = []
            k = 0
            while k < len(inner):
                u = inner[k]
                if u.kind == IDENT and u.text in snapshots and (k == 0 or inner[k - 1].text != "."):
                    if snapshots[u.text] is None:
                        return None
                    nxt = inner[k + 1] if k + 1 < len(inner) else None
                    if nxt is not None and nxt.text == "[":
                        parts.append(snapshots[u.text])
                        k += 1
                        continue
                    if nxt is not None and nxt.text == "." and k + 2 < len(inner) and inner[k + 2].text == "Length":
                        parts.append(f"|{snapshots[u.text]}|")
                        k += 3
                        continue
                    return None
                if u.kind in (KEYWORD, IDENT) and u.text == "old":
                    return None
                parts.append(u.text)
                k += 1
            out.append("(" + " ".join(parts) + ")")
            i = j + 1
            continue
        out.append(t.text)
        i += 1
    return " ".join(out)


def helpers_for(api: Interface, members: list[Member]) -> list[Helper]:
    out: list[Helper] = []
    for m in members:
        tp = m.tparams_text
        formals, heap = _decl_params(m, api, with_outs=False)
        reads = "\n  reads *" if heap else ""
        for k, clause in enumerate(m.requires, 1):
            name = f"QedPre_{m.name}_{k}"
            text = f"predicate {name}{tp}({', '.join(formals)}){reads}\n{{\n  {clause}\n}}\n"
            out.append(Helper(name, m.module, "pre", m.qualified, k, clause, text))
        pformals, pheap = _decl_params(m, api, with_outs=True)
        snapshots: dict[str, str | None] = {}
        for p in m.params:
            if p.name in m.modifies and not p.ghost:
                if p.type[0] != "array" or len(p.type) < 2:
                    # array2, objects, `a: array` with no element type: no snapshot, so old(...) of it is not
                    # evaluable (rewriting it to the current state would be wrong)
                    snapshots[p.name] = None
                    continue
                snap = f"qedold_{p.name}"
                snapshots[p.name] = snap
                pformals.append(f"{snap}: seq<{show(p.type[1])}>")
        preads = "\n  reads *" if pheap else ""
        for k, clause in enumerate(m.ensures, 1):
            name = f"QedPost_{m.name}_{k}"
            body = rewrite_old(clause, snapshots)
            if body is None:
                out.append(Helper(name, m.module, "post", m.qualified, k, clause, "",
                                  "uses old(...) or unchanged(...) beyond the elements and lengths of arrays with "
                                  "a written element type"))
                continue
            text = f"predicate {name}{tp}({', '.join(pformals)}){preads}\n{{\n  {body}\n}}\n"
            out.append(Helper(name, m.module, "post", m.qualified, k, clause, text))
    for nt in api.types:
        if nt.kind in ("subset", "newtype") and nt.constraint and not nt.type_params and nt.base is not None:
            name = f"QedIs_{nt.name}"
            text = f"predicate {name}({nt.var}: {show(nt.base)})\n{{\n  {nt.constraint}\n}}\n"
            out.append(Helper(name, nt.module, "is", ".".join((*nt.module, nt.name)), 0, nt.constraint, text))
    return out


@dataclass
class Combined:
    text: str
    spans: list[tuple[int, int, Helper]]  # 1-based line ranges (inclusive) of each helper


def combine(src: str, api: Interface, helpers: list[Helper]) -> Combined:
    """The artifact with the (still enabled) helpers inserted at the end of their modules."""
    active = [h for h in helpers if h.ok]
    by_offset: dict[int, list[Helper]] = {}
    for h in active:
        by_offset.setdefault(api.module_spans[h.module], []).append(h)
    pieces: list[str] = []
    spans: list[tuple[int, int, Helper]] = []
    pos = 0
    line = 1
    for off in sorted(by_offset):
        chunk = src[pos:off]
        pieces.append(chunk)
        line += chunk.count("\n")
        block = "\n// qed build: contract clauses as predicates\n"
        pieces.append(block)
        line += block.count("\n")
        for h in by_offset[off]:
            n = h.text.count("\n")
            spans.append((line, line + n - 1, h))
            pieces.append(h.text)
            line += n
        pos = off
    pieces.append(src[pos:])
    return Combined("".join(pieces), spans)


def example_helpers(api: Interface, examples: list[tuple[str, str]]) -> list[Helper]:
    """A task's examples (`call`, `expect`, both Dafny expressions) as compiled methods returning a bool."""
    out: list[Helper] = []
    for k, (call, expect) in enumerate(examples, 1):
        toks = tokenize(call)
        callee = ".".join(t.text for t in toks[:next((i for i, t in enumerate(toks) if t.text == "("), 0)]
                          if t.text != ".")
        m = next((m for m in api.members if m.qualified == callee or m.name == callee), None)
        n = len([p for p in m.outs if not p.ghost]) if m is not None and m.kind == "method" else 1
        name = f"QedExample_{k}"
        clause = f"{call} == {expect}"
        if n == 0:
            out.append(Helper(name, (), "example", callee, k, clause, "", "the method has no results to compare"))
            continue
        rs = [f"qedr{i}" for i in range(1, n + 1)]
        got = rs[0] if n == 1 else "(" + ", ".join(rs) + ")"
        # an allocation (`new int[3][4, 9, 2]`) cannot stand inside a call: it becomes a variable first
        parsed = parse_call(call)
        setup = "".join(f"  {line}\n" for line in parsed.setup if line.startswith("var ")) if parsed else ""
        shown = parsed.text() if parsed and setup else call
        text = (f"method {name}() returns (qedok: bool)\n{{\n{setup}  var {', '.join(rs)} := {shown};\n"
                f"  qedok := {got} == ({expect});\n}}\n")
        out.append(Helper(name, (), "example", callee, k, clause, text))
    return out
