"""A benchmark task: the `verifier.tasks.Task` that `qed synth` runs, plus what the benchmark gives besides.

Loaders build tasks in memory; `materialize(folder)` writes the given files (contract or program) and returns
the synth `Task` whose `spec`/`program` point at them, so a benchmark task takes exactly the path a user's
task file takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verifier.tasks import Example, Mode, Task

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(task_id: str) -> str:
    """A file and synth-task name for an upstream id (upstream ids may hold spaces: DafnyBench's do)."""
    name = _SAFE.sub("_", task_id).strip("._-") or "task"
    if not name[0].isalnum():
        name = "t" + name
    return name[:100]


@dataclass(frozen=True)
class BenchTask:
    """One task of a dataset. `id` is the upstream name; `given` the contract (implement) or the program to
    annotate (annotate), None from a description; `ground_truth` the dataset's own solution (None: the dataset
    has none); `oracle_contract` what the ground truth is checked against when the task itself gives no
    contract (the write-the-contract variants); `meta` dataset facts (e.g. vericoding's `source`)."""

    dataset: str
    id: str
    language: str
    mode: Mode
    description: str
    given: str | None = None
    ground_truth: str | None = None
    oracle_contract: str | None = None
    examples: tuple[tuple[str, str], ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.dataset, self.id)

    @property
    def name(self) -> str:
        return safe_name(self.id)

    def suffix(self) -> str:
        """The file suffix of the task's language (from the backend registry)."""
        from backends import registry

        return registry.plugin_for_language(self.language).language.suffix

    def materialize(self, folder: Path) -> Task:
        """Write the given file into `folder` and return the synth task (validated) that refers to it."""
        folder.mkdir(parents=True, exist_ok=True)
        spec = program = None
        if self.given is not None:
            role = "spec" if self.mode == Mode.implement else "program"
            path = folder / f"{self.name}.{role}{self.suffix()}"
            _write(path, self.given)
            spec, program = (path, None) if role == "spec" else (None, path)
        return Task.model_validate({
            "id": self.name, "language": self.language, "description": self.description,
            "spec": spec, "program": program,
            "examples": [Example(call=c, expect=e) for c, e in self.examples]})

    def oracle_files(self, folder: Path) -> tuple[Path | None, Path | None]:
        """(contract, program) the ground truth is checked against, written into `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        text = self.given if self.given is not None else self.oracle_contract
        if text is None:
            return None, None
        annotate = self.mode == Mode.annotate
        path = folder / f"{self.name}.{'program' if annotate else 'spec'}{self.suffix()}"
        _write(path, text)
        return (None, path) if annotate else (path, None)


def _write(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
