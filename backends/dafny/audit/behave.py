"""Run variants of a program (the original and its mutants), compiled to Python by Dafny, on the same inputs.

All variants go into one program, each in its own module (`QedV0`, `QedV1`, ...), with a `QedAuditMain` that
calls the member of every variant on every input and prints one tagged line per call (results, and the contents
of array arguments after the call). `dafny run --no-verify --target py` runs it (each variant was verified
before, or is the original). When Dafny refuses the combined program (a variant that cannot be nested in a
module), each variant is run on its own.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from backends.audit_protocol import BehaviourRun
from verifier import procs

from ..pybuild.interface import Member, read_interface
from ..runner import dafny_env
from .calls import parse_call

_LINE = re.compile(r"^qed#(?P<v>\d+)#(?P<i>\d+) (?P<out>.*)$")
_BANNER = "Dafny program verifier did not attempt verification"


def _harness(member: Member, inputs: Sequence[str], variants: Sequence[str | None]) -> str | None:
    """`method QedAuditMain()` calling `member` in each variant module (None: unqualified) on each input."""
    lines = ["method QedAuditMain()", "{"]
    for v, module in enumerate(variants):
        for i, text in enumerate(inputs):
            call = parse_call(text)
            if call is None:
                return None
            callee = call.callee.split(".")[-1]
            prefix = "".join(m + "." for m in member.module)
            if module is not None:
                call.callee = f"{module}.{prefix}{callee}"
            rs = [f"qedr{k}" for k in range(1, len(member.outs) + 1)]
            shown = []
            for r, p in zip(rs, member.outs):
                shown.append(f"{r}[..]" if p.type[0] == "array" else r)
            for arg, p in zip(call.args, member.params):
                if p.type[0] == "array" and arg.startswith("qeda"):
                    shown.append(f"{arg}[..]")
            parts = ", \" | \", ".join(shown) or '"()"'
            bind = f"var {', '.join(rs)} := {call.text()}; " if rs else f"{call.text()}; "
            lines.append(f"  {{ {' '.join(call.setup)} {bind}print \"qed#{v}#{i} \", {parts}, \"\\n\"; }}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _run(install, text: str, tmp: Path, name: str, timeout: float) -> tuple[str, str, int | None]:
    f = tmp / f"{name}.dfy"
    f.write_text(text, encoding="utf-8")
    argv = [str(install.path), "run", "--no-verify", "--allow-warnings", "--target", "py", *install.extra_args,
            "--main-method", "QedAuditMain", str(f)]
    # the resident memory of Dafny and the compiled program together is capped (.NET reserves far more address
    # space than it uses, so no address-space limit)
    r = procs.start(argv, timeout=timeout, cwd=tmp, env=dafny_env(), rss_mb=4096).wait()
    if r.timed_out:
        return "", f"timed out after {timeout:.0f} s", None
    return r.stdout, r.stderr, r.returncode


def _collect(out: str, run: BehaviourRun, labels: Sequence[str], offset: int = 0) -> None:
    for line in out.splitlines():
        m = _LINE.match(line)
        if m:
            v, i = int(m["v"]) + offset, int(m["i"])
            if v < len(labels) and i < len(run.inputs):
                run.outputs[labels[v]][i] = m["out"]


def run_variants(install, member_name: str, variants: dict[str, str],
                 inputs: Sequence[str], timeout: float = 600.0) -> BehaviourRun:
    """See the module docstring. `variants` maps a label to a whole program; the member is looked up in the
    first one."""
    start = time.monotonic()
    run = BehaviourRun(inputs=list(inputs), outputs={k: [None] * len(inputs) for k in variants})
    labels = list(variants)
    if not labels or not inputs:
        run.problem = "nothing to run"
        return run
    api = read_interface(variants[labels[0]])
    member = next((m for m in api.members if m.qualified == member_name), None)
    if member is None:
        run.problem = f"{member_name} is not a compiled member of the implementation"
        return run
    with tempfile.TemporaryDirectory(prefix="qed-audit-run-") as tmp_name:
        tmp = Path(tmp_name)
        mods = [f"QedV{n}" for n in range(len(labels))]
        harness = _harness(member, inputs, mods)
        if harness is None:
            run.problem = "an input is not a call qed can run"
            return run
        combined = "".join(f"module {m} {{\n{variants[k]}\n}}\n" for m, k in zip(mods, labels)) + harness
        out, err, rc = _run(install, combined, tmp, "variants", timeout)
        if rc == 0:
            _collect(out, run, labels)
        else:  # one program per variant
            first_problem = None
            for n, k in enumerate(labels):
                single = _harness(member, inputs, [None])
                out, err, rc = _run(install, variants[k] + "\n" + (single or ""), tmp, f"variant{n}", timeout)
                if rc == 0:
                    _collect(out, run, [k])
                elif first_problem is None:
                    first_problem = _first_error(out + "\n" + err) or f"dafny run exited with {rc}"
            if all(v is None for outs in run.outputs.values() for v in outs):
                run.problem = f"the variants could not be compiled and run: {first_problem}"
    run.duration_s = round(time.monotonic() - start, 3)
    return run


def _first_error(text: str) -> str | None:
    for line in text.splitlines():
        if "Error" in line or "Traceback" in line:
            return " ".join(line.split())[:300]
    return None
