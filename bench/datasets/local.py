"""`local`: a folder of the user's own task files (`qed synth` tasks; a `ground_truth:` next to each YAML is
not part of the task schema, so an answer for the oracle is a file `<id>.solution<suffix>` beside it)."""

from __future__ import annotations

from pathlib import Path

from verifier.errors import BadInput

from ..tasks import BenchTask


def local(root: Path, variant: str | None) -> list[BenchTask]:
    from verifier.tasks import load_task

    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise BadInput(f"{root} holds no task file (*.yaml)", fix="pass --data with a folder of qed task files")
    tasks = []
    for f in files:
        t = load_task(f)
        given = t.spec if t.spec is not None else t.program
        suffix = t.language_spec().suffix
        truth = f.parent / f"{t.id}.solution{suffix}"
        tasks.append(BenchTask(
            dataset="local", id=t.id, language=t.language, mode=t.mode, description=t.description,
            given=Path(given).read_text(encoding="utf-8") if given is not None else None,
            ground_truth=truth.read_text(encoding="utf-8") if truth.is_file() else None,
            examples=tuple((e.call, e.expect) for e in t.examples), meta={"file": str(f)}))
    return tasks
