"""Wall-clock time of one whole process, for the benchmark scripts.

`subprocess.run(..., timeout=T)` without pipes waits by polling (`Popen.wait(timeout)` sleeps between checks,
doubling up to 50 ms), so the end of a process is seen up to 50 ms late: a few percent of a 1.5 s Dafny run,
and most of a 30 ms Python start. Here the wait blocks in `waitpid` and a watchdog timer enforces the limit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence


def timed_run(argv: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 900) -> tuple[float, int]:
    """(seconds from spawn to exit, return code) of `argv` run in its own session, output discarded; the
    process group is killed at `timeout` (return code then negative)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=dict(env) if env is not None else None, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)

    def kill() -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    watchdog = threading.Timer(timeout, kill)
    watchdog.daemon = True
    watchdog.start()
    try:
        code = proc.wait()
    finally:
        watchdog.cancel()
    return time.perf_counter() - t0, code
