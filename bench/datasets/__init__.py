"""Dataset loaders: each reads one upstream layout as it is (data under `$QED_BENCH_DATA`, default
`../shared/benchmarks` next to the repository) into `BenchTask`s with the upstream ids.

| name | upstream | tasks |
|---|---|---|
| dafnybench | DafnyBench hints_removed/ + ground_truth/ | 782 annotate |
| mbpp-dfy | dafny-synthesis MBPP-DFY-153 src/ + test/ | 166 implement |
| humaneval-dafny | HumanEval-Dafny (variant `write-contract`: from the description) | 132 |
| vericoding | vericoding jsonl/dafny_tasks.jsonl (variant `all`: + dafny_issues.jsonl) | 2,334 (3,029) |
| clever / verina / fvapps | Lean 4 datasets | 161 / 189 / 4,006 |
| fstar | FStarDataSet JSON files (`--data DIR` with *.json) | as many as the files hold |
| local | a folder of qed task files (`--data DIR`) | its *.yaml files |
"""

from __future__ import annotations

import fnmatch
import os
import random
from collections.abc import Callable
from pathlib import Path

from verifier.errors import BadInput

from ..tasks import BenchTask

Loader = Callable[[Path, "str | None"], list[BenchTask]]


def data_root() -> Path:
    """`$QED_BENCH_DATA`, else `../shared/benchmarks` beside the repository."""
    env = os.environ.get("QED_BENCH_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "benchmarks"


def _loaders() -> dict[str, tuple[Loader, tuple[str, ...]]]:
    from . import dafny_sets, fstar, lean_sets, local

    return {
        "dafnybench": (dafny_sets.dafnybench, ()),
        "mbpp-dfy": (dafny_sets.mbpp_dfy, ()),
        "humaneval-dafny": (dafny_sets.humaneval_dafny, ("implement", "write-contract")),
        "vericoding": (dafny_sets.vericoding, ("tasks", "all")),
        "clever": (lean_sets.clever, ()),
        "verina": (lean_sets.verina, ()),
        "fvapps": (lean_sets.fvapps, ()),
        "fstar": (fstar.fstar_dataset, ()),
        "local": (local.local, ()),
    }


def names() -> list[str]:
    return list(_loaders())


def load(name: str, *, data: Path | None = None, variant: str | None = None) -> list[BenchTask]:
    """Every task of dataset `name` in upstream order. `data` replaces the dataset's default location (needed
    for `local` and `fstar`). BadInput names the cause (unknown dataset, missing data, malformed files)."""
    found = _loaders().get(name)
    if found is None:
        raise BadInput(f"unknown dataset {name!r}", fix=f"use one of: {', '.join(names())}")
    loader, variants = found
    if variant is not None and variant not in variants:
        raise BadInput(f"dataset {name} has no variant {variant!r}",
                       fix=f"use one of: {', '.join(variants)}" if variants else "drop --variant")
    if data is None and name in ("local", "fstar"):
        raise BadInput(f"dataset {name} needs a folder", fix=f"pass --data DIR (the folder of {name} files)")
    root = data if data is not None else data_root()
    if not root.exists():
        raise BadInput(f"benchmark data folder {root} does not exist",
                       fix="set QED_BENCH_DATA to the folder holding the benchmarks (see its README)")
    return loader(root, variant)


def select(tasks: list[BenchTask], *, ids: list[str] | None = None, pattern: str | None = None,
           limit: int | None = None, shuffle: int | None = None) -> list[BenchTask]:
    """`--tasks` (in the order given; an unknown id is bad input), `--filter GLOB`, `--shuffle SEED`, `--limit N`."""
    if ids:
        by_id = {t.id: t for t in tasks}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise BadInput(f"unknown task id(s): {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}",
                           fix="use the upstream names (list them with `qed bench --list`)")
        tasks = [by_id[i] for i in dict.fromkeys(ids)]
    if pattern:
        tasks = [t for t in tasks if fnmatch.fnmatchcase(t.id, pattern)]
    if shuffle is not None:
        tasks = list(tasks)
        random.Random(shuffle).shuffle(tasks)
    if limit is not None:
        tasks = tasks[:limit]
    return tasks


def read_ids(spec: str) -> list[str]:
    """`ID,ID,...` or `@FILE` (one id a line; blank lines and `#` comments skipped)."""
    if spec.startswith("@"):
        path = Path(spec[1:])
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise BadInput(f"cannot read the task list {path}: {e.strerror or e}", fix="check the path") from None
        return [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]
    return [s.strip() for s in spec.split(",") if s.strip()]
