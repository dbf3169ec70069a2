"""The one place that runs external programs.

Every child runs in its own process group with a wall-clock timeout; on timeout the whole group (the child and
anything it started, e.g. Dafny's Z3 processes) is killed. On Linux every child also runs behind a small
guard (`/bin/sh`) that gets a parent-death signal and then kills the whole group, so that nothing qed started
outlives it, even when qed is killed with SIGKILL and the verifier's own children (a solver) have no
parent-death signal. Optional limits: an address-space limit for
untrusted Python code (`memory_mb`), and a cap on the resident memory of the whole group for verifiers that
reserve more address space than they use (`rss_mb`, watched; the group is killed above it). `spawn` starts a
long-lived interactive child instead (a warm verifier session), under the same rules.

Every group started here is known until it is reaped: `kill_all()` kills them all at once (what qed does when a
signal stops it; see `verifier.signals`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Mapping, Sequence

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor


@dataclass(frozen=True)
class ProcResult:
    argv: list[str]
    returncode: int | None  # None when killed on timeout
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool
    killed_for_memory: bool = False  # the group went over its `rss_mb` cap and was killed


# --- every process group qed started and has not reaped yet --------------------------------------------------

_LIVE: set[int] = set()
_LIVE_LOCK = threading.Lock()


def _track(pgid: int) -> None:
    with _LIVE_LOCK:
        _LIVE.add(pgid)


def _untrack(pgid: int) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(pgid)


def kill_all() -> int:
    """SIGKILL every process group started here that has not been reaped; returns how many. Never raises (safe
    in a signal handler)."""
    with _LIVE_LOCK:
        groups = list(_LIVE)
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass
    return len(groups)


def _preexec(memory_mb: int | None):
    """What runs in the child between fork and exec: the parent-death signal, and an address-space limit."""
    death = _parent_death_signal()
    if memory_mb is None:
        return death

    def apply() -> None:
        if death is not None:
            death()
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def kill_group(proc: subprocess.Popen) -> None:
    """Kill `proc` and every process in its group; never raises."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass


class Running:
    """A started child process; `wait()` collects it (killing its group at the deadline, or above `rss_mb`)."""

    def __init__(self, argv: list[str], proc: subprocess.Popen, timeout: float, stdin_text: str | None,
                 rss_mb: int | None = None):
        self.argv, self.proc, self.timeout = argv, proc, timeout
        self._stdin = stdin_text.encode() if stdin_text is not None else None
        self._start = time.monotonic()
        self._result: ProcResult | None = None
        self._over_memory = threading.Event()
        self._done = threading.Event()
        if rss_mb is not None:
            threading.Thread(target=self._watch, args=(rss_mb,), name=f"memwatch-{proc.pid}", daemon=True).start()

    def _watch(self, rss_mb: int) -> None:
        while not self._done.wait(_WATCH_INTERVAL_S):
            if self.proc.poll() is not None:
                return
            if group_rss_mb(self.proc.pid) > rss_mb:
                self._over_memory.set()
                kill_group(self.proc)
                return

    def wait(self) -> ProcResult:
        if self._result is not None:
            return self._result
        proc, timed_out = self.proc, False
        remaining = max(0.0, self.timeout - (time.monotonic() - self._start))
        try:
            out, err = proc.communicate(self._stdin, timeout=remaining)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(proc)
            out, err = proc.communicate()
        except BaseException:  # KeyboardInterrupt included: never leave children behind
            kill_group(proc)
            proc.wait()
            self._finished()
            raise
        else:
            # The main child exited; make sure nothing it started lingers in its group.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._finished()
        self._result = ProcResult(
            argv=self.argv,
            returncode=None if timed_out else proc.returncode,
            stdout=out.decode("utf-8", "replace"),
            stderr=err.decode("utf-8", "replace"),
            duration_s=time.monotonic() - self._start,
            timed_out=timed_out,
            killed_for_memory=self._over_memory.is_set(),
        )
        return self._result

    def kill(self) -> None:
        kill_group(self.proc)
        self.proc.wait()
        self._finished()

    def _finished(self) -> None:
        self._done.set()
        _untrack(self.proc.pid)


def start(
    argv: Sequence[str | os.PathLike],
    *,
    timeout: float,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    memory_mb: int | None = None,
    rss_mb: int | None = None,
) -> Running:
    """Start `argv` in its own process group; the clock for `timeout` starts now. `memory_mb` limits the child's
    address space (for Python children); `rss_mb` caps the resident memory of the whole group (for verifiers).

    Raises FileNotFoundError/PermissionError when the program cannot be started.
    """
    args = [os.fspath(a) for a in argv]
    proc = subprocess.Popen(
        _guarded(args),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_preexec(memory_mb),
    )
    _track(proc.pid)
    return Running(args, proc, timeout, stdin_text, rss_mb)


def run(
    argv: Sequence[str | os.PathLike],
    *,
    timeout: float,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    memory_mb: int | None = None,
) -> ProcResult:
    """Run `argv` to completion or until `timeout` seconds pass. Output is decoded as UTF-8 (lossy).

    Raises FileNotFoundError/PermissionError when the program cannot be started.
    """
    return start(argv, timeout=timeout, cwd=cwd, env=env, stdin_text=stdin_text, memory_mb=memory_mb).wait()


# --- long-lived interactive children (warm verifier sessions) -----------------------------------------------

_STDERR_KEEP = 64 * 1024  # bytes of a child's stderr kept for error messages
_WATCH_INTERVAL_S = 0.5
_PR_SET_PDEATHSIG = 1


_PRCTL = None


def _parent_death_signal():
    """A preexec_fn that asks Linux to SIGKILL the child when qed dies (None where prctl is unavailable). Linux
    sends it when the *thread* that started the child ends: a child must be started from a thread that outlives
    it (the thread that waits for it, or `spawn`'s own thread).

    libc is looked up here, in the parent: only the bound call runs between fork and exec."""
    global _PRCTL
    if _PRCTL is None:
        try:
            import ctypes

            _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            _PRCTL = False
    if _PRCTL is False:
        return None
    prctl = _PRCTL
    parent = os.getpid()

    def apply() -> None:
        # SIGTERM, not SIGKILL: the child is the group's guard (`_guarded`), which then kills the whole group,
        # grandchildren included (a solver started by the verifier has no parent-death signal of its own)
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # qed died between fork and prctl
            os.kill(os.getpid(), signal.SIGKILL)

    return apply


#: A POSIX shell that runs the command in the background of its own group and, on SIGTERM (the parent-death
#: signal), kills that whole group (`wait` can be interrupted by the trap, a foreground command cannot). The
#: command keeps the shell's stdin through fd 3 (a background job's stdin is /dev/null otherwise).
_GUARD = 'trap "kill -9 0" TERM; exec 3<&0; "$@" <&3 3<&- & exec 0</dev/null 3<&-; wait $!; exit $?'


def _guarded(args: list[str]) -> list[str]:
    """`args` behind the group guard, where there is a parent-death signal to drive it. A program that cannot be
    run raises here as Popen would (FileNotFoundError / PermissionError), not as a shell's exit status."""
    if _parent_death_signal() is None or not os.path.isfile("/bin/sh"):
        return args
    program = args[0]
    found = program if os.sep in program else shutil.which(program)
    if found is None or not os.path.exists(found):
        raise FileNotFoundError(2, "No such file or directory", program)
    if not os.access(found, os.X_OK) or os.path.isdir(found):
        raise PermissionError(13, "Permission denied", program)
    return ["/bin/sh", "-c", _GUARD, "qed-guard", *args]


def group_pids(pgid: int) -> list[int]:
    """Every live process whose process group is `pgid` (read from /proc; empty where there is no /proc)."""
    pids = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def group_rss_mb(pgid: int) -> float:
    """Resident memory (VmRSS) summed over the process group `pgid`, in MB."""
    total_kb = 0
    for pid in group_pids(pgid):
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"VmRSS:"):
                        total_kb += int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total_kb / 1024


class Process:
    """A long-lived child in its own process group, talked to over binary stdin/stdout pipes (see `spawn`)."""

    def __init__(self, argv: list[str], popen: subprocess.Popen, memory_mb: int | None):
        self.argv, self.popen, self.memory_mb = argv, popen, memory_mb
        self.killed_for_memory = False
        self._stderr = bytearray()
        self._stderr_lock = threading.Lock()
        self._stopped = threading.Event()
        self._stderr_eof = threading.Event()
        threading.Thread(target=self._drain_stderr, name=f"stderr-{popen.pid}", daemon=True).start()
        if memory_mb is not None:
            threading.Thread(target=self._watch_memory, name=f"memwatch-{popen.pid}", daemon=True).start()

    @property
    def stdin(self) -> BinaryIO:
        return self.popen.stdin

    @property
    def stdout(self) -> BinaryIO:
        return self.popen.stdout

    @property
    def pid(self) -> int:
        """The child's pid, which is also its process group id."""
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: killed by that signal); None while it runs."""
        return self.popen.poll()

    def stderr_tail(self, settle: float = 0.0) -> str:
        """The last ~64 KB the child wrote to stderr. `settle`: wait up to that many seconds for the stream to
        end first (after the child died, its last words may still be in the pipe)."""
        if settle > 0:
            self._stderr_eof.wait(settle)
        with self._stderr_lock:
            return self._stderr.decode("utf-8", "replace")

    def kill(self) -> None:
        """SIGKILL the whole process group and reap the child; never raises."""
        self._stopped.set()
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.kill()
        except (ProcessLookupError, OSError):
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:  # stuck in the kernel; nothing more we can do
            pass
        else:
            _untrack(self.popen.pid)
        try:  # stdout stays open: a reader thread may be blocked on it (it sees EOF now)
            self.popen.stdin.close()
        except (OSError, ValueError):
            pass

    def terminate(self, grace_s: float = 2.0) -> None:
        """Close stdin (a polite child exits on EOF), wait up to `grace_s`, then kill the group; never raises."""
        try:
            self.popen.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            self.popen.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        self.kill()  # also ends anything the child left behind in its group

    def _drain_stderr(self) -> None:
        # Keeps reading so that a chatty child never blocks on a full pipe; keeps only the tail.
        stream = self.popen.stderr
        try:
            while chunk := stream.read1(8192):
                with self._stderr_lock:
                    self._stderr += chunk
                    if len(self._stderr) > 2 * _STDERR_KEEP:
                        del self._stderr[:-_STDERR_KEEP]
        except (OSError, ValueError):
            pass
        finally:
            with self._stderr_lock:
                del self._stderr[:-_STDERR_KEEP]
            self._stderr_eof.set()

    def _watch_memory(self) -> None:
        # RLIMIT_AS cannot cap .NET (it reserves far more address space than it uses): watch resident memory.
        while not self._stopped.wait(_WATCH_INTERVAL_S):
            if self.popen.poll() is not None:
                return
            if group_rss_mb(self.popen.pid) > self.memory_mb:
                self.killed_for_memory = True
                self.kill()
                return


def spawn(
    argv: Sequence[str | os.PathLike],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    memory_mb: int | None = None,
) -> Process:
    """Start a long-lived interactive child in its own process group, with binary stdin/stdout pipes.

    Its stderr is drained in the background (the tail is kept, `stderr_tail()`). On Linux the child is
    SIGKILLed when the thread that started it dies; `spawn` therefore starts children from one long-lived
    thread, so they live until qed exits (or is killed). `memory_mb` caps the resident memory of the whole
    group: a watchdog kills the group above it and sets `killed_for_memory`.

    Raises FileNotFoundError/PermissionError when the program cannot be started.
    """
    args = [os.fspath(a) for a in argv]

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            _guarded(args),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_parent_death_signal(),
        )

    popen = _spawner().submit(start).result()
    _track(popen.pid)
    return Process(args, popen, memory_mb)


_SPAWNER: ThreadPoolExecutor | None = None
_SPAWNER_LOCK = threading.Lock()


def _spawner() -> ThreadPoolExecutor:
    # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so a child started from a short-lived worker
    # thread would die with it. One idle worker that lives as long as the interpreter starts them all.
    global _SPAWNER
    with _SPAWNER_LOCK:
        if _SPAWNER is None:
            from concurrent.futures import ThreadPoolExecutor  # lazy: `qed verify` starts Dafny before this loads

            _SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qed-spawn")
        return _SPAWNER
