"""`qed bench --dataset NAME --audit-specs`: how many of a dataset's contracts are vacuous, contradicted by their
own tests, or weaker than them (`verifier.audit`, no mutants).

Each selected task's contract (the given contract of an implement task, else the contract its ground truth is
checked against) is audited against the task's own examples. A task without a contract or without examples is
listed as not audited, with the reason. Writes RUN_DIR/audit.json (one entry per task) and RUN_DIR/report.md
(the table and the lists).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.tasks import BenchTask
from verifier.tasks import Mode

#: the classes of an audited task, worst first (a task counts once, in its first class)
CLASSES = ("vacuous", "contradicted", "weaker", "undecided", "partly_undecided", "determined")
_COUNTS = ("determined", "allowed", "contradicted", "undecided", "unusable")


def contract_of(task: BenchTask) -> str | None:
    """The contract the task's tests can be held against (None: the task gives none)."""
    if task.mode == Mode.implement and task.given:
        return task.given
    return task.oracle_contract


def audit_text(task_id: str, contract: str, suffix: str, examples: Sequence[tuple[str, str]], *,
               time_limit_s: int = 20, timeout: float = 900.0, use_cache: bool = True) -> dict[str, Any]:
    """Audit one contract (given as text) against its examples; the row `audit.json` holds for the task."""
    from verifier.audit import audit_contract
    from verifier.errors import QedError

    row: dict[str, Any] = {"id": task_id, "examples": len(examples)}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="qed-audit-specs-") as tmp:
        path = Path(tmp) / f"contract{suffix}"
        path.write_text(contract, encoding="utf-8")
        try:
            rep = audit_contract(path, list(examples), mutants=0, time_limit_s=time_limit_s, timeout=timeout,
                                 use_cache=use_cache)
        except QedError as e:
            row.update(status="error", reason=f"{type(e).__name__}: {e}"[:300], duration_s=_since(start))
            return row
    kinds: dict[str, int] = {}
    for f in rep.findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    audited = [m for m in rep.members if m.summary.audited]
    row.update(status="audited", duration_s=_since(start), findings=kinds,
               summary={k: sum(getattr(m.summary.examples, k) for m in audited) for k in _COUNTS},
               vacuous=[m.name for m in rep.members if m.summary.precondition == "vacuous"],
               details=[f"{m.name}: {f.kind}: {f.message}" for m in rep.members for f in m.findings][:8],
               undecided=[f"{m.name}: example {u['example']}: {u['status']}: {u['detail']}" for m in rep.members
                          for u in m.summary.undecided_examples][:8])
    row["class"] = classify(row)
    return row


def classify(row: dict[str, Any]) -> str:
    """One class per audited task (see CLASSES); a task not audited keeps its status."""
    if row.get("status") != "audited":
        return row.get("status", "?")
    c = row["summary"]
    if row["vacuous"]:
        return "vacuous"
    if c["contradicted"]:
        return "contradicted"
    if c["allowed"]:
        return "weaker"
    if c["undecided"] or c["unusable"]:
        return "partly_undecided" if c["determined"] else "undecided"
    return "determined"


def audit_task(task: BenchTask, **kw: Any) -> dict[str, Any]:
    """The `audit.json` entry of one benchmark task."""
    contract = contract_of(task)
    if contract is None:
        why = "the task gives no contract" + (f" ({task.mode.value} task)" if task.mode != Mode.implement else "")
        return {"id": task.id, "dataset": task.dataset, "status": "not_audited", "reason": why}
    if not task.examples:
        return {"id": task.id, "dataset": task.dataset, "status": "not_audited",
                "reason": "the task has no examples (tests) to hold the contract against"}
    return {"dataset": task.dataset, **audit_text(task.id, contract, task.suffix(), task.examples, **kw)}


def run_audit_specs(run_dir: Path, tasks: list[BenchTask], *, time_limit_s: int = 20, timeout: float = 900.0,
                    use_cache: bool = True, say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Audit every task, write RUN_DIR/audit.json and RUN_DIR/report.md, return the counts per dataset."""
    from bench.report import _atomic

    run_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for t in tasks:
        row = audit_task(t, time_limit_s=time_limit_s, timeout=timeout, use_cache=use_cache)
        rows.append(row)
        if say:
            say(f"{t.dataset}/{t.id}: {row.get('class') or row['status']}"
                + (f" ({row['reason']})" if row.get("reason") else ""))
        _atomic(run_dir / "audit.json", json.dumps({"tasks": rows}, indent=1) + "\n")  # a killed run keeps its rows
    counts = tally(rows)
    doc = {"tasks": rows, "counts": counts}
    _atomic(run_dir / "audit.json", json.dumps(doc, indent=1) + "\n")
    _atomic(run_dir / "report.md", render_md(rows, counts))
    return {"run_dir": str(run_dir), "audit": str(run_dir / "audit.json"), "counts": counts}


def tally(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per dataset: tasks, audited, not audited, errors, and the audited tasks per class."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        c = out.setdefault(r["dataset"], {"tasks": 0, "audited": 0, "not_audited": 0, "error": 0,
                                          **{k: 0 for k in CLASSES}})
        c["tasks"] += 1
        if r["status"] == "audited":
            c["audited"] += 1
            c[r["class"]] += 1
        else:
            c[r["status"]] += 1
    return out


def render_md(rows: list[dict[str, Any]], counts: dict[str, dict[str, int]]) -> str:
    """report.md: the table per dataset, then the tasks per finding class and the ones not audited."""
    lines = ["# Contract audit (qed bench --audit-specs)", "",
             "Each task's contract against its own tests (`qed audit`, no mutants): vacuous (no input satisfies a "
             "precondition), contradicted (a test's input is rejected or its output forbidden), weaker than its "
             "own tests (another output is admitted, with a witness the verifier confirmed), undecided (the "
             "verifier could not tell for some test).", "",
             "| dataset | tasks | audited | vacuous | contradicted | weaker than own tests | undecided | "
             "determined | not audited | errors |", "|---|---|---|---|---|---|---|---|---|---|"]
    for ds, c in counts.items():
        lines.append(f"| {ds} | {c['tasks']} | {c['audited']} | {c['vacuous']} | {c['contradicted']} | "
                     f"{c['weaker']} | {c['undecided'] + c['partly_undecided']} | {c['determined']} | "
                     f"{c['not_audited']} | {c['error']} |")
    for cls, title in (("vacuous", "Vacuous"), ("contradicted", "Contradicted by their tests"),
                       ("weaker", "Weaker than their tests"), ("undecided", "Undecided"),
                       ("partly_undecided", "Partly undecided")):
        mine = [r for r in rows if r.get("class") == cls]
        if mine:
            lines += ["", f"## {title}", ""]
            lines += [f"- {r['dataset']}/{r['id']}: " + "; ".join(r["details"] or r["undecided"])[:400]
                      for r in mine]
    other = [r for r in rows if r["status"] != "audited"]
    if other:
        lines += ["", "## Not audited", ""]
        lines += [f"- {r['dataset']}/{r['id']}: {r['status']}: {r['reason']}" for r in other]
    return "\n".join(lines) + "\n"


def render_counts(counts: dict[str, dict[str, int]]) -> str:
    """The counts `qed bench --audit-specs` prints."""
    return "\n".join(f"{ds}: {c['tasks']} tasks, {c['audited']} audited: {c['vacuous']} vacuous, "
                     f"{c['contradicted']} contradicted, {c['weaker']} weaker than own tests, "
                     f"{c['undecided'] + c['partly_undecided']} undecided, {c['determined']} determined; "
                     f"{c['not_audited']} not audited, {c['error']} error(s)" for ds, c in counts.items())


def _since(start: float) -> float:
    return round(time.monotonic() - start, 1)
