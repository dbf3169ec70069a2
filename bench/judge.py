"""Running one task: the oracle (its ground truth), a replayed answer, or a model (the `qed synth` loop).

Everything a verdict needs goes through the backend registry and `CheckRequest`, exactly as `qed verify
--spec/--annotates` and `qed synth` do: the same guards, the same trusted assumptions. A backend the registry
cannot provide (BackendUnavailable), or whose toolchain cannot be found, makes the task `toolchain_absent`; a task whose own contract is unusable
(BadInput while judging it, e.g. a contract that uses names it never defines) is a `defect` of the task.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verifier.errors import (
    BackendUnavailable,
    BadInput,
    ProviderError,
    StorageError,
    ToolchainError,
    UnusableToolchain,
)

from .outcome import STATUS_OF_VERDICT, AttemptRow, TaskOutcome
from .tasks import BenchTask


@dataclass
class Job:
    """What a worker needs to run a task (picklable). `answer` is the candidate's text (oracle: the ground
    truth; answers: the file's text); None with mode `model`."""

    mode: str  # oracle | answers | model
    workdir: str
    answer: str | None = None
    answer_source: str | None = None
    timeout: float = 600.0  # wall clock of one verifier run
    task_timeout: float | None = None  # wall clock of the whole task
    memory_mb: int | None = None
    model: dict[str, Any] = field(default_factory=dict)  # SynthConfig fields (model mode)
    provider: Callable[[], Any] | None = None  # builds the model provider (model mode)
    price_per_mtok: float | None = None


class ToolchainAbsent(ToolchainError):
    """The language's backend is installed but its toolchain is not (found by asking the backend for it)."""


class Backends:
    """One backend per language, shared by the worker threads of a process, closed at the end. A backend whose
    toolchain cannot be found (its `toolchain()` raises a ToolchainError other than UnusableToolchain) makes
    every task of that language `toolchain_absent`; asked once per language."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, Any] = {}
        self._absent: dict[str, str] = {}

    def get(self, language: str):
        from backends import registry

        with self._lock:
            if language in self._absent:
                raise ToolchainAbsent(self._absent[language])
            if language not in self._open:
                backend = registry.create_backend(language)
                try:
                    backend.toolchain()
                except UnusableToolchain:
                    backend.close()
                    raise
                except ToolchainError as e:
                    backend.close()
                    self._absent[language] = str(e)
                    raise ToolchainAbsent(str(e)) from None
                self._open[language] = backend
            return self._open[language]

    def close(self) -> None:
        with self._lock:
            for b in self._open.values():
                b.close()
            self._open.clear()


def reason_of(result: Any) -> str:
    """The reason a verifier result gives: the first rule id (rejected), diagnostic kind (failed, error), or
    what stopped it."""
    verdict = result.verdict.value
    if verdict == "verified":
        return "verified"
    if verdict == "rejected" and result.integrity:
        return result.integrity[0].rule
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors:
        return errors[0].kind.value
    if verdict == "timeout":
        return "timeout"
    return (result.note or verdict)[:200]


def _attempt(sample: int, rnd: int, text: str | None, result: Any, tokens: int = 0) -> AttemptRow:
    return AttemptRow(sample=sample, round=rnd, outcome=result.verdict.value, reason=reason_of(result), artifact=text,
                      diagnostics=[d.model_dump(mode="json") for d in result.diagnostics][:50],
                      integrity=[v.model_dump(mode="json") for v in result.integrity][:50],
                      duration_s=result.duration_s,
                      toolchain=result.toolchain.model_dump(mode="json") if result.toolchain else None, tokens=tokens)


def run_task(task: BenchTask, job: Job, backends: Backends) -> TaskOutcome:
    """Run one task and return its outcome (never raises for a problem of the task itself)."""
    started = time.monotonic()
    base = TaskOutcome(dataset=task.dataset, task_id=task.id, status="error", reason="", source=job.answer_source)
    try:
        if job.mode == "model":
            out = _model(task, job, backends, base)
        else:
            out = _check(task, job, backends, base)
    except (BackendUnavailable, ToolchainAbsent) as e:
        out = base
        out.status, out.reason = "toolchain_absent", e.cause
    except BadInput as e:
        out = base
        out.status, out.reason = "defect", _local(str(e), job.workdir)[:1000]
    except (ProviderError, StorageError):
        raise  # the run cannot go on: stop it (resumable)
    except ToolchainError as e:
        out = base
        out.status, out.reason = "error", f"toolchain: {e}"[:1000]
    out.duration_s = round(time.monotonic() - started, 3)
    return out


def _local(message: str, workdir: str) -> str:
    """A message without the run folder's paths (reasons compare across runs)."""
    return message.replace(workdir.rstrip("/") + "/", "")


def _blank_given(task: BenchTask) -> bool:
    return task.mode != "from_description" and (task.given is None or not task.given.strip())


def _check(task: BenchTask, job: Job, backends: Backends, out: TaskOutcome) -> TaskOutcome:
    from backends import registry
    from backends.base import CheckRequest

    registry.ensure_available(registry.plugin_for_language(task.language))
    if job.answer is None:
        if job.mode == "oracle" and task.mode == "implement" and task.given and task.given.strip():
            _contract_stands_alone(task, job, backends)
        out.status = "no_answer"
        out.reason = "the dataset has no ground truth for this task" if job.mode == "oracle" else \
            "no answer file for this task"
        return out
    if _blank_given(task):
        raise BadInput("the task gives an empty contract or program", fix="the dataset file is empty upstream")
    work = Path(job.workdir)
    contract, program = task.oracle_files(work)
    if contract is None and program is None:
        raise BadInput("the task has no contract to check an answer against",
                       fix="use a dataset variant that gives one")
    answer = work / f"{task.name}.answer{task.suffix()}"
    answer.write_text(job.answer, encoding="utf-8")
    timeout = min(job.timeout, job.task_timeout) if job.task_timeout else job.timeout
    backend = backends.get(task.language)
    result = backend.check(CheckRequest(file=answer, contract=contract, program=program, timeout=timeout,
                                        memory_mb=job.memory_mb, display_name=f"{task.dataset}/{task.id}"))
    out.attempts = [_attempt(0, 1, job.answer, result)]
    out.status, out.reason = STATUS_OF_VERDICT[result.verdict.value], reason_of(result)
    out.rounds, out.samples = 1, 1
    out.passed_samples = int(out.status == "passed")
    out.pass_rounds = [1] if out.status == "passed" else []
    out.assumptions = [a.model_dump(mode="json") for a in result.assumptions]
    out.toolchain = result.toolchain.model_dump(mode="json") if result.toolchain else None
    out.artifact = job.answer if out.status == "passed" else None
    return out


def _contract_stands_alone(task: BenchTask, job: Job, backends: Backends) -> None:
    """Oracle without a ground truth: the contract is still checked (as its own candidate, which cannot pass):
    one that does not stand alone raises BadInput, which makes the task a defect."""
    from backends.base import CheckRequest

    work = Path(job.workdir)
    contract, _ = task.oracle_files(work)
    if contract is None:
        return
    probe = work / f"{task.name}.contract-probe{task.suffix()}"
    probe.write_text(task.given or "", encoding="utf-8")
    timeout = min(job.timeout, job.task_timeout) if job.task_timeout else job.timeout
    backends.get(task.language).check(CheckRequest(file=probe, contract=contract, timeout=timeout,
                                                   memory_mb=job.memory_mb, display_name=f"{task.dataset}/{task.id}"))


def _model(task: BenchTask, job: Job, backends: Backends, out: TaskOutcome) -> TaskOutcome:
    from backends import registry
    from verifier.models import FileResult
    from verifier.runstore import RunDir
    from verifier.synth import SynthConfig, synthesize

    registry.ensure_available(registry.plugin_for_language(task.language))
    if _blank_given(task):
        raise BadInput("the task gives an empty contract or program", fix="the dataset file is empty upstream")
    work = Path(job.workdir)
    synth_dir = work / "synth"
    if synth_dir.exists():  # an unfinished try of an earlier invocation: start the task afresh
        shutil.rmtree(synth_dir)
    synth_dir.mkdir(parents=True)
    st = task.materialize(work / "given")
    config = SynthConfig(**{**job.model, "all_samples": True, "timeout": job.timeout,
                            "wall_time_s": job.task_timeout, "memory_mb": job.memory_mb})
    backend = backends.get(task.language)
    res = synthesize(st, job.provider(), config=config, out_dir=synth_dir, backend=backend, new_run_dir=False,
                     accept=lambda path: True)
    # the batch verdict of each round, from the run's transcript
    results: dict[tuple[int, int], FileResult] = {}
    run = RunDir(synth_dir)
    try:
        for ev in run.events():
            if ev.get("event") == "verifier" and ev.get("checked_by") == "batch" and not ev.get("scope") \
                    and isinstance(ev.get("result"), dict):
                results[(ev["sample"], ev["round"])] = FileResult.model_validate(ev["result"])
    finally:
        run.close()
    rows = []
    for a in res.attempts:
        if a.phase == "contract":
            continue
        text = Path(a.candidate).read_text(encoding="utf-8") if a.candidate else None
        r = results.get((a.sample, a.round))
        if r is not None:
            rows.append(_attempt(a.sample, a.round, text, r, a.tokens))
        else:
            rows.append(AttemptRow(sample=a.sample, round=a.round, outcome=a.outcome, reason=a.outcome,
                                   artifact=text, tokens=a.tokens))
    out.attempts = rows
    passed: dict[int, int] = {}
    for a in rows:
        if a.outcome == "verified":
            passed[a.sample] = min(passed.get(a.sample, a.round), a.round)
    out.samples, out.rounds, out.tokens = res.samples, res.rounds, res.tokens
    out.passed_samples, out.pass_rounds = len(passed), sorted(passed.values())
    out.scripted = res.scripted_responses
    out.cost_usd = round(res.tokens / 1e6 * job.price_per_mtok, 6) if job.price_per_mtok is not None else None
    out.source = f"model:{config.model}"
    if passed:
        out.status, out.reason = "passed", "verified"
        final = next(a for a in rows if a.outcome == "verified")
        out.artifact = final.artifact
        r = results.get((final.sample, final.round))
        if r is not None:
            out.assumptions = [x.model_dump(mode="json") for x in r.assumptions]
            out.toolchain = r.toolchain.model_dump(mode="json") if r.toolchain else None
    elif res.reason == "wall_time":
        out.status, out.reason = "timeout", "task wall-clock limit"
    elif rows:
        last = rows[-1]
        out.status = "failed" if last.outcome == "extraction_error" else STATUS_OF_VERDICT.get(last.outcome, "error")
        out.reason = last.reason or last.outcome
    else:
        out.status, out.reason = "failed", res.reason
    return out
