"""The Dafny backend's frozen configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from backends.base import BackendConfig

from .runner import DafnyOptions


@dataclass(frozen=True)
class DafnyConfig(BackendConfig):
    """The Dafny backend's frozen config: `toolchain` is a `toolchains.discovery.DafnyInstall` (None: found on
    first use), `options` its verifier options, `audit` whether `dafny audit` runs as a second opinion on
    escapes (None: only when a contract or a program to annotate is given)."""

    options: DafnyOptions = field(default_factory=DafnyOptions)
    audit: bool | None = None
