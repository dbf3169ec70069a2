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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit_data import AuditTask, humaneval_tasks, mbpp_tasks  # noqa: E402

from bench.audit_specs import audit_text, classify  # noqa: E402


def audit_one(t: AuditTask, time_limit: int, use_cache: bool) -> dict:
    """The row of one task (shared with `qed bench --audit-specs`: `bench.audit_specs.audit_text`)."""
    if not t.examples:
        return {"task": t.id, "examples": 0, "status": "no_tests"}
    row = audit_text(t.id, t.contract, ".dfy", t.examples, time_limit_s=time_limit, use_cache=use_cache)
    row["task"] = row.pop("id")
    row["counts"] = row.get("summary")
    if "reason" in row:
        row["error"] = row["reason"]
    return row


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
