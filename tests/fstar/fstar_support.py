"""Test support for the F* backend: a fake F* install (the fake `fstar.exe` of `tests/fakes/fake_fstar.py`
behind a launcher, with a fake Z3 where binary packages bundle it) and helpers to use it."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

FAKE = Path(__file__).resolve().parents[1] / "fakes" / "fake_fstar.py"
Z3_VERSION = "4.13.3"


def make_fake_fstar(root: Path, *, version: str = "2025.06.20", z3_version: str = Z3_VERSION,
                    with_z3: bool = True) -> Path:
    """An F* release layout under `root` (`bin/fstar.exe`, `lib/fstar/z3-V/bin/z3`); returns fstar.exe."""
    exe = root / "bin" / "fstar.exe"
    exe.parent.mkdir(parents=True, exist_ok=True)
    exe.write_text(f"#!/bin/sh\nFAKE_FSTAR_VERSION={version} exec {sys.executable} {FAKE} \"$@\"\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    if with_z3:
        z3 = root / "lib" / "fstar" / f"z3-{Z3_VERSION}" / "bin" / "z3"
        z3.parent.mkdir(parents=True, exist_ok=True)
        z3.write_text(f"#!/bin/sh\necho 'Z3 version {z3_version} - 64 bit'\n")
        z3.chmod(0o755)
    return exe
