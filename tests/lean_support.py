"""Helpers for the Lean backend's tests: wrappers that make the fake `lean`, `lake`, REPL and `elan` (in
tests/fakes/, written from the documented formats, NOT the real tools) look like installed executables."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parent / "fakes"
SCRIPTS = {"lean": "fake_lean.py", "lake": "fake_lake.py", "repl": "fake_lean_repl.py", "elan": "fake_elan.py"}


def make_bin(folder: Path, names=("lean", "lake", "repl")) -> Path:
    """`folder` with an executable wrapper per name, each running its fake with this Python."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        p = folder / name
        p.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKES / SCRIPTS[name]} \"$@\"\n", encoding="utf-8")
        p.chmod(0o755)
    return folder


@pytest.fixture
def fake_lean(tmp_path, monkeypatch):
    """The fake Lean tools, found through QED_LEAN / QED_LAKE / QED_LEAN_REPL, with an empty result cache.
    Returns the bin folder."""
    bin_dir = make_bin(tmp_path / "fakebin")
    monkeypatch.setenv("QED_LEAN", str(bin_dir / "lean"))
    monkeypatch.setenv("QED_LAKE", str(bin_dir / "lake"))
    monkeypatch.setenv("QED_LEAN_REPL", str(bin_dir / "repl"))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("QED_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("FAKE_LEAN_SORRY_WORDING", "FAKE_LEAN_NATIVE", "FAKE_REPL_MAX_COMMANDS", "ELAN_HOME"):
        monkeypatch.delenv(var, raising=False)
    return bin_dir


@pytest.fixture
def lean_backend(fake_lean, tmp_path):
    """The registry's Lean backend over the fakes (closed after the test)."""
    from backends import registry

    plugin = registry.plugin_for_language("lean")
    with plugin.create(plugin.config(cache_root=tmp_path / "cache")) as backend:
        yield backend
