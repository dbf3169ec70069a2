"""The exact texts one check judges (kept light: read before Dafny starts, judged after)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
