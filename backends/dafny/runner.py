"""Starts `dafny verify` (or `resolve` / `audit`) on one file, with a content-addressed result cache.

This module knows the command line and starts the process; it imports nothing heavy, so that Dafny is running
before qed loads its models (`outcome.py` parses what Dafny said; `backend.py` turns it into a verdict).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from backends.base import BackendOptions
from verifier import __version__ as qed_version
from verifier.cache import Store, digest
from verifier.errors import ToolchainError

from .cachefmt import CACHE_NAMESPACE, MAIN_PLACEHOLDER, relocate

if TYPE_CHECKING:
    import tempfile

    from verifier import procs

    from .outcome import VerifierRun

# .NET creates debugger pipes in /tmp for every process and leaves them behind when a run is killed.
_DOTNET_QUIET = {"DOTNET_EnableDiagnostics": "0", "DOTNET_CLI_TELEMETRY_OPTOUT": "1", "DOTNET_NOLOGO": "1"}
_INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"', re.M)
DEFAULT_MEMORY_MB = 8192  # Dafny and Z3 together; a run above it is killed and reported, never cached


# Dynamic PGO instruments freshly jitted code; a Dafny process lives seconds, too short to gain from it, and
# starts about a tenth faster without it (`benchmarks/startup.py` measures it). A user's own setting wins.
_DOTNET_TUNING = {"DOTNET_TieredPGO": "0"}


def dafny_env() -> dict[str, str]:
    """The environment of every Dafny process qed starts (verify, resolve, audit, server, translate)."""
    return {**_DOTNET_TUNING, **os.environ, **_DOTNET_QUIET}


@dataclass(frozen=True)
class DafnyOptions(BackendOptions):
    """Verifier options that change results (all of them are part of the cache key)."""

    time_limit_s: int | None = None  # --verification-time-limit (Dafny's default: 30 s per batch)
    resource_limit: str | None = None  # --resource-limit (Z3 rlimit)
    cores: int | None = None
    filter_symbols: tuple[str, ...] = ()  # --filter-symbol: verify only these members (the repair loop)
    extra_args: tuple[str, ...] = ()

    def args(self) -> list[str]:
        a: list[str] = []
        if self.time_limit_s is not None:
            a += ["--verification-time-limit", str(self.time_limit_s)]
        if self.resource_limit is not None:
            a += ["--resource-limit", str(self.resource_limit)]
        if self.cores is not None:
            a += ["--cores", str(self.cores)]
        for s in self.filter_symbols:
            a += ["--filter-symbol", s]
        return a + list(self.extra_args)


@dataclass
class DafnyRunner:
    """Knows one Dafny install (`toolchains.discovery.DafnyInstall`) and how to run it."""

    install: object  # DafnyInstall: path, full_version, solver_version, extra_args
    store: Store | None = field(default_factory=Store)

    def command(self, file: Path, log_file: Path | None, options: DafnyOptions,
                subcommand: str = "verify") -> list[str]:
        """The exact command line. `--allow-warnings` keeps the exit code about errors; qed classifies the
        warnings itself (style/trigger never fail a proof, escapes are integrity violations)."""
        if subcommand == "audit":  # takes none of the verify options (4.11 rejects them)
            return [str(self.install.path), "audit", str(file)]
        # `resolve` has no --json-output in 4.11, and versions before 4.10 have none at all: those runs are
        # read with the text parser.
        if subcommand == "verify" and has_json_output(self.install.version):
            fmt = ["--json-output"]
        elif has_json_output(self.install.version):
            fmt = ["--show-snippets:false"]
        else:
            fmt = []
        argv = [str(self.install.path), subcommand, *fmt, "--allow-warnings"]
        if log_file is not None:
            argv += ["--log-format", f"json;LogFileName={log_file}"]
        return argv + [*self.install.extra_args, *options.args(), str(file)]

    def cache_key(self, file: Path, source: str, options: DafnyOptions, subcommand: str = "verify") -> str:
        parts = [CACHE_NAMESPACE, qed_version, subcommand, str(self.install.full_version),
                 str(self.install.solver_version or ""), json.dumps(list(self.install.extra_args) + options.args()),
                 source]
        for inc_path, inc_text in included_sources(file, source):
            parts += [str(inc_path), inc_text]
        return digest(*parts)

    def verify(self, file: Path, source: str, options: DafnyOptions, timeout: float,
               use_cache: bool = True) -> VerifierRun:
        """Verify `file` (whose current text is `source`), answering from the cache when it can."""
        return self.begin(file, source, options, timeout, use_cache, "verify").result()

    def resolve(self, file: Path, source: str, timeout: float, use_cache: bool = True) -> VerifierRun:
        """Parse and type-check only (`dafny resolve`), e.g. to check that a contract is well-formed."""
        return self.begin(file, source, DafnyOptions(), timeout, use_cache, "resolve").result()

    def audit(self, file: Path, source: str, timeout: float, use_cache: bool = True,
              memory_mb: int | None = None) -> "PendingRun":
        """Start `dafny audit` (a second opinion on escapes from proof); collect with `.result()`."""
        return self.begin(file, source, DafnyOptions(), timeout, use_cache, "audit", memory_mb)

    def begin(self, file: Path, source: str, options: DafnyOptions, timeout: float, use_cache: bool = True,
              subcommand: str = "verify", memory_mb: int | None = None) -> "PendingRun":
        """Start the verifier now (or find the answer in the cache); collect it with `.result()`.
        Lets the caller do its own work (the integrity guard) while Dafny runs. `memory_mb` caps the resident
        memory of Dafny and its solver together (default `DEFAULT_MEMORY_MB`; the run is killed above it)."""
        file = file.resolve()
        key = self.cache_key(file, source, options, subcommand) if self.store is not None and use_cache else None
        if key is not None:
            hit = self.store.get(CACHE_NAMESPACE, key)
            if hit is not None:
                from .outcome import VerifierRun, reclassify

                try:
                    run = reclassify(VerifierRun.model_validate(relocate(hit, MAIN_PLACEHOLDER, str(file))))
                    run.cached = True
                    return PendingRun(self, file, key, cached=run)
                except ValueError:
                    pass  # an old or damaged entry: verify again
        import tempfile  # the process layer and temporary folders: not loaded for a cached answer

        from verifier import procs

        tmp = tempfile.TemporaryDirectory(prefix="qed-dafny-")
        log = Path(tmp.name) / "log.json" if subcommand == "verify" else None
        target = snapshot(file, source, Path(tmp.name))
        argv = self.command(target, log, options, subcommand)
        try:
            running = procs.start(argv, timeout=timeout, cwd=target.parent, env=dafny_env(),
                                  rss_mb=memory_mb or DEFAULT_MEMORY_MB)
        except OSError as e:
            tmp.cleanup()
            raise ToolchainError(f"cannot start Dafny at {self.install.path}: {e.strerror or e}",
                                 fix="run `qed toolchain status` and fix or reinstall Dafny") from e
        return PendingRun(self, file, key, running=running, tmp=tmp, log=log, target=target)


@dataclass
class PendingRun:
    """A verifier run that has started (or a cache hit)."""

    runner: DafnyRunner
    file: Path
    key: str | None
    cached: VerifierRun | None = None
    running: procs.Running | None = None
    tmp: tempfile.TemporaryDirectory | None = None
    log: Path | None = None
    target: Path | None = None  # the file Dafny was given (a private snapshot of `file`, when possible)

    def cancel(self) -> None:
        """Stop a run whose result is no longer wanted (kills the verifier and its children)."""
        if self.running is not None and self.cached is None:
            self.running.kill()
        if self.tmp is not None:
            self.tmp.cleanup()

    def result(self) -> "VerifierRun":
        """Wait for the verifier (or return the cache hit), parse what it said, store it in the cache."""
        if self.cached is None:
            assert self.running is not None and self.tmp is not None
            from .outcome import collect

            try:
                proc = self.running.wait()
                run = collect(proc, self.log, self.file, self.target)
            finally:
                self.tmp.cleanup()
            store = self.runner.store
            # only what Dafny said to the end: a run cut short, killed or with no summary line is never cached
            if self.key is not None and store is not None and not run.timed_out and not run.crashed and run.status:
                store.put(CACHE_NAMESPACE, self.key,
                          relocate(run.model_dump(mode="json"), str(self.file), MAIN_PLACEHOLDER))
            self.cached = run
        return self.cached


def has_json_output(version: str) -> bool:
    """`--json-output` came with Dafny 4.10 (dafny-lang/dafny#6246, 2025-05)."""
    try:
        major, minor = (int(x) for x in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (4, 10)


def snapshot(file: Path, source: str, tmp: Path) -> Path:
    """A private copy of exactly `source` for Dafny to check, so that the text the integrity guard read, the
    cache key hashed and the verifier checked are the same bytes, whatever happens to `file` meanwhile.
    Files with `include` are verified in place (their includes are relative to them)."""
    if _INCLUDE.search(source):
        return file
    target = tmp / "src" / file.name
    target.parent.mkdir()
    target.write_bytes(source.encode("utf-8"))
    return target.resolve()


def included_sources(file: Path, source: str, _seen: set[Path] | None = None) -> list[tuple[Path, str]]:
    """Files reached through `include "..."` (transitively), with their text; unreadable ones are skipped
    (Dafny reports them)."""
    seen = _seen if _seen is not None else {file.resolve()}
    out: list[tuple[Path, str]] = []
    for rel in _INCLUDE.findall(source):
        p = (file.parent / rel).resolve()
        if p in seen:
            continue
        seen.add(p)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        out.append((p, text))
        out += included_sources(p, text, seen)
    return out


def included_paths(file: Path) -> list[Path]:
    """Every file `file` includes, transitively, whether or not it exists (an include that disappears changes
    the verdict too)."""
    seen = {file.resolve()}
    out: list[Path] = []
    todo = [file.resolve()]
    while todo:
        current = todo.pop()
        try:
            text = current.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for rel in _INCLUDE.findall(text):
            p = (current.parent / rel).resolve()
            if p not in seen:
                seen.add(p)
                out.append(p)
                todo.append(p)
    return out
