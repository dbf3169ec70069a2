"""The exact texts one check judges (kept light: read before Dafny starts, judged after)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from verifier.errors import BadInput


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
    """Read a Dafny file as UTF-8, or raise BadInput naming the problem and the fix."""
    try:
        # Exact text: no newline translation (a lone CR ends a `//` comment for Dafny, and the guard must
        # read what Dafny reads).
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BadInput(f"{what} {path} does not exist", fix="check the path") from None
    except IsADirectoryError:
        raise BadInput(f"{what} {path} is a directory", fix="pass a .dfy file") from None
    except UnicodeDecodeError:
        raise BadInput(f"{what} {path} is not UTF-8 text", fix="save it as UTF-8") from None
    except OSError as e:
        raise BadInput(f"cannot read {what} {path}: {e.strerror}", fix="check its permissions") from None
