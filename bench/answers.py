"""`--answers DIR`: one candidate file per task, matched by file name (the name starts with the task id, then a
character that is not a letter or digit, or the suffix: `DA0042_vericoded.dfy`, `task_id_2.dfy`; a dataset may
give aliases, e.g. `HumanEval_12.dfy` for HumanEval-Dafny's `012-longest`)."""

from __future__ import annotations

from pathlib import Path

from verifier.errors import BadInput

from .tasks import BenchTask


def match_answers(folder: Path, tasks: list[BenchTask]) -> dict[tuple[str, str], Path]:
    """Task key -> answer file. The longest matching id wins (`task_id_10` over `task_id_1`); a file in a
    language other than its task's is not an answer to it."""
    if not folder.is_dir():
        raise BadInput(f"answers folder {folder} does not exist", fix="pass the folder holding one file per task")
    by_id: dict[str, list[BenchTask]] = {}
    for t in tasks:
        by_id.setdefault(t.id, []).append(t)
        for alias in {t.name, *t.meta.get("aliases", ())} - {t.id}:
            by_id.setdefault(alias, []).append(t)
    found: dict[tuple[str, str], Path] = {}
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = f.name
        cuts = [i for i in range(1, len(name) + 1) if i == len(name) or not name[i].isalnum()]
        for i in sorted(cuts, reverse=True):
            for t in by_id.get(name[:i], ()):
                if t.key not in found and any(name.endswith(s) for s in _suffixes(t.language)):
                    found[t.key] = f
            if any(t.key in found for t in by_id.get(name[:i], ())):
                break
    return found


def _suffixes(language: str) -> tuple[str, ...]:
    from backends import registry

    return registry.plugin_for_language(language).language.suffixes
