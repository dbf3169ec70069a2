"""The oracle over DafnyBench, against a plain loop of raw `dafny verify`, in the same run.

1. raw: `dafny verify GROUND_TRUTH` for each selected task, one after the other (what a harness without
   guards does; nothing else runs);
2. qed: `qed bench --dataset dafnybench --oracle --workers 2` over the same tasks, with an empty cache (every
   ground truth goes through the annotate guard, Dafny's meaning check, `dafny verify` and `dafny audit`).

Prints both wall-clock times and their ratio (raw / qed: above 1 means the oracle with two workers finished
sooner than the raw loop), the oracle's pass count, and each defect with its reason (known or new); with
`--defects FILE`, writes the run's defects as a defects list (`bench/defects/<dataset>.json` format).

    python benchmarks/oracle_sweep.py [--limit N] [--workers 2] [--dafny PATH] [--out RUN_DIR] [--defects FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_DAFNY = REPO.parent / "shared" / "toolchains" / "dafny" / "dafny"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="the first N tasks (default: all 782)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300, help="wall clock of one verifier run")
    ap.add_argument("--dafny", type=Path, default=Path(os.environ.get("QED_DAFNY", DEFAULT_DAFNY)))
    ap.add_argument("--out", type=Path, default=None, help="the qed bench run folder (default: a temporary one)")
    ap.add_argument("--defects", type=Path, default=None, help="write the defects found here (JSON)")
    args = ap.parse_args()

    from bench import datasets
    from verifier import procs

    tasks = datasets.select(datasets.load("dafnybench"), limit=args.limit)
    tmp = Path(tempfile.mkdtemp(prefix="qed-oracle-sweep-"))
    env = dict(os.environ, QED_DAFNY=str(args.dafny), QED_CACHE_DIR=str(tmp / "cache"))
    truths = tmp / "truths"
    truths.mkdir()

    raw_fail = 0
    t0 = time.perf_counter()
    for t in tasks:
        if t.ground_truth is None:
            continue
        f = truths / f"{t.name}.dfy"
        f.write_text(t.ground_truth, encoding="utf-8")
        r = procs.run([str(args.dafny), "verify", str(f)], timeout=args.timeout, env=env)
        raw_fail += r.returncode != 0
    raw_s = time.perf_counter() - t0

    out = args.out or tmp / "run"
    ids = tmp / "ids.txt"
    ids.write_text("\n".join(t.id for t in tasks) + "\n", encoding="utf-8")
    argv = [sys.executable, "-m", "verifier", "bench", "--dataset", "dafnybench", "--oracle", "--tasks", f"@{ids}",
            "--workers", str(args.workers), "--timeout", str(args.timeout), "--out", str(out), "--json"]
    t0 = time.perf_counter()
    r = procs.run(argv, timeout=86400, env=env, cwd=REPO)
    qed_s = time.perf_counter() - t0
    if r.returncode not in (0, 1):
        sys.exit(f"qed bench failed (exit {r.returncode}): {r.stderr.strip()[-2000:]}")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    counts = report["datasets"]["dafnybench"]
    print(f"tasks: {len(tasks)}  (raw `dafny verify` exit != 0: {raw_fail})")
    print(f"raw sequential dafny verify: {raw_s:.1f} s")
    print(f"qed bench --oracle --workers {args.workers}: {qed_s:.1f} s")
    print(f"ratio (raw / qed): {raw_s / qed_s:.2f}x")
    print(f"oracle: {counts['passed']}/{counts['tasks']} passed, {counts['defect']} defect(s) "
          f"({counts['known_defects']} known, {counts['new_defects']} new)")
    found = [t for t in report["tasks"] if t["status"] == "defect"]
    for t in found:
        print(f"  {'known' if t['known_defect'] else 'NEW'} {t['id']}: {t['reason']}")
    if args.defects is not None:
        doc = {"dataset": "dafnybench", "defects": [
            {"id": t["id"], "status": "defect", "reason": t["reason"].removeprefix("new defect: ")
             .removeprefix("known defect: ")} for t in found]}
        args.defects.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"run folder: {out}")


if __name__ == "__main__":
    main()
