"""Where tasks run: threads on this machine (`local`, `--workers N`) or a Ray cluster (`ray`, `--ray-address`).
Either way workers only run tasks and return outcomes; the driver alone writes results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from verifier.errors import BadInput

from .judge import Backends, Job, run_task
from .outcome import TaskOutcome
from .tasks import BenchTask

Started = Callable[[int, BenchTask], None]


class LocalExecutor:
    """`workers` threads; each task's verifier is a subprocess, so threads run them in parallel."""

    def __init__(self, workers: int):
        self.workers = workers
        self.backends = Backends()

    def run(self, items: list[tuple[BenchTask, Job]], started: Started | None = None) -> Iterator[TaskOutcome]:
        """Outcomes as tasks finish. Tasks start in order, at most `workers` at once."""
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="qed-bench")
        slots = list(range(self.workers))
        running: dict[Future, int] = {}
        queue = list(items)
        clean = False
        try:
            while queue or running:
                while queue and slots:
                    task, job = queue.pop(0)
                    slot = slots.pop(0)
                    if started:
                        started(slot, task)
                    running[pool.submit(run_task, task, job, self.backends)] = slot
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for f in done:
                    slots.append(running.pop(f))
                    yield f.result()
            clean = True
        finally:
            if not clean:
                self.backends.close()  # kills running verifiers
            pool.shutdown(wait=clean, cancel_futures=True)

    def close(self) -> None:
        self.backends.close()


_REMOTE: Any = None


def _ray_task(task: BenchTask, job: Job) -> dict:
    """Runs in a Ray worker process: one backend set per process, kept for the next task."""
    global _WORKER_BACKENDS
    try:
        backends = _WORKER_BACKENDS
    except NameError:
        backends = _WORKER_BACKENDS = Backends()
    return run_task(task, job, backends).to_dict()


class RayExecutor:
    """Tasks as Ray remote functions (at most `workers` in flight); `address` None starts a local Ray
    instance. Ray is an optional extra: `pip install 'qedgen[ray]'`."""

    def __init__(self, workers: int, address: str | None = None):
        try:
            import ray
        except ImportError:
            raise BadInput("--executor ray needs Ray, which is not installed",
                           fix="pip install 'qedgen[ray]' (or use --executor local)") from None
        self.ray = ray
        self.workers = workers
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None:
                # a Ray instance on this machine: its workers import what the driver imports (backends
                # registered from the driver's path included)
                import os
                import sys

                kwargs["num_cpus"] = workers
                kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}}
            ray.init(address=address, **kwargs)
        self.remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task)

    def run(self, items: list[tuple[BenchTask, Job]], started: Started | None = None) -> Iterator[TaskOutcome]:
        ray = self.ray
        queue = list(items)
        running: dict[Any, int] = {}
        slots = list(range(self.workers))
        try:
            while queue or running:
                while queue and slots:
                    task, job = queue.pop(0)
                    slot = slots.pop(0)
                    if started:
                        started(slot, task)
                    running[self.remote.remote(task, job)] = slot
                done, _ = ray.wait(list(running), num_returns=1)
                for ref in done:
                    slots.append(running.pop(ref))
                    yield TaskOutcome.from_dict(ray.get(ref))
        finally:
            for ref in running:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        pass
