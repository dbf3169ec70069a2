"""Loaders of the Lean 4 datasets: CLEVER, Verina, FVAPPS. They load and validate; where the Lean backend or
toolchain is absent a run reports the tasks as `toolchain_absent` (decided by the backend registry)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from verifier.errors import BadInput
from verifier.tasks import Mode

from ..tasks import BenchTask
from .files import read_text, require_dir

LANGUAGE = "lean"
_SORRY = re.compile(r"\bsorry\b")

# --- CLEVER -------------------------------------------------------------------------------------------------

_CLEVER_BLOCK = re.compile(r"--\s*start_def\s+(\w+)\s*\n(.*?)--\s*end_def\s+\1\b", re.S)
_CLEVER_REQUIRED = ("problem_details", "problem_spec", "implementation_signature", "implementation",
                    "correctness_definition", "correctness_proof")
_DOCSTRING = re.compile(r"docstring:\s*(.*?)\n(?:test_cases|[a-z_]+:)", re.S)


def clever_blocks(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in _CLEVER_BLOCK.finditer(text)}


def clever(root: Path, variant: str | None) -> list[BenchTask]:
    """161 tasks `problem_N.lean` (`-- start_def X` ... `-- end_def X` blocks). The task: implement and prove
    `correctness` against the reference `problem_spec`; the contract is the file with `implementation` and
    `correctness_proof` emptied to `sorry`. Ground truth: the files whose implementation and proof are filled."""
    base = require_dir(root / "CLEVER" / "src" / "lean4" / "human_eval", "clever")
    tasks = []

    def number(p: Path) -> int:
        tail = p.stem.rsplit("_", 1)[-1]
        return int(tail) if tail.isdigit() else -1

    for f in sorted(base.glob("problem_*.lean"), key=lambda p: (number(p), p.name)):
        text = read_text(f)
        blocks = clever_blocks(text)
        missing = [b for b in _CLEVER_REQUIRED if b not in blocks]
        if missing:
            raise BadInput(f"{f}: CLEVER block(s) {', '.join(missing)} missing", fix="restore the dataset file")
        contract = text
        for name in ("implementation", "correctness_proof"):
            contract = _replace_block(contract, name, "sorry\n")
        solved = all(blocks[b].strip() and not _SORRY.search(blocks[b]) for b in ("implementation", "correctness_proof"))
        doc = _DOCSTRING.search(blocks["problem_details"])
        desc = (doc.group(1).strip() if doc else "") or f"CLEVER {f.stem}: implement and prove it correct."
        tasks.append(BenchTask(dataset="clever", id=f.stem, language=LANGUAGE, mode=Mode.implement,
                               description=desc, given=contract, ground_truth=text if solved else None))
    return tasks


def _replace_block(text: str, name: str, body: str) -> str:
    rx = re.compile(rf"(--\s*start_def\s+{name}\s*\n)(.*?)(--\s*end_def\s+{name}\b)", re.S)
    return rx.sub(lambda m: m.group(1) + body + m.group(3), text, count=1)


# --- Verina -------------------------------------------------------------------------------------------------

_VERINA_SECTION = re.compile(r"--\s*!benchmark\s+@start\s+(\w+)[^\n]*\n(.*?)--\s*!benchmark\s+@end\s+\1\b", re.S)
_VERINA_REQUIRED = ("precond", "code", "postcond", "proof")


def verina(root: Path, variant: str | None) -> list[BenchTask]:
    """189 tasks, one folder each (`description.txt`, `task.json`, `task.lean` with `-- !benchmark @start X`
    sections, `test.json`). The contract is `task.lean` with the `code` and `proof` sections set to `sorry`;
    ground truth: `task.lean` where its proof is complete."""
    base = require_dir(root / "Verina" / "datasets" / "verina", "verina")
    tasks = []
    for d in sorted(p for p in base.iterdir() if p.is_dir() and p.name.startswith("verina_")):
        lean, meta, desc_file = d / "task.lean", d / "task.json", d / "description.txt"
        for need in (lean, meta, desc_file):
            if not need.is_file():
                raise BadInput(f"{d}: {need.name} is missing", fix="restore the dataset folder")
        text = read_text(lean)
        sections = {m.group(1): m.group(2) for m in _VERINA_SECTION.finditer(text)}
        missing = [s for s in _VERINA_REQUIRED if s not in sections]
        if missing:
            raise BadInput(f"{lean}: section(s) {', '.join(missing)} missing", fix="restore the dataset file")
        try:
            info = json.loads(read_text(meta))
        except ValueError as e:
            raise BadInput(f"{meta} is not valid JSON: {e}", fix="restore the dataset file") from None
        contract = text
        for name in ("code", "proof"):
            contract = re.sub(rf"(--\s*!benchmark\s+@start\s+{name}\b[^\n]*\n)(.*?)(\s*--\s*!benchmark\s+@end\s+{name}\b)",
                              lambda m: m.group(1) + "  sorry" + m.group(3), contract, count=1, flags=re.S)
        proof = sections["proof"]
        solved = bool(proof.strip()) and not _SORRY.search(proof)
        examples = ()
        test = d / "test.json"
        if test.is_file():
            try:
                rows = json.loads(read_text(test))
                examples = tuple((json.dumps(r.get("input"), sort_keys=True), json.dumps(r.get("expected")))
                                 for r in rows if isinstance(r, dict) and "input" in r)
            except (ValueError, AttributeError, TypeError):
                examples = ()
        tasks.append(BenchTask(dataset="verina", id=d.name, language=LANGUAGE, mode=Mode.implement,
                               description=read_text(desc_file).strip() or d.name, given=contract,
                               ground_truth=text if solved else None, examples=examples,
                               meta={"name": (info.get("signature") or {}).get("name") if isinstance(info, dict)
                                     else None}))
    return tasks


# --- FVAPPS -------------------------------------------------------------------------------------------------

_FVAPPS_FIELDS = ("vc-description", "vc-preamble", "vc-definitions", "vc-theorems")


def fvapps(root: Path, variant: str | None) -> list[BenchTask]:
    """4,006 tasks, one YAML each (`vc-description`, `vc-preamble`, `vc-definitions` with `:= sorry`,
    `vc-theorems` all `sorry`); no reference solutions."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    base = require_dir(root / "FVAPPS" / "vericoding_fvapps" / "benchmarks" / "lean" / "fvapps" / "yaml", "fvapps")
    tasks = []
    for f in sorted(base.glob("*.yaml")):
        try:
            row = yaml.load(read_text(f), Loader=loader)  # noqa: S506 - a safe loader
        except yaml.YAMLError as e:
            raise BadInput(f"{f} is not valid YAML: {e}", fix="restore the dataset file") from None
        if not isinstance(row, dict) or any(not isinstance(row.get(k), str) for k in _FVAPPS_FIELDS):
            raise BadInput(f"{f}: fields {', '.join(_FVAPPS_FIELDS)} must be text", fix="restore the dataset file")
        contract = "\n\n".join(row.get(k) or "" for k in ("vc-preamble", "vc-helpers", "vc-definitions",
                                                          "vc-theorems", "vc-postamble") if (row.get(k) or "").strip())
        desc = row["vc-description"].strip().removeprefix("/-").removesuffix("-/").strip() or f.stem
        tasks.append(BenchTask(dataset="fvapps", id=f.stem, language=LANGUAGE, mode=Mode.implement,
                               description=desc, given=contract + "\n"))
    return tasks
