"""Warm Lean sessions over the fake REPL (tests/fakes/fake_lean_repl.py: written from the REPL's documented
protocol, NOT the real REPL): framing, partial lines, the header environment reused, a crash mid-command, a hang,
a stack overflow, huge answers, unknown fields, the memory cap, recycling after many commands, the pool keyed by
import header, and the guard's reading of `sorries` and the kernel-check answers."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from backends.base import CheckRequest
from backends.lean.repl import ReplCrashed, ReplProcess, ReplProtocolError, ReplTimeout
from tests.lean_support import fake_lean, lean_backend  # noqa: F401 - fixtures

PLAIN = "def double (n : Nat) : Nat := n + n\n\ntheorem double_eq (n : Nat) : double n = 2 * n := by\n  unfold double\n  omega\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def warm(backend, session, f: Path, **kw):
    return backend.check_warm(CheckRequest(file=f, **kw), session)


def starts(log: Path) -> int:
    return sum(1 for line in log.read_text().splitlines() if line.startswith("start")) if log.exists() else 0


@pytest.fixture
def repl_log(tmp_path, monkeypatch):
    log = tmp_path / "repl.log"
    monkeypatch.setenv("FAKE_REPL_LOG", str(log))
    return log


def test_clean_candidate_is_clean_and_the_header_is_elaborated_once(tmp_path, lean_backend, repl_log):  # noqa: F811
    with lean_backend.open_session() as s:
        for i in range(3):
            w = warm(lean_backend, s, write(tmp_path, f"d{i}.lean", "import Std\n\n" + PLAIN))
            assert w.clean and w.answered and w.feedback is None, w
    assert starts(repl_log) == 1
    lines = repl_log.read_text().splitlines()
    assert lines.count("command 1") == 1 and "command 4" in lines  # header once, then one command per check


def test_problems_come_back_as_session_feedback_never_verified(tmp_path, lean_backend, repl_log):  # noqa: F811
    with lean_backend.open_session() as s:
        w = warm(lean_backend, s, write(tmp_path, "d.lean", PLAIN.replace("  omega", "  simp --! error unsolved "
                                                                                    "goals\\n⊢ n + n = 2 * n")))
        assert not w.clean and w.feedback.verdict == "failed" and w.feedback.checked_by == "session"
        err = [d for d in w.feedback.diagnostics if d.severity == "error"][0]
        assert err.line == 5 and "⊢ n + n = 2 * n" in err.message  # REPL lines mapped back to the file
        w = warm(lean_backend, s, write(tmp_path, "e.lean", "import Std\n" + PLAIN.replace("  omega", "  stop")))
        assert w.feedback.verdict == "rejected"
        v = [v for v in w.feedback.integrity if v.rule == "QED-L121"][0]
        assert v.line == 6 and v.member == "double_eq"  # the REPL's `sorries` position, shifted by the header line


def test_native_decide_is_caught_by_the_probes_in_the_session(tmp_path, lean_backend, monkeypatch):  # noqa: F811
    monkeypatch.setenv("FAKE_LEAN_NATIVE", "new")
    # spelled so that the token rules cannot see it: only the kernel check (through the REPL) can
    text = "def h : Nat := 1\ntheorem t : h = 1 := by\n  native_decide\n"
    with lean_backend.open_session() as s:
        w = warm(lean_backend, s, write(tmp_path, "d.lean", text))
    rules = {v.rule for v in w.feedback.integrity}
    assert "QED-L112" in rules


@pytest.mark.parametrize("directive,expect", [("crash", "died"), ("stackoverflow", "Stack overflow")])
def test_a_crash_mid_command_restarts_on_the_next_request(tmp_path, lean_backend, repl_log, directive, expect):  # noqa: F811
    with lean_backend.open_session() as s:
        w = warm(lean_backend, s, write(tmp_path, "d.lean", f"--! {directive}\n" + PLAIN))
        assert not w.answered and expect in w.detail and "restarts" in w.detail
        w = warm(lean_backend, s, write(tmp_path, "e.lean", PLAIN))
        assert w.clean and w.answered
    assert starts(repl_log) == 2


def test_a_hang_is_killed_at_the_request_timeout_and_the_next_request_works(tmp_path, lean_backend, repl_log):  # noqa: F811
    with lean_backend.open_session() as s:
        t0 = time.monotonic()
        w = warm(lean_backend, s, write(tmp_path, "d.lean", "--! hang\n" + PLAIN), timeout=2)
        assert not w.answered and "no answer within" in w.detail and time.monotonic() - t0 < 15
        w = warm(lean_backend, s, write(tmp_path, "e.lean", PLAIN))
        assert w.clean


def test_huge_answers_and_unknown_fields(tmp_path, lean_backend):  # noqa: F811
    with lean_backend.open_session() as s:
        w = warm(lean_backend, s, write(tmp_path, "d.lean", "--! huge\n--! unknown-fields\n" + PLAIN))
        assert w.clean and w.answered


def test_the_pool_is_keyed_by_import_header(tmp_path, lean_backend, repl_log):  # noqa: F811
    with lean_backend.open_session() as s:
        for header in ("import Std\n", "import Lean\n", "import Std\n"):
            assert warm(lean_backend, s, write(tmp_path, "d.lean", header + PLAIN)).clean
        assert starts(repl_log) == 2  # two headers, two processes; the third check reused the first
        warm(lean_backend, s, write(tmp_path, "d.lean", "import Init\n" + PLAIN))
        assert starts(repl_log) == 3 and len(s._slots) == 2  # 2 headers per session: the least recently used closed


def test_processes_are_replaced_before_they_wear_out(tmp_path, fake_lean, monkeypatch, repl_log):  # noqa: F811
    from backends import registry

    monkeypatch.setenv("FAKE_REPL_MAX_COMMANDS", "4")  # this fake dies at its 5th command
    plugin = registry.plugin_for_language("lean")
    from dataclasses import replace

    config = replace(plugin.config(cache_root=tmp_path / "c"), max_commands=3)
    with plugin.create(config) as backend, backend.open_session() as s:
        for i in range(7):
            w = warm(backend, s, write(tmp_path, "d.lean", PLAIN + f"-- {i}\n"))
            assert w.clean and w.answered, (i, w.detail)
    assert starts(repl_log) == 4


def test_the_memory_cap_kills_the_group(tmp_path, fake_lean, repl_log):  # noqa: F811
    from dataclasses import replace

    from backends import registry
    from backends.base import SessionConfig

    plugin = registry.plugin_for_language("lean")
    config = replace(plugin.config(cache_root=tmp_path / "c"), sessions=SessionConfig(memory_mb=150, request_timeout_s=60))
    with plugin.create(config) as backend, backend.open_session() as s:
        w = warm(backend, s, write(tmp_path, "d.lean", "--! memory\n" + PLAIN))
        assert not w.answered and "MB" in w.detail
        assert warm(backend, s, write(tmp_path, "e.lean", PLAIN)).clean


def test_without_a_repl_the_session_leaves_it_to_the_batch_command(tmp_path, lean_backend, monkeypatch):  # noqa: F811
    monkeypatch.delenv("QED_LEAN_REPL")
    monkeypatch.setenv("PATH", str(tmp_path))  # no `repl` on PATH either
    from backends import registry

    plugin = registry.plugin_for_language("lean")
    with plugin.create(plugin.config(cache_root=tmp_path / "c")) as backend, backend.open_session() as s:
        w = warm(backend, s, write(tmp_path, "d.lean", PLAIN))
        assert not w.answered and "QED_LEAN_REPL" in w.detail


# --- the protocol layer on its own ---------------------------------------------------------------------------

SLOW_WRITER = r'''
import sys, time
for line in sys.stdin:
    if line.strip():
        req = line
        continue
    for ch in '{"env":\n 0,\n "messages": []}\n\n':
        sys.stdout.write(ch); sys.stdout.flush(); time.sleep(0.002)
'''


def test_partial_lines_are_assembled_into_one_answer(tmp_path):
    script = write(tmp_path, "slow.py", SLOW_WRITER)
    proc = ReplProcess([sys.executable, str(script)])
    try:
        assert proc.command({"cmd": "x"}, 10) == {"env": 0, "messages": []}
        assert proc.command({"cmd": "y"}, 10)["env"] == 0
    finally:
        proc.close()


def test_progress_text_before_an_answer_is_skipped(tmp_path):
    chatty = write(tmp_path, "c.py", "import sys\nfor l in sys.stdin:\n    if not l.strip():\n"
                                     "        print('Processing incremental state [pos: 0..3]:\\ndef\\n')\n"
                                     "        print('{\"env\": 7}'); print(); sys.stdout.flush()\n")
    proc = ReplProcess([sys.executable, str(chatty)])
    try:
        assert proc.command({"cmd": "def"}, 10) == {"env": 7}
        assert "Processing incremental state" in proc.last_noise
    finally:
        proc.close()


def test_protocol_errors(tmp_path):
    garbage = write(tmp_path, "g.py", "import sys\nfor l in sys.stdin:\n    if not l.strip():\n"
                                      "        print('{not json at all'); print(); sys.stdout.flush()\n")
    proc = ReplProcess([sys.executable, str(garbage)])
    with pytest.raises(ReplProtocolError):
        proc.command({"cmd": "x"}, 10)
    assert not proc.alive
    dead = ReplProcess([sys.executable, "-c", "import sys; sys.stderr.write('boom\\n')"])
    with pytest.raises(ReplCrashed, match="boom|died"):
        dead.command({"cmd": "x"}, 10)
    mute = ReplProcess([sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(ReplTimeout):
        mute.command({"cmd": "x"}, 1)
    assert not mute.alive


def test_a_session_in_a_lake_project_runs_the_repl_through_lake_env(tmp_path, lean_backend, repl_log):  # noqa: F811
    project = tmp_path / "proj"
    project.mkdir()
    (project / "lakefile.toml").write_text('name = "proj"\n[[require]]\nname = "mathlib"\n')
    text = "import Mathlib.Tactic\n\n" + PLAIN
    with lean_backend.open_session() as s:
        w = warm(lean_backend, s, write(project, "A.lean", text))
        assert w.clean and w.answered, w.detail  # `import Mathlib` resolved: the fake REPL saw lake's LEAN_PATH
        loose = tmp_path / "loose"
        loose.mkdir()
        w = warm(lean_backend, s, write(loose, "A.lean", text))
        assert not w.answered and "could not elaborate the imports" in w.detail
