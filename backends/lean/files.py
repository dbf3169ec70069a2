"""Reading Lean files, and finding the Lake project a check runs in."""

from __future__ import annotations

from pathlib import Path

from verifier.errors import BadInput


def read_source(path: Path, what: str) -> str:
    """Read a Lean file as UTF-8, or raise BadInput naming the problem and the fix."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BadInput(f"{what} {path} does not exist", fix="check the path") from None
    except IsADirectoryError:
        raise BadInput(f"{what} {path} is a directory", fix="pass a .lean file") from None
    except UnicodeDecodeError:
        raise BadInput(f"{what} {path} is not UTF-8 text", fix="save it as UTF-8") from None
    except OSError as e:
        raise BadInput(f"cannot read {what} {path}: {e.strerror}", fix="check its permissions") from None


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
