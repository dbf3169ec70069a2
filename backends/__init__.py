"""Verifier backends, one module per toolchain, all behind `backends.base.Backend`."""

from __future__ import annotations

from pathlib import Path

from verifier.errors import BadInput


def backend_for(path: Path, **kwargs):
    """The backend that verifies files like `path` (chosen by suffix)."""
    if path.suffix == ".dfy":
        from backends.dafny.backend import DafnyBackend

        return DafnyBackend(**kwargs)
    raise BadInput(f"{path}: no verifier backend for '{path.suffix or path.name}' files",
                   fix="pass Dafny files (.dfy); Lean 4 and F* backends are not available yet")
