"""The one place that runs external programs.

Every child runs in its own process group with a wall-clock timeout; on timeout the whole group (the child and
anything it started, e.g. Dafny's Z3 processes) is killed. Optional address-space limit for untrusted code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence


@dataclass(frozen=True)
class ProcResult:
    argv: list[str]
    returncode: int | None  # None when killed on timeout
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool


def _limits(memory_mb: int | None):
    if memory_mb is None:
        return None

    def apply() -> None:  # runs in the child, before exec
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
    """A started child process; `wait()` collects it (killing its group at the deadline)."""

    def __init__(self, argv: list[str], proc: subprocess.Popen, timeout: float, stdin_text: str | None):
        self.argv, self.proc, self.timeout = argv, proc, timeout
        self._stdin = stdin_text.encode() if stdin_text is not None else None
        self._start = time.monotonic()
        self._result: ProcResult | None = None

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
            raise
        else:
            # The main child exited; make sure nothing it started lingers in its group.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._result = ProcResult(
            argv=self.argv,
            returncode=None if timed_out else proc.returncode,
            stdout=out.decode("utf-8", "replace"),
            stderr=err.decode("utf-8", "replace"),
            duration_s=time.monotonic() - self._start,
            timed_out=timed_out,
        )
        return self._result

    def kill(self) -> None:
        kill_group(self.proc)
        self.proc.wait()


def start(
    argv: Sequence[str | os.PathLike],
    *,
    timeout: float,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    memory_mb: int | None = None,
) -> Running:
    """Start `argv` in its own process group; the clock for `timeout` starts now.

    Raises FileNotFoundError/PermissionError when the program cannot be started.
    """
    args = [os.fspath(a) for a in argv]
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_limits(memory_mb),
    )
    return Running(args, proc, timeout, stdin_text)


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
