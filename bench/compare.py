"""`qed bench compare RUN_A RUN_B`: the tasks whose verdict differs between two runs, with both reasons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from verifier.errors import BadInput


def load_report(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "report.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{run_dir} has no report.json", fix="pass the folder of a finished (or resumed) "
                                                             "`qed bench` run") from None
    except (OSError, ValueError) as e:
        raise BadInput(f"{path} is not readable: {e}", fix="run `qed bench --resume` on it to write it again") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("tasks"), list):
        raise BadInput(f"{path} is not a qed bench report", fix="pass the folder of a `qed bench` run")
    return doc


def compare(a: Path, b: Path) -> dict[str, Any]:
    """`{"flipped": [{dataset, id, a: {status, reason}, b: {...}}], "only_a", "only_b", "passed_a", "passed_b"}`."""
    ra, rb = load_report(a), load_report(b)
    ta = {(t["dataset"], t["id"]): t for t in ra["tasks"]}
    tb = {(t["dataset"], t["id"]): t for t in rb["tasks"]}
    flipped = []
    for key in [k for k in ta if k in tb]:
        x, y = ta[key], tb[key]
        if x["status"] != y["status"]:
            flipped.append({"dataset": key[0], "id": key[1],
                            "a": {"status": x["status"], "reason": x["reason"]},
                            "b": {"status": y["status"], "reason": y["reason"]}})
    return {"run_a": str(a), "run_b": str(b), "flipped": flipped,
            "only_a": [f"{d}/{i}" for d, i in ta if (d, i) not in tb],
            "only_b": [f"{d}/{i}" for d, i in tb if (d, i) not in ta],
            "passed_a": sum(t["status"] == "passed" for t in ta.values()),
            "passed_b": sum(t["status"] == "passed" for t in tb.values())}


def render(doc: dict[str, Any]) -> str:
    lines = [f"{doc['run_a']}: {doc['passed_a']} passed; {doc['run_b']}: {doc['passed_b']} passed; "
             f"{len(doc['flipped'])} task(s) flipped"]
    for f in doc["flipped"]:
        lines.append(f"  {f['dataset']}/{f['id']}: {f['a']['status']} ({_short(f['a']['reason'])}) -> "
                     f"{f['b']['status']} ({_short(f['b']['reason'])})")
    for key, label in (("only_a", "only in A"), ("only_b", "only in B")):
        if doc[key]:
            lines.append(f"  {len(doc[key])} task(s) {label}: {', '.join(doc[key][:10])}"
                         f"{' ...' if len(doc[key]) > 10 else ''}")
    return "\n".join(lines)


def _short(s: str, n: int = 100) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 3] + "..."
