"""The exact texts one check judges (kept light: read before Dafny starts, judged after)."""

from __future__ import annotations

from pathlib import Path

from backends.base import CheckTexts as Texts
from backends.base import read_exact_source

__all__ = ["Texts", "read_source"]


def read_source(path: Path, what: str) -> str:
    """Read a Dafny file exactly, or raise BadInput naming the problem and the fix."""
    return read_exact_source(path, what, "a .dfy file")
