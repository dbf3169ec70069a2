"""How the `qed` process stops on SIGINT (Ctrl-C), SIGTERM (what `timeout`, CI runners and supervisors send) and
SIGHUP.

The first signal kills every process group qed started (`procs.kill_all`: verifiers, solvers, sessions,
builders) at once and raises `Interrupted` in the main thread, so that the run unwinds as on any error: checks
are cancelled, the run record gets its last events (a `qed synth` run can then be continued with `--resume`),
temporary folders are removed. The entry point (`verifier.launch`) turns it into one line on stderr and the
conventional exit status 128 + signal number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP. A second
signal, or an unwinding that takes longer than `GRACE_S` (a worker thread stuck in a network call), ends the
process at once with the same status. Children die with qed even when it is killed with SIGKILL (their
parent-death signal, see `verifier.procs`).

Only the `qed` entry point installs these handlers; a library caller keeps its own.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_S = 1.5  # the unwinding's budget before qed ends itself (the promise is "stopped within two seconds")
received: int | None = None  # the first stopping signal, once one came: the exit status follows it, whatever unwinds


class Interrupted(BaseException):
    """qed was asked to stop by a signal. Like KeyboardInterrupt, not an `Exception`: nothing swallows it.
    `resume` is set by whoever knows how the work can be continued (a synth run's `--resume` command)."""

    def __init__(self, signum: int):
        self.signum = signum
        self.resume: str | None = None
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def message(self) -> str:
        text = f"qed: stopped by {signal.Signals(self.signum).name}; every verifier it started was killed"
        return text + (f"; continue with `{self.resume}`" if self.resume else "")


def install() -> None:
    """Install the handlers (main thread only)."""
    for sig in STOPPING:
        signal.signal(sig, _first)


def _first(signum: int, frame: object) -> None:
    global received
    if received is not None:  # a second signal before the handlers were swapped
        _give_up(received)
    received = signum
    for sig in STOPPING:
        signal.signal(sig, _again)
    _kill_children()
    timer = threading.Timer(GRACE_S, _give_up, args=(signum,))
    timer.daemon = True
    timer.start()
    raise Interrupted(signum)


def _again(signum: int, frame: object) -> None:
    _give_up(signum)


def _give_up(signum: int) -> None:
    """End the process now: kill what is left, say so, exit 128 + signal."""
    _kill_children()
    try:
        os.write(2, f"qed: stopped by {signal.Signals(signum).name} (at once)\n".encode())
    except OSError:
        pass
    os._exit(128 + signum)


def _kill_children() -> None:
    # The process layer is imported only by code that starts processes (a cached answer never loads it):
    # when it is not loaded, qed started nothing.
    procs = sys.modules.get("verifier.procs")
    if procs is not None:
        procs.kill_all()
