"""The exact texts one check judges (kept light: read before Dafny starts, judged after)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backends.base import read_exact_source


@dataclass(frozen=True)
class Texts:
    """The exact texts one check judges: the candidate, and its contract or program to annotate."""

    file: Path
    shown: str
    source: str
    spec: Path | None = None
    spec_source: str | None = None
    program: Path | None = None
    program_source: str | None = None


def read_source(path: Path, what: str) -> str:
    """Read a Dafny file exactly, or raise BadInput naming the problem and the fix."""
    return read_exact_source(path, what, "a .dfy file")
