"""SIGINT, SIGTERM and SIGHUP stop qed within two seconds, kill every process group it started, keep the run
record resumable and exit 128 + signal with one line; SIGKILL of qed leaves no orphan either."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.faults.conftest import ABS, ABS_TASK, alive, all_gone


def _stop(proc, sig) -> tuple[float, str]:
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    return time.monotonic() - t0, err


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_stops_verify_and_kills_the_verifier(qed, sig, code):
    proc = qed.start("verify", "--no-cache", str(ABS), mode="slow")
    pids = qed.fake_pids()
    took, err = _stop(proc, sig)
    assert proc.returncode == code
    assert took < 2.0
    assert err.strip().splitlines() == [f"qed: stopped by {sig.name}; every verifier it started was killed"]
    assert all_gone(pids)


def test_a_second_ctrl_c_ends_at_once(qed):
    proc = qed.start("verify", "--no-cache", str(ABS), mode="slow")
    pids = qed.fake_pids()
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130 and all_gone(pids), err


def test_sigkill_of_qed_takes_its_verifier_along(qed):
    """qed cannot clean up after SIGKILL: the verifier's group guard (parent-death signal) does."""
    proc = qed.start("verify", "--no-cache", str(ABS), mode="slow")
    pids = qed.fake_pids()
    proc.kill()
    proc.wait(timeout=10)
    assert all_gone(pids), [p for p in pids if alive(p)]


def test_a_signal_in_a_synth_run_leaves_a_resumable_record(qed, tmp_path):
    """SIGTERM while the model is being asked: exit 143, the transcript ends with `interrupted`, the message
    names the `--resume` command, and resuming finishes the run without asking the recorded question again."""
    from fake_openai import FakeServer, ok_body

    correct = ABS.read_text(encoding="utf-8")
    wrong = correct.replace("y := -x;", "y := x;")
    assert wrong != correct
    with FakeServer() as server:
        server.queue((200, ok_body(f"```dafny\n{wrong}```\n")), (0, {"sleep": 60}))
        proc = qed.start("synth", str(ABS_TASK), "--model", "test-model", "--base-url", server.base_url,
                         "--rounds", "3", "--out", str(tmp_path / "runs"), "--session", "cli", "--no-build",
                         mode="fail")
        deadline = time.monotonic() + 60
        while len(server.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.requests) == 2
        took, err = _stop(proc, signal.SIGTERM)
    assert proc.returncode == 143 and took < 2.0
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert err.strip().splitlines() == [f"qed: stopped by SIGTERM; every verifier it started was killed; continue "
                                        f"with `qed synth --resume {run_dir}`"]
    events = [json.loads(line) for line in (run_dir / "transcript.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "interrupted"
    with FakeServer() as server:
        server.queue((200, ok_body(f"```dafny\n{correct}```\n")))
        done = qed.run("synth", "--resume", str(run_dir), "--base-url", server.base_url, "--session", "cli",
                       "--no-build", "--json", mode="ok")
        assert done.returncode == 0, done.stderr
        assert len(server.requests) == 1  # the first answer came from the transcript
    assert json.loads(done.stdout)["status"] == "verified"


def test_no_signal_handler_outside_the_qed_process():
    """A library caller keeps its own handlers: importing and using qed installs none."""
    import verifier.cli  # noqa: F401
    import verifier.verify  # noqa: F401

    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)
