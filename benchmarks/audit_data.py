"""The tasks of the `qed audit` benchmarks (MBPP-DFY-153 and HumanEval-Dafny), read by `qed bench`'s own loaders
(`bench.datasets`): one reading of the datasets for `qed bench --audit-specs` and these scripts.

Each task is its contract (MBPP-DFY: the program with its method bodies removed; HumanEval-Dafny: the program
with every `// impl-start` body removed), its reference implementation (the program) and its own tests as
examples (see `bench.datasets.dafny_sets.mbpp_examples` and `humaneval_dafny`). Read as the datasets are laid
out in ../shared/benchmarks (or `$QED_BENCH_DATA`), never copied into the project.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

_IMPLS = Path(tempfile.mkdtemp(prefix="qed-audit-impls-"))  # reference implementations, as files for `--impl`
atexit.register(shutil.rmtree, _IMPLS, True)


@dataclass
class AuditTask:
    id: str  # `mbpp/task_id_3`, `humaneval/000-has_close_elements`
    impl: Path  # the reference implementation (a copy of the task's program)
    contract: str
    examples: list[tuple[str, str]] = field(default_factory=list)


def _tasks(dataset: str, prefix: str, limit: int | None) -> list[AuditTask]:
    from bench import datasets

    out = []
    for t in datasets.load(dataset)[:limit]:
        impl = _IMPLS / prefix / f"{t.id}.dfy"
        impl.parent.mkdir(parents=True, exist_ok=True)
        impl.write_text(t.ground_truth or "", encoding="utf-8")
        out.append(AuditTask(f"{prefix}/{t.id}", impl, t.given or "", [tuple(e) for e in t.examples]))
    return out


def mbpp_tasks(limit: int | None = None) -> list[AuditTask]:
    """The 166 MBPP-DFY-153 tasks, in task-number order."""
    return _tasks("mbpp-dfy", "mbpp", limit)


def humaneval_tasks(limit: int | None = None) -> list[AuditTask]:
    """The 132 HumanEval-Dafny tasks, in file order."""
    return _tasks("humaneval-dafny", "humaneval", limit)
