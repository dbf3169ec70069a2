"""How an F* check becomes a verdict: what F* said, judged together with the integrity guard.

Precedence: a guard violation makes the file `rejected` (even when F* accepted it); else a run cut short by the
wall clock is `timeout`; else a run that crashed, was killed, or ended without saying it verified the module is
`error` (never verified); else errors decide (`error` for parse, name and type errors, `timeout` when every
error is the solver giving up, `failed` otherwise); else `verified`, which needs F* to have exited 0 with its
success line and no error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

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
    TrustedAssumption,
    Verdict,
)

from .integrity import GuardReport, guard
from .output import is_escape_report
from .runner import FStarRun


@dataclass(frozen=True)
class Texts:
    """The exact texts one check judges."""

    file: Path
    shown: str
    source: str
    contract: Path | None = None
    contract_source: str | None = None
    contract_shown: str | None = None
    interface_source: str | None = None  # the `.fsti` beside a file checked without a contract


def run_guard(t: Texts) -> GuardReport:
    return guard(t.source, t.contract_source, interface_source=t.interface_source)


def violations_of(t: Texts, found: GuardReport) -> tuple[list[IntegrityViolation], list[TrustedAssumption]]:
    vs = [IntegrityViolation(rule=f.rule, family=RuleFamily(f.family), message=f.message, file=t.shown,
                             line=f.line, column=f.column, member=f.member) for f in found.violations]
    shown = t.contract_shown or (str(t.contract) if t.contract else t.shown)
    assumptions = [TrustedAssumption(what=f.message.split(" at line ")[0], file=shown, line=f.line, member=f.member)
                   for f in found.assumptions]
    return vs, assumptions


def check_contract_run(run: FStarRun | None, shown: str) -> None:
    """The contract checked on its own (an interface, F*'s library only): errors there are bad input, never the
    candidate's failure. A run that did not finish says nothing (the candidate's run decides)."""
    if run is None or run.timed_out or run.crashed:
        return
    errors = [d for d in run.diagnostics if d.severity == Severity.error]
    for d in errors:
        number = int(d.error_id.split()[-1]) if d.error_id and d.error_id.split()[-1].isdigit() else None
        if is_escape_report(d.message, number):
            raise BadInput(f"the contract {shown} uses an escape that F* reports as an error under "
                           f"--report_assumes (line {d.line}: {d.message.splitlines()[0][:120]})",
                           fix="remove that escape from the contract (qed always runs F* with --report_assumes "
                               "error); a fact the contract trusts can be stated as `assume val name : type`, which "
                               "F* does not report")
    if errors:
        d = errors[0]
        raise BadInput(f"the contract {shown} does not check: line {d.line}: {d.message.splitlines()[0][:200]}",
                       fix="fix the contract (it must type-check on its own, with F*'s library only)")


def escape_reports(diagnostics: list[Diagnostic], shown: str) -> list[IntegrityViolation]:
    """F*'s own reports of escape hatches in the candidate (QED-F201)."""
    out = []
    for d in diagnostics:
        number = None
        if d.error_id and d.error_id.split()[-1].isdigit():
            number = int(d.error_id.split()[-1])
        if d.severity in (Severity.error, Severity.warning) and d.file == shown and is_escape_report(d.message, number):
            out.append(IntegrityViolation(
                rule="QED-F201", family=RuleFamily.verifier_warning, file=shown, line=d.line, column=d.column,
                message=f"F* reports an escape from proof here ({d.message.splitlines()[0][:160]}): remove the "
                        f"admit/assume it points at and prove the goal."))
    return out


def members_of(t: Texts, run_ok: bool, diagnostics: list[Diagnostic]) -> list[MemberOutcome]:
    """Each top-level `let` of the candidate: failed when an error lies inside it, else verified (only when F*
    finished normally)."""
    from .syntax import outline

    errors = [d for d in diagnostics if d.severity == Severity.error and d.file == t.shown and d.line]
    out = []
    for d in outline(t.source).decls:
        if d.kind != "let" or not d.names:
            continue
        bad = any(d.line <= e.line <= d.end_line for e in errors)
        if bad or run_ok:
            out.append(MemberOutcome(name=d.names[0], outcome="failed" if bad else "verified"))
    return out


def decide(run: FStarRun, diagnostics: list[Diagnostic], violations: list[IntegrityViolation]) -> Verdict:
    if violations:
        return Verdict.rejected
    if run.timed_out:
        return Verdict.timeout
    if run.crashed:
        return Verdict.error
    errors = [d for d in diagnostics if d.severity == Severity.error]
    if errors:
        if any(d.kind in (DiagnosticKind.parse, DiagnosticKind.resolution, DiagnosticKind.toolchain) for d in errors):
            return Verdict.error
        if all(d.kind in (DiagnosticKind.timeout, DiagnosticKind.resource_limit) for d in errors):
            return Verdict.timeout
        return Verdict.failed
    if run.exit_code == 0 and run.success_line:
        return Verdict.verified
    return Verdict.error


def judge(t: Texts, found: GuardReport, run: FStarRun, *, toolchain: ToolchainRef, started: float,
          contract_run: FStarRun | None = None) -> FileResult:
    check_contract_run(contract_run, t.contract_shown or str(t.contract))
    violations, assumptions = violations_of(t, found)
    violations += escape_reports(run.diagnostics, t.shown)
    verdict = decide(run, run.diagnostics, violations)
    note = None
    if run.timed_out:
        note = "the F* run hit the wall-clock limit and was killed"
    elif run.crashed:
        why = run.unparsed[0] if run.killed_for_memory and run.unparsed else (
            f"F* exited {run.exit_code} without saying that it verified the module (its output was cut short "
            f"or garbled)" if run.exit_code == 0 else f"F* ended abnormally (exit {run.exit_code})")
        note = why
    ok = run.exit_code == 0 and run.success_line and not run.crashed
    return FileResult(
        file=t.shown, verdict=verdict, diagnostics=run.diagnostics, integrity=violations, assumptions=assumptions,
        members=members_of(t, ok, run.diagnostics), duration_s=round(time.monotonic() - started, 3),
        toolchain=toolchain, command=run.command, exit_code=run.exit_code, cached=run.cached,
        verifier_crashed=run.crashed and not run.timed_out and not violations, note=note)


def judge_warm(t: Texts, found: GuardReport, outcome, *, toolchain: ToolchainRef, started: float,
               session: str) -> FileResult | None:
    """Feedback from a warm session for the repair prompt (never `verified`); None when nothing was found, so
    that the batch command decides."""
    violations, assumptions = violations_of(t, found)
    violations += escape_reports(outcome.diagnostics, t.shown)
    errors = [d for d in outcome.diagnostics if d.severity == Severity.error]
    if not violations and not errors:
        return None
    fake = FStarRun(command=[session], exit_code=1, duration_s=outcome.duration_s, diagnostics=outcome.diagnostics)
    verdict = decide(fake, outcome.diagnostics, violations)
    return FileResult(file=t.shown, verdict=verdict, diagnostics=outcome.diagnostics, integrity=violations,
                      assumptions=assumptions, members=members_of(t, False, outcome.diagnostics),
                      duration_s=round(time.monotonic() - started, 3), toolchain=toolchain, command=[session],
                      note=outcome.detail, checked_by="session")
