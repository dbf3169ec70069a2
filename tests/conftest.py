"""Shared fixtures. Tests that need the real Dafny 4.11 skip (with the reason) when it cannot be found."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DAFNY = REPO.parent / "shared" / "toolchains" / "dafny" / "dafny"
FIXTURES = Path(__file__).parent / "fixtures"
#: A test-only backend distribution (`qedtoy`, language `toy`), registered through its own entry point.
TOY_BACKEND = Path(__file__).parent / "toy_backend"


def pytest_configure(config):
    # Local runs find the project's shared Dafny without setup; CI sets QED_DAFNY itself (.ci/run).
    if "QED_DAFNY" not in os.environ and SHARED_DAFNY.exists():
        os.environ["QED_DAFNY"] = str(SHARED_DAFNY)
    # The toy backend is installed for the whole session, as a user's third-party backend would be: its
    # dist-info folder on sys.path is all it takes (the core is not told about it).
    import sys

    if str(TOY_BACKEND) not in sys.path:
        sys.path.append(str(TOY_BACKEND))
    from backends import registry

    registry.reload()


def with_toy_backend(env: dict | None = None) -> dict:
    """An environment in which a `qed` subprocess also finds the toy backend (through PYTHONPATH)."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TOY_BACKEND), env.get("PYTHONPATH")) if p)
    return env


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
    """The registry's Dafny backend with the real Dafny and this test's empty cache (closed after the test)."""
    from backends import registry

    plugin = registry.plugin_for_language("dafny")
    with plugin.create(plugin.config(toolchain=dafny_install, cache_root=cache_dir)) as backend:
        yield backend


def check(backend, file: Path, spec: Path | None = None, **kw):
    """`backend.check` of one file (against `spec`); `kw` are further `CheckRequest` fields."""
    from backends.base import CheckRequest

    return backend.check(CheckRequest(file=file, contract=spec, **kw))


@pytest.fixture
def write(tmp_path):
    """write("name.dfy", text) -> Path"""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p

    return _write
