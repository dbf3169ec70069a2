"""The verdict of one Dafny check: verifier outcome + integrity guard -> one `FileResult`.

Verdict rules (first match wins):
1. the process was killed at the wall-clock limit -> `timeout`;
2. the verifier crashed, or a parse / resolution error -> `error`;
3. the integrity guard found a violation (including warnings that reveal an escape from proof) -> `rejected`;
4. any verification error other than a time-out -> `failed`; only time-outs / resource limits -> `timeout`;
5. exit status 0, no error diagnostic, and Dafny's own "verifier finished with N verified, 0 errors" line ->
   `verified`. Anything else (an exit status no diagnostic explains, a missing summary) is `error`: nothing is
   reported verified by accident.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from verifier.errors import BadInput
from verifier.models import (
    Diagnostic,
    DiagnosticKind,
    FileResult,
    IntegrityViolation,
    RuleFamily,
    Severity,
    ToolchainRef,
    TrustedAssumption,
    Verdict,
    WarningClass,
)

from .integrity import check_integrity, to_implement
from .outcome import VerifierRun
from .syntax import outline
from .texts import Texts

if TYPE_CHECKING:
    from pathlib import Path

    from backends.base import SessionOutcome

_TIMEOUT_KINDS = {DiagnosticKind.timeout, DiagnosticKind.resource_limit}
_STATIC_KINDS = {DiagnosticKind.parse, DiagnosticKind.resolution}
ESCAPE_WARNING_RULE = "QED-W001"  # a Dafny warning that reveals an escape from proof
AUDIT_RULE = "QED-A001"  # a `dafny audit` finding


@dataclass
class Guarded:
    """What the guard found (before the verifier's own warnings are added)."""

    violations: list[IntegrityViolation]
    assumptions: list[TrustedAssumption]


def guard(t: Texts) -> Guarded:
    """The integrity guard (contract frozen, no escape) and, in annotate mode, the annotate guard."""
    report = check_integrity(t.source, t.shown, t.spec_source, str(t.spec) if t.spec else None)
    violations = list(report.violations)
    assumptions = list(report.assumptions)
    if t.program is not None:
        from .annotate import check_annotation

        violations, given = program_escapes(violations, t.program_source or "", str(t.program))
        assumptions += given
        violations += check_annotation(t.program_source, t.source, t.shown, str(t.program))
    return Guarded(violations, assumptions)


def program_escapes(violations: list[IntegrityViolation], program_source: str, program: str
                    ) -> tuple[list[IntegrityViolation], list[TrustedAssumption]]:
    """Annotate mode: escapes the program to annotate itself has (a bodiless or `{:axiom}` member, an
    `assume`) are the task's trusted assumptions, not the candidate's violations. The candidate's escape
    findings are matched against the program's by (rule, member), as many times as the program has them; one
    more of the same kind, or one elsewhere, stays a violation."""
    from collections import Counter

    given = Counter((v.rule, v.member) for v in check_integrity(program_source, program).violations)
    kept: list[IntegrityViolation] = []
    trusted: list[TrustedAssumption] = []
    for v in violations:
        key = (v.rule, v.member)
        if given[key] > 0:
            given[key] -= 1
            first = v.message.split(". ", 1)[0].strip()
            trusted.append(TrustedAssumption(what=f"given by the program, trusted ({v.rule}): {first}",
                                             file=v.file, line=v.line, member=v.member))
        else:
            kept.append(v)
    return kept, trusted


def meaning_violations(meaning, g: Guarded, shown: str) -> list[IntegrityViolation]:
    """The meaning check's findings (`meaning.PendingMeaning`), shown against the candidate's displayed name.
    When the annotate guard already refused the text, the candidate's side is stopped (its findings would only
    repeat the same change), but the program's is still awaited: a program Dafny does not resolve is bad input
    (`BadInput`), never the candidate's violation (a hint remover that cut a statement in half makes every
    answer look changed)."""
    from .annotate import RULES_ANNOTATE

    if any(v.rule in RULES_ANNOTATE for v in g.violations):
        meaning.check_program()
        return []
    return [v.model_copy(update={"file": shown}) for v in meaning.result()]


def judge(t: Texts, g: Guarded, run: VerifierRun, audit: VerifierRun | None, *, toolchain: ToolchainRef,
          started: float, scope: list[str] | None, given_audit: VerifierRun | None = None) -> FileResult:
    """One `FileResult` from the guard's findings and what `dafny verify` (and `dafny audit`) said.

    `given_audit` is `dafny audit` of the contract (or of the program to annotate): a finding it has too (same
    member, same message) is caused by what was given, not by the candidate, and is left out."""
    diagnostics = _attach(run.diagnostics, t.file, t.shown, t.source)
    violations = g.violations + _escape_warnings(diagnostics, g.violations, g.assumptions)
    if audit is not None:
        findings = _attach(audit.diagnostics, t.file, t.shown, t.source)
        violations += _audit_findings(findings, violations, g.assumptions, given_findings(t, given_audit))
    verdict, note = decide(run, diagnostics, violations)
    return FileResult(
        file=t.shown, verdict=verdict, diagnostics=diagnostics, integrity=violations,
        assumptions=g.assumptions, members=run.members,
        duration_s=round(time.monotonic() - started, 3), toolchain=toolchain, command=run.command,
        exit_code=run.exit_code, cached=run.cached, verifier_crashed=run.crashed, scope=scope, note=note,
    )


def judge_warm(t: Texts, g: Guarded, outcome: SessionOutcome, *, toolchain: ToolchainRef, started: float,
               session: str) -> FileResult | None:
    """Feedback from a warm session's outcome, or None when neither the session nor the guard found anything
    (then only the batch command may say `verified`). The result is never `verified`."""
    diagnostics = _attach(outcome.diagnostics, t.file, t.shown, t.source)
    violations = g.violations + _escape_warnings(diagnostics, g.violations, g.assumptions)
    errors = [d for d in diagnostics if d.severity == Severity.error]
    note = f"{session} (a warm session steers repair; the verdict comes from the batch command)"
    if outcome.timed_out:
        verdict, note = Verdict.timeout, f"{session}: {outcome.detail or 'no answer in time'}"
    elif outcome.crashed:
        verdict, note = Verdict.error, f"{session}: {outcome.detail or 'the session crashed'}"
    elif any(d.kind in _STATIC_KINDS or d.source not in (None, "Verifier") for d in errors):
        verdict = Verdict.error
    elif violations:
        verdict = Verdict.rejected
    elif errors:
        verdict = Verdict.timeout if all(d.kind in _TIMEOUT_KINDS for d in errors) else Verdict.failed
    else:
        return None
    return FileResult(
        file=t.shown, verdict=verdict, diagnostics=diagnostics, integrity=violations, assumptions=g.assumptions,
        members=outcome.members, duration_s=round(time.monotonic() - started, 3), toolchain=toolchain,
        command=[session], note=note, checked_by="session",
    )


def resolution_problems(run: VerifierRun) -> list[str]:
    """Why a `dafny resolve` run did not accept its file (`line N:col: message` each); [] when it did."""
    errors = [d for d in run.diagnostics if d.severity == Severity.error]
    if errors:
        return [f"line {d.line}:{d.column}: {d.message}" for d in errors]
    if run.timed_out:
        return [f"dafny resolve did not finish within {run.duration_s:.0f} s"]
    if run.exit_code not in (0, None):
        return [f"dafny resolve exited with status {run.exit_code}"]
    return []


#: Dafny 4.11's resolver messages for a name that nothing declares (`NameResolutionAndTypeInference.cs`,
#: `PreTypeResolve.Expressions.cs`, `ProgramResolver.cs`; checked on the real binary). Group `name` (and
#: `owner`) say which name.
_UNDEFINED = [re.compile(p) for p in (
    r"^unresolved identifier: (?P<name>[\w'?]+)",
    r"^Type or type parameter is not declared in this scope: (?P<name>[\w'?]+)",
    r"^Undeclared top-level type or type parameter: (?P<name>[\w'?]+)",
    r"^module (?P<name>[\w'?.]+) does not exist",
    r"^module (?P<name>[\w'?.]+) named as \w+ base does not exist",
    r"^member '(?P<name>[\w'?]+)' does not exist in (?:class|trait|datatype|codatatype|newtype) '(?P<owner>[\w'?]+)'",
    r"^constructor (?P<name>[\w'?]+) does not exist in datatype (?P<owner>[\w'?]+)",
)]


def undefined_names(run: VerifierRun) -> list[tuple[str, int | None]]:
    """Names a resolved file uses but never declares, with the line of their first use (Dafny's order)."""
    out: dict[str, int | None] = {}
    for d in run.diagnostics:
        if d.severity != Severity.error:
            continue
        for rx in _UNDEFINED:
            m = rx.match(d.message.strip())
            if m:
                owner = m.groupdict().get("owner")
                out.setdefault(f"{owner}.{m['name']}" if owner else m["name"], d.line)
                break
    return list(out.items())


def check_spec(resolved: VerifierRun, spec: "Path") -> None:
    """A contract must itself parse and type-check (`resolved`: its `dafny resolve` run), or nothing can be
    compared against it. One that uses names it never defines is incomplete: only the contract may say what
    its names mean, so it is refused as such, with the names."""
    problems = resolution_problems(resolved)
    if not problems:
        return
    undefined = undefined_names(resolved)
    if undefined:
        shown = ", ".join(f"`{n}` (line {line})" if line else f"`{n}`" for n, line in undefined[:5])
        more = f" and {len(undefined) - 5} more" if len(undefined) > 5 else ""
        raise BadInput(f"the spec {spec} does not stand alone: it uses {shown}{more} but never defines "
                       f"{'it' if len(undefined) == 1 else 'them'}, so the task's contract is incomplete (a "
                       f"candidate may not define what the contract means)",
                       fix="define every name the contract uses in the spec itself (or correct its spelling): "
                           "`dafny resolve SPEC.dfy` must accept the spec alone")
    raise BadInput(f"the spec does not type-check ({spec}:{problems[0].removeprefix('line ')})",
                   fix="fix the contract first: `dafny resolve SPEC.dfy` must succeed")


def decide(run: VerifierRun, diagnostics: list[Diagnostic], violations: list[IntegrityViolation]
           ) -> tuple[Verdict, str | None]:
    """Apply the verdict rules of this module's docstring."""
    errors = [d for d in diagnostics if d.severity == Severity.error]
    if run.timed_out:
        return Verdict.timeout, f"killed after {run.duration_s:.0f} s (wall-clock limit; raise it with --timeout)"
    if run.killed_for_memory:
        return Verdict.error, _first(run.unparsed)
    if run.crashed:
        return Verdict.error, "the verifier crashed: " + _first(run.unparsed + run.status)
    if any(d.kind in _STATIC_KINDS or d.source not in (None, "Verifier") for d in errors):
        return Verdict.error, None
    if violations:
        return Verdict.rejected, None
    if errors:
        if all(d.kind in _TIMEOUT_KINDS for d in errors):
            return Verdict.timeout, "the solver hit its time or resource limit"
        return Verdict.failed, None
    if run.exit_code == 0 and any(_FINISHED.search(s) for s in run.status):
        return Verdict.verified, None
    if run.exit_code == 0:
        return Verdict.error, "dafny exited with status 0 but never said it finished verifying"
    return Verdict.error, f"dafny exited with status {run.exit_code} without reporting an error"


_FINISHED = re.compile(r"verifier finished with \d+ (assertions )?verified, 0 errors")


def _first(lines: list[str]) -> str:
    return next((l.strip() for l in lines if l.strip()), "no message")


def _attach(found: list[Diagnostic], file: Path, shown: str, source: str) -> list[Diagnostic]:
    """Show the user's own path for the main file, and name the enclosing member of each diagnostic."""
    absolute = str(file.resolve())
    try:
        tree = outline(source)
    except Exception:  # the outline is a convenience; a file it cannot read still gets its diagnostics
        tree = None
    out = []
    for d in found:
        d = d.model_copy(deep=True)
        if d.file in (absolute, str(file)):
            d.file = shown
            if tree is not None and d.line is not None:
                d.member = tree.member_at(d.line)
        for r in d.related:
            if r.file in (absolute, str(file)):
                r.file = shown
        out.append(d)
    return out


def _escape_warnings(diagnostics: list[Diagnostic], found: list[IntegrityViolation],
                     trusted: list[TrustedAssumption]) -> list[IntegrityViolation]:
    """Dafny's own warnings that reveal an escape, unless the guard already reported that line or the
    contract itself gives it (a trusted assumption)."""
    picked = [d for d in diagnostics if d.severity == Severity.warning and d.warning_class == WarningClass.escape]
    return _new_violations(picked, found, trusted, ESCAPE_WARNING_RULE, RuleFamily.verifier_warning,
                           "Dafny warns of an escape from proof: {msg} -- remove it; everything must be proved")


_AUDIT_FINDING = re.compile(r"^[^:\s]+: .*Possible mitigation:", re.S)


def _is_audit_finding(d: Diagnostic) -> bool:
    return d.severity == Severity.warning and bool(_AUDIT_FINDING.match(d.message))


def has_audit_findings(audit: VerifierRun) -> bool:
    """Whether `dafny audit` reported a finding (only then are the given text's own findings needed)."""
    return any(_is_audit_finding(d) for d in audit.diagnostics)


def _finding_key(d: Diagnostic) -> tuple[str | None, str]:
    """How a finding is recognised across files: the member it is in and its message (lines shift)."""
    return d.member, d.message.strip()


def given_findings(t: Texts, given_audit: VerifierRun | None) -> Counter[tuple[str | None, str]]:
    """The `dafny audit` findings of what was given (the contract, or the program to annotate), by
    `_finding_key`, except those about a member the candidate must implement (a bodiless obligation of the
    contract: the same finding in the candidate means it was left unimplemented). An audit that did not run to
    its end gives nothing, so every finding of the candidate counts."""
    given = t.spec if t.spec is not None else t.program
    source = t.spec_source if t.spec is not None else t.program_source
    if given_audit is None or given is None or source is None or given_audit.timed_out or given_audit.crashed:
        return Counter()
    obligations = to_implement(outline(source))
    keys: Counter[tuple[str | None, str]] = Counter()
    for d in _attach(given_audit.diagnostics, given, str(given), source):
        if not _is_audit_finding(d):
            continue
        if d.member in obligations and d.message.split(":", 1)[0].strip() == d.member.rsplit(".", 1)[-1]:
            continue
        keys[_finding_key(d)] += 1
    return keys


def _audit_findings(diagnostics: list[Diagnostic], found: list[IntegrityViolation],
                    trusted: list[TrustedAssumption],
                    given: Counter[tuple[str | None, str]] | None = None) -> list[IntegrityViolation]:
    """`dafny audit` findings (\"Name: issue. Possible mitigation: ...\") not already reported or trusted, and
    not among the findings of what was given (`given`, see `given_findings`)."""
    left = Counter(given or {})
    picked = []
    for d in diagnostics:
        if not _is_audit_finding(d):
            continue
        if left[_finding_key(d)] > 0:
            left[_finding_key(d)] -= 1
            continue
        picked.append(d)
    return _new_violations(picked, found, trusted, AUDIT_RULE, RuleFamily.second_opinion, "dafny audit: {msg}")


def _new_violations(picked: list[Diagnostic], found: list[IntegrityViolation], trusted: list[TrustedAssumption],
                    rule: str, family: RuleFamily, template: str) -> list[IntegrityViolation]:
    # A second opinion adds what the guard missed: nothing on a line or in a member it already reported (that
    # member is rejected anyway), nothing the contract itself trusts.
    seen = {(v.file, v.line) for v in found}
    reported_members = {(v.file, v.member) for v in found if v.member}
    trusted_members = {a.member for a in trusted if a.member}
    trusted_lines = {(a.file, a.line) for a in trusted}
    out = []
    for d in picked:
        key = (d.file, d.line)
        if key in seen or key in trusted_lines or (d.member and d.member in trusted_members):
            continue
        if d.member and (d.file, d.member) in reported_members:
            continue
        seen.add(key)
        out.append(IntegrityViolation(rule=rule, family=family, file=d.file, line=d.line, column=d.column, member=d.member,
                                      message=template.format(msg=d.message)))
    return out
