"""Starts `lean --json` (or `lake env lean --json` inside a Lake project) on a private copy of a file, with a
content-addressed cache of what Lean said.

The private copy holds exactly the text the guard read plus the kernel-check probes (`probe.py`), so what is
checked, judged and cached are the same bytes, whatever happens to the user's file meanwhile. Inside a Lake
project Lean runs from the project's root, so that its `lean-toolchain` and dependencies (Mathlib) are used.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from verifier import __version__ as qed_version
from verifier import procs
from verifier.cache import Store, digest
from verifier.errors import ToolchainError

from .config import LeanOptions
from .messages import BatchOutput, parse_batch

CACHE_NAMESPACE = "lean-check-v1"
DEFAULT_MEMORY_MB = 8192  # Lean and everything it starts; a run above it is killed and reported, never cached
_CACHE_MAX_STDOUT = 4_000_000  # a bigger answer is not worth keeping


@dataclass
class LeanRun:
    """What one `lean --json` run said."""

    command: list[str]
    exit_code: int | None
    output: BatchOutput
    stderr: str = ""
    duration_s: float = 0.0
    timed_out: bool = False
    killed_for_memory: bool = False
    cached: bool = False

    @property
    def crashed(self) -> bool:
        """Lean died (a signal, a panic, an exit status other than 0/1) or said it failed without any error."""
        if self.timed_out or self.exit_code is None:
            return not self.timed_out
        if self.exit_code not in (0, 1):
            return True
        return self.exit_code == 1 and not any(m.is_error for m in self.output.messages)


@dataclass
class LeanRunner:
    """Knows one Lean install (`toolchains.lean.LeanInstall`) and how to run it."""

    install: object
    store: Store | None = field(default_factory=Store)

    def command(self, target: Path, project, options: LeanOptions) -> list[str]:
        """The exact command line: `lean --json [options] FILE`, or `lake env lean --json ...` in a project."""
        args = ["--json", *options.args(), str(target)]
        if project is not None:
            lake = getattr(self.install, "lake", None)
            if lake is None:
                raise ToolchainError(f"{target.name} belongs to the Lake project {project.root}, but `lake` was not "
                                     f"found", fix="set QED_LAKE=/path/to/lake (or install Lean with elan)")
            # elan's `lean` proxy picks the project's toolchain; an explicit QED_LEAN is used as given
            lean = str(self.install.lean) if self.install.how == "QED_LEAN" else "lean"
            return [str(lake.path), "env", lean, *args]
        return [str(self.install.lean), *args]

    def cache_key(self, text: str, project, options: LeanOptions) -> str:
        return digest(CACHE_NAMESPACE, qed_version, str(self.install.full_version), str(self.install.lean),
                      project.fingerprint() if project is not None else "", " ".join(options.args()), text)

    def begin(self, name: str, text: str, project, options: LeanOptions, timeout: float, use_cache: bool = True,
              memory_mb: int | None = None) -> PendingRun:
        """Start Lean on a private copy of `text` named `name` (or answer from the cache); `.result()` collects."""
        key = self.cache_key(text, project, options) if self.store is not None and use_cache else None
        if key is not None:
            hit = self.store.get(CACHE_NAMESPACE, key)
            if isinstance(hit, dict) and isinstance(hit.get("stdout"), str):
                run = LeanRun(command=list(hit.get("command") or []), exit_code=hit.get("exit_code"),
                              output=parse_batch(hit["stdout"]), stderr=str(hit.get("stderr") or ""),
                              duration_s=float(hit.get("duration_s") or 0.0), cached=True)
                return PendingRun(self, key, cached=run)
        tmp = tempfile.TemporaryDirectory(prefix="qed-lean-")
        target = Path(tmp.name) / (name if name.endswith(".lean") else name + ".lean")
        target.write_bytes(text.encode("utf-8"))
        try:
            argv = self.command(target, project, options)
            running = procs.start(argv, timeout=timeout, cwd=project.root if project is not None else tmp.name,
                                  rss_mb=memory_mb or DEFAULT_MEMORY_MB)
        except OSError as e:
            tmp.cleanup()
            raise ToolchainError(f"cannot start Lean at {self.install.lean}: {e.strerror or e}",
                                 fix="run `qed toolchain status` and fix or reinstall Lean") from e
        except BaseException:
            tmp.cleanup()
            raise
        return PendingRun(self, key, running=running, tmp=tmp)


@dataclass
class PendingRun:
    """A Lean run that has started (or a cache hit)."""

    runner: LeanRunner
    key: str | None
    cached: LeanRun | None = None
    running: procs.Running | None = None
    tmp: tempfile.TemporaryDirectory | None = None

    def cancel(self) -> None:
        if self.running is not None and self.cached is None:
            self.running.kill()
        if self.tmp is not None:
            self.tmp.cleanup()

    def result(self) -> LeanRun:
        if self.cached is None:
            assert self.running is not None and self.tmp is not None
            try:
                proc = self.running.wait()
            finally:
                self.tmp.cleanup()
            run = LeanRun(command=proc.argv, exit_code=proc.returncode, output=parse_batch(proc.stdout),
                          stderr=proc.stderr[-4000:], duration_s=round(proc.duration_s, 3), timed_out=proc.timed_out,
                          killed_for_memory=proc.killed_for_memory)
            store = self.runner.store
            # only a run that ended by itself, as Lean ends (0 or 1, with its messages), is kept
            if (self.key is not None and store is not None and not run.timed_out and not run.killed_for_memory
                    and not run.crashed and len(proc.stdout) <= _CACHE_MAX_STDOUT):
                store.put(CACHE_NAMESPACE, self.key, {"stdout": proc.stdout, "exit_code": run.exit_code,
                                                      "stderr": run.stderr, "command": run.command,
                                                      "duration_s": run.duration_s})
            self.cached = run
        return self.cached
