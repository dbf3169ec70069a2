"""What one `qed verify FILE` process costs on top of the verifier, and what a cached answer costs.

On N DafnyBench ground-truth programs (default 12, a fixed spread over the sorted list), in one run:

1. per file: `qed verify --no-cache FILE` against a raw `dafny verify FILE`, one process each, alternating
   which goes first, `--repeat` times; prints the median ratio of the per-file medians (target <= 1.05x);
2. cached: `qed verify FILE` with the answer in qed's cache, against Python's own start
   (`python -c pass`), alternated the same way; prints both medians and their ratio.

Wall-clock times of whole processes (Python start-up included), measured with time.perf_counter around
subprocess.run, with Python's bytecode cache on (PYTHONDONTWRITEBYTECODE is dropped from the children's
environment and qed's modules are compiled first). Prints the figures; never asserts them.

    python benchmarks/startup.py [--count 12] [--repeat 3] [--dataset DIR] [--dafny PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = REPO.parent / "shared" / "benchmarks" / "DafnyBench" / "DafnyBench" / "dataset" / "ground_truth"
DEFAULT_DAFNY = REPO.parent / "shared" / "toolchains" / "dafny" / "dafny"


def pick(dataset: Path, count: int) -> list[Path]:
    files = sorted(dataset.glob("*.dfy"))
    step = len(files) / count
    return [files[int(i * step)] for i in range(count)]


def timed(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900,
                   start_new_session=True)
    return time.perf_counter() - t0


def pairs(a: list[str], b: list[str], env: dict[str, str], repeat: int) -> tuple[float, float]:
    """Medians of `repeat` alternated runs of a and b."""
    ta, tb = [], []
    for i in range(repeat):
        if i % 2:
            tb.append(timed(b, env))
            ta.append(timed(a, env))
        else:
            ta.append(timed(a, env))
            tb.append(timed(b, env))
    return statistics.median(ta), statistics.median(tb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    ap.add_argument("--dafny", type=Path, default=Path(os.environ.get("QED_DAFNY", DEFAULT_DAFNY)))
    args = ap.parse_args()

    qed = str(Path(sys.executable).with_name("qed"))  # this Python's console script, not a shim
    if not Path(qed).exists():
        sys.exit(f"{qed} not found: pip install -e . into this Python first")
    files = pick(args.dataset, args.count)
    cache = Path(tempfile.mkdtemp(prefix="qed-bench-startup-"))
    env = dict(os.environ, QED_DAFNY=str(args.dafny), QED_CACHE_DIR=str(cache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", *(str(REPO / p) for p in ("verifier", "backends",
                                                                                    "toolchains"))],
                   stdout=subprocess.DEVNULL, env=env, check=False)
    timed([qed, "verify", "--no-cache", str(files[0])], env)  # warm the OS file cache and the probe cache

    print(f"{'file':44} {'dafny':>7} {'qed':>7} {'ratio':>6}   {'cached':>7} {'python':>7}")
    ratios, cached_t, python_t = [], [], []
    for f in files:
        q, r = pairs([qed, "verify", "--no-cache", str(f)], [str(args.dafny), "verify", str(f)], env, args.repeat)
        timed([qed, "verify", str(f)], env)  # fill the cache
        c, p = pairs([qed, "verify", str(f)], [sys.executable, "-c", "pass"], env, args.repeat)
        ratios.append(q / r)
        cached_t.append(c)
        python_t.append(p)
        print(f"{f.name[:44]:44} {r:6.2f}s {q:6.2f}s {q / r:5.3f}x   {c * 1000:5.0f}ms {p * 1000:5.0f}ms")
    shutil.rmtree(cache, ignore_errors=True)
    print(f"per file, qed verify --no-cache vs raw dafny verify: median ratio {statistics.median(ratios):.3f}x "
          f"(min {min(ratios):.3f}x, max {max(ratios):.3f}x)   (target <= 1.05x)")
    c, p = statistics.median(cached_t), statistics.median(python_t)
    print(f"cached answer: median {c * 1000:.0f} ms against Python's own start {p * 1000:.0f} ms ({c / p:.1f}x)")


if __name__ == "__main__":
    main()
