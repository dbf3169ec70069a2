"""The F* backend against a real F* (2025.06.20 with Z3 4.13.3): skipped, with the reason, when none is found
(set QED_FSTAR to fstar.exe, and QED_FSTAR_Z3 if its Z3 is not bundled). The fake-based tests check the same
paths; these confirm that the documented formats are the ones F* really speaks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backends.base import CheckRequest, SessionConfig
from verifier.errors import ToolchainError

EX = Path(__file__).resolve().parents[2] / "specs" / "examples"
pytestmark = pytest.mark.fstar


@pytest.fixture(scope="module")
def real_fstar():
    from toolchains.fstar import locate_fstar

    try:
        install = locate_fstar(os.environ, use_cache=False)
    except ToolchainError as e:
        pytest.skip(f"needs a real F* 2025.06.20 with Z3 4.13.3 (set QED_FSTAR): {e}")
    if "fake_fstar" in Path(install.path).read_text(errors="replace")[:2000]:
        pytest.skip("QED_FSTAR points at the test fake, not a real F*")
    return install


@pytest.fixture
def backend(real_fstar, tmp_path):
    from backends import registry

    plugin = registry.plugin_for_language("fstar")
    with plugin.create(plugin.config(toolchain=real_fstar, cache_root=tmp_path / "c")) as b:
        yield b


@pytest.mark.parametrize("solution,spec", [("Abs.fst", "Abs.fsti"), ("SumTo.fst", "SumTo.fsti")])
def test_reference_solutions_verify(backend, solution, spec):
    res = backend.check(CheckRequest(file=EX / solution, contract=EX / spec, timeout=300))
    assert res.verdict == "verified", (res.diagnostics, res.integrity)


def test_a_wrong_implementation_fails_with_an_smt_error(backend, tmp_path):
    f = tmp_path / "Abs.fst"
    f.write_text("module Abs\n\nlet abs x = x\n")
    res = backend.check(CheckRequest(file=f, contract=EX / "Abs.fsti", timeout=300))
    assert res.verdict in ("failed", "error") and any(d.severity == "error" and d.line for d in res.diagnostics)


def test_admit_and_assume_val_are_rejected(backend):
    res = backend.check(CheckRequest(file=EX / "AbsCheat.fst", contract=EX / "Abs.fsti", timeout=300))
    assert res.verdict == "rejected" and "QED-F102" in {v.rule for v in res.integrity}


def test_the_ide_protocol_handshake_and_a_check(real_fstar, tmp_path):
    from backends.fstar.config import FStarOptions
    from backends.fstar.session import FStarSession

    f = tmp_path / "Abs.fst"
    f.write_text((EX / "Abs.fst").read_text())
    with FStarSession(real_fstar, FStarOptions(), SessionConfig(request_timeout_s=300, start_timeout_s=120)) as s:
        out = s.outcome(f, f.read_text(), CheckRequest(file=f, contract=EX / "Abs.fsti", timeout=300))
        assert not out.crashed and not out.timed_out
        assert not [d for d in out.diagnostics if d.severity == "error"]
