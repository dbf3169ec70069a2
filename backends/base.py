"""The one small protocol every verifier backend implements. The core never names a language."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from verifier.models import FileResult, ToolchainRef


@runtime_checkable
class Backend(Protocol):
    """A verifier driver (Dafny, Lean 4, F*...)."""

    name: str
    suffixes: tuple[str, ...]  # file name endings this backend verifies, e.g. (".dfy",)

    def toolchain(self) -> ToolchainRef:
        """The toolchain that will be used; raises `ToolchainError` (with the fix) when it is missing."""
        ...

    def check(self, file: Path, spec: Path | None = None, *, timeout: float = 600.0,
              display_name: str | None = None) -> FileResult:
        """Verify `file` (against the contract in `spec` when given) and return the verdict with its evidence."""
        ...

    def begin(self, file: Path, spec: Path | None = None, *, timeout: float = 600.0,
              display_name: str | None = None) -> "PendingCheck":
        """Start the same check and return at once (the verifier runs meanwhile); `check` is `begin().finish()`."""
        ...


@runtime_checkable
class PendingCheck(Protocol):
    def finish(self) -> FileResult:
        """Wait for the verifier and return the result."""
        ...

    def cancel(self) -> None:
        """Stop the verifier and everything it started."""
        ...
