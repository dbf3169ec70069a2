"""A small pool of warm verifier sessions shared by the concurrent samples of one synthesis run.

Sessions are opened through the backend (`Backend.open_session`, Capability.sessions), at most `size` at once;
a sample borrows one for one check and gives it back. `prewarm()` opens the first one in the background when the
run starts, so that the verifier's start-up overlaps the first model call. A session that died is closed and
replaced on the next borrow. `close()` shuts every session down (their process groups are killed), also while a
sample is waiting.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from verifier.errors import ToolchainError

if TYPE_CHECKING:
    from backends.base import Backend, Session


class SessionPool:
    def __init__(self, backend: Backend, size: int):
        self.backend = backend
        self.size = max(1, size)
        self._idle: list[Session] = []
        self._all: list[Session] = []
        self._opening = 0  # sessions being started (counted against `size`)
        self._cond = threading.Condition()
        self._closed = False

    def prewarm(self) -> None:
        """Start one session in the background (its failure is left for the first borrow to meet)."""
        with self._cond:
            if self._closed or self._all or self._opening:
                return
            self._opening += 1
        threading.Thread(target=self._open_into_pool, name="qed-session-prewarm", daemon=True).start()

    def _open_into_pool(self) -> None:
        try:
            session = self.backend.open_session()
        except BaseException:  # noqa: BLE001 - the next borrow opens one itself and reports the problem
            with self._cond:
                self._opening -= 1
                self._cond.notify_all()
            return
        with self._cond:
            self._opening -= 1
            if self._closed:
                session.close()
                return
            self._all.append(session)
            self._idle.append(session)
            self._cond.notify_all()

    @contextmanager
    def borrow(self) -> Iterator[Session]:
        """A session for one check (waits while all `size` are busy)."""
        session = self._take()
        try:
            yield session
        finally:
            self._give_back(session)

    def _take(self) -> Session:
        with self._cond:
            while True:
                if self._closed:
                    raise ToolchainError("the warm sessions were closed", fix="start a new run")
                while self._idle:
                    s = self._idle.pop()
                    if s.alive:
                        return s
                    self._all.remove(s)
                    s.close()
                if len(self._all) + self._opening < self.size and not self._opening:
                    self._opening += 1
                    break
                self._cond.wait()
        try:
            session = self.backend.open_session()  # outside the lock: starting a server takes a while
        finally:
            with self._cond:
                self._opening -= 1
                self._cond.notify_all()
        with self._cond:
            if self._closed:
                session.close()
                raise ToolchainError("the warm sessions were closed", fix="start a new run")
            self._all.append(session)
        return session

    def _give_back(self, session: Session) -> None:
        with self._cond:
            if self._closed:
                return
            self._idle.append(session)
            self._cond.notify()

    def close(self) -> None:
        """Shut every session down (idle or borrowed)."""
        with self._cond:
            self._closed = True
            sessions, self._all, self._idle = list(self._all), [], []
            self._cond.notify_all()
        for s in sessions:
            s.close()
