"""Warm Dafny sessions (`dafny server` over LSP): the framing, against a fake server that misbehaves on demand
(tests/fakes/fake_lsp_server.py), and against the real Dafny 4.11 (marked `dafny`)."""

from __future__ import annotations

import io
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from backends.base import CheckRequest, SessionConfig
from backends.dafny.lsp import LspProtocolError, LspResponseError, read_frame
from backends.dafny.output import parse_json_output
from backends.dafny.runner import DafnyOptions, dafny_env
from backends.dafny.session import DafnySession
from verifier import procs
from verifier.errors import ToolchainError

FAKE = Path(__file__).parent / "fakes" / "fake_lsp_server.py"
FIXTURES = Path(__file__).parent / "fixtures" / "dafny"
FAST = SessionConfig(request_timeout_s=20, memory_mb=None, start_timeout_s=10)


def _group_gone(pgid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while procs.group_pids(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return procs.group_pids(pgid) == []


def _req(file: Path, timeout: float = 20, **kw) -> CheckRequest:
    return CheckRequest(file=file, timeout=timeout, **kw)


# --- framing -------------------------------------------------------------------------------------------------


def test_frames_are_read_leniently():
    raw = (b"content-LENGTH: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}"
           b"\r\nContent-Length:3\n\n[1]")
    s = io.BytesIO(raw)
    assert read_frame(s) == b"{}"
    assert read_frame(s) == b"[1]"  # a stray blank line and bare \n line ends are tolerated
    assert read_frame(s) is None


@pytest.mark.parametrize("raw, what", [
    (b"this is not a header\r\n\r\n", "malformed header"),
    (b"Content-Type: x\r\n\r\n{}", "without Content-Length"),
    (b"Content-Length: -4\r\n\r\n", "negative"),
    (b"Content-Length: lots\r\n\r\n", "bad Content-Length"),
    (b"Content-Length: 100000000\r\n\r\n", "the limit"),
    (b"Content-Length: 10\r\n\r\n{}", "inside a frame"),
    (b"Content-Length: 10\r\n", "inside a frame header"),
    (b"X" * 20000, "too long"),
])
def test_bad_frames_are_protocol_errors(raw, what):
    with pytest.raises(LspProtocolError, match=what):
        read_frame(io.BytesIO(raw), max_frame=64 * 1024 * 1024)


# --- against the fake server ---------------------------------------------------------------------------------


@pytest.fixture
def fake(tmp_path):
    """fake(mode="normal", **config) -> a DafnySession on the fake server."""
    wrapper = tmp_path / "bin" / "dafny"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    wrapper.chmod(0o755)
    opened: list[DafnySession] = []

    def make(mode: str = "normal", **config) -> DafnySession:
        install = SimpleNamespace(path=wrapper, version="4.11.0", extra_args=("--mode", mode))
        s = DafnySession(install, DafnyOptions(), SessionConfig(**{**FAST.__dict__, **config}))
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


@pytest.fixture
def doc(tmp_path):
    return tmp_path / "prog.dfy"


def test_fake_correct_then_failing_then_fixed(fake, doc):
    s = fake()
    assert s.name == "dafny server 4.11.0" and s.alive
    ok = s.outcome(doc, "method Abs() {}\n", _req(doc))
    assert ok.diagnostics == [] and not (ok.timed_out or ok.crashed)
    assert [(m.name, m.outcome) for m in ok.members] == [("Abs", "verified")]

    bad = s.outcome(doc, "method Abs() {}\n\n  fail here\n", _req(doc))
    [d] = bad.diagnostics
    assert (d.severity, d.kind, d.source) == ("error", "postcondition", "Verifier")
    assert (d.line, d.column, d.end_line, d.end_column) == (3, 3, 3, 7)  # 1-based, exclusive end
    assert d.file == str(doc.resolve())
    assert [(r.file, r.line, r.column, r.message) for r in d.related] == [
        (str(doc.resolve()), 2, 11, "this is the postcondition that could not be proved")]
    assert [(m.name, m.outcome) for m in bad.members] == [("Abs", "failed")]

    again = s.outcome(doc, "method Abs() {}\n", _req(doc))
    assert again.diagnostics == []


def test_fake_parse_and_resolution_failures_finish(fake, doc):
    s = fake()
    p = s.outcome(doc, "parse error here\n", _req(doc))
    assert [(d.kind, d.error_id, d.line) for d in p.diagnostics] == [("parse", "p_generic_syntax_error", 1)]
    assert "ParsingFailed" in p.detail and not p.crashed
    r = s.outcome(doc, "resolve me\n", _req(doc))
    # the leftover verifier messages of an earlier version are dropped: nothing was verified
    assert [(d.kind, d.source, d.line) for d in r.diagnostics] == [("resolution", "Resolver", 1)]
    assert r.members == []


def test_fake_nothing_to_verify_and_unchanged_status(fake, doc):
    s = fake()
    t0 = time.monotonic()
    out = s.outcome(doc, "nothing\n", _req(doc))  # only ResolutionSucceeded arrives
    assert out.diagnostics == [] and out.members == [] and time.monotonic() - t0 < 5


def test_fake_stale_notifications_of_the_previous_version_are_ignored(fake, doc):
    s = fake()
    assert s.outcome(doc, "method A\nfail\n", _req(doc)).diagnostics
    out = s.outcome(doc, "method A\nstale\n", _req(doc))  # replays version 1's "done" first
    assert out.diagnostics == []


def test_fake_unknown_fields_notifications_and_server_requests(fake, doc):
    s = fake()
    out = s.outcome(doc, "extras\nfail\n", _req(doc))  # the fake waits for our answers to its requests
    assert [d.kind for d in out.diagnostics] == ["postcondition"] and not out.timed_out


def test_fake_request_errors_are_typed(fake):
    s = fake()
    with pytest.raises(LspResponseError, match="no method"):
        s._server.conn.request("dafny/noSuchThing", {}, 5)


def test_fake_timeout_kills_the_group_and_restarts(fake, doc):
    s = fake()
    old = s._server.proc
    t0 = time.monotonic()
    out = s.outcome(doc, "hang\n", _req(doc, timeout=1))
    assert out.timed_out and not out.crashed and "restart" in out.detail and out.diagnostics == []
    assert time.monotonic() - t0 < 5 and _group_gone(old.pid)
    again = s.outcome(doc, "method A\nfail\n", _req(doc))
    assert [d.kind for d in again.diagnostics] == ["postcondition"] and s._server.proc.pid != old.pid


def test_fake_request_timeout_is_capped_by_config(fake, doc):
    s = fake(request_timeout_s=1)
    t0 = time.monotonic()
    assert s.outcome(doc, "hang\n", _req(doc, timeout=600)).timed_out
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("text, why", [
    ("crash\n", "exit status 3"),
    ("garbage\n", "protocol error"),
    ("huge\n", "protocol error"),
    ("badjson\n", "not JSON"),
])
def test_fake_crashes_and_garbage_restart_the_server(fake, doc, text, why):
    s = fake()
    old = s._server.proc
    t0 = time.monotonic()
    out = s.outcome(doc, text, _req(doc))
    assert out.crashed and not out.timed_out and why in out.detail
    assert time.monotonic() - t0 < 5 and _group_gone(old.pid)
    assert s.outcome(doc, "method A\n", _req(doc)).diagnostics == []


def test_fake_memory_cap_kills_and_restarts(fake, doc):
    s = fake(memory_mb=150)
    out = s.outcome(doc, "memory\n", _req(doc))
    assert out.crashed and "150 MB" in out.detail
    assert s.outcome(doc, "method A\n", _req(doc)).diagnostics == []


def test_fake_chatty_stderr_does_not_block(fake, doc):
    s = fake()
    assert s.outcome(doc, "chatty\nfail\n", _req(doc)).diagnostics


def test_fake_several_documents(fake, tmp_path):
    s = fake()
    a, b = tmp_path / "a.dfy", tmp_path / "b.dfy"
    assert s.outcome(a, "method A\nfail\n", _req(a)).diagnostics[0].file == str(a.resolve())
    assert s.outcome(b, "method B\n", _req(b)).diagnostics == []
    assert s.outcome(a, "method A\n", _req(a)).diagnostics == []  # reopened with a newer version


def test_fake_one_request_at_a_time(fake, tmp_path):
    s = fake()
    files = [tmp_path / f"f{i}.dfy" for i in range(4)]
    results: dict[int, int] = {}

    def run(i: int) -> None:
        results[i] = len(s.outcome(files[i], "m\nfail\n" if i % 2 else "m\n", _req(files[i])).diagnostics)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {0: 0, 1: 1, 2: 0, 3: 1}


def test_fake_options_change_restarts_with_the_new_limits(fake, doc):
    s = fake()
    first = s._server.proc
    s.outcome(doc, "m\n", _req(doc, time_limit_s=7))
    assert s._server.proc is not first and "--verification-time-limit" in s._server.proc.argv
    assert s._server.proc.argv[s._server.proc.argv.index("--verification-time-limit") + 1] == "7"


@pytest.mark.parametrize("mode, config", [("die-init", {}), ("hang-init", {"start_timeout_s": 1}), ("banner", {})])
def test_fake_server_that_cannot_start_is_a_toolchain_error(fake, mode, config):
    t0 = time.monotonic()
    with pytest.raises(ToolchainError, match="dafny server"):
        fake(mode, **config)
    assert time.monotonic() - t0 < 8


def test_fake_close_is_polite_idempotent_and_leaves_nothing(fake, doc):
    s = fake()
    s.outcome(doc, "child\n", _req(doc))  # the server starts a child in its group
    server = s._server
    children = [int(x) for x in (server.folder / "children.txt").read_text().split()]
    assert children and (server.folder / "FakeLanguageServerLog.txt").exists()
    s.close()
    s.close()
    assert not s.alive and server.proc.returncode == 0  # it exited on `exit`
    assert _group_gone(server.proc.pid) and not server.folder.exists()
    with pytest.raises(ToolchainError, match="closed"):
        s.outcome(doc, "m\n", _req(doc))


def test_fake_close_from_another_thread_ends_a_waiting_request(fake, doc):
    s = fake()
    box = []
    t = threading.Thread(target=lambda: box.append(s.outcome(doc, "hang\n", _req(doc))))
    t.start()
    time.sleep(0.5)
    s.close()
    t.join(10)
    assert box and box[0].crashed


# --- against the real Dafny ----------------------------------------------------------------------------------

GOOD = "method Abs(x: int) returns (y: int)\n  ensures y >= 0\n{\n  if x < 0 { y := -x; } else { y := x; }\n}\n"
BAD = GOOD.replace("y >= 0", "y > 0")


def _lib_logs(install) -> set[str]:
    lib = Path(install.path).resolve().parent / "lib"
    return {p.name for p in lib.glob("DafnyLanguageServer*")} if lib.is_dir() else set()


@pytest.fixture(scope="module")
def real(dafny_install):
    before = _lib_logs(dafny_install)
    s = DafnySession(dafny_install, DafnyOptions(), SessionConfig(request_timeout_s=60, start_timeout_s=60))
    yield s
    s.close()
    assert _lib_logs(dafny_install) == before, "dafny server left a log file beside Dafny.dll"


@pytest.mark.dafny
def test_real_correct_wrong_and_edited(real, tmp_path):
    f = tmp_path / "abs.dfy"
    ok = real.outcome(f, GOOD, _req(f))
    assert not (ok.timed_out or ok.crashed)
    assert [d for d in ok.diagnostics if d.severity == "error"] == []
    assert [(m.name, m.outcome) for m in ok.members] == [("Abs", "verified")]

    bad = real.outcome(f, BAD, _req(f))  # didChange: the new version's diagnostics, not the old ones
    errors = [d for d in bad.diagnostics if d.severity == "error"]
    assert [(d.kind, d.line, d.file) for d in errors] == [("postcondition", 3, str(f.resolve()))]
    assert errors[0].related and errors[0].related[0].line == 2  # "this is the postcondition ..."
    assert [(m.name, m.outcome) for m in bad.members] == [("Abs", "failed")]

    fixed = real.outcome(f, GOOD, _req(f))
    assert [d for d in fixed.diagnostics if d.severity == "error"] == []


@pytest.mark.dafny
def test_real_parse_and_resolution_errors_finish(real, tmp_path):
    f = tmp_path / "p.dfy"
    real.outcome(f, BAD, _req(f))  # a verifier error first: it must not linger into the next versions
    for fixture, kind in [("parse.dfy", "parse"), ("resolve.dfy", "resolution")]:
        out = real.outcome(f, (FIXTURES / fixture).read_text(), _req(f))
        kinds = {d.kind for d in out.diagnostics if d.severity == "error"}
        assert kinds == {kind} and not out.timed_out and out.duration_s < 20


@pytest.mark.dafny
def test_real_timeout_restarts_and_close_leaves_nothing(dafny_install, tmp_path):
    before = _lib_logs(dafny_install)
    s = DafnySession(dafny_install, DafnyOptions(), SessionConfig(request_timeout_s=60, start_timeout_s=60))
    try:
        f = tmp_path / "slow.dfy"
        old = s._server.proc
        out = s.outcome(f, (FIXTURES / "slow.dfy").read_text(), _req(f, timeout=1.5))
        assert out.timed_out and _group_gone(old.pid)
        again = s.outcome(f, BAD, _req(f))
        assert [d.kind for d in again.diagnostics if d.severity == "error"] == ["postcondition"]
        pgid, folder = s._server.proc.pid, s._server.folder
        assert list(folder.glob("DafnyLanguageServerLog*"))  # the log went to the private folder
    finally:
        s.close()
    assert _group_gone(pgid) and not folder.exists()  # no dafny / z3 left in the group
    assert _lib_logs(dafny_install) == before


@pytest.mark.dafny
def test_real_diagnostics_are_the_batch_commands(real, dafny_install, tmp_path):
    f = tmp_path / "kinds.dfy"
    f.write_text((FIXTURES / "kinds.dfy").read_text())
    batch = procs.run(dafny_install.argv("verify", "--json-output", "--allow-warnings", str(f)), timeout=120,
                      env=dafny_env())
    warm = real.outcome(f, f.read_text(), _req(f))

    def key(d):
        return (d.severity, d.kind, d.message, d.file, d.line, d.column, d.end_line, d.end_column,
                [(r.file, r.line, r.column, r.end_line, r.end_column, r.message) for r in d.related])

    expected = sorted(map(key, parse_json_output(batch.stdout).diagnostics))
    assert len(expected) > 10 and sorted(map(key, warm.diagnostics)) == expected
