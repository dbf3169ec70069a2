"""The full annotate check (token guard + Dafny's meaning check) over DafnyBench's pairs.

Each DafnyBench problem gives a program without hints (`hints_removed/X_no_hints.dfy`, the program P) and the
verified original (`ground_truth/X.dfy`, the candidate C): C should be accepted as P plus proof hints. Prints how
many pairs the token guard alone (`annotate.check_annotation`) and the full check (with `meaning.py`) accept,
rejections by rule, and every pair whose outcome differs between the two, with the reason. Nothing is verified.

    python benchmarks/annotate_dafnybench.py [--dataset DIR] [--jobs 2] [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_DATASET = REPO.parent / "shared" / "benchmarks" / "DafnyBench" / "DafnyBench" / "dataset"


@dataclass
class Pair:
    """One problem's outcome. `token`/`full`: `accepted`, `rejected`, `program unreadable` (the token guard
    cannot read P) or `program unresolved` (Dafny does not resolve P)."""

    name: str
    token: str = ""
    full: str = ""
    token_rules: list[str] = field(default_factory=list)
    full_rules: list[str] = field(default_factory=list)
    first: str = ""  # the first violation of the full check: rule, line and message
    program_view: str = ""  # compiled | uncompilable | ... (Dafny's view of P)
    seconds: float = 0.0


def pairs(dataset: Path) -> list[tuple[str, Path, Path]]:
    out = []
    for gt in sorted((dataset / "ground_truth").glob("*.dfy")):
        nh = dataset / "hints_removed" / f"{gt.stem}_no_hints.dfy"
        if nh.exists():
            out.append((gt.stem, nh, gt))
    return out


def check_pair(name: str, program: Path, candidate: Path, install, timeout: float, store) -> Pair:
    from backends.dafny.annotate import check_annotation
    from backends.dafny.meaning import start_meaning_check
    from verifier.errors import BadInput

    start = time.monotonic()
    r = Pair(name)
    p_src = program.read_bytes().decode("utf-8", "replace")
    c_src = candidate.read_bytes().decode("utf-8", "replace")
    pending = start_meaning_check(install, program, p_src, candidate, c_src, timeout=timeout, store=store)
    try:
        try:
            token = check_annotation(p_src, c_src, candidate.name, program.name)
            r.token = "rejected" if token else "accepted"
            r.token_rules = sorted({v.rule for v in token})
        except BadInput:
            token = None
            r.token = "program unreadable"
        try:
            meaning = pending.result()
        except BadInput:
            meaning = None
        r.program_view = pending._program.view().status  # noqa: SLF001 (a benchmark may look inside)
    finally:
        pending.cancel()
    if token is None:
        r.full = "program unreadable"
    elif meaning is None:
        r.full = "program unresolved"
    else:
        found = token + meaning
        r.full = "rejected" if found else "accepted"
        r.full_rules = sorted({v.rule for v in found})
        if found:
            v = found[0]
            r.first = f"{v.rule} line {v.line} ({v.member}): {v.message}"
    r.seconds = round(time.monotonic() - start, 2)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    ap.add_argument("--jobs", type=int, default=2, help="pairs checked at once (each runs two Dafny processes)")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=300, help="wall clock per Dafny process")
    ap.add_argument("--json", type=Path, help="write every pair's outcome here (JSON lines)")
    ap.add_argument("--message-width", type=int, default=400)
    args = ap.parse_args()

    from toolchains.discovery import locate_dafny

    install = locate_dafny()
    todo = pairs(args.dataset)[: args.limit or None]
    t0 = time.monotonic()
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda p: check_pair(*p, install, args.timeout, None), todo))
    wall = time.monotonic() - t0
    if args.json:
        with args.json.open("w") as f:
            for r in results:
                f.write(json.dumps(asdict(r)) + "\n")

    token, full = Counter(r.token for r in results), Counter(r.full for r in results)
    readable = [r for r in results if r.token != "program unreadable"]
    resolving = [r for r in readable if r.full != "program unresolved"]
    print(f"{len(results)} pairs from {args.dataset} in {wall:.0f} s ({args.jobs} jobs, "
          f"{sum(r.seconds for r in results) / max(1, len(results)):.1f} s a pair)")
    print(f"token guard alone: {token['accepted']} accepted of {len(readable)} whose program it can read "
          f"({token['program unreadable']} unreadable)")
    print(f"  of the {len(resolving)} whose program Dafny also resolves: "
          f"{sum(r.token == 'accepted' for r in resolving)} accepted")
    print(f"full check: {full['accepted']} accepted of {len(resolving)} whose program the guard reads and Dafny "
          f"resolves ({full['program unresolved']} programs Dafny does not resolve)")
    print("Dafny's view of the programs:", dict(Counter(r.program_view for r in readable).most_common()))
    rules = Counter(rule for r in resolving for rule in r.full_rules)
    print("pairs rejected by the full check, by rule:", dict(sorted(rules.items())))
    changed = [r for r in resolving if (r.token == "accepted") != (r.full == "accepted")]
    print(f"\n{len(changed)} pairs accepted by the token guard and rejected by the full check:")
    for r in changed:
        print(f"- {r.name}: {r.first[: args.message_width]}")
    unresolved_accepted = [r for r in readable if r.full == "program unresolved" and r.token == "accepted"]
    print(f"\n{len(unresolved_accepted)} pairs the token guard accepted whose program Dafny does not resolve "
          f"(the full check refuses to compare against them):")
    for r in unresolved_accepted:
        print(f"- {r.name}")


if __name__ == "__main__":
    main()
