"""The Lean backend against a real Lean 4 (marked `lean`). No Lean can be installed on this project's machines,
so these skip here, with the reason; anyone with Lean runs them as they are:

    QED_LEAN_REAL=$(which lean) python -m pytest -m lean tests/test_lean_real.py
    # optional, for the session test: QED_LEAN_REPL=/path/to/repl/.lake/build/bin/repl

They check what the fakes can only pretend: that Lean accepts the example solutions, that its `#print axioms`
answers are read (the allowed axioms pass, `sorry` and `native_decide` do not), and that the REPL speaks the
protocol the session expects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backends.base import CheckRequest

pytestmark = pytest.mark.lean
EX = Path(__file__).resolve().parent.parent / "specs" / "examples" / "lean"


def _real_lean():
    from toolchains.lean import find_program, locate_lean
    from verifier.errors import ToolchainError

    env = dict(os.environ)
    if env.get("QED_LEAN_REAL"):
        env["QED_LEAN"] = env["QED_LEAN_REAL"]
    try:
        found = find_program("lean", env)
    except ToolchainError as e:
        pytest.skip(f"needs a real Lean 4: {e}")
    if found is None:
        pytest.skip("needs a real Lean 4 (none on PATH or in elan's folders; set QED_LEAN_REAL=/path/to/lean)")
    try:
        text = found.path.read_text(errors="replace")[:4000]
    except OSError:
        text = ""
    if "fake_lean" in text:
        pytest.skip("needs a real Lean 4 (the lean found is one of the test fakes)")
    try:
        return locate_lean(env)
    except ToolchainError as e:
        pytest.skip(f"needs a working Lean 4: {e}")


@pytest.fixture(scope="module")
def real_backend(tmp_path_factory):
    from backends import registry

    install = _real_lean()
    plugin = registry.plugin_for_language("lean")
    with plugin.create(plugin.config(toolchain=install, cache_root=tmp_path_factory.mktemp("cache"))) as b:
        yield b


def check(backend, f: Path, **kw):
    return backend.check(CheckRequest(file=f, timeout=600, **kw))


def test_examples_verify_and_the_cheat_is_rejected(real_backend):
    assert check(real_backend, EX / "abs.lean", contract=EX / "abs.spec.lean").verdict == "verified"
    res = check(real_backend, EX / "abs_cheat.lean", contract=EX / "abs.spec.lean")
    assert res.verdict == "rejected" and "QED-L101" in {v.rule for v in res.integrity}
    res = check(real_backend, EX / "sumto.lean", program=EX / "sumto.program.lean")
    assert res.verdict == "verified", (res.diagnostics, res.integrity)


def test_real_axioms_answers(real_backend, tmp_path):
    f = tmp_path / "a.lean"
    f.write_text("theorem t (n : Nat) : n + 0 = n := by omega\n\ntheorem u : 10 < 20 := by native_decide\n")
    res = check(real_backend, f)
    assert res.verdict == "rejected"
    kernel = [v for v in res.integrity if v.rule == "QED-L120" or v.rule == "QED-L112"]
    assert kernel and all(v.member in ("u", None) for v in kernel)
    assert {m.name: m.outcome for m in res.members}["t"] == "verified"


def test_real_unsolved_goals_are_failed_with_the_goal(real_backend, tmp_path):
    f = tmp_path / "b.lean"
    f.write_text("theorem t (n : Nat) : n * n ≥ n := by\n  skip\n")
    res = check(real_backend, f)
    assert res.verdict == "failed"
    assert any("⊢" in d.message for d in res.diagnostics)


def test_real_repl_session(real_backend, tmp_path):
    if real_backend.install.repl is None:
        pytest.skip("needs the Lean REPL: set QED_LEAN_REPL to a built leanprover-community/repl")
    f = tmp_path / "c.lean"
    f.write_text("theorem t (n : Nat) : n + 0 = n := by\n  sorry\n")
    with real_backend.open_session() as s:
        w = real_backend.check_warm(CheckRequest(file=f), s)
        assert w.answered and w.feedback is not None and "QED-L121" in {v.rule for v in w.feedback.integrity}
