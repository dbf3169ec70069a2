"""What `qed audit` costs: audit time per member on MBPP-DFY, and what a warm session saves on the mutant runs.

For each MBPP-DFY task (see `audit_data.py`: the contract is the program with its method bodies removed, the
implementation is the program itself, the examples are its tests), the audit runs twice without the result
cache, with the same mutants: once checking mutants with the batch command only (`--session cli`), once with a
warm `dafny server` session first (`--session warm`; a mutant the session finds clean is still confirmed by the
batch command). Reported: the audit time per member (median and p90, batch run), and the time of the mutant
checks, warm against batch (ratio of the totals, and per task).

    python benchmarks/audit_cost.py [--limit N] [--mutants N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit_data import mbpp_tasks  # noqa: E402


def _p90(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]


def one(t, mutants: int, mode: str) -> dict:
    from verifier.audit import audit_contract

    with tempfile.TemporaryDirectory(prefix="qed-audit-cost-") as tmp:
        contract = Path(tmp) / (t.impl.stem + ".spec.dfy")
        contract.write_text(t.contract, encoding="utf-8")
        start = time.monotonic()
        rep = audit_contract(contract, t.examples, impl=t.impl, mutants=mutants, session=mode, use_cache=False,
                             timeout=900)
        total = time.monotonic() - start
    members = [m for m in rep.members if m.summary.audited]
    return {"total_s": round(total, 2), "members": len(members),
            "per_member_s": [m.summary.duration_s for m in members],
            "mutant_check_s": round(sum(m.summary.session_s + m.summary.batch_s for m in members), 2),
            "mutants": [m.summary.mutants.model_dump() if m.summary.mutants else None for m in members],
            "findings": len(rep.findings)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=5)
    ap.add_argument("--mutants", type=int, default=10)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    rows = []
    for t in mbpp_tasks(args.limit):
        row = {"task": t.id}
        try:
            row["cli"] = one(t, args.mutants, "cli")
            row["warm"] = one(t, args.mutants, "warm")
        except Exception as e:  # noqa: BLE001 - one task's failure is reported, the run goes on
            row["error"] = f"{type(e).__name__}: {e}"[:300]
        rows.append(row)
        if "error" in row:
            print(f"{t.id}: error {row['error']}", flush=True)
        else:
            c, w = row["cli"], row["warm"]
            print(f"{t.id}: audit {c['total_s']} s ({c['members']} member(s)); mutant checks batch "
                  f"{c['mutant_check_s']} s, warm {w['mutant_check_s']} s", flush=True)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    ok = [r for r in rows if "error" not in r]
    per = [x for r in ok for x in r["cli"]["per_member_s"]]
    if per:
        print(f"\naudit time per member (batch mutant checks, {len(per)} members): median "
              f"{statistics.median(per):.1f} s, p90 {_p90(per):.1f} s")
        cli = sum(r["cli"]["mutant_check_s"] for r in ok)
        warm = sum(r["warm"]["mutant_check_s"] for r in ok)
        if cli:
            print(f"mutant checks: batch {cli:.1f} s, warm session {warm:.1f} s: warm/batch = {warm / cli:.2f}")


if __name__ == "__main__":
    main()
