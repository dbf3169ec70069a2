"""Reading Lean files, and finding the Lake project a check runs in."""

from __future__ import annotations

from pathlib import Path

from backends.base import read_exact_source


def read_source(path: Path, what: str) -> str:
    """Read a Lean file exactly, or raise BadInput naming the problem and the fix."""
    return read_exact_source(path, what, "a .lean file")


def project_for(*paths: Path | None):
    """The Lake project of the first of `paths` that lies in one (a candidate written elsewhere, e.g. in a run
    folder, uses its contract's project)."""
    from toolchains.lean import find_project

    for p in paths:
        if p is not None:
            found = find_project(Path(p))
            if found is not None:
                return found
    return None
