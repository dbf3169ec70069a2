"""What a run leaves behind: `report.json` (schema: `bench/schemas/bench-report.schema.json`, also `qed bench
schema`), `report.md` and the PNG plots (`bench.plots`)."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from verifier.errors import storage_error

from .outcome import STATUSES, TaskOutcome
from .passk import mean_pass_at_k

REPORT_SCHEMA_VERSION = 1
Status = Literal["passed", "failed", "rejected", "timeout", "error", "no_answer", "defect", "toolchain_absent"]
assert set(Status.__args__) == set(STATUSES)  # type: ignore[attr-defined]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskEntry(_Model):
    """One task's final verdict."""

    dataset: str
    id: str = Field(description="the upstream task id")
    status: Status
    reason: str = Field(description="the rule id (rejected), diagnostic kind (failed, error), or the defect / "
                                    "why no verdict (no_answer, toolchain_absent)")
    rounds: int = Field(description="repair rounds run (all samples together)")
    duration_s: float
    samples: int = 0
    passed_samples: int = 0
    pass_rounds: list[int] = Field(default_factory=list, description="per passing sample, the round it passed in")
    tokens: int = 0
    cost_usd: float | None = None
    known_defect: bool | None = Field(None, description="oracle: true when the shipped defects list names it")
    assumptions: list[str] = Field(default_factory=list, description="the task's own trusted assumptions")
    source: str | None = None


class DatasetCounts(_Model):
    """Counts of one dataset in this run."""

    tasks: int
    passed: int = 0
    failed: int = 0
    rejected: int = 0
    timeout: int = 0
    error: int = 0
    no_answer: int = 0
    defect: int = 0
    toolchain_absent: int = 0
    known_defects: int = 0
    new_defects: int = 0
    failed_by_reason: dict[str, int] = Field(default_factory=dict)
    rejected_by_rule: dict[str, int] = Field(default_factory=dict)
    pass_at_k: dict[str, float] = Field(default_factory=dict, description="model runs: `1`, `2`, ... -> pass@k")
    success_by_round: dict[str, int] = Field(default_factory=dict, description="passing samples by round")
    tokens: int = 0
    cost_usd: float | None = None


class BenchReport(_Model):
    """`report.json`."""

    schema_version: int = REPORT_SCHEMA_VERSION
    mode: Literal["oracle", "answers", "model"]
    model: str | None = None
    run_dir: str
    complete: bool = Field(description="every selected task has a verdict")
    datasets: dict[str, DatasetCounts]
    tasks: list[TaskEntry]
    duration_s: float = Field(description="the tasks' durations added up (not the run's wall clock)")
    toolchains: list[str] = Field(default_factory=list)
    scripted_answers: int = Field(0, description="answers written by hand for a test or demo, not by a model")


def report_schema() -> dict[str, Any]:
    schema = BenchReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://qedgen.dev/schemas/bench-report.schema.json"
    return schema


SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "bench-report.schema.json"


def build_report(run_dir: Path, outcomes: list[TaskOutcome], total: int, options: Any, names: list[str]
                 ) -> BenchReport:
    by_ds: dict[str, list[TaskOutcome]] = {n: [] for n in names}
    for o in outcomes:
        by_ds.setdefault(o.dataset, []).append(o)
    counts = {}
    for name, rows in by_ds.items():
        c = Counter(o.status for o in rows)
        d = DatasetCounts(tasks=len(rows), **{s: c.get(s, 0) for s in STATUSES})
        d.known_defects = sum(1 for o in rows if o.status == "defect" and o.known_defect)
        d.new_defects = sum(1 for o in rows if o.status == "defect" and o.known_defect is False)
        d.failed_by_reason = dict(Counter(o.reason for o in rows if o.status == "failed").most_common())
        d.rejected_by_rule = dict(Counter(o.reason for o in rows if o.status == "rejected").most_common())
        rounds = Counter(r for o in rows for r in o.pass_rounds)
        d.success_by_round = {str(k): rounds[k] for k in sorted(rounds)}
        d.tokens = sum(o.tokens for o in rows)
        costs = [o.cost_usd for o in rows if o.cost_usd is not None]
        d.cost_usd = round(sum(costs), 6) if costs else None
        if options.mode == "model":
            pairs = [(o.samples, o.passed_samples) for o in rows if o.samples]
            for k in range(1, max((n for n, _ in pairs), default=0) + 1):
                v = mean_pass_at_k(pairs, k)
                if v is not None:
                    d.pass_at_k[str(k)] = round(v, 4)
        counts[name] = d
    tasks = [TaskEntry(dataset=o.dataset, id=o.task_id, status=o.status, reason=o.reason, rounds=o.rounds,
                       duration_s=o.duration_s, samples=o.samples, passed_samples=o.passed_samples,
                       pass_rounds=o.pass_rounds, tokens=o.tokens, cost_usd=o.cost_usd, known_defect=o.known_defect,
                       assumptions=[a.get("what", "") for a in o.assumptions], source=o.source)
             for o in outcomes]
    toolchains = sorted({f"{t.get('name')} {t.get('version') or ''}".strip() + (f" ({t['solver']})" if t.get("solver")
                         else "") for o in outcomes for t in [o.toolchain] if t})
    return BenchReport(mode=options.mode, model=options.model, run_dir=str(run_dir), complete=len(outcomes) == total,
                       datasets=counts, tasks=tasks, duration_s=round(sum(o.duration_s for o in outcomes), 3),
                       toolchains=toolchains, scripted_answers=sum(o.scripted for o in outcomes))


def write_reports(run_dir: Path, outcomes: list[TaskOutcome], tasks: list, selection: Any, options: Any
                  ) -> dict[str, Any]:
    """Write report.json, report.md and the plots; return the summary document (`--json`)."""
    names = list(dict.fromkeys(selection.datasets))
    order = {t.key: i for i, t in enumerate(tasks)}
    outcomes = sorted(outcomes, key=lambda o: order.get((o.dataset, o.task_id), 0))
    report = build_report(run_dir, outcomes, len(tasks), options, names)
    _atomic(run_dir / "report.json", json.dumps(report.model_dump(mode="json"), indent=2) + "\n")
    _atomic(run_dir / "report.md", render_md(report, outcomes))
    from .plots import write_plots

    plots = write_plots(run_dir, report, outcomes)
    summary: dict[str, Any] = {
        "run_dir": str(run_dir), "mode": report.mode, "model": report.model, "complete": report.complete,
        "tasks": len(report.tasks), "datasets": {n: d.model_dump(include={
            "tasks", "passed", "failed", "rejected", "timeout", "error", "no_answer", "defect", "toolchain_absent",
            "known_defects", "new_defects", "pass_at_k"}) for n, d in report.datasets.items()},
        "report": str(run_dir / "report.json"), "plots": plots}
    return summary


def render_md(r: BenchReport, outcomes: list[TaskOutcome]) -> str:
    lines = [f"# qed bench: {r.mode}" + (f" ({r.model})" if r.model else ""), ""]
    lines.append(f"- tasks: {len(r.tasks)}" + ("" if r.complete else " (run not finished: `qed bench --resume`)"))
    if r.toolchains:
        lines.append(f"- toolchains: {', '.join(r.toolchains)}")
    if r.scripted_answers:
        lines.append(f"- **scripted**: {r.scripted_answers} answer(s) were written by hand for a test or demo, "
                     "not produced by a model")
    lines.append("")
    for name, d in r.datasets.items():
        lines += [f"## {name}", "", "| tasks | passed | failed | rejected | timeout | error | no answer | defect "
                  "(known / new) | toolchain absent |", "|---|---|---|---|---|---|---|---|---|",
                  f"| {d.tasks} | {d.passed} | {d.failed} | {d.rejected} | {d.timeout} | {d.error} | {d.no_answer} "
                  f"| {d.defect} ({d.known_defects} / {d.new_defects}) | {d.toolchain_absent} |", ""]
        if d.failed_by_reason:
            lines.append("Failed by reason: " + ", ".join(f"{k} {v}" for k, v in d.failed_by_reason.items()))
        if d.rejected_by_rule:
            lines.append("Rejected by rule: " + ", ".join(f"{k} {v}" for k, v in d.rejected_by_rule.items()))
        if d.pass_at_k:
            lines.append("pass@k: " + ", ".join(f"pass@{k} {v:.3f}" for k, v in d.pass_at_k.items()))
        if d.success_by_round:
            lines.append("Passing samples by round: " + ", ".join(f"round {k}: {v}" for k, v in
                                                                 d.success_by_round.items()))
        if r.mode == "model":
            lines.append(f"Tokens: {d.tokens}" + (f", cost ${d.cost_usd:.4f}" if d.cost_usd is not None else ""))
        rows = [t for t in r.tasks if t.dataset == name]
        new = [t for t in rows if t.status == "defect" and t.known_defect is False]
        known = [t for t in rows if t.status == "defect" and t.known_defect]
        other = [t for t in rows if t.status == "defect" and t.known_defect is None]
        for title, group in (("New defects", new), ("Known defects", known), ("Defects", other)):
            if group:
                lines += ["", f"### {title}", ""] + [f"- `{t.id}`: {_one_line(t.reason)}" for t in group]
        lines.append("")
    lines += ["## Tasks", "", "| dataset | id | status | reason | rounds | s |", "|---|---|---|---|---|---|"]
    for t in r.tasks:
        lines.append(f"| {t.dataset} | `{t.id}` | {t.status} | {_one_line(t.reason, 120)} | {t.rounds} | "
                     f"{t.duration_s:.1f} |")
    return "\n".join(lines) + "\n"


def _one_line(text: str, limit: int = 300) -> str:
    s = " ".join(text.split()).replace("|", "\\|")
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _atomic(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        raise storage_error("the report", path, e) from None
