"""Fixtures of the fault-injection suite: a misbehaving `dafny` (fake_dafny.py) and helpers to run a real `qed`
process and look at the process table afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ABS = REPO / "specs" / "examples" / "abs.dfy"
ABS_SPEC = REPO / "specs" / "examples" / "abs.spec.dfy"
ABS_TASK = REPO / "specs" / "examples" / "abs.yaml"


class Qed:
    """Runs `qed` as a real process (its own session, so signals reach only it) against the fake Dafny."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.pids = tmp / "fake-pids.txt"
        exe = tmp / "bin" / "dafny"
        exe.parent.mkdir()
        exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / "fake_dafny.py"}" "$@"\n')
        exe.chmod(0o755)
        self.env = {**os.environ, "QED_DAFNY": str(exe), "QED_Z3": str(exe), "QED_HOME": str(tmp / "home"),
                    "QED_CACHE_DIR": str(tmp / "cache"), "FAKE_DAFNY_PIDS": str(self.pids), "FAKE_DAFNY_MODE": "ok"}
        self.env.pop("OPENAI_API_KEY", None)

    def start(self, *args: str, mode: str = "ok", **env: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "verifier", *args], env={**self.env, "FAKE_DAFNY_MODE": mode,
                                                                              **env},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                                cwd=self.tmp)

    def run(self, *args: str, mode: str = "ok", timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
        p = self.start(*args, mode=mode, **env)
        out, err = p.communicate(timeout=timeout)
        return subprocess.CompletedProcess(p.args, p.returncode, out, err)

    def fake_pids(self, at_least: int = 2, within: float = 60) -> list[int]:
        """The pids the fake verifier recorded (it and its stand-in solver), once there are `at_least`."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.pids.exists():
                pids = [int(x) for x in self.pids.read_text().split()]
                if len(pids) >= at_least:
                    return pids
            time.sleep(0.05)
        raise AssertionError("the fake verifier never started")


def alive(pid: int) -> bool:
    """Is `pid` a live process (not a zombie)?"""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def all_gone(pids: list[int], within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(alive(p) for p in pids)


@pytest.fixture
def qed(tmp_path) -> Qed:
    return Qed(tmp_path)
