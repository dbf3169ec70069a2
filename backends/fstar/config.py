"""The F* backend's options and frozen configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from backends.base import BackendConfig, BackendOptions


@dataclass(frozen=True)
class FStarOptions(BackendOptions):
    """F* options that change results (all part of the cache key). `z3rlimit` is F*'s per-query resource limit
    (`--z3rlimit`, "roughly seconds"; F*'s default is 5); `extra_args` are passed after qed's safety flags and
    may only be options that tune the solver (the list the guard allows in pragmas, `integrity.SAFE_OPTIONS`;
    anything else, which could override a safety flag, is refused by `runner.check_options`)."""

    z3rlimit: int | None = None
    z3seed: int | None = None
    extra_args: tuple[str, ...] = ()

    def args(self) -> list[str]:
        a: list[str] = []
        if self.z3rlimit is not None:
            a += ["--z3rlimit", str(self.z3rlimit)]
        if self.z3seed is not None:
            a += ["--z3seed", str(self.z3seed)]
        return a + list(self.extra_args)


@dataclass(frozen=True)
class FStarConfig(BackendConfig):
    """The F* backend's frozen config: `toolchain` is a `toolchains.fstar.FStarInstall` (None: found on first
    use), `options` its verifier options."""

    options: FStarOptions = field(default_factory=FStarOptions)
