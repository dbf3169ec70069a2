"""Run many checks at once (`--workers N`): each worker thread starts one verifier run and waits for it; the
verifiers themselves are separate processes, so N workers keep N of them busy. Results keep the input order."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backends.base import Backend, CheckRequest, PendingCheck
    from verifier.models import FileResult


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def run_checks(jobs: Sequence[tuple[Backend, CheckRequest]], workers: int,
               start: Callable[[Backend, CheckRequest], PendingCheck] | None = None) -> list[FileResult]:
    """The result of every job, in order, with up to `workers` running at a time. `start` begins a check
    (default `backend.begin`). On any exception (a signal included) the checks still running are killed."""
    begin = start or (lambda b, r: b.begin(r))
    if workers <= 1 or len(jobs) <= 1:
        return [begin(b, r).finish() for b, r in jobs]
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qed-check")
    futures = []
    try:
        futures = [pool.submit(lambda b=b, r=r: begin(b, r).finish()) for b, r in jobs]
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        for backend in {id(b): b for b, _ in jobs}.values():
            backend.cancel_running()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
