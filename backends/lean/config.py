"""The Lean backend's options and frozen configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from backends.base import BackendConfig, BackendOptions, SessionConfig


@dataclass(frozen=True)
class LeanOptions(BackendOptions):
    """Lean options that change results (all part of the cache key). Lean has no per-obligation time limit: its
    deterministic limit is `maxHeartbeats` (thousands of small allocations per declaration; Lean's default is
    200000), passed as `-D maxHeartbeats=N`; a candidate may raise it itself with `set_option`."""

    max_heartbeats: int | None = None
    extra_args: tuple[str, ...] = ()

    def args(self) -> list[str]:
        a = [] if self.max_heartbeats is None else ["-D", f"maxHeartbeats={self.max_heartbeats}"]
        return a + list(self.extra_args)


@dataclass(frozen=True)
class LeanConfig(BackendConfig):
    """`toolchain` is a `toolchains.lean.LeanInstall` (None: found on first use); `max_commands` is how many
    commands one REPL process answers before it is replaced (long-lived REPLs degrade: LeanInteract #6, repl
    #77); `headers_per_session` how many REPL processes (one per import header) a session keeps. A REPL that
    imports Mathlib holds several GB, so the memory cap of a session's process group is 8 GB by default."""

    options: LeanOptions = field(default_factory=LeanOptions)
    sessions: SessionConfig = field(default_factory=lambda: SessionConfig(memory_mb=8192))
    max_commands: int = 200
    headers_per_session: int = 2
