"""Run `qed verify` over DafnyBench's ground truths and count what it says.

Prints verdicts, integrity rules hit, warning classes (style / trigger / escape / other) and the distinct
"other" warnings (candidates for the classifier). Ground truths are human-verified programs, so this shows how
qed's verdicts differ from Dafny's exit code on real code.

    python benchmarks/dafnybench_sweep.py [--dataset DIR] [--jobs 2] [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_DATASET = REPO.parent / "shared" / "benchmarks" / "DafnyBench" / "DafnyBench" / "dataset" / "ground_truth"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--json", type=Path, help="write every FileResult here (JSON lines)")
    args = ap.parse_args()

    from backends import registry
    from backends.base import CheckRequest
    from verifier.errors import QedError

    files = sorted(args.dataset.glob("*.dfy"))[: args.limit or None]
    backend = registry.create_backend("dafny")

    def one(f: Path):
        try:
            return backend.check(CheckRequest(file=f, timeout=args.timeout, display_name=f.name))
        except QedError as e:
            return e

    verdicts, rules, wclasses, others, exits = Counter(), Counter(), Counter(), Counter(), Counter()
    out = args.json.open("w") if args.json else None
    with ThreadPoolExecutor(args.jobs) as pool:
        for f, r in zip(files, pool.map(one, files)):
            if isinstance(r, QedError):
                verdicts[f"qed error (exit {r.exit_code})"] += 1
                continue
            verdicts[str(r.verdict)] += 1
            exits[r.exit_code] += 1
            rules.update({v.rule for v in r.integrity})
            for d in r.diagnostics:
                if d.severity == "warning":
                    wclasses[str(d.warning_class)] += 1
                    if d.warning_class == "other":
                        others[d.message[:110]] += 1
            if out:
                out.write(r.model_dump_json() + "\n")
    print(f"{len(files)} files from {args.dataset}")
    print("verdicts:", dict(verdicts.most_common()))
    print("dafny exit codes (with --allow-warnings):", dict(exits.most_common()))
    print("files hitting each integrity rule:", dict(rules.most_common()))
    print("warnings by class:", dict(wclasses.most_common()))
    for msg, n in others.most_common(20):
        print(f"  other warning x{n}: {msg}")


if __name__ == "__main__":
    main()
