"""The verdict of one Lean check: Lean's messages + the kernel check + the guard -> one `FileResult`.

Verdict rules (first match wins):
1. the run was killed at the wall-clock limit -> `timeout`;
2. Lean crashed or was killed at its memory cap -> `error` (a crash: `verifier_crashed`);
3. a parse error or an unknown name -> `error`;
4. the guard found a violation, Lean reported a `sorry` (`hasSorry`), the kernel check found a forbidden axiom,
   or a contract declaration's elaborated statement differs from the contract's -> `rejected`;
5. any other error (unsolved goals, a type mismatch, a failing tactic) -> `failed`; only heartbeat/recursion
   limits -> `timeout`;
6. exit status 0, no error, and a `#print axioms` answer for every probed declaration -> `verified`. Anything
   else (a missing answer, an exit status no message explains) is `error`: nothing is verified by accident.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from backends.base import CheckTexts as Texts
from verifier.errors import BadInput
from verifier.models import (
    Diagnostic,
    DiagnosticKind,
    FileResult,
    IntegrityViolation,
    MemberOutcome,
    RuleFamily,
    Severity,
    ToolchainRef,
    Verdict,
)

from .integrity import IntegrityReport, check_integrity, judge_axioms
from .lexer import LexError
from .messages import LeanMessage, to_diagnostic
from .probe import Probe, answers, is_probe_message, statements
from .runner import LeanRun
from .syntax import outline

_STATIC = {DiagnosticKind.parse, DiagnosticKind.resolution}
_LIMITS = {DiagnosticKind.resource_limit, DiagnosticKind.timeout}
SORRY_RULE = "QED-L121"


def guard(t: Texts) -> IntegrityReport:
    """The structural guard for these texts (implement, annotate, or no contract)."""
    given, given_file = t.given
    return check_integrity(t.source, t.shown, given, given_file, annotate=t.program_source is not None)


def diagnostics_of(messages: list[LeanMessage], t: Texts, probe: Probe | None) -> list[Diagnostic]:
    """Lean's errors and warnings about the candidate as shared diagnostics (info messages and the answers to
    the kernel check's probes are left out: the verdict reads those)."""
    try:
        tree = outline(t.source)
    except LexError:
        tree = None
    out = []
    for m in messages:
        if m.is_info or m.severity == "trace":
            continue
        if probe is not None and is_probe_message(m, probe):
            continue
        d = to_diagnostic(m, t.shown)
        if tree is not None and d.line is not None:
            d.member = tree.member_at(d.line)
        out.append(d)
    return out


def sorry_violations(messages: list[LeanMessage], t: Texts, found: list[IntegrityViolation],
                     sorries: list[tuple[int | None, int | None]] = ()) -> list[IntegrityViolation]:
    """QED-L121 for each declaration Lean says uses `sorry` (message kind `hasSorry`, or the REPL's `sorries`
    positions), unless the guard already reported that declaration."""
    try:
        tree = outline(t.source)
    except LexError:
        tree = None
    places = [(m.line, m.column) for m in messages if m.has_sorry] + list(sorries)
    reported = {v.member for v in found if v.member} | {v.line for v in found if v.line}
    out: list[IntegrityViolation] = []
    seen: set[str | int | None] = set()
    for line, column in places:
        member = tree.member_at(line) if tree is not None and line is not None else None
        key = member or line
        if key in seen or member in reported or line in reported:
            continue
        seen.add(key)
        out.append(IntegrityViolation(
            rule=SORRY_RULE, family=RuleFamily.verifier_warning, file=t.shown, line=line,
            column=column + 1 if column is not None else None, member=member,
            message=f"Lean reports that {'`' + member + '`' if member else 'a declaration'} uses `sorry`: replace "
                    f"every `sorry` with a real proof."))
    return out


def members_of(t: Texts, diagnostics: list[Diagnostic], violations: list[IntegrityViolation],
               probe_answers: dict[str, list[str] | None]) -> list[MemberOutcome]:
    """One outcome per probed declaration: `verified` when no error or violation lies in it and the kernel
    answered for it."""
    out = []
    bad = {d.member for d in diagnostics if d.severity == Severity.error} | {v.member for v in violations}
    for name, ax in probe_answers.items():
        ok = name not in bad and ax is not None
        out.append(MemberOutcome(name=name, outcome="verified" if ok else "failed"))
    return out


def judge(t: Texts, report: IntegrityReport, run: LeanRun, probe: Probe, *, toolchain: ToolchainRef,
          started: float, given_statements: dict[str, str] | None = None) -> FileResult:
    """One `FileResult` from the guard's report and what Lean said (see the module docstring).
    `given_statements`: the contract's (or program's) elaborated statements, compared with the candidate's."""
    diagnostics = diagnostics_of(run.output.messages, t, probe)
    got = answers(run.output.messages, probe)
    violations = list(report.violations)
    if given_statements:
        violations += statement_violations(given_statements, statements(run.output.messages, probe), violations,
                                           t, _decl_lines(t))
    violations += sorry_violations(run.output.messages, t, violations)
    kernel = judge_axioms(got, report, t.shown, _decl_lines(t))
    violations += _dedupe(kernel, violations)
    verdict, note = decide(run, diagnostics, violations, got)
    return FileResult(
        file=t.shown, verdict=verdict, diagnostics=diagnostics, integrity=violations, assumptions=report.assumptions,
        members=[] if run.crashed or run.timed_out or run.killed_for_memory else members_of(
            t, diagnostics, violations, got), duration_s=round(time.monotonic() - started, 3),
        toolchain=toolchain, command=run.command, exit_code=run.exit_code, cached=run.cached,
        verifier_crashed=run.crashed or run.killed_for_memory, note=note)


STATEMENT_RULE = "QED-L122"


def statement_violations(given: dict[str, str], got: dict[str, str], found: list[IntegrityViolation], t: Texts,
                         lines: dict[str, int | None]) -> list[IntegrityViolation]:
    """QED-L122 for each contract declaration whose elaborated statement (`#check` with `pp.all`) differs from the
    contract's, unless the guard already reported that declaration."""
    reported = {v.member for v in found if v.member}
    out = []
    for name, want in given.items():
        have = got.get(name)
        if have is None or have == want or name in reported:
            continue
        out.append(IntegrityViolation(
            rule=STATEMENT_RULE, family=RuleFamily.contract, file=t.shown, line=lines.get(name), member=name,
            message=f"the statement of `{name}` means something else in your file than in the contract: Lean "
                    f"elaborates it as `{_cut(have)}` but the contract's as `{_cut(want)}`. Remove what changes it "
                    f"(instances, `variable`s, notation, `open`s placed before it)."))
    return out


def _cut(text: str, n: int = 240) -> str:
    return text if len(text) <= n else text[:n] + " ..."


def _decl_lines(t: Texts) -> dict[str, int | None]:
    try:
        return {c.full_name: c.line for c in outline(t.source).decls() if c.full_name}
    except LexError:
        return {}


def _dedupe(new: list[IntegrityViolation], found: list[IntegrityViolation]) -> list[IntegrityViolation]:
    """Kernel findings about `sorry` in a declaration already reported for `sorry` say nothing new."""
    sorry_members = {v.member for v in found if v.rule in ("QED-L101", SORRY_RULE) and v.member}
    native_members = {v.member for v in found if v.rule == "QED-L112" and v.member}
    out = []
    for v in new:
        if v.member in sorry_members and "`sorry`" in v.message:
            continue
        if v.member in native_members and "native_decide" in v.message:
            continue
        out.append(v)
    return out


def decide(run: LeanRun, diagnostics: list[Diagnostic], violations: list[IntegrityViolation],
           probe_answers: dict[str, list[str] | None]) -> tuple[Verdict, str | None]:
    """Apply the verdict rules of this module's docstring."""
    errors = [d for d in diagnostics if d.severity == Severity.error]
    if run.timed_out:
        return Verdict.timeout, f"killed after {run.duration_s:.0f} s (wall-clock limit; raise it with --timeout)"
    if run.killed_for_memory:
        return Verdict.error, "Lean went over its memory cap and was killed (raise it with --memory-mb)"
    if run.crashed:
        lines = [l.strip() for l in run.stderr.strip().splitlines() if l.strip()]
        told = [l for l in lines if not re.match(r"^(Aborted|Killed|Segmentation fault)\b", l)]
        tail = (told or lines or run.output.unparsed or ["no message"])[-1][:300]
        return Verdict.error, f"Lean crashed (exit status {run.exit_code}): {tail}"
    if any(d.kind in _STATIC for d in errors):
        return Verdict.error, None
    if violations:
        return Verdict.rejected, None
    if errors:
        if all(d.kind in _LIMITS for d in errors):
            return Verdict.timeout, "Lean hit its heartbeat or recursion limit"
        return Verdict.failed, None
    if run.exit_code != 0:
        return Verdict.error, f"lean exited with status {run.exit_code} without reporting an error"
    missing = [n for n, a in probe_answers.items() if a is None]
    if missing:
        return Verdict.error, (f"Lean gave no `#print axioms` answer for {', '.join(missing[:3])}: the kernel check "
                               f"did not run, so nothing is verified")
    return Verdict.verified, None


def check_spec(run: LeanRun, spec: Path, probe: Probe | None = None, what: str = "spec") -> None:
    """A contract (or a program to annotate) must itself elaborate (`sorry` allowed), or nothing can be compared
    against it. Messages on the appended probe lines are not the contract's."""
    errors = [m for m in run.output.messages if m.is_error and not (probe is not None and is_probe_message(m, probe))]
    if run.timed_out or run.crashed:
        raise BadInput(f"Lean could not check the {what} {spec} ({'timed out' if run.timed_out else 'crashed'})",
                       fix="check the contract alone first: `lean SPEC.lean`")
    if not errors:
        return
    first = errors[0]
    unknown = [m for m in errors if to_diagnostic(m, str(spec)).kind == DiagnosticKind.resolution]
    if unknown:
        raise BadInput(f"the {what} {spec} does not stand alone: line {unknown[0].line}: {unknown[0].data.splitlines()[0]}"
                       f" (a candidate may not define what the contract means)",
                       fix="define every name the contract uses in the spec itself: `lean SPEC.lean` must accept "
                           "it with only `sorry` warnings")
    raise BadInput(f"the {what} does not elaborate ({spec}:{first.line}: {first.data.splitlines()[0] if first.data else ''})",
                   fix="fix the contract first: `lean SPEC.lean` must accept it with only `sorry` warnings")


def judge_warm(t: Texts, report: IntegrityReport, outcome, *, toolchain: ToolchainRef, started: float,
               session: str) -> FileResult | None:
    """Feedback from a REPL session's outcome, or None when neither Lean nor the guard found anything (then only
    the batch command may say `verified`). Reads the probes' answers and the REPL's `sorries` from the outcome's
    diagnostics (`session.AXIOMS_ID`, `session.SORRY_ID`). The result is never `verified`."""
    from .messages import AXIOMS_ID, SORRY_ID
    from .probe import _ANSWER

    got: dict[str, list[str] | None] = {}
    shown: list[Diagnostic] = []
    sorries: list[tuple[int | None, int | None]] = []
    for d in outcome.diagnostics:
        if d.error_id == AXIOMS_ID and d.member:
            m = _ANSWER.match(d.message)
            if m is not None:
                got[d.member] = [] if m["none"] else [a.strip() for a in m["list"].replace("\n", " ").split(",")
                                                      if a.strip()]
            continue
        if d.error_id == SORRY_ID:
            sorries.append((d.line, d.column - 1 if d.column else None))
        shown.append(d)
    violations = list(report.violations)
    violations += sorry_violations([], t, violations, sorries)
    violations += _dedupe(judge_axioms(got, report, t.shown, _decl_lines(t)), violations)
    errors = [d for d in shown if d.severity == Severity.error]
    note = f"{session} (a warm session steers repair; the verdict comes from the batch command)"
    if any(d.kind in _STATIC for d in errors):
        verdict = Verdict.error
    elif violations:
        verdict = Verdict.rejected
    elif errors:
        verdict = Verdict.timeout if all(d.kind in _LIMITS for d in errors) else Verdict.failed
    else:
        return None
    return FileResult(file=t.shown, verdict=verdict, diagnostics=shown, integrity=violations,
                      assumptions=report.assumptions, duration_s=round(time.monotonic() - started, 3),
                      toolchain=toolchain, command=[session], note=note, checked_by="session")
