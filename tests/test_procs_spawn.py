"""`procs.spawn`: long-lived children in their own process group, bounded stderr, memory watchdog, parent death."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verifier import procs

REPO = Path(__file__).resolve().parent.parent
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def _gone(pid: int, within: float = 5.0) -> bool:
    """True once `pid` no longer runs (a zombie waiting for init counts as gone)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.05)
    return False


def _group_gone(pgid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while procs.group_pids(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return procs.group_pids(pgid) == []


def _py(code: str, **kw) -> procs.Process:
    return procs.spawn([sys.executable, "-c", code], **kw)


def test_talks_over_binary_pipes():
    p = _py("import sys\nfor line in sys.stdin.buffer: sys.stdout.buffer.write(line.upper()); sys.stdout.flush()")
    try:
        assert p.alive and p.returncode is None
        p.stdin.write(b"ping\n")
        p.stdin.flush()
        assert p.stdout.readline() == b"PING\n"
    finally:
        p.terminate(grace_s=5)
    assert not p.alive and p.returncode == 0  # it saw EOF and exited by itself


def test_own_process_group():
    p = _py("import time; time.sleep(30)")
    try:
        assert os.getpgid(p.pid) == p.pid != os.getpgid(0)
    finally:
        p.kill()


@linux_only
def test_kill_ends_the_whole_group():
    p = _py("import subprocess, sys, time\n"
            "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "print(c.pid, flush=True); time.sleep(60)")
    child = int(p.stdout.readline())
    assert {p.pid, child} <= set(procs.group_pids(p.pid))  # (and the group's guard, see procs._GUARD)
    p.kill()
    p.kill()  # idempotent, never raises
    assert not p.alive and p.returncode is not None and p.returncode < 0
    assert _gone(child) and _group_gone(p.pid)


def test_terminate_kills_a_child_that_ignores_eof():
    p = _py("import time; time.sleep(60)")
    t0 = time.monotonic()
    p.terminate(grace_s=0.3)
    assert time.monotonic() - t0 < 5 and not p.alive and p.returncode < 0


def test_chatty_stderr_never_blocks_and_is_bounded():
    p = _py("import sys\nsys.stderr.write('x' * (4 << 20)); sys.stderr.write('\\nlast words\\n'); sys.stderr.flush()\n"
            "print('done', flush=True); sys.stdin.read()")
    try:
        assert p.stdout.readline() == b"done\n"  # 4 MB of stderr did not block the child
        deadline = time.monotonic() + 5
        while "last words" not in p.stderr_tail() and time.monotonic() < deadline:
            time.sleep(0.05)
        tail = p.stderr_tail()
        assert tail.endswith("last words\n") and len(tail) <= 2 * 64 * 1024
    finally:
        p.terminate(grace_s=5)


@linux_only
def test_memory_watchdog_kills_the_group_on_its_total():
    # Two processes of ~120 MB each: neither alone is above the 200 MB cap, together they are.
    hog = "import time; x = b'\\x01' * (120 << 20); time.sleep(60)"
    p = _py(f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {hog!r}])\n{hog}", memory_mb=200)
    t0 = time.monotonic()
    while p.alive and time.monotonic() - t0 < 20:
        time.sleep(0.1)
    assert not p.alive and p.killed_for_memory
    assert _group_gone(p.pid)


def test_memory_watchdog_leaves_a_small_child_alone():
    p = _py("import time; time.sleep(1.5)", memory_mb=200)
    time.sleep(1.2)
    assert p.alive and not p.killed_for_memory
    p.kill()


def test_missing_program_raises():
    with pytest.raises(FileNotFoundError):
        procs.spawn(["/nonexistent/program"])


@linux_only
def test_child_dies_with_its_parent(tmp_path):
    # An intermediate Python spawns a child through procs.spawn, then is SIGKILLed: the child must die too.
    code = (f"import sys, time; sys.path.insert(0, {str(REPO)!r})\n"
            "from verifier import procs\n"
            "p = procs.spawn([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "print(p.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        child = int(parent.stdout.readline())
        assert not _gone(child, within=0.2)
        parent.kill()
        parent.wait()
        assert _gone(child), "the spawned child outlived qed"
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()


def test_spawn_from_a_short_lived_thread_survives_the_thread():
    import threading

    box = []
    t = threading.Thread(target=lambda: box.append(_py("import time; time.sleep(30)")))
    t.start()
    t.join()
    p = box[0]
    try:
        time.sleep(0.3)
        assert p.alive  # the parent-death signal is tied to the spawning thread, which is not this one
    finally:
        p.kill()
