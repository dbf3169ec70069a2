"""A `qed bench` run: load and select tasks, run them (oracle, answers or model) on the chosen executor, record
every outcome in the run's database as it arrives, and write the report at the end.

The run folder (`--out`) holds `results.sqlite` (the record; `bench.store`), `tasks/` (each task's files and,
in model mode, its `qed synth` run record), `report.json`, `report.md` and the plots. `resume(RUN_DIR)` reads
the run's parameters back and runs only the tasks without a verdict."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from verifier.errors import BadInput

from . import datasets, defects
from .judge import Job
from .outcome import TaskOutcome
from .store import DB_NAME, Store
from .tasks import BenchTask


class Selection(BaseModel):
    """Which tasks: datasets (with a variant and a data folder), then `--tasks`, `--filter`, `--shuffle`,
    `--limit`."""

    model_config = ConfigDict(extra="forbid")

    datasets: list[str] = Field(min_length=1)
    variant: str | None = None
    data: str | None = None
    tasks: list[str] | None = None
    filter: str | None = None
    limit: int | None = Field(None, ge=1)
    shuffle: int | None = None

    def load(self) -> list[BenchTask]:
        every: list[BenchTask] = []
        for name in dict.fromkeys(self.datasets):
            every += datasets.load(name, data=Path(self.data) if self.data else None, variant=self.variant)
        return datasets.select(every, ids=self.tasks, pattern=self.filter, limit=self.limit, shuffle=self.shuffle)


class RunOptions(BaseModel):
    """How the tasks run. Saved in the run's database (never the API key) so that `--resume` runs the same way."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["oracle", "answers", "model"]
    answers: str | None = None
    model: str | None = None
    samples: int = Field(1, ge=1, le=64)
    rounds: int = Field(3, ge=1, le=100)
    session: Literal["warm", "cli"] | None = None
    max_tokens: int | None = Field(None, ge=1, description="token budget of each task")
    base_url: str | None = None
    offline: bool = False
    cassette: str | None = None
    workers: int = Field(1, ge=1, le=256)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    task_timeout: float | None = Field(None, gt=0, description="wall clock of one task")
    timeout: float = Field(600.0, gt=0, description="wall clock of one verifier run")
    memory_mb: int | None = Field(None, ge=64)
    price_per_mtok: float | None = Field(None, ge=0)


Progress = Any  # bench.progress.Progress or a quiet stand-in


def prepare(run_dir: Path, *, resume: bool) -> None:
    """A new run needs an absent or empty folder; `--resume` needs a run folder."""
    if resume:
        if not (run_dir / DB_NAME).is_file():
            raise BadInput(f"{run_dir} is not a qed bench run folder (no {DB_NAME})",
                           fix="pass the --out folder of an earlier `qed bench` run")
        return
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise BadInput(f"the run folder {run_dir} exists and is not empty",
                       fix="choose a new --out folder, or continue that run with --resume")
    run_dir.mkdir(parents=True, exist_ok=True)


def run(run_dir: Path, selection: Selection | None = None, options: RunOptions | None = None, *,
        resume: bool = False, overrides: dict[str, Any] | None = None, api_key: str | None = None,
        provider: Callable[[], Any] | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Run (or, with `resume`, finish) the benchmark in `run_dir`; returns the summary (`--json`).
    `overrides` change saved options on resume (`workers`, `executor`, `ray_address`); `provider` replaces the
    model provider built from the options (tests: a scripted one)."""
    from .providers import ProviderSpec

    tasks: list[BenchTask] = []
    if not resume:  # everything that can be refused is refused before the run folder is made
        if selection is None or options is None:
            raise BadInput("no tasks or options given", fix="name a dataset and a mode")
        _check_options(options)
        tasks = _load(selection)
    prepare(run_dir, resume=resume)
    with Store(run_dir) as store:
        if resume:
            saved_sel, saved_opt = store.meta("selection"), store.meta("options")
            if saved_sel is None or saved_opt is None:
                raise BadInput(f"{run_dir} holds no run parameters", fix="start a new run with --out")
            selection = Selection.model_validate(saved_sel)
            options = RunOptions.model_validate({**saved_opt, **(overrides or {})})
            if options.executor == "ray":
                _ray_importable()
            tasks = _load(selection)
        else:
            store.set_meta("selection", selection.model_dump(mode="json"))
            store.set_meta("options", options.model_dump(mode="json"))
            store.set_meta("started_at", time.time())
        done = store.finished()
        todo = [t for t in tasks if t.key not in done]
        answers = _answers(options, todo)
        make_provider = provider or ProviderSpec(base_url=options.base_url, api_key=api_key,
                                                 offline=options.offline, cassette=options.cassette)
        items = [(t, _job(t, options, run_dir, answers, make_provider)) for t in todo]
        executor = _executor(options)
        previous = [o for o in store.results() if (o.dataset, o.task_id) in {t.key for t in tasks}]
        if progress is not None:
            progress.start(total=len(tasks), done=previous)
        try:
            for outcome in executor.run(items, started=progress.started if progress is not None else None):
                if options.mode == "oracle":
                    _oracle_defect(outcome)
                store.record(outcome)
                if progress is not None:
                    progress.finished(outcome)
        finally:
            executor.close()
            if progress is not None:
                progress.close()
        from .report import write_reports

        keys = {t.key for t in tasks}
        return write_reports(run_dir, [o for o in store.results() if (o.dataset, o.task_id) in keys], tasks,
                             selection, options)


def _load(selection: Selection) -> list[BenchTask]:
    tasks = selection.load()
    if not tasks:
        raise BadInput("no task matches the selection", fix="check --tasks/--filter/--limit")
    return tasks


def _ray_importable() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        raise BadInput("--executor ray needs Ray, which is not installed",
                       fix="pip install 'qedgen[ray]' (or use --executor local)") from None


def _check_options(o: RunOptions) -> None:
    if o.executor == "ray":
        _ray_importable()
    if o.mode == "answers" and not o.answers:
        raise BadInput("--answers needs a folder", fix="pass --answers DIR")
    if o.mode == "answers" and not Path(o.answers or "").is_dir():
        raise BadInput(f"answers folder {o.answers} does not exist", fix="pass the folder holding one file per task")
    if o.mode == "model" and not o.model:
        raise BadInput("--model needs a model name", fix="pass --model NAME")


def _answers(options: RunOptions, tasks: list[BenchTask]) -> dict[tuple[str, str], Path]:
    if options.mode != "answers":
        return {}
    from .answers import match_answers

    return match_answers(Path(options.answers or "."), tasks)


def _job(task: BenchTask, o: RunOptions, run_dir: Path, answers: dict[tuple[str, str], Path],
         provider: Callable[[], Any]) -> Job:
    workdir = run_dir / "tasks" / task.dataset / task.name
    job = Job(mode=o.mode, workdir=str(workdir), timeout=o.timeout, task_timeout=o.task_timeout,
              memory_mb=o.memory_mb, price_per_mtok=o.price_per_mtok)
    if o.mode == "oracle":
        job.answer, job.answer_source = task.ground_truth, "ground truth"
    elif o.mode == "answers":
        f = answers.get(task.key)
        if f is not None:
            job.answer = f.read_bytes().decode("utf-8", "replace")
            job.answer_source = task.meta.get("source") or f.parent.name
        else:
            job.answer_source = "no answer file"
    else:
        job.model = {"model": o.model, "samples": o.samples, "rounds": o.rounds, "session": o.session,
                     "max_tokens": o.max_tokens}
        job.provider = provider
    return job


def _executor(o: RunOptions):
    from .executors import LocalExecutor, RayExecutor

    if o.executor == "ray":
        return RayExecutor(o.workers, o.ray_address)
    return LocalExecutor(o.workers)


_NOT_A_DEFECT = ("passed", "no_answer", "toolchain_absent")


def _oracle_defect(o: TaskOutcome) -> None:
    """Oracle mode: a ground truth that does not pass is a defect, known (in the shipped list) or new."""
    if o.status in _NOT_A_DEFECT:
        return
    listed = defects.known(o.dataset).get(o.task_id)
    observed = o.reason if o.status == "defect" else f"{o.status}: {o.reason}"
    o.status = "defect"
    o.known_defect = listed is not None
    o.reason = f"known defect: {listed.reason}" if listed else f"new defect: {observed}"
