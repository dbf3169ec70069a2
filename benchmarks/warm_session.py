"""What a warm verifier session saves in repair loops (Dafny: `dafny server` against `dafny verify`).

1. Re-check: on N DafnyBench ground-truth programs (default 12, a fixed spread over the sorted list), a warm
   session opens the program once; then an edited candidate (the program with a new member appended, so the
   server must verify again) is checked through the session (`Backend.check_warm`, guard included) and by a
   raw `dafny verify --allow-warnings` process, alternating which goes first. Prints per-file times and the
   median ratio batch / warm (target >= 3x).
2. Repair loop: a scripted `qed synth` run on specs/examples/abs.yaml whose first 8 answers fail to verify
   and whose 9th is right, with `--session warm` and with `--session cli`, each with an empty verifier cache,
   alternated `--pairs` times. Prints the wall times and the median ratio cli / warm (target >= 2x). The
   answers are scripted (written by hand), not a model's.

Prints the figures; never asserts them.

    python benchmarks/warm_session.py [--count 12] [--pairs 3] [--dataset DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from wall import timed_run  # noqa: E402

DEFAULT_DATASET = REPO.parent / "shared" / "benchmarks" / "DafnyBench" / "DafnyBench" / "dataset" / "ground_truth"

WRONG = """function AbsSpec(x: int): int {{ if x < 0 then -x else x }}

method Abs(x: int) returns (y: int)
  ensures y == AbsSpec(x)
  ensures y >= 0
{{
  y := x + {k} - {k};
}}
"""


def pick(dataset: Path, count: int) -> list[Path]:
    files = sorted(dataset.glob("*.dfy"))
    step = len(files) / count
    return [files[int(i * step)] for i in range(count)]


def recheck(files: list[Path], work: Path) -> None:
    from backends import registry
    from backends.base import CheckRequest

    plugin = registry.plugin_for_language("dafny")
    backend = registry.create_backend(plugin, plugin.config(use_cache=False))
    install = backend.install
    session = backend.open_session()
    ratios = []
    print(f"{'file':48} {'dafny verify':>12} {'warm':>8} {'ratio':>7}")
    try:
        for i, src in enumerate(files):
            f = work / src.name
            text = src.read_text(encoding="utf-8")
            f.write_text(text, encoding="utf-8")
            backend.check_warm(CheckRequest(file=f, timeout=300), session)  # open the document, warm up
            f.write_text(text + f"\nlemma QedBenchEdit{i}() ensures {i} + 1 > {i} {{}}\n", encoding="utf-8")
            raw_argv = [str(install.path), "verify", "--allow-warnings", *install.extra_args, str(f)]

            def raw() -> float:
                return timed_run(raw_argv, timeout=600)[0]

            def warm() -> float:
                t0 = time.perf_counter()
                backend.check_warm(CheckRequest(file=f, timeout=300), session)
                return time.perf_counter() - t0

            if i % 2:
                w, b = warm(), raw()
            else:
                b, w = raw(), warm()
            # the second warm check of the same text is what a repair round after a no-op edit would cost; the
            # figure uses the first check of the edited version only
            ratios.append(b / w)
            print(f"{src.name[:48]:48} {b:11.2f}s {w:7.2f}s {b / w:6.1f}x")
    finally:
        backend.close()
    print(f"re-check: median ratio dafny verify / warm session = {statistics.median(ratios):.2f}x "
          f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x) over {len(ratios)} programs")


def synth_run(mode: str, work: Path) -> float:
    from backends import registry
    from verifier.providers import ScriptedProvider
    from verifier.synth import SynthConfig, synthesize
    from verifier.tasks import load_task

    task_file = REPO / "specs" / "examples" / "abs.yaml"
    right = (REPO / "specs" / "examples" / "abs.dfy").read_text(encoding="utf-8")
    answers = [f"```dafny\n{WRONG.format(k=k)}```\n" for k in range(1, 9)] + [f"```dafny\n{right}```\n"]
    cache = Path(tempfile.mkdtemp(prefix=f"qed-bench-{mode}-", dir=work))
    plugin = registry.plugin_for_language("dafny")
    t0 = time.perf_counter()
    with registry.create_backend(plugin, plugin.config(cache_root=cache)) as backend:
        res = synthesize(load_task(task_file), ScriptedProvider(answers),
                         config=SynthConfig(model="scripted", rounds=9, session=mode), out_dir=work / "runs",
                         backend=backend, task_file=task_file)
    wall = time.perf_counter() - t0
    assert res.status == "verified" and len(res.attempts) == 9, (res.status, len(res.attempts))
    return wall


def loop(pairs: int, work: Path) -> None:
    ratios = []
    for p in range(pairs):
        order = ("warm", "cli") if p % 2 == 0 else ("cli", "warm")
        t = {mode: synth_run(mode, work) for mode in order}
        ratios.append(t["cli"] / t["warm"])
        print(f"pair {p + 1}: cli {t['cli']:.1f}s, warm {t['warm']:.1f}s, ratio {t['cli'] / t['warm']:.2f}x")
    print(f"repair loop (8 failing rounds, then a verified one): median wall ratio cli / warm = "
          f"{statistics.median(ratios):.2f}x over {pairs} pairs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    ap.add_argument("--skip-recheck", action="store_true")
    ap.add_argument("--skip-loop", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("QED_DAFNY", str(REPO.parent / "shared" / "toolchains" / "dafny" / "dafny"))
    with tempfile.TemporaryDirectory(prefix="qed-bench-warm-") as tmp:
        work = Path(tmp)
        if not args.skip_recheck:
            recheck(pick(args.dataset, args.count), work)
        if not args.skip_loop:
            loop(args.pairs, work)


if __name__ == "__main__":
    main()
