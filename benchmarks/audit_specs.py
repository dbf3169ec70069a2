"""How many benchmark contracts are vacuous, contradicted by their own tests, or weaker than them (`qed audit`).

For each task of MBPP-DFY (dafny-synthesis MBPP-DFY-153) and HumanEval-Dafny (see `audit_data.py`): the contract
is the task's program with its method bodies removed, the examples are its own tests, and `qed audit` (no
mutants) says per example whether the contract determines, admits another output than (with a witness the
verifier confirmed), or contradicts the expected one, or cannot decide; and whether a precondition is vacuous.

    python benchmarks/audit_specs.py [--dataset mbpp|humaneval|both] [--limit N] [--skip N] [--time-limit S] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit_data import AuditTask, humaneval_tasks, mbpp_tasks  # noqa: E402


def audit_one(t: AuditTask, time_limit: int, use_cache: bool) -> dict:
    from verifier.audit import audit_contract
    from verifier.errors import QedError

    row: dict = {"task": t.id, "examples": len(t.examples)}
    if not t.examples:
        row["status"] = "no_tests"
        return row
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="qed-audit-bench-") as tmp:
        contract = Path(tmp) / (t.impl.stem + ".spec.dfy")
        contract.write_text(t.contract, encoding="utf-8")
        try:
            rep = audit_contract(contract, t.examples, time_limit_s=time_limit, use_cache=use_cache, timeout=900)
        except QedError as e:
            row.update(status="error", error=f"{type(e).__name__}: {e}"[:300])
            return row
    row["duration_s"] = round(time.monotonic() - start, 1)
    row["status"] = "audited"
    kinds: dict[str, int] = {}
    for f in rep.findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    row["findings"] = kinds
    row["counts"] = {k: sum(getattr(m.summary.examples, k) for m in rep.members if m.summary.audited)
                     for k in ("determined", "allowed", "contradicted", "undecided", "unusable")}
    row["vacuous"] = [m.name for m in rep.members if m.summary.precondition == "vacuous"]
    row["details"] = [f.message for f in rep.findings][:6]
    row["undecided"] = [f"example {u['example']}: {u['status']}: {u['detail']}" for m in rep.members
                        for u in m.summary.undecided_examples][:6]
    return row


def classify(row: dict) -> str:
    if row.get("status") != "audited":
        return row.get("status", "?")
    if row["vacuous"]:
        return "vacuous"
    if row["counts"]["contradicted"]:
        return "contradicted"
    if row["counts"]["allowed"]:
        return "weaker"
    if row["counts"]["undecided"] or row["counts"]["unusable"]:
        return "undecided" if not row["counts"]["determined"] else "partly_undecided"
    return "determined"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=["mbpp", "humaneval", "both"], default="both")
    ap.add_argument("--limit", type=int, default=None, help="tasks per dataset")
    ap.add_argument("--skip", type=int, default=0, help="skip the first N tasks of each dataset")
    ap.add_argument("--time-limit", type=int, default=20)
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    sets = {"mbpp": mbpp_tasks, "humaneval": humaneval_tasks}
    rows = []
    for name in (["mbpp", "humaneval"] if args.dataset == "both" else [args.dataset]):
        tasks = sets[name](None if args.limit is None else args.skip + args.limit)[args.skip:]
        for t in tasks:
            row = audit_one(t, args.time_limit, not args.no_cache)
            row["class"] = classify(row)
            rows.append(row)
            print(f"{row['task']}: {row['class']} {row.get('counts', '')} {row.get('error', '')}", flush=True)
            if args.json:
                args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print()
    for ds in ("mbpp", "humaneval"):
        mine = [r for r in rows if r["task"].startswith(ds)]
        if not mine:
            continue
        tally: dict[str, int] = {}
        for r in mine:
            tally[r["class"]] = tally.get(r["class"], 0) + 1
        print(f"{ds}: {len(mine)} tasks: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
        for k in ("vacuous", "contradicted", "weaker"):
            ids = [r["task"].split("/")[1] for r in mine if r["class"] == k]
            if ids:
                print(f"  {k}: {', '.join(ids)}")


if __name__ == "__main__":
    main()
