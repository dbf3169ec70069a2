"""The warm `fstar.exe --ide` session against the fake: the protocol-info handshake checked at run time,
progress messages interleaved with answers, sub-query ids out of order and stale answers, a crash mid-query,
a hang (cancel, or kill and restart), huge lines, unknown fields, push/pop for a protocol without full-buffer,
and clean-up. A session never gives a verdict."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from backends.base import CheckRequest, SessionConfig
from backends.fstar.config import FStarOptions
from backends.fstar.session import FStarSession
from verifier.errors import ToolchainError

EX = Path(__file__).resolve().parents[2] / "specs" / "examples"
GOOD = (EX / "Abs.fst").read_text()


def session(install, **kw) -> FStarSession:
    return FStarSession(install, FStarOptions(), SessionConfig(**{"request_timeout_s": 20, "start_timeout_s": 10,
                                                                   **kw}))


def ask(s, tmp_path, text, timeout=20.0):
    f = tmp_path / "cand.fst"
    f.write_text(text)
    return s.outcome(f, text, CheckRequest(file=f, contract=EX / "Abs.fsti", timeout=timeout))


def test_clean_and_failing_checks_in_one_warm_process(fake_fstar, tmp_path):
    with session(fake_fstar) as s:
        ok = ask(s, tmp_path, GOOD)
        assert ok.diagnostics == [] and not ok.crashed and not ok.timed_out
        pid = s._ide.proc.pid
        bad = ask(s, tmp_path, "module Abs\nlet abs x = x (* fake:fail *)\nlet y = 1 (* fake:fail *)\n")
        # the stale answer to query 999 is ignored; both sub-query answers (sent in reverse order) are kept
        assert [(d.line, d.kind) for d in bad.diagnostics] == [(2, "assertion"), (3, "assertion")]
        assert all(d.file == str(tmp_path / "cand.fst") for d in bad.diagnostics)
        assert s._ide.proc.pid == pid  # still the same warm process


def test_the_handshake_is_checked_at_run_time(fake_fstar, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_FSTAR_IDE", "old")
    with session(fake_fstar) as s:
        out = ask(s, tmp_path, GOOD)
        assert out.crashed and "protocol version 1" in out.detail and "batch command decides" in out.detail
        assert s._ide is None
    monkeypatch.setenv("FAKE_FSTAR_IDE", "nohello")
    t = time.monotonic()
    with session(fake_fstar, start_timeout_s=1) as s:
        assert "no protocol-info" in ask(s, tmp_path, GOOD).detail
        assert ask(s, tmp_path, GOOD).crashed  # not retried: no second wait
    assert time.monotonic() - t < 10
    monkeypatch.setenv("FAKE_FSTAR_IDE", "banner")  # a line that is not JSON before the hello is skipped
    with session(fake_fstar) as s:
        assert ask(s, tmp_path, GOOD).diagnostics == []


def test_push_and_pop_when_full_buffer_is_not_offered(fake_fstar, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_FSTAR_IDE", "pushonly")
    with session(fake_fstar) as s:
        assert ask(s, tmp_path, GOOD).diagnostics == []
        assert [d.line for d in ask(s, tmp_path, "module Abs\nlet abs x = x // fake:fail\n").diagnostics] == [2]
        assert ask(s, tmp_path, GOOD).diagnostics == []


def test_a_crash_mid_query_restarts_the_session(fake_fstar, tmp_path):
    with session(fake_fstar) as s:
        out = ask(s, tmp_path, "module Abs\nlet abs x = x (* fake:crash *)\n")
        assert out.crashed and "restarts" in out.detail
        assert ask(s, tmp_path, GOOD).diagnostics == []  # a fresh process answers


def test_a_hang_is_cancelled_or_killed(fake_fstar, tmp_path):
    with session(fake_fstar) as s:
        t = time.monotonic()
        out = ask(s, tmp_path, "module Abs\nlet abs x = x (* fake:hang fake:cancellable *)\n", timeout=1)
        assert out.timed_out and "cancelled" in out.detail and time.monotonic() - t < 8
        pid = s._ide.proc.pid
        assert ask(s, tmp_path, GOOD).diagnostics == [] and s._ide.proc.pid == pid  # still warm
        out = ask(s, tmp_path, "module Abs\nlet abs x = x (* fake:hang *)\n", timeout=1)
        assert out.timed_out and "killed" in out.detail
        assert ask(s, tmp_path, GOOD).diagnostics == [] and s._ide.proc.pid != pid


def test_a_huge_line_is_dropped_not_held(fake_fstar, tmp_path):
    with session(fake_fstar) as s:
        out = ask(s, tmp_path, "module Abs\nlet abs x = x (* fake:huge fake:fail *)\n")
        assert [d.line for d in out.diagnostics] == [2] and s._ide.dropped_lines == 1


def test_a_protocol_violation_is_reported_and_restarts(fake_fstar, tmp_path):
    with session(fake_fstar) as s:
        out = ask(s, tmp_path, "module Abs\n(* fake:violation *)\n")
        assert out.crashed and "protocol violation" in out.detail


def test_close_ends_the_process_group_and_removes_its_folder(fake_fstar, tmp_path):
    s = session(fake_fstar)
    ask(s, tmp_path, GOOD)
    ide = s._ide
    folder, pid = ide.folder, ide.proc.pid
    assert folder.is_dir()
    s.close()
    s.close()
    assert not folder.exists() and not ide.proc.alive
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ToolchainError, match="closed"):
        ask(s, tmp_path, GOOD)


def test_a_session_that_cannot_start_leaves_the_verdict_to_the_batch(fstar_backend, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_FSTAR_IDE", "old")
    f = tmp_path / "c.fst"
    f.write_text(GOOD)
    with fstar_backend.open_session() as s:
        warm = fstar_backend.check_warm(CheckRequest(file=f, contract=EX / "Abs.fsti"), s)
    assert not warm.answered and not warm.clean and warm.feedback is None


def test_check_warm_gives_feedback_never_a_verdict(fstar_backend, tmp_path):
    with fstar_backend.open_session() as s:
        f = tmp_path / "c.fst"
        f.write_text(GOOD)
        clean = fstar_backend.check_warm(CheckRequest(file=f, contract=EX / "Abs.fsti"), s)
        assert clean.clean and clean.feedback is None
        f.write_text("module Abs\nlet abs x = admit ()\n")
        warm = fstar_backend.check_warm(CheckRequest(file=f, contract=EX / "Abs.fsti"), s)
        assert not warm.clean and warm.feedback.verdict == "rejected" and warm.feedback.checked_by == "session"
        assert warm.session.startswith("fstar --ide")
