"""What one `qed verify FILE` process costs on top of the verifier, and what a cached answer costs.

On N DafnyBench ground-truth programs (default 12, a fixed spread over the sorted list), in one run:

1. per file: `qed verify --no-cache FILE` against a raw `dafny verify FILE`, one process each, alternating
   which goes first, `--repeat` times; prints the median ratio of the per-file medians (target <= 1.05x), and
   for scale the same ratio for the smallest possible Python launcher (`python -c` running `dafny verify FILE`
   through subprocess.run: Python's own start and nothing else);
2. cached: `qed verify FILE` with the answer in qed's cache, against Python's own start
   (`python -c pass`), alternated the same way; prints both medians and their ratio;
3. overhead, measured inside the run (steadier than the ratio of two noisy wall times): `qed verify --no-cache
   FILE` runs a wrapper of `dafny` that logs when the Dafny process starts and ends; qed's own time is the
   process's wall time minus that lifetime, and (lifetime + qed's time) / lifetime is the ratio qed adds.

Wall-clock times of whole processes (Python start-up included), from spawn to a blocking `waitpid`
(`wall.timed_run`: no polling delay), with Python's bytecode cache on (PYTHONDONTWRITEBYTECODE is dropped from the children's
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wall import timed_run  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = REPO.parent / "shared" / "benchmarks" / "DafnyBench" / "DafnyBench" / "dataset" / "ground_truth"
DEFAULT_DAFNY = REPO.parent / "shared" / "toolchains" / "dafny" / "dafny"


def pick(dataset: Path, count: int) -> list[Path]:
    files = sorted(dataset.glob("*.dfy"))
    step = len(files) / count
    return [files[int(i * step)] for i in range(count)]


def timed(argv: list[str], env: dict[str, str]) -> float:
    return timed_run(argv, env)[0]


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


WRAPPER = """#!/bin/sh
s=$(date +%s%N)
"{dafny}" "$@"
rc=$?
e=$(date +%s%N)
echo "$s $e" >> "{log}"
exit $rc
"""


def wrapped_dafny(dafny: Path, folder: Path) -> tuple[Path, Path]:
    """A `dafny` that logs its lifetime (ns) and runs the real one; `lib` beside it points at the real Dafny's,
    so that qed finds the same Dafny.dll and Z3 and runs the same command line."""
    real = dafny.resolve()
    log = folder / "lifetimes.log"
    exe = folder / "dafny"
    exe.write_text(WRAPPER.format(dafny=real, log=log))
    exe.chmod(0o755)
    (folder / "lib").symlink_to(real.parent / "lib")
    return exe, log


def overhead(qed: str, files: list[Path], dafny: Path, env: dict[str, str], repeat: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="qed-bench-wrap-"))
    exe, log = wrapped_dafny(dafny, folder)
    wenv = dict(env, QED_DAFNY=str(exe))
    timed([qed, "verify", "--no-cache", str(files[0])], wenv)  # probe the wrapper once
    own, ratios = [], []
    for f in files:
        per = []
        for _ in range(repeat):
            log.unlink(missing_ok=True)
            wall = timed([qed, "verify", "--no-cache", str(f)], wenv)
            start, end = (int(x) for x in log.read_text().split())
            life = (end - start) / 1e9
            per.append((wall - life, life))
        o, life = statistics.median(p[0] for p in per), statistics.median(p[1] for p in per)
        own.append(o)
        ratios.append((life + o) / life)
    shutil.rmtree(folder, ignore_errors=True)
    print(f"qed's own time per call, outside the Dafny process (Python start-up included): median "
          f"{statistics.median(own) * 1000:.0f} ms (min {min(own) * 1000:.0f}, max {max(own) * 1000:.0f}); as a "
          f"ratio on each file's Dafny time: median {statistics.median(ratios):.3f}x   (target <= 1.05x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    ap.add_argument("--dafny", type=Path, default=Path(os.environ.get("QED_DAFNY", DEFAULT_DAFNY)))
    ap.add_argument("--overhead-only", action="store_true", help="only part 3")
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

    if args.overhead_only:
        overhead(qed, files, args.dafny, env, args.repeat)
        return
    print(f"{'file':44} {'dafny':>7} {'qed':>7} {'ratio':>6} {'launcher':>8}   {'cached':>7} {'python':>7}")
    ratios, floor, cached_t, python_t = [], [], [], []
    launcher = "import subprocess, sys; subprocess.run(sys.argv[1:])"
    for f in files:
        q, r = pairs([qed, "verify", "--no-cache", str(f)], [str(args.dafny), "verify", str(f)], env, args.repeat)
        lo, r2 = pairs([sys.executable, "-c", launcher, str(args.dafny), "verify", str(f)],
                       [str(args.dafny), "verify", str(f)], env, args.repeat)
        timed([qed, "verify", str(f)], env)  # fill the cache
        c, p = pairs([qed, "verify", str(f)], [sys.executable, "-c", "pass"], env, args.repeat)
        ratios.append(q / r)
        floor.append(lo / r2)
        cached_t.append(c)
        python_t.append(p)
        print(f"{f.name[:44]:44} {r:6.2f}s {q:6.2f}s {q / r:5.3f}x {lo / r2:7.3f}x   {c * 1000:5.0f}ms "
              f"{p * 1000:5.0f}ms")
    shutil.rmtree(cache, ignore_errors=True)
    print(f"per file, qed verify --no-cache vs raw dafny verify: median ratio {statistics.median(ratios):.3f}x "
          f"(min {min(ratios):.3f}x, max {max(ratios):.3f}x)   (target <= 1.05x)")
    print(f"  for scale, a bare Python launcher of dafny verify: median ratio {statistics.median(floor):.3f}x")
    c, p = statistics.median(cached_t), statistics.median(python_t)
    print(f"cached answer: median {c * 1000:.0f} ms against Python's own start {p * 1000:.0f} ms ({c / p:.1f}x)")
    overhead(qed, files, args.dafny, env, args.repeat)


if __name__ == "__main__":
    main()
