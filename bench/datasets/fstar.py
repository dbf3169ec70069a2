"""FStarDataSet (microsoft/FStarDataSet): JSON files (`train.json`, `valid.json`, `test_intra_project.json`,
`test_cross_project.json`), each a list of definitions with at least `file_name`, `name`, `source_type` (the
definition's type: the goal) and `source_definition` (the reference definition and proof), plus the context
(`opens_and_abbrevs`, `vconfig`, ...). A task: give a definition of `name` with type `source_type`; the ground
truth is `source_definition`. The data is not on this machine (about 1 GB on a model hub): `--data DIR`."""

from __future__ import annotations

import json
from pathlib import Path

from verifier.errors import BadInput
from verifier.tasks import Mode

from ..tasks import BenchTask
from .files import read_text

LANGUAGE = "fstar"
REQUIRED = ("file_name", "name", "source_type", "source_definition")


def _module_header(row: dict) -> str:
    module = Path(str(row["file_name"])).stem
    lines = [f"module {module}"]
    for item in row.get("opens_and_abbrevs") or ():
        if isinstance(item, dict) and item.get("open"):
            lines.append(f"open {item['open']}")
        elif isinstance(item, dict) and item.get("abbrev") and item.get("full_module"):
            lines.append(f"module {item['abbrev']} = {item['full_module']}")
    return "\n".join(lines) + "\n"


def fstar_dataset(root: Path, variant: str | None) -> list[BenchTask]:
    files = [root] if root.is_file() else sorted(root.glob("*.json"))
    if not files:
        raise BadInput(f"{root} holds no FStarDataSet .json file", fix="pass --data with the dataset's JSON files")
    tasks = []
    seen: set[str] = set()
    for path in files:
        try:
            rows = json.loads(read_text(path))
        except ValueError as e:
            raise BadInput(f"{path} is not valid JSON: {e}", fix="pass the dataset's JSON files as published") from None
        if not isinstance(rows, list):
            raise BadInput(f"{path} must hold a JSON list of definitions", fix="pass the dataset's JSON files")
        for n, row in enumerate(rows):
            if not isinstance(row, dict) or any(not isinstance(row.get(k), str) for k in REQUIRED):
                raise BadInput(f"{path}: entry {n} lacks one of {', '.join(REQUIRED)}",
                               fix="pass the dataset's JSON files as published")
            tid = row["name"]
            if tid in seen:
                continue
            seen.add(tid)
            header = _module_header(row)
            short = tid.rsplit(".", 1)[-1]
            contract = f"{header}\nval {short} : {row['source_type']}\n"
            truth = f"{header}\n{row['source_definition']}\n"
            tasks.append(BenchTask(
                dataset="fstar", id=tid, language=LANGUAGE, mode=Mode.implement,
                description=f"Define `{short}` in F* with the type `{row['source_type']}` and prove it.",
                given=contract, ground_truth=truth, meta={"file_name": row["file_name"], "split": path.stem}))
    return tasks
