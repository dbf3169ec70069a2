"""Reading dataset files: hostile input, so undecodable bytes are replaced and problems are one-line BadInput."""

from __future__ import annotations

from pathlib import Path

from verifier.errors import BadInput


def read_text(path: Path) -> str:
    """A dataset file as text (bytes that are not UTF-8 are replaced: dataset files are hostile input)."""
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except OSError as e:
        raise BadInput(f"cannot read dataset file {path}: {e.strerror or e}", fix="check the benchmark data") from None


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise BadInput(f"{what}: folder {path} does not exist",
                       fix="set QED_BENCH_DATA to the benchmarks folder (see its README), or pass --data DIR")
    return path
