"""What one Dafny run said, parsed into typed diagnostics and member outcomes (and cached)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from verifier.errors import ToolchainError
from verifier.models import Diagnostic, DiagnosticKind, MemberOutcome, Severity
from verifier.procs import ProcResult

from .cachefmt import relocate
from .messages import classify_error, classify_warning
from .output import parse_json_output, parse_log, parse_text_output

_CRASH = re.compile(r"internal compilation exception|Unhandled exception|System\.\w+Exception", re.I)


class VerifierRun(BaseModel):
    """The raw outcome of one `dafny verify` process (what is cached)."""

    command: list[str]
    exit_code: int | None
    timed_out: bool = False
    crashed: bool = False
    duration_s: float
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    members: list[MemberOutcome] = Field(default_factory=list)
    status: list[str] = Field(default_factory=list)
    unparsed: list[str] = Field(default_factory=list)
    cached: bool = False
    killed_for_memory: bool = False  # qed killed it at the memory cap


def reclassify(run: VerifierRun) -> VerifierRun:
    """Recompute each diagnostic's kind and warning class from its message, so that a cached outcome is judged
    by today's classifier (the cache keeps what Dafny said, not what qed made of it)."""
    for d in run.diagnostics:
        if d.severity == Severity.error:
            d.kind = classify_error(d.message, d.source)
        elif d.severity == Severity.warning:
            d.warning_class = classify_warning(d.message)
    return run


def collect(proc: ProcResult, log: Path | None, file: Path, target: Path | None) -> VerifierRun:
    """Parse what a finished Dafny process said (`target` is the file Dafny was given, a private snapshot of
    `file` when possible); raises ToolchainError for toolchain problems."""
    if "--json-output" in proc.argv:
        parsed = parse_json_output(proc.stdout)
    else:  # the text format names files relative to the working directory
        parsed = parse_text_output(proc.stdout)
        _absolutize(parsed.diagnostics, (target or file).parent)
    members = parse_log(log) if log is not None else []
    shown = [a if not a.startswith("json;LogFileName=") else "json;LogFileName=<log.json>" for a in proc.argv]
    run = VerifierRun(
        command=shown, exit_code=proc.returncode, timed_out=proc.timed_out, duration_s=round(proc.duration_s, 3),
        diagnostics=parsed.diagnostics, members=members, status=parsed.status,
        unparsed=(parsed.other + proc.stderr.splitlines())[:50], killed_for_memory=proc.killed_for_memory,
    )
    if target is not None and target != file:  # name the user's file, not the snapshot
        run = VerifierRun.model_validate(relocate(run.model_dump(mode="json"), str(target), str(file)))
    if run.killed_for_memory:
        run.crashed = True
        run.unparsed.insert(0, "qed killed the verifier at its memory cap (Dafny and its solver together; raise it "
                               "with --memory-mb)")
        return run
    _check_toolchain(run, proc.stderr)
    run.crashed = not run.timed_out and (
        run.exit_code is None or run.exit_code < 0 or run.exit_code > 5
        or any(_CRASH.search(x) for x in run.unparsed + run.status)
    )
    return run


def _check_toolchain(run: VerifierRun, stderr: str) -> None:
    """Problems of the toolchain itself are never verification results (e.g. a missing Z3 exits 4)."""
    for d in run.diagnostics:
        if d.kind == DiagnosticKind.toolchain and d.line is None and "z3" in d.message.lower():
            raise ToolchainError(f"Dafny cannot run its solver: {d.message.splitlines()[0]}",
                                 fix="run `qed toolchain install dafny`, or set QED_Z3 to a Z3 4.12.1 binary")
    if run.exit_code == 1 and not any(d.severity == Severity.error for d in run.diagnostics):
        first = next((l for l in (stderr.splitlines() + run.unparsed) if l.strip()), "no message")
        raise ToolchainError(f"Dafny rejected the command line: {first.strip()}",
                             fix="check the options passed to qed (and `qed toolchain status`)")


def _absolutize(diagnostics: list[Diagnostic], cwd: Path) -> None:
    for d in diagnostics:
        d.file = str((cwd / d.file).resolve())
        for r in d.related:
            r.file = str((cwd / r.file).resolve())


