"""Run a built package's generated property tests in a child process (timeout, memory limit), never in qed."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pydantic import BaseModel, Field

from verifier import procs
from verifier.errors import ToolchainError

_MARK = "QED-TEST-REPORT "


class ClauseResult(BaseModel):
    clause: str
    status: str  # pass | fail | not_evaluable | untested | inconclusive (an unchecked requires may be broken)
    checked: int = 0
    slow: int = 0  # evaluations skipped because the clause took longer than QED_CALL_SECONDS
    counterexample: str | None = None
    reason: str | None = None


class MemberTests(BaseModel):
    member: str
    python: str
    tried: int
    valid: int
    slow: int = 0  # inputs skipped: a call took longer than QED_CALL_SECONDS or hit Python's recursion limit
    unsatisfiable: bool = False
    errors: list[str] = Field(default_factory=list)
    inconclusive_errors: list[str] = Field(default_factory=list)  # may come from an unchecked requires
    unchecked_requires: list[str] = Field(default_factory=list)
    clauses: list[ClauseResult] = Field(default_factory=list)


class ExampleResult(BaseModel):
    call: str
    expect: str
    status: str  # pass | fail | not_evaluable
    reason: str | None = None


class TestReport(BaseModel):
    ok: bool
    timed_out: bool = False
    members: list[MemberTests] = Field(default_factory=list)
    examples: list[ExampleResult] = Field(default_factory=list)
    max_examples: int = 0
    duration_s: float = 0.0
    problem: str | None = None  # the child crashed, ran out of memory or printed no report

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.members:
            for c in m.clauses:
                out[c.status] = out.get(c.status, 0) + 1
        return out


def run_tests(test_file: Path, *, timeout: float = 300.0, memory_mb: int | None = 2048,
              max_examples: int = 100, call_seconds: float = 2.0) -> TestReport:
    test_file = Path(test_file).resolve()
    env = dict(os.environ)
    env["QED_MAX_EXAMPLES"] = str(max_examples)
    env["QED_CALL_SECONDS"] = str(call_seconds)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    try:
        res = procs.run([sys.executable, str(test_file), "--json"], timeout=timeout, cwd=test_file.parent, env=env,
                        memory_mb=memory_mb)
    except OSError as e:
        raise ToolchainError(f"cannot start Python for the tests: {e}", fix="check the Python installation") from e
    line = next((ln for ln in reversed(res.stdout.splitlines()) if ln.startswith(_MARK)), None)
    if res.timed_out:
        return TestReport(ok=False, timed_out=True, duration_s=round(res.duration_s, 3),
                          problem=f"the tests did not finish within {timeout:.0f} s (killed)")
    if line is None:
        tail = " ".join((res.stderr or res.stdout).split())[-400:]
        return TestReport(ok=False, duration_s=round(res.duration_s, 3),
                          problem=f"the test process exited {res.returncode} without a report: {tail}")
    data = json.loads(line[len(_MARK):])
    members = [MemberTests(**{k: v for k, v in m.items() if k in MemberTests.model_fields}) for m in data["members"]]
    examples = [ExampleResult(**e) for e in data["examples"]]
    ok = all(not m.errors and all(c.status != "fail" for c in m.clauses) for m in members) and \
        all(e.status != "fail" for e in examples)
    return TestReport(ok=ok, members=members, examples=examples, max_examples=data.get("max_examples", 0),
                      duration_s=round(res.duration_s, 3))


def render(report: TestReport) -> str:
    lines = []
    for m in report.members:
        lines.append(f"{m.python}: {m.valid} of {m.tried} drawn inputs met the preconditions"
                     + (f", {m.slow} skipped as too slow or too deep" if m.slow else "")
                     + (" (none found: untested)" if m.unsatisfiable or not m.valid else ""))
        for c in m.clauses:
            extra = f" -- {c.counterexample}" if c.counterexample else ""
            if c.status == "not_evaluable":
                extra = f" -- {c.reason}"
            lines.append(f"  {c.status:13} ensures {c.clause}{extra}")
        for e in m.errors:
            lines.append(f"  error: {e}")
        for e in m.inconclusive_errors:
            lines.append(f"  inconclusive: {e}")
    for e in report.examples:
        lines.append(f"example {e.call} == {e.expect}: {e.status}" + (f" ({e.reason})" if e.reason else ""))
    if report.problem:
        lines.append(f"problem: {report.problem}")
    c = report.counts()
    summary = ", ".join(f"{v} {k}" for k, v in sorted(c.items())) or "no postconditions"
    ex = f"; examples {sum(e.status == 'pass' for e in report.examples)}/{len(report.examples)} pass" \
        if report.examples else ""
    lines.append(f"{'PASS' if report.ok else 'FAIL'}: clauses {summary}{ex} in {report.duration_s:.1f} s")
    return "\n".join(lines)
