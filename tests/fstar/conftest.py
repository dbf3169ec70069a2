"""Fixtures of the F* backend tests: the fake F* install (see `fstar_support.py`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fstar_support import make_fake_fstar


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
