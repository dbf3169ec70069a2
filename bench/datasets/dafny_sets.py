"""Loaders of the Dafny datasets: DafnyBench, MBPP-DFY-153, HumanEval-Dafny, vericoding."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from verifier.errors import BadInput
from verifier.tasks import Mode

from ..tasks import BenchTask
from .files import read_text, require_dir

LANGUAGE = "dafny"
ANNOTATE_TEXT = ("Add the proof hints (loop invariants, assertions, lemmas, ghost code) that make this program "
                 "verify, without changing its code or its specification.")


def strip_bodies(src: str, keep: Callable[[object, str], bool]) -> str:
    """`src` with the body of every method for which `keep(decl, body_text)` is false removed (the member
    becomes bodiless: an obligation of the contract). Functions, predicates and lemmas keep their bodies."""
    from backends.dafny.syntax import outline

    out = outline(src)
    cuts = []
    for d in out.walk():
        if d.kind not in ("method", "constructor") or d.body is None:
            continue
        a, b = d.body
        start, end = out.tokens[a].offset, out.tokens[b - 1].end
        if not keep(d, src[start:end]):
            cuts.append((start, end))
    for start, end in sorted(cuts, reverse=True):
        src = src[:start].rstrip() + "\n" + src[end:]
    return src


# --- DafnyBench ---------------------------------------------------------------------------------------------


def dafnybench(root: Path, variant: str | None) -> list[BenchTask]:
    """782 annotate tasks: `hints_removed/X_no_hints.dfy` is the program, `ground_truth/X.dfy` the answer."""
    base = require_dir(root / "DafnyBench" / "DafnyBench" / "dataset", "dafnybench")
    tasks = []
    for nh in sorted((base / "hints_removed").glob("*_no_hints.dfy")):
        name = nh.name[: -len("_no_hints.dfy")]
        gt = base / "ground_truth" / f"{name}.dfy"
        tasks.append(BenchTask(
            dataset="dafnybench", id=name, language=LANGUAGE, mode=Mode.annotate, description=ANNOTATE_TEXT,
            given=read_text(nh), ground_truth=read_text(gt) if gt.is_file() else None))
    return tasks


# --- MBPP-DFY-153 -------------------------------------------------------------------------------------------

# comments go, except those that state an expected value (`// expected X`, or a check the authors disabled)
_COMMENT = re.compile(r"/\*.*?\*/|//(?!\s*(?:expected|expect|assert)\b)[^\n]*", re.S | re.I)
_TEST_STMT = re.compile(
    r"\bvar\s+(?P<var>\w+)\s*(?::[^:=;]+)?:=\s*(?P<rhs>[^;]+);"
    r"|\b(?:expect|assert)\s*(?P<paren>\()?\s*(?P<checked>\w+)\s*==\s*(?P<check>[^;]+);"
    r"|//\s*expected\b\s*:?\s*(?P<printed>[^\n]+)", re.I)
_MESSAGE = re.compile(r'\s*,\s*"[^"\n]*"\s*$')


def _substitute(expr: str, values: dict[str, str]) -> str:
    return re.sub(r"\b(\w+)\b", lambda m: values.get(m.group(1), m.group(1)), expr) if values else expr


def mbpp_examples(test_src: str, methods: set[str]) -> tuple[tuple[str, str], ...]:
    """(call, expected) pairs of a `test/task_id_N.dfy` program: each `var r := M(args);` calling one of the
    task's `methods`, with what the test then says of `r`: `expect r == E;`, `assert r == E;`, `assert (r ==
    E);`, the same check disabled by the authors (`//assert r == E;`: they still state the expected value), or
    an `// expected E` comment below the line that prints it.
    Variables holding inputs (`var a1 := new int[] [1, 2];`) are replaced by their initializers."""
    values: dict[str, str] = {}
    calls: dict[str, str] = {}
    last: str | None = None
    out: list[tuple[str, str]] = []
    for m in _TEST_STMT.finditer(_COMMENT.sub("", test_src)):
        if m.group("var"):
            var, rhs = m.group("var"), " ".join(m.group("rhs").split())
            if rhs.split("(", 1)[0].strip() in methods:
                calls[var], last = _substitute(rhs, values), var
            else:
                values[var] = rhs
            continue
        if m.group("checked"):
            var, expected = m.group("checked"), _MESSAGE.sub("", m.group("check").strip())
            if m.group("paren") and expected.endswith(")"):
                expected = expected[:-1].rstrip()
        else:
            var, expected = last, m.group("printed").strip().rstrip(";").strip()
        if var is not None and var in calls and expected:
            out.append((calls.pop(var), _substitute(" ".join(expected.split()), values)))
    return tuple(out)


def _methods_with_bodies(src: str) -> set[str]:
    from backends.dafny.syntax import outline

    return {d.name for d in outline(src).walk() if d.kind in ("method", "constructor") and d.body is not None}


def mbpp_dfy(root: Path, variant: str | None) -> list[BenchTask]:
    """166 implement tasks: contract = `src/task_id_N.dfy` with method bodies removed; ground truth = the src
    file; the NL text from MBPP-san-DFY-228's JSON where it has the task; examples from `test/`."""
    base = require_dir(root / "dafny-synthesis" / "MBPP-DFY-153", "mbpp-dfy")
    texts: dict[str, str] = {}
    js = root / "dafny-synthesis" / "MBPP-san-DFY-228" / "mbpp-san-dfy-228-all-task-test.json"
    if js.is_file():
        try:
            data = json.loads(read_text(js))
        except ValueError as e:
            raise BadInput(f"{js} is not valid JSON: {e}", fix="restore the dataset file") from None
        for key, row in (data.items() if isinstance(data, dict) else ()):
            if isinstance(row, dict) and isinstance(row.get("task_description"), str):
                texts[str(row.get("task_id", key))] = row["task_description"]

    def number(p: Path) -> int:
        return int(p.stem.rsplit("_", 1)[-1]) if p.stem.rsplit("_", 1)[-1].isdigit() else 0

    tasks = []
    for src in sorted((base / "src").glob("task_id_*.dfy"), key=lambda p: (number(p), p.name)):
        text = read_text(src)
        test = base / "test" / src.name
        n = src.stem.rsplit("_", 1)[-1]
        desc = texts.get(n) or f"Implement the methods of MBPP task {n} so that they meet their specification."
        tasks.append(BenchTask(
            dataset="mbpp-dfy", id=src.stem, language=LANGUAGE, mode=Mode.implement, description=desc,
            given=strip_bodies(text, lambda d, body: False), ground_truth=text,
            examples=mbpp_examples(read_text(test), _methods_with_bodies(text)) if test.is_file() else ()))
    return tasks


# --- HumanEval-Dafny ----------------------------------------------------------------------------------------

# `{ var v := f(args); expect v == E, "test 3 failed"; }`: E ends at the message (it may hold `", "` itself)
_HE_TEST = re.compile(r'var\s+(\w+)\s*:=\s*(.+?);\s*expect\s+\1\s*==\s*(.+?)\s*,\s*"[^"\n]*"\s*;', re.S)


def humaneval_dafny(root: Path, variant: str | None) -> list[BenchTask]:
    """132 tasks `NNN-name.dfy`: the contract is the file with every `// impl-start` body removed (the marker
    comments keep pre- and postconditions); `text-descriptions/` is the NL, `tests/` the examples. Variant
    `write-contract`: the model writes the contract from the description (the oracle still checks the ground
    truth against the marked contract)."""
    base = require_dir(root / "HumanEval-Dafny", "humaneval-dafny")
    write = variant == "write-contract"
    tasks = []
    for f in sorted(base.glob("*.dfy")):
        text = read_text(f)
        contract = strip_bodies(text, lambda d, body: "impl-start" not in body)
        desc_file = base / "text-descriptions" / f"{f.stem}.txt"
        desc = read_text(desc_file).strip() if desc_file.is_file() else ""
        desc = desc or f"Implement HumanEval problem {f.stem} in Dafny so that it meets its specification."
        test = base / "tests" / f.name
        found = _HE_TEST.findall(read_text(test)) if test.is_file() else []
        examples = tuple((" ".join(c.split()), " ".join(e.split())) for _, c, e in found)
        tasks.append(BenchTask(
            dataset="humaneval-dafny", id=f.stem, language=LANGUAGE,
            mode=Mode.from_description if write else Mode.implement, description=desc,
            given=None if write else contract, ground_truth=text, oracle_contract=contract if write else None,
            examples=examples, meta={"variant": variant or "implement", "aliases": _humaneval_alias(f.stem)}))
    return tasks


def _humaneval_alias(stem: str) -> list[str]:
    """`012-longest` is HumanEval problem 12: answers published as `HumanEval_12.dfy` match it too."""
    head = stem.split("-", 1)[0]
    return [f"HumanEval_{int(head)}"] if head.isdigit() else []


# --- vericoding ---------------------------------------------------------------------------------------------

_VC_FIELDS = ("id", "vc-preamble", "vc-helpers", "vc-spec", "vc-postamble")


def vericoding(root: Path, variant: str | None) -> list[BenchTask]:
    """2,334 implement tasks of `jsonl/dafny_tasks.jsonl` (variant `all`: + the 695 of `dafny_issues.jsonl`):
    contract = preamble + helpers + spec + postamble; the spec's method is bodiless (to implement). Given
    members of the preamble (`{:axiom}` lemmas, bodies `assume {:axiom} false;`) are the task's trusted
    assumptions. No ground truth: replay published solutions with `--answers`."""
    base = require_dir(root / "vericoding" / "jsonl", "vericoding")
    files = ["dafny_tasks.jsonl"] + (["dafny_issues.jsonl"] if variant == "all" else [])
    tasks = []
    for name in files:
        path = base / name
        for n, line in enumerate(read_text(path).splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                raise BadInput(f"{path}:{n} is not valid JSON: {e}", fix="restore the dataset file") from None
            missing = [k for k in _VC_FIELDS if not isinstance(row.get(k), str)]
            if missing:
                raise BadInput(f"{path}:{n}: field(s) {', '.join(missing)} missing or not text",
                               fix="restore the dataset file")
            contract = "\n\n".join(s for s in (row["vc-preamble"], row["vc-helpers"], row["vc-spec"],
                                                row["vc-postamble"]) if s.strip()) + "\n"
            desc = (row.get("vc-description") or "").strip() or \
                "Implement the method of this contract so that it verifies (the specification stays unchanged)."
            tasks.append(BenchTask(
                dataset="vericoding", id=row["id"], language=LANGUAGE, mode=Mode.implement, description=desc,
                given=contract, meta={"source": row.get("source") or "", "set": name.split(".")[0]}))
    return tasks
