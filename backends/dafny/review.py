"""Contract review for Dafny (`Capability.contract_review`): which members and clauses of a contract changed,
and whether the change weakens it.

By form: a removed `ensures`, an added `requires`, a wider `modifies`/`reads` frame, a removed member. For a
changed clause (some clauses of a member removed and others added) the verifier is asked: a lemma in the new
contract's own scope, `requires` the old preconditions and the new postconditions, `ensures` the old
postconditions it lost (and one for preconditions: the old ones imply the added ones). Proved: not weakened.
Not proved: weakened (Dafny found no proof; a counterexample may exist). A time-out, a query Dafny cannot
resolve, or clauses the query cannot express (two-state: `old`, `fresh`, `unchanged`, `allocated`; a changed
signature) are `undecided`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from backends.contracts import ClauseText, ContractReview, Finding, MemberChange

from .runner import DafnyOptions
from .syntax import IDENT, Decl, Outline, outline, texts

if TYPE_CHECKING:
    from .runner import DafnyRunner

_KEYWORDS = ("requires", "ensures", "reads", "modifies")
_TWO_STATE = {"old", "fresh", "unchanged", "allocated"}
_DEFINITIONS = {"function", "predicate"}


@dataclass
class _Member:
    decl: Decl
    clauses: list[tuple[str, str, str, int]]  # keyword, normalised text, source text, line
    signature: tuple[str, ...]
    definition: tuple[str, ...] | None  # body tokens of a fixed definition (None: not part of the contract)


def _source(src: str, toks) -> str:
    return src[toks[0].offset:toks[-1].end] if toks else ""


def _members(src: str, out: Outline, role: str) -> dict[str, _Member]:
    used = {t.text for d in out.walk() for c in d.clauses for t in c.tokens if t.kind == IDENT}
    found: dict[str, _Member] = {}
    for d in out.walk():
        if not d.is_callable:
            continue
        clauses = [(c.keyword, " ".join(texts(c.tokens)), _source(src, c.tokens), c.line)
                   for c in d.clauses if c.keyword in _KEYWORDS]
        definition = None
        if d.body is not None and (role == "spec" or (d.kind in _DEFINITIONS and d.name in used)):
            definition = texts(out.tokens[d.body[0]:d.body[1]])
        found[d.qualified] = _Member(d, clauses, (*d.modifiers, *d.keyword, *texts(d.signature)), definition)
    return found


def _others(out: Outline) -> dict[str, tuple[str, ...]]:
    """Non-callable declarations (datatypes, types, consts...): their whole text, containers their header."""
    return {d.qualified or d.kind: texts(out.tokens[d.start:d.end if not d.children else d.header_end])
            for d in out.walk() if not d.is_callable}


def review(runner: DafnyRunner | None, old_src: str | None, new_src: str, file: Path, role: str,
           timeout: float, use_cache: bool = True) -> ContractReview:
    """The review of `new_src` against `old_src` (see the module docstring). `runner` None: no verifier
    queries (changed clauses are then `undecided`)."""
    new = outline(new_src)
    if old_src is None:
        members = [MemberChange(q, "added", m.decl.kind, m.decl.start_line)
                   for q, m in _members(new_src, new, role).items()]
        return ContractReview(changed=True, members=members, note="a new contract (it did not exist at the base)")
    old = outline(old_src)
    if old.problems or new.problems:
        problem = (old.problems or new.problems)[0]
        return ContractReview(changed=old_src != new_src, findings=[Finding(
            "", "undecided", "form", "unreadable", f"the contract could not be read for review: {problem}")]
            if old_src != new_src else [])
    old_m, new_m = _members(old_src, old, role), _members(new_src, new, role)
    result = ContractReview(changed=False)
    queries: list[tuple[str, str, str, _Member, list[str], list[str]]] = []
    for q, m in old_m.items():
        if q not in new_m:
            result.members.append(MemberChange(q, "removed", m.decl.kind, None,
                                               removed=[ClauseText(k, s, ln) for k, _, s, ln in m.clauses]))
            result.findings.append(Finding(q, "weakened", "form", "removed_member",
                                           f"{m.decl.kind} {q} is no longer in the contract: nothing is promised "
                                           "about it any more"))
    for q, m in new_m.items():
        before = old_m.get(q)
        if before is None:
            result.members.append(MemberChange(q, "added", m.decl.kind, m.decl.start_line,
                                               added=[ClauseText(k, s, ln) for k, _, s, ln in m.clauses]))
            continue
        old_set = {(k, t) for k, t, _, _ in before.clauses}
        new_set = {(k, t) for k, t, _, _ in m.clauses}
        added = [c for c in m.clauses if (c[0], c[1]) not in old_set]
        removed = [c for c in before.clauses if (c[0], c[1]) not in new_set]
        sig = before.signature != m.signature
        definition = before.definition != m.definition and (before.definition or m.definition) is not None
        if not (added or removed or sig or definition):
            continue
        line = m.decl.start_line
        result.members.append(MemberChange(q, "changed", m.decl.kind, line,
                                           added=[ClauseText(k, s, ln) for k, _, s, ln in added],
                                           removed=[ClauseText(k, s, ln) for k, _, s, ln in removed],
                                           signature_changed=sig, definition_changed=definition))
        if sig:
            result.findings.append(Finding(q, "undecided", "form", "signature_changed",
                                           f"the signature of {q} changed, so its clauses cannot be compared", line))
            continue
        if definition:
            result.findings.append(Finding(q, "undecided", "form", "definition_changed",
                                           f"the definition of {m.decl.kind} {q} changed: clauses that use it may "
                                           "now mean something else", line))
        for kw in ("modifies", "reads"):
            old_items = {i for k, t, _, _ in before.clauses if k == kw for i in _items(t)}
            wider = [s for k, t, s, _ in added if k == kw and not set(_items(t)) <= old_items]
            if wider:
                result.findings.append(Finding(q, "weakened", "form", "wider_frame",
                                               f"`{kw} {wider[0]}` widens the frame of {q}", line))
        lost_ens = [s for k, _, s, _ in removed if k == "ensures"]
        new_req = [s for k, _, s, _ in added if k == "requires"]
        gained_ens = any(k == "ensures" for k, *_ in added)
        lost_req = any(k == "requires" for k, *_ in removed)
        old_req = [s for k, _, s, _ in before.clauses if k == "requires"]
        new_ens = [s for k, _, s, _ in m.clauses if k == "ensures"]
        if lost_ens and not gained_ens:
            for s in lost_ens:
                result.findings.append(Finding(q, "weakened", "form", "removed_ensures",
                                               f"`ensures {s}` was removed from {q}", line))
        elif lost_ens:
            queries.append(("ensures", q, "changed_ensures", m, old_req + new_ens, lost_ens))
        if new_req and not lost_req:
            for s in new_req:
                result.findings.append(Finding(q, "weakened", "form", "added_requires",
                                               f"`requires {s}` was added to {q}", line))
        elif new_req:
            queries.append(("requires", q, "changed_requires", m, old_req, new_req))
    nondecl_old, nondecl_new = _others(old), _others(new)
    used = {t.text for o in (old, new) for d in o.walk() if d.is_callable
            for t in [*d.signature, *(t for c in d.clauses for t in c.tokens)] if t.kind == IDENT}
    for name in sorted(set(nondecl_old) | set(nondecl_new)):
        if role == "file" and name.split(".")[-1] not in used:
            continue  # a checked file's own declarations matter to its contract only when a clause uses them
        if nondecl_old.get(name) != nondecl_new.get(name) and name not in ("include", "import", "export"):
            result.findings.append(Finding(name, "undecided", "form", "declaration_changed",
                                           f"the declaration {name} changed: clauses that use it may now mean "
                                           "something else"))
    for n, (what, q, code, m, hyps, goals) in enumerate(queries):
        result.findings.append(_ask(runner, new_src, new, file, n, what, q, code, m, hyps, goals, timeout, use_cache))
    result.changed = bool(result.members or result.findings)
    return result


def _items(clause: str) -> list[str]:
    """The comma-separated items of a frame clause (top level only)."""
    items, depth, cur = [], 0, []
    for part in clause.split(" "):
        depth += part.count("(") + part.count("[") + part.count("{") - part.count(")") - part.count("]") - \
            part.count("}")
        if part == "," and depth == 0:
            items.append(" ".join(cur))
            cur = []
        else:
            cur.append(part)
    if cur:
        items.append(" ".join(cur))
    return items


def _ask(runner: DafnyRunner | None, src: str, out: Outline, file: Path, n: int, what: str, q: str, code: str,
         m: _Member, hyps: list[str], goals: list[str], timeout: float, use_cache: bool) -> Finding:
    """Ask Dafny whether `hyps` imply `goals` for member `m`'s parameters (and results, for `ensures`)."""
    line = m.decl.start_line
    goal = " && ".join(goals)
    claim = (f"the new `ensures` of {q} imply the old `ensures {goal}`" if what == "ensures" else
             f"the old `requires` of {q} imply the new `requires {goal}`")
    words = {w for s in hyps + goals for w in _words(s)}
    if words & _TWO_STATE:
        return Finding(q, "undecided", "verifier", code, f"not decided whether {claim}: two-state clauses "
                       "(old, fresh, unchanged, allocated) are not compared by the verifier", line)
    if runner is None:
        return Finding(q, "undecided", "verifier", code, f"not decided whether {claim}: no verifier", line)
    params = _parameters(src, out, m.decl, with_results=what == "ensures")
    if params is None:
        return Finding(q, "undecided", "verifier", code, f"not decided whether {claim}: the signature of {q} "
                       "could not be read", line)
    name = f"QedReview_{n}"
    lemma = (f"\n\nlemma {name}{params}\n" + "".join(f"  requires {h}\n" for h in hyps)
             + "".join(f"  ensures {g}\n" for g in goals) + "{\n}\n")
    at = out.tokens[m.decl.end - 1].end
    source = src[:at] + lemma + src[at:]
    with tempfile.TemporaryDirectory(prefix="qed-review-") as tmp:
        target = Path(tmp) / file.name
        target.write_text(source, encoding="utf-8")
        run = runner.begin(target, source, DafnyOptions(filter_symbols=(name,)), timeout, use_cache, "verify").result()
    outcome = next((mo.outcome for mo in run.members if mo.name.split(".")[-1] == name), None)
    errors = [d for d in run.diagnostics if d.severity == "error"]
    if run.timed_out or run.crashed:
        return Finding(q, "undecided", "verifier", code, f"not decided whether {claim}: the verifier "
                       f"{'timed out' if run.timed_out else 'crashed'}", line)
    if any(d.kind in ("parse", "resolution") for d in errors):
        return Finding(q, "undecided", "verifier", code, f"not decided whether {claim}: the query does not "
                       f"resolve ({errors[0].message})", line)
    if outcome == "verified" and not errors:
        return Finding(q, "not_weakened", "verifier", code, f"the verifier proved that {claim}", line)
    if outcome in ("timeout", "out_of_resource", "inconclusive") or any(d.kind in ("timeout", "resource_limit")
                                                                        for d in errors):
        return Finding(q, "undecided", "verifier", code, f"not decided whether {claim}: the verifier ran out of "
                       "time or resources", line)
    if errors:
        return Finding(q, "weakened", "verifier", code, f"the verifier could not prove that {claim}", line)
    return Finding(q, "undecided", "verifier", code, f"not decided whether {claim}: the verifier gave no "
                   "outcome for the query", line)


def _words(text: str) -> set[str]:
    import re

    return set(re.findall(r"[A-Za-z_][\w']*", text))


def _parameters(src: str, out: Outline, d: Decl, *, with_results: bool) -> str | None:
    """`<T>(params, results)` for a lemma over `d`'s parameters (and results), from its signature's text."""
    sig = d.signature
    i = 0
    type_params = ""
    if i < len(sig) and sig[i].text == "<":
        j = _close(sig, i, "<", ">")
        if j is None:
            return None
        type_params = _source(src, sig[i:j + 1])
        i = j + 1
    if i >= len(sig) or sig[i].text != "(":
        return None
    j = _close(sig, i, "(", ")")
    if j is None:
        return None
    parts = [_source(src, sig[i + 1:j])] if j > i + 1 else []
    rest = sig[j + 1:]
    if with_results and rest:
        if rest[0].text == "returns" and len(rest) > 1 and rest[1].text == "(":
            k = _close(rest, 1, "(", ")")
            if k is None:
                return None
            if k > 2:
                parts.append(_source(src, rest[2:k]))
        elif rest[0].text == ":" and len(rest) > 3 and rest[1].text == "(":
            k = _close(rest, 1, "(", ")")
            if k is None:
                return None
            parts.append(_source(src, rest[2:k]))  # a named function result
    params = ", ".join(p.replace("ghost ", "") for p in parts if p.strip())
    return f"{type_params}({params})"


def _close(toks, i: int, open_: str, close: str) -> int | None:
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].text == open_:
            depth += 1
        elif toks[j].text == close:
            depth -= 1
            if depth == 0:
                return j
    return None
