"""The live progress display (rich): done/total, pass rate so far, ETA, each worker's current task. Used only
when stdout is a terminal and `--json` is not given."""

from __future__ import annotations

import threading
import time
from typing import Any

from .outcome import TaskOutcome
from .tasks import BenchTask


class Progress:
    def __init__(self, workers: int, console: Any = None):
        from rich.console import Console

        self.console = console or Console()
        self.workers = workers
        self.current: dict[int, str] = {}
        self.total = self.done = self.passed = self.fresh = 0
        self.started_at = time.monotonic()
        self.live: Any = None
        self.lock = threading.Lock()

    def start(self, total: int, done: list[TaskOutcome]) -> None:
        from rich.live import Live

        self.total, self.done = total, len(done)
        self.passed = sum(o.status == "passed" for o in done)
        self.started_at = time.monotonic()
        self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
        self.live.start()

    def started(self, slot: int, task: BenchTask) -> None:
        with self.lock:
            self.current[slot] = f"{task.dataset}/{task.id}"
        self._refresh()

    def finished(self, o: TaskOutcome) -> None:
        with self.lock:
            self.done += 1
            self.fresh += 1
            self.passed += o.status == "passed"
            for slot, name in list(self.current.items()):
                if name == f"{o.dataset}/{o.task_id}":
                    del self.current[slot]
        self._refresh()

    def close(self) -> None:
        if self.live is not None:
            self.live.update(self._render())
            self.live.stop()

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self._render())

    def _render(self) -> Any:
        from rich.table import Table

        elapsed = time.monotonic() - self.started_at
        left = self.total - self.done
        eta = f"{elapsed / self.fresh * left:.0f} s" if self.fresh else "?"
        rate = f"{self.passed / self.done:.1%}" if self.done else "-"
        t = Table.grid(padding=(0, 2))
        t.add_row(f"[bold]{self.done}/{self.total}[/] done", f"pass rate {rate}", f"ETA {eta}")
        for slot in range(self.workers):
            t.add_row(f"worker {slot}", self.current.get(slot, "[dim]idle[/]"), "")
        return t
