"""The subprocess layer: timeouts kill the whole process group, output is captured, limits apply."""

from __future__ import annotations

import os
import sys
import time

import pytest

from verifier import procs


def test_captures_output_and_exit_code():
    r = procs.run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"],
                  timeout=30)
    assert (r.returncode, r.stdout.strip(), r.stderr.strip(), r.timed_out) == (3, "out", "err", False)


def test_timeout_kills_children_too(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    t0 = time.monotonic()
    r = procs.run([sys.executable, "-c", script], timeout=2)
    assert r.timed_out and r.returncode is None
    assert time.monotonic() - t0 < 20
    grandchild = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        # a killed child may linger as a zombie until reaped by init; check its state
        try:
            with open(f"/proc/{grandchild}/stat") as f:
                if f.read().split()[2] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("grandchild survived the timeout")


def test_memory_limit_applies():
    r = procs.run([sys.executable, "-c", "x = bytearray(512 * 1024 * 1024)"], timeout=30, memory_mb=256)
    assert r.returncode != 0 and "MemoryError" in r.stderr


def test_missing_program_raises():
    with pytest.raises(FileNotFoundError):
        procs.run(["/nonexistent/program"], timeout=5)


def test_start_then_wait_overlaps_work():
    running = procs.start([sys.executable, "-c", "print(42)"], timeout=30)
    assert running.wait().stdout.strip() == "42"
    assert running.wait() is running.wait()  # collected once
