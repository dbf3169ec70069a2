"""`qed verify`: check files with the right backend and gather one report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from backends import backend_for
from verifier.errors import BadInput
from verifier.models import FileResult, Verdict, VerifyReport, VerifySummary


@dataclass(frozen=True)
class VerifyRequest:
    files: tuple[Path, ...]
    spec: Path | None = None
    timeout: float = 600.0
    use_cache: bool = True
    backend_options: dict | None = None


def verify(request: VerifyRequest) -> VerifyReport:
    """Verify every file (in order) and summarise. Raises BadInput / ToolchainError for problems that are
    not about a file's proof (missing files, broken toolchain)."""
    if not request.files:
        raise BadInput("no file to verify", fix="pass one or more .dfy files: qed verify FILE.dfy")
    for f in [*request.files, *([request.spec] if request.spec else [])]:
        if not f.exists():
            raise BadInput(f"{f} does not exist", fix="check the path")
    start = time.monotonic()
    backends: dict[str, object] = {}
    results: list[FileResult] = []
    for f in request.files:
        probe = backend_for(f, use_cache=request.use_cache, **(request.backend_options or {}))
        backend = backends.setdefault(probe.name, probe)
        results.append(backend.check(f, request.spec, timeout=request.timeout, display_name=str(f)))
    return VerifyReport(results=results, summary=VerifySummary.of(results, time.monotonic() - start))


def exit_code(report: VerifyReport) -> int:
    """0 all verified and accepted; 3 the verifier crashed on some file; 1 otherwise."""
    if any(r.verifier_crashed for r in report.results):
        return 3
    return 0 if all(r.verdict == Verdict.verified.value for r in report.results) else 1
