"""The shipped defects lists: ground truths that do not pass, with the verifier's reason
(`bench/defects/<dataset>.json`: `{"dataset", "defects": [{"id", "status", "reason"}]}`). Data, kept apart from
code; the oracle reports a failing ground truth missing from its list as a *new* defect."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "defects"


@dataclass(frozen=True)
class KnownDefect:
    id: str
    status: str
    reason: str


def known(dataset: str) -> dict[str, KnownDefect]:
    path = FOLDER / f"{dataset}.json"
    if not path.is_file():
        return {}
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {d["id"]: KnownDefect(d["id"], d.get("status", ""), d["reason"]) for d in doc.get("defects", [])}
