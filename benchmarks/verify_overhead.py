"""What `qed verify` costs on top of Dafny, and what its result cache saves.

On N DafnyBench ground-truth programs (default 40, a fixed spread over the sorted file list):

1. overhead: each file verified by raw `dafny verify FILE` and by `qed verify --no-cache FILE`, alternating
   file by file in the same run (one process each, Python start-up included); then, alternated `--pairs`
   times, the raw runs in sequence against one `qed verify --no-cache F1 ... FN` call;
2. cache: one `qed verify F1 ... FN` call with an empty cache (cold) and the same call again (warm).

Targets: overhead <= 1.05x, warm >= 50x faster than cold. Prints the figures; never asserts them.

    python benchmarks/verify_overhead.py [--count 40] [--dataset DIR] [--dafny PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wall import timed_run  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = REPO.parent / "shared" / "benchmarks" / "DafnyBench" / "DafnyBench" / "dataset" / "ground_truth"
DEFAULT_DAFNY = REPO.parent / "shared" / "toolchains" / "dafny" / "dafny"


def pick(dataset: Path, count: int) -> list[Path]:
    files = sorted(dataset.glob("*.dfy"))
    if len(files) < count:
        sys.exit(f"only {len(files)} .dfy files in {dataset}")
    step = len(files) / count
    return [files[int(i * step)] for i in range(count)]


def timed(argv: list[str], env: dict[str, str], timeout: float = 900) -> tuple[float, int]:
    return timed_run(argv, env, timeout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    ap.add_argument("--pairs", type=int, default=2, help="alternated batch pairs (raw sequence, one qed call)")
    ap.add_argument("--dafny", type=Path, default=Path(os.environ.get("QED_DAFNY", DEFAULT_DAFNY)))
    args = ap.parse_args()

    # The console script of this Python (not a version-manager shim, whose own start-up would be counted).
    qed = str(Path(sys.executable).with_name("qed"))
    if not Path(qed).exists():
        sys.exit(f"{qed} not found: pip install -e . into this Python first")
    files = pick(args.dataset, args.count)
    cache = Path(tempfile.mkdtemp(prefix="qed-bench-cache-"))
    env = dict(os.environ, QED_DAFNY=str(args.dafny), QED_CACHE_DIR=str(cache))

    # Warm the OS file cache and qed's toolchain probe cache; not counted.
    timed([str(args.dafny), "verify", str(files[0])], env)
    timed([qed, "verify", "--no-cache", str(files[0])], env)

    raw_t, qed_t, ratios = [], [], []
    for f in files:
        r, _ = timed([str(args.dafny), "verify", str(f)], env)
        q, _ = timed([qed, "verify", "--no-cache", str(f)], env)
        raw_t.append(r)
        qed_t.append(q)
        ratios.append(q / r)
    # Batch: the raw sequence and one qed call over the same files, alternated so that drift hits both.
    batch = []
    for _ in range(args.pairs):
        raw_seq = sum(timed([str(args.dafny), "verify", str(f)], env)[0] for f in files)
        qed_all, _ = timed([qed, "verify", "--no-cache", *map(str, files)], env)
        batch.append((raw_seq, qed_all))

    shutil.rmtree(cache)
    cold, _ = timed([qed, "verify", *map(str, files)], env)
    warm, _ = timed([qed, "verify", *map(str, files)], env)
    shutil.rmtree(cache, ignore_errors=True)

    n = len(files)
    print(f"files: {n} DafnyBench ground truths from {args.dataset}")
    print(f"raw dafny verify, one process per file:   total {sum(raw_t):7.1f} s  median {statistics.median(raw_t):.2f} s")
    print(f"qed verify --no-cache, one process each:  total {sum(qed_t):7.1f} s  median {statistics.median(qed_t):.2f} s")
    print(f"  overhead per call (ratio of totals):    {sum(qed_t) / sum(raw_t):.3f}x "
          f"(median per-file ratio {statistics.median(ratios):.3f}x)")
    for raw_seq, qed_all in batch:
        print(f"qed verify --no-cache, all {n} in one call: {qed_all:7.1f} s vs raw sequence {raw_seq:7.1f} s: "
              f"{qed_all / raw_seq:.3f}x")
    ratios_b = [q / r for r, q in batch]
    print(f"  overhead, one call vs the raw runs (median of {len(batch)} pairs): {statistics.median(ratios_b):.3f}x"
          "   (target <= 1.05x)")
    print(f"cache: cold {cold:.1f} s, warm {warm:.2f} s: warm is {cold / warm:.0f}x faster   (target >= 50x)")


if __name__ == "__main__":
    main()
