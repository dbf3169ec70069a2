"""Shared fixtures. Tests that need the real Dafny 4.11 skip (with the reason) when it cannot be found."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DAFNY = REPO.parent / "shared" / "toolchains" / "dafny" / "dafny"
FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config):
    # Local runs find the project's shared Dafny without setup; CI sets QED_DAFNY itself (.ci/run).
    if "QED_DAFNY" not in os.environ and SHARED_DAFNY.exists():
        os.environ["QED_DAFNY"] = str(SHARED_DAFNY)


@pytest.fixture(scope="session")
def dafny_install(tmp_path_factory):
    """The real Dafny (with its Z3), or a skip that says why it is missing."""
    from toolchains.discovery import locate_dafny
    from verifier.errors import ToolchainError

    if "QED_DAFNY" not in os.environ:
        pytest.skip(f"needs Dafny 4.11: set QED_DAFNY (expected at {SHARED_DAFNY})")
    try:
        return locate_dafny(use_cache=False)
    except ToolchainError as e:
        pytest.skip(f"needs a working Dafny 4.11: {e}")


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """An empty result cache for this test (never the user's own)."""
    d = tmp_path / "cache"
    monkeypatch.setenv("QED_CACHE_DIR", str(d))
    return d


@pytest.fixture
def dafny_backend(dafny_install, cache_dir):
    from backends.dafny.backend import DafnyBackend
    from verifier.cache import Store

    return DafnyBackend(install=dafny_install, store=Store(cache_dir))


@pytest.fixture
def write(tmp_path):
    """write("name.dfy", text) -> Path"""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p

    return _write
