"""`qed check` at repository scale: parallel speed-up, and what an incremental (no-op or one-file) run costs.

Builds a git repository of N generated, verified Dafny files (default 120; four program shapes with their own
names and constants, a third of them checked against a contract file in `spec/`) and a `qed.toml`, then:

1. cold: `qed check --workers 1` and `qed check --workers 2`, each with its own empty result cache; prints both
   wall times and their ratio (target >= 1.8x on 2 cores);
2. no-op: everything committed, `qed check --changed-since HEAD` with the warm cache of run 1 (target <= 1.5 s);
3. one file changed: one implementation edited, `qed check --changed-since HEAD` (one verifier run, the rest
   answered from the cache).

Each figure is the wall time of the whole `qed` process (Python's start included), with the CPU time (user +
system) of qed and everything it started, and the load average before and after: on a shared machine other
processes' load stretches wall times, so the CPU figures are the steadier ones. Prints the figures; never
asserts them.

    python benchmarks/check_incremental.py [--files 120] [--dafny PATH] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DAFNY = REPO.parent / "shared" / "toolchains" / "dafny" / "dafny"

SHAPES = [
    ("abs", """\
function AbsSpec{n}(x: int): int {{ if x < {k} then {k} - x else x - {k} }}

method Abs{n}(x: int) returns (y: int)
  ensures y == AbsSpec{n}(x)
  ensures y >= 0
""", """
{{
  if x < {k} {{
    y := {k} - x;
  }} else {{
    y := x - {k};
  }}
}}
"""),
    ("sum", """\
function Sum{n}(i: nat): nat {{ if i == 0 then 0 else {k} * i + Sum{n}(i - 1) }}

method SumTo{n}(m: nat) returns (s: nat)
  ensures s == Sum{n}(m)
""", """
{{
  s := 0;
  var i := 0;
  while i < m
    invariant 0 <= i <= m
    invariant s == Sum{n}(i)
  {{
    i := i + 1;
    s := s + {k} * i;
  }}
}}
"""),
    ("max", """\
method Max{n}(a: array<int>) returns (m: int)
  requires a.Length > 0
  ensures forall i :: 0 <= i < a.Length ==> a[i] <= m + {k}
  ensures exists i :: 0 <= i < a.Length && a[i] == m
""", """
{{
  m := a[0];
  var i := 1;
  while i < a.Length
    invariant 1 <= i <= a.Length
    invariant forall j :: 0 <= j < i ==> a[j] <= m
    invariant exists j :: 0 <= j < i && a[j] == m
  {{
    if a[i] > m {{
      m := a[i];
    }}
    i := i + 1;
  }}
}}
"""),
    ("count", """\
function Count{n}(s: seq<int>, x: int): nat {{ if |s| == 0 then 0 else Count{n}(s[..|s| - 1], x) + (if s[|s| - 1] == x + {k} then 1 else 0) }}

method CountOf{n}(s: seq<int>, x: int) returns (c: nat)
  ensures c == Count{n}(s, x)
""", """
{{
  c := 0;
  var i := 0;
  while i < |s|
    invariant 0 <= i <= |s|
    invariant c == Count{n}(s[..i], x)
  {{
    assert s[..i + 1][..i] == s[..i];
    if s[i] == x + {k} {{
      c := c + 1;
    }}
    i := i + 1;
  }}
  assert s[..|s|] == s;
}}
"""),
]


def build(root: Path, count: int) -> None:
    """N verified files under src/, a third with a contract in spec/, a qed.toml, all committed."""
    (root / "src").mkdir(parents=True)
    (root / "spec").mkdir()
    for i in range(count):
        shape, contract, body = SHAPES[i % len(SHAPES)]
        n, k = f"_{i}", i % 7 + 1
        head = contract.format(n=n, k=k)
        (root / "src" / f"{shape}{i:03d}.dfy").write_text(head.rstrip("\n") + body.format(n=n, k=k))
        if i % 3 == 0:
            (root / "spec" / f"{shape}{i:03d}.dfy").write_text(head)
    contracts = "".join(f'[[contracts]]\nfiles = "src/{s}{i:03d}.dfy"\nspec = "spec/{{name}}"\n'
                        for i in range(0, count, 3) for s in [SHAPES[i % len(SHAPES)][0]])
    (root / "qed.toml").write_text('include = ["src/*.dfy"]\n' + contracts)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=b@example.org", "-c", "user.name=bench", "commit",
                                                 "-qm", "base"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def run(root: Path, cache: Path, *args: str) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds of qed and its children, the process) of one `qed check`."""
    env = {**os.environ, "QED_CACHE_DIR": str(cache)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "verifier", "check", *args], cwd=root, env=env, capture_output=True,
                       text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p


def _last(p: subprocess.CompletedProcess) -> str:
    lines = (p.stdout.strip() or p.stderr.strip()).splitlines()
    return " | ".join(lines[-2:]) if lines else f"exit {p.returncode}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=120)
    ap.add_argument("--dafny", type=Path, default=Path(os.environ.get("QED_DAFNY", DEFAULT_DAFNY)))
    ap.add_argument("--keep", type=Path, help="build the repository here and keep it")
    a = ap.parse_args()
    os.environ["QED_DAFNY"] = str(a.dafny)
    work = Path(tempfile.mkdtemp(prefix="qed-check-bench-"))
    root = a.keep or work / "repo"
    try:
        build(root, a.files)
        print(f"{a.files} files in {root}; cores: {len(os.sched_getaffinity(0))}; load average before: "
              f"{os.getloadavg()[0]:.1f}")
        w1, c1, p1 = run(root, work / "cache1", "--workers", "1")
        print(f"cold, --workers 1: {w1:.1f} s wall, {c1:.1f} s CPU: {_last(p1)}")
        w2, c2, p2 = run(root, work / "cache2", "--workers", "2")
        print(f"cold, --workers 2: {w2:.1f} s wall, {c2:.1f} s CPU: {_last(p2)}")
        print(f"speed-up --workers 2 vs 1: {w1 / w2:.2f}x (target >= 1.8x)")
        noops = []
        for _ in range(3):
            w, c, p = run(root, work / "cache1", "--changed-since", "HEAD")
            noops.append((w, c))
        print(f"no-op --changed-since HEAD (3 runs): wall {', '.join(f'{w:.2f}' for w, _ in noops)} s, CPU "
              f"{', '.join(f'{c:.2f}' for _, c in noops)} s (target <= 1.5 s): {_last(p)}")
        first = sorted((root / "src").glob("*.dfy"))[1]
        first.write_text(first.read_text().replace("  s := 0;", "  s := 0; // edited", 1)
                         if "s := 0;" in first.read_text() else first.read_text() + "\n// edited\n")
        w, c, p = run(root, work / "cache1", "--changed-since", "HEAD")
        print(f"one file changed ({first.name}), --changed-since HEAD: {w:.2f} s wall, {c:.2f} s CPU: {_last(p)}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
