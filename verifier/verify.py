"""`qed verify`: check files with the right backend and gather one report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from backends import backend_for
from verifier.errors import BadInput

if TYPE_CHECKING:
    from verifier.models import FileResult, VerifyReport


@dataclass(frozen=True)
class VerifyRequest:
    files: tuple[Path, ...]
    spec: Path | None = None
    #: annotate check: each file must be this program with proof hints added, nothing else changed
    program: Path | None = None
    timeout: float = 600.0
    use_cache: bool = True
    backend_options: dict | None = None


def verify(request: VerifyRequest) -> VerifyReport:
    """Verify every file (in order) and summarise. Raises BadInput / ToolchainError for problems that are
    not about a file's proof (missing files, broken toolchain)."""
    if not request.files:
        raise BadInput("no file to verify", fix="pass one or more .dfy files: qed verify FILE.dfy")
    if request.spec is not None and request.program is not None:
        raise BadInput("--spec and --annotates cannot be combined",
                       fix="check an implementation against a contract (--spec) or hints against a program "
                           "(--annotates)")
    for f in [*request.files, *(x for x in (request.spec, request.program) if x is not None)]:
        if not f.exists():
            raise BadInput(f"{f} does not exist", fix="check the path")
    files = expand(request.files)
    start = time.monotonic()
    backends: dict[str, object] = {}
    results: list[FileResult] = []
    for f in files:
        probe = backend_for(f, use_cache=request.use_cache, **(request.backend_options or {}))
        backend = backends.setdefault(probe.name, probe)
        # Dafny starts first; qed's models and the guard load while it runs.
        extra = {"program": request.program} if request.program is not None else {}
        pending = backend.begin(f, request.spec, timeout=request.timeout, display_name=str(f), **extra)
        results.append(pending.finish())
    from verifier.models import VerifyReport, VerifySummary

    return VerifyReport(results=results, summary=VerifySummary.of(results, time.monotonic() - start))


VERIFIABLE_SUFFIXES = (".dfy",)


def expand(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; a directory stands for every verifiable file below it (sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix in VERIFIABLE_SUFFIXES and f.is_file())
            if not found:
                raise BadInput(f"{p} holds no {'/'.join(VERIFIABLE_SUFFIXES)} file", fix="pass files or another folder")
            out += found
        else:
            out.append(p)
    return out


def exit_code(report: VerifyReport) -> int:
    """0 all verified and accepted; 3 the verifier crashed on some file; 1 otherwise."""
    from verifier.models import Verdict

    if any(r.verifier_crashed for r in report.results):
        return 3
    return 0 if all(r.verdict == Verdict.verified.value for r in report.results) else 1
