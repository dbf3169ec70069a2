"""`qed verify`: check files with the backend registered for each file's language and gather one report."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from backends import registry
from backends.base import CheckRequest
from verifier import prestart
from verifier.errors import BadInput

if TYPE_CHECKING:
    from backends.base import Backend, BackendConfig
    from verifier.models import FileResult, VerifyReport


@dataclass(frozen=True)
class VerifyRequest:
    """What `qed verify` was asked. `configs` holds a frozen config per language (from the backends' own
    command-line options); a language without one gets its plugin's default config with `use_cache`."""

    files: tuple[Path, ...]
    spec: Path | None = None
    #: annotate check: each file must be this program with proof hints added, nothing else changed
    program: Path | None = None
    timeout: float = 600.0
    time_limit_s: int | None = None
    memory_mb: int | None = None
    members: tuple[str, ...] = ()
    use_cache: bool = True
    workers: int = 1  # checks run at once (`--workers`)
    configs: Mapping[str, BackendConfig] = field(default_factory=dict)


def verify(request: VerifyRequest) -> VerifyReport:
    """Verify every file (in order) and summarise. Raises BadInput / ToolchainError for problems that are
    not about a file's proof (missing files, a language without a backend, a broken toolchain)."""
    if not request.files:
        raise BadInput("no file to verify", fix="pass one or more files: qed verify FILE")
    if request.spec is not None and request.program is not None:
        raise BadInput("--spec and --annotates cannot be combined",
                       fix="check an implementation against a contract (--spec) or hints against a program "
                           "(--annotates)")
    for f in [*request.files, *(x for x in (request.spec, request.program) if x is not None)]:
        if not f.exists():
            raise BadInput(f"{f} does not exist", fix="check the path")
    files = expand(request.files)
    start = prestart.began_at() or time.monotonic()
    backends: dict[str, Backend] = {}
    try:
        jobs = []
        for f in files:
            backend = _backend_for(f, request, backends)
            jobs.append((backend, CheckRequest(file=f, contract=request.spec, program=request.program,
                                               members=request.members, timeout=request.timeout,
                                               time_limit_s=request.time_limit_s, memory_mb=request.memory_mb,
                                               display_name=str(f))))
        for b in backends.values():
            b.toolchain()  # found once, before any worker needs it
        from verifier.parallel import run_checks

        # The verifier starts first (for the first file maybe before the command line was even loaded:
        # `verifier.prestart`); qed's models and the guard load while it runs.
        first = jobs[0][1] if jobs else None  # only the first file's check may have started early
        results: list[FileResult] = run_checks(
            jobs, request.workers, lambda b, r: (prestart.take(b, r) if r is first else None) or b.begin(r))
    finally:
        prestart.discard()
        for b in backends.values():
            b.close()
    from verifier.models import VerifyReport, VerifySummary

    return VerifyReport(results=results, summary=VerifySummary.of(results, time.monotonic() - start))


def _backend_for(file: Path, request: VerifyRequest, opened: dict[str, Backend]) -> Backend:
    plugin = registry.ensure_available(registry.plugin_for_file(file))
    lang = plugin.language
    for what, other in (("--spec", request.spec), ("--annotates", request.program)):
        if other is not None and not any(other.name.endswith(s) for s in lang.suffixes):
            raise BadInput(f"{file} is a {lang.title} file but {what} {other} is not",
                           fix=f"give a {lang.title} ({'/'.join(lang.suffixes)}) {what} file")
    if lang.name not in opened:
        config = request.configs.get(lang.name) or plugin.config(use_cache=request.use_cache)
        opened[lang.name] = prestart.adopt_backend(lang.name, config) or plugin.create(config)
    return opened[lang.name]


def expand(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; a directory stands for every file below it in a language with a backend (sorted)."""
    out: list[Path] = []
    suffixes = registry.suffixes()
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and any(f.name.endswith(s) for s in suffixes))
            if not found:
                raise BadInput(f"{p} holds no {'/'.join(suffixes)} file", fix="pass files or another folder")
            out += found
        else:
            out.append(p)
    return out


def exit_code(report: VerifyReport) -> int:
    """0 all verified and accepted; 3 the verifier crashed on some file; 1 otherwise."""
    from verifier.render import exit_code_of

    return exit_code_of([r.model_dump(mode="json") for r in report.results])
