"""Test support for the F* backend: a fake F* install (the fake `fstar.exe` of `tests/fakes/fake_fstar.py`
behind a launcher, with a fake Z3 where binary packages bundle it) and helpers to use it."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

FAKE = Path(__file__).resolve().parent / "fakes" / "fake_fstar.py"
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


@pytest.fixture(scope="session")
def fake_fstar_exe(tmp_path_factory) -> Path:
    return make_fake_fstar(tmp_path_factory.mktemp("fake-fstar") / "fstar")


@pytest.fixture
def fake_fstar(fake_fstar_exe, monkeypatch, tmp_path):
    """QED_FSTAR points at the fake; the cache is this test's own. Yields the install."""
    from toolchains.fstar import locate_fstar

    monkeypatch.setenv("QED_FSTAR", str(fake_fstar_exe))
    monkeypatch.delenv("QED_FSTAR_Z3", raising=False)
    monkeypatch.setenv("QED_CACHE_DIR", str(tmp_path / "cache"))
    return locate_fstar(os.environ, use_cache=False)


@pytest.fixture
def fstar_backend(fake_fstar, tmp_path):
    from backends import registry

    plugin = registry.plugin_for_language("fstar")
    with plugin.create(plugin.config(toolchain=fake_fstar, cache_root=tmp_path / "cache")) as backend:
        yield backend
