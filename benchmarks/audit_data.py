"""Loaders for `qed audit` benchmarks: MBPP-DFY (dafny-synthesis) and HumanEval-Dafny, each task as a contract
(the program with its method bodies removed), its reference implementation, and its own tests as examples.

* MBPP-DFY-153: `src/task_id_N.dfy` (the verified method: contract and implementation) and `test/task_id_N.dfy`
  (its tests: `var a1 := new int[] [...]; var out1 := F(a1); assert out1 == E;`, or `expect`, or a `print` with
  the expected value in a `//expected` comment). Variables holding arrays or literals are substituted into the
  call.
* HumanEval-Dafny: `NNN-name.dfy` and `tests/NNN-name.dfy` (`{var v := F(args); expect v == E, "...";}`).

Read as they are laid out in /work/shared/benchmarks (never copied into the project).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BENCH = REPO.parent / "shared" / "benchmarks"
MBPP = BENCH / "dafny-synthesis" / "MBPP-DFY-153"
HUMANEVAL = BENCH / "HumanEval-Dafny"


@dataclass
class AuditTask:
    id: str
    impl: Path
    contract: str  # the implementation without method bodies
    examples: list[tuple[str, str]] = field(default_factory=list)
    members: list[str] = field(default_factory=list)  # methods whose bodies were removed


def strip_bodies(src: str) -> tuple[str, list[str]]:
    """The program with the bodies of its methods removed (functions, predicates and lemmas keep theirs)."""
    from backends.dafny.syntax import outline

    ol = outline(src)
    cuts, names = [], []
    for d in ol.walk():
        if d.kind == "method" and d.body is not None and d.name != "Main" and "Test" not in d.name:
            a, b = ol.tokens[d.body[0]].offset, ol.tokens[d.body[1] - 1].end
            cuts.append((a, b))
            names.append(d.qualified)
    out, pos = [], 0
    for a, b in sorted(cuts):
        out.append(src[pos:a])
        pos = b
    out.append(src[pos:])
    return "".join(out), names


_VAR = re.compile(r"var\s+(\w+)\s*(?::\s*[^:=;]+)?:=\s*(.+?);", re.S)
_HE_TEST = re.compile(r"var\s+(\w+)\s*:=\s*(.+?);\s*expect\s+\1\s*==\s*(.+?)\s*,\s*\"test \d+ failed\"", re.S)


def _substitute(expr: str, env: dict[str, str]) -> str:
    return re.sub(r"\b(\w+)\b", lambda m: env.get(m.group(1), m.group(1)), expr)


def mbpp_examples(test_src: str, members: list[str]) -> list[tuple[str, str]]:
    """(call, expect) pairs from an MBPP-DFY test method (see the module docstring)."""
    names = {m.split(".")[-1] for m in members}
    env: dict[str, str] = {}
    pending: dict[str, str] = {}
    out: list[tuple[str, str]] = []
    body = test_src
    for m in re.finditer(r"var\s+([\w, ]+?)\s*(?::\s*[^:=;]+)?:=\s*(.+?);|assert\s*\(?\s*(\w+)\s*==\s*(.+?)\s*\)?\s*;"
                         r'|expect\s+(\w+)\s*==\s*(.+?)\s*(?:,\s*"[^"\n]*"\s*)?;'
                         r"|print\s*\(?\s*(\w+)\s*\)?\s*;[^\n]*\n\s*//\s*expected\s*"
                         r":?\s*([^\n;]+)", body):
        if m.group(1):
            var, rhs = m.group(1).strip(), " ".join(m.group(2).split())
            callee = rhs.split("(")[0].strip()
            if callee in names and "," not in var:
                pending[var] = _substitute(rhs, env)
            elif "," not in var:
                env[var] = rhs
        else:
            var, exp = (m.group(3), m.group(4)) if m.group(3) else (m.group(5), m.group(6)) if m.group(5) else \
                (m.group(7), m.group(8))
            if var in pending:
                exp = exp.strip().rstrip(";").strip()
                if exp:
                    out.append((pending[var], _substitute(exp, env)))
    return out


def mbpp_tasks(limit: int | None = None) -> list[AuditTask]:
    out = []
    for src in sorted((MBPP / "src").glob("task_id_*.dfy"), key=lambda p: int(p.stem.split("_")[-1])):
        test = MBPP / "test" / src.name
        text = src.read_text(encoding="utf-8")
        contract, members = strip_bodies(text)
        exs = mbpp_examples(test.read_text(encoding="utf-8"), members) if test.exists() else []
        out.append(AuditTask(f"mbpp/{src.stem}", src, contract, exs, members))
        if limit is not None and len(out) >= limit:
            break
    return out


def humaneval_tasks(limit: int | None = None) -> list[AuditTask]:
    out = []
    for src in sorted(HUMANEVAL.glob("[0-9][0-9][0-9]-*.dfy")):
        test = HUMANEVAL / "tests" / src.name
        text = src.read_text(encoding="utf-8")
        contract, members = strip_bodies(text)
        exs = []
        if test.exists():
            exs = [(" ".join(c.split()), " ".join(e.split())) for _, c, e in _HE_TEST.findall(test.read_text())]
        out.append(AuditTask(f"humaneval/{src.stem}", src, contract, exs, members))
        if limit is not None and len(out) >= limit:
            break
    return out
