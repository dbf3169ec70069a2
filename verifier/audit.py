"""`qed audit`: is a contract strong enough? Findings proved by the verifier, never guessed.

`audit_contract(contract, examples, impl=..., mutants=N) -> AuditReport` asks the contract's backend (its
`ContractAuditor`, Capability.contract_audit; see `backends.audit_protocol`) and decides, per member to implement:

* `vacuous_precondition`: the verifier proved that no input satisfies the precondition;
* `example_contradicts`: the precondition rejects an example's input, or the postcondition forbids its output
  (or admits no output at all);
* `example_not_determined`: the contract admits another output for an example's input, with the witness the
  verifier confirmed (an example the verifier cannot decide is `undecided`: counted, shown, never a finding);
* `surviving_mutant`: a mutant of the implementation that verifies against the contract and returns something
  else than the original on an input that satisfies the precondition (compiled and run; the diff and that input
  are the evidence). A verified mutant that behaves like the original on every input tried is `equivalent`.

The report is `{"members": [{"name", "findings": [{"kind", "message", "line", "evidence"}], "summary"}]}`
(`verifier/schemas/audit-report.schema.json`, `qed schema --audit`).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backends.audit_protocol import AuditExample, ContractMember, ContractQueryRequest, ExampleCheck
from backends.base import Backend, Capability
from verifier.errors import BadInput

__all__ = ["AuditReport", "Finding", "FindingKind", "MemberAudit", "audit_contract", "audit_schema", "exit_code",
           "render_audit"]

FindingKind = Literal["vacuous_precondition", "example_contradicts", "example_not_determined", "surviving_mutant"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Finding(_Model):
    """One thing the contract lets through (or forbids), with what proves it."""

    kind: FindingKind
    message: str
    line: int | None = Field(None, description="line in the contract (or, for a mutant, in the implementation)")
    evidence: dict[str, Any] = Field(default_factory=dict)


class ExampleCounts(_Model):
    determined: int = 0
    allowed: int = 0
    contradicted: int = 0  # the expected output is forbidden, or the input is rejected
    undecided: int = 0
    unusable: int = 0  # the example could not be put to the verifier (no result, wrong arity, does not resolve)


class MutantCounts(_Model):
    tried: int = 0
    killed: int = 0  # do not verify against the contract
    surviving: int = 0  # verify and behave differently on some input (findings)
    equivalent: int = 0  # verify and behave like the original on every input tried
    invalid: int = 0  # do not parse or type-check
    undecided: int = 0  # the verifier timed out, or no input could be run


class MemberSummary(_Model):
    audited: bool = True
    reason: str | None = Field(None, description="why the member was not audited")
    precondition: Literal["none", "satisfiable", "vacuous", "undecided", "not_audited"] = "none"
    examples: ExampleCounts = Field(default_factory=ExampleCounts)
    mutants: MutantCounts | None = Field(None, description="null: no implementation was given")
    undecided_examples: list[dict[str, Any]] = Field(default_factory=list)
    inputs_compared: int = 0
    duration_s: float = 0.0
    session_s: float = Field(0.0, description="time of mutant checks in a warm session")
    batch_s: float = Field(0.0, description="time of mutant checks by the batch command")


class MemberAudit(_Model):
    name: str
    findings: list[Finding] = Field(default_factory=list)
    summary: MemberSummary = Field(default_factory=MemberSummary)


class AuditReport(_Model):
    """`qed audit --json`."""

    members: list[MemberAudit]

    @property
    def findings(self) -> list[Finding]:
        return [f for m in self.members for f in m.findings]


def exit_code(report: AuditReport) -> int:
    """0 no finding, 1 findings."""
    return 1 if report.findings else 0


def audit_schema() -> dict:
    schema = AuditReport.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://qedgen.dev/schemas/audit-report.schema.json"
    return schema


def _backend_for(contract: Path, backend: Backend | None) -> tuple[Backend, bool]:
    if backend is not None:
        return backend, False
    from backends import registry

    return registry.create_backend(registry.plugin_for_file(contract)), True


def audit_contract(contract: Path, examples: Sequence[tuple[str, str]] = (), *, impl: Path | None = None,
                   mutants: int = 20, backend: Backend | None = None, session: Literal["warm", "cli"] | None = None,
                   timeout: float = 600.0, time_limit_s: int | None = 20, use_cache: bool = True,
                   on_progress: Callable[[str], None] | None = None) -> AuditReport:
    """Audit `contract` against `examples` ((call, expect) pairs in the contract's language) and, with `impl`, up
    to `mutants` mutants per member of that implementation. `backend` defaults to the registry's backend for the
    contract's language (closed at the end). Raises BadInput (a backend without the contract-audit capability,
    an example that calls no member to implement, an implementation that does not verify), ToolchainError."""
    contract = Path(contract)
    if not contract.is_file():
        raise BadInput(f"the contract {contract} does not exist", fix="check the path")
    if impl is not None and not Path(impl).is_file():
        raise BadInput(f"the implementation {impl} does not exist", fix="check the path")
    backend, owned = _backend_for(contract, backend)
    try:
        backend.require(Capability.contract_audit, "`qed audit` (a contract audit)")
        return _Audit(backend, on_progress).run(contract, examples, impl, mutants, session, timeout, time_limit_s,
                                                use_cache)
    finally:
        if owned:
            backend.close()


class _Audit:
    def __init__(self, backend: Backend, on_progress: Callable[[str], None] | None) -> None:
        self.backend = backend
        self.auditor = backend.contract_auditor()
        self.say = on_progress or (lambda _m: None)

    def run(self, contract: Path, examples: Sequence[tuple[str, str]], impl: Path | None, limit: int,
            session: str | None, timeout: float, time_limit_s: int | None, use_cache: bool) -> AuditReport:
        start = time.monotonic()
        exs = tuple(AuditExample(k, c, e) for k, (c, e) in enumerate(examples, 1))
        if impl is not None:
            problems = self.auditor.implementation_problems(contract, impl, timeout)
            if problems:
                raise BadInput(f"the implementation {impl} does not verify against the contract: {problems[0]}",
                               fix="give an implementation that `qed verify --spec` accepts (mutants of one that "
                                   "does not verify say nothing about the contract)")
        self.say("querying the contract")
        q = self.auditor.query_contract(ContractQueryRequest(contract, exs, timeout=timeout,
                                                             time_limit_s=time_limit_s,
                                                             generated_inputs=impl is not None,
                                                             use_cache=use_cache))
        if q.unmatched:
            ex, why = q.unmatched[0]
            raise BadInput(f"example {ex.index} (`{ex.call}`): {why}",
                           fix="write each example as a call of a member the contract leaves without a body, "
                               f"e.g. `{q.members[0].name}(...)`" if q.members else "fix the example")
        members = [self._member(cm) for cm in q.members]
        share = (time.monotonic() - start) / max(1, len(members))
        for m in members:
            m.summary.duration_s = round(share, 3)
        if impl is not None:
            self._mutants(members, q.members, contract, Path(impl), limit, session, timeout)
        for name, line, why in q.skipped:
            members.append(MemberAudit(name=name, summary=MemberSummary(audited=False, reason=why,
                                                                        precondition="not_audited")))
        return AuditReport(members=members)

    # -- contract findings

    def _member(self, cm: ContractMember) -> MemberAudit:
        out = MemberAudit(name=cm.name, summary=MemberSummary(precondition=cm.precondition))
        if cm.precondition == "vacuous":
            out.findings.append(Finding(
                kind="vacuous_precondition", line=cm.requires_line,
                message=f"no input satisfies the requires of {cm.name} (proved by the verifier): every "
                        "implementation verifies, whatever it does",
                evidence={"requires": cm.requires, "proof": cm.precondition_detail}))
        counts = out.summary.examples
        for c in cm.examples:
            self._example(out, c, counts)
        return out

    @staticmethod
    def _example(out: MemberAudit, c: ExampleCheck, counts: ExampleCounts) -> None:
        ex = c.example
        shown = f"example {ex.index}: `{ex.call}` == `{ex.expect}`"
        base = {"example": ex.index, "call": ex.call, "expect": ex.expect}
        if c.status == "determined":
            counts.determined += 1
        elif c.status in ("contradicted", "rejected"):
            counts.contradicted += 1
            reason = "rejected_input" if c.status == "rejected" else (
                "no_output" if "no output" in c.detail else "forbidden_output")
            what = {"rejected_input": "the requires reject this input",
                    "no_output": "the ensures admit no output at all for this input",
                    "forbidden_output": "the ensures forbid this output"}[reason]
            out.findings.append(Finding(kind="example_contradicts", line=c.line,
                                        message=f"{shown}: {what} (proved by the verifier): the contract or the "
                                                "example is wrong",
                                        evidence={**base, "reason": reason, "detail": c.detail}))
        elif c.status == "allowed":
            counts.allowed += 1
            how = "the verifier's counterexample, confirmed" if c.witness_source == "verifier counterexample" \
                else "found by trying, confirmed by the verifier"
            ev = {**base, "status": "allowed", "witness": c.witness, "witness_source": c.witness_source}
            if c.counterexample:
                ev["counterexample"] = c.counterexample
            out.findings.append(Finding(kind="example_not_determined", line=c.line,
                                        message=f"{shown}: the contract also admits `{c.witness}` ({how}): it is "
                                                "weaker than its own example", evidence=ev))
        elif c.status == "undecided":
            counts.undecided += 1
            row = {**base, "status": "undecided", "detail": c.detail}
            if c.counterexample:
                row["counterexample"] = c.counterexample
            out.summary.undecided_examples.append(row)
        else:
            counts.unusable += 1
            out.summary.undecided_examples.append({**base, "status": "unusable", "detail": c.detail})

    # -- mutants

    def _mutants(self, members: list[MemberAudit], cms: list[ContractMember], contract: Path, impl: Path,
                 limit: int, session_mode: str | None, timeout: float) -> None:
        use_session = session_mode != "cli" and self.backend.supports(Capability.sessions)
        if session_mode == "warm" and not use_session:
            raise BadInput(f"the {self.backend.language.title} backend has no warm sessions",
                           fix="drop --session warm (or pass --session cli)")
        original = impl.read_text(encoding="utf-8")
        session = self.backend.open_session() if use_session else None
        try:
            with tempfile.TemporaryDirectory(prefix="qed-audit-mutants-") as tmp:
                for m, cm in zip(members, cms):
                    self._member_mutants(m, cm, contract, impl, original, limit, session, Path(tmp), timeout)
        finally:
            if session is not None:
                session.close()

    def _member_mutants(self, m: MemberAudit, cm: ContractMember, contract: Path, impl: Path, original: str,
                        limit: int, session: Any, work: Path, timeout: float) -> None:
        start = time.monotonic()
        counts = m.summary.mutants = MutantCounts()
        found = self.auditor.mutants(contract, impl, [cm.name], limit)
        counts.tried = len(found)
        survivors = []
        for mu in found:
            self.say(f"{cm.name}: mutant {mu.index}/{len(found)} ({mu.operator}: {mu.description})")
            chk = self.auditor.check_mutant(mu.source, contract, work / f"m{mu.index}", session, timeout)
            m.summary.session_s += chk.session_s
            m.summary.batch_s += chk.batch_s
            if chk.invalid:
                counts.invalid += 1
            elif chk.verified is None:
                counts.undecided += 1
            elif not chk.verified:
                counts.killed += 1
            else:
                survivors.append(mu)
        m.summary.session_s = round(m.summary.session_s, 3)
        m.summary.batch_s = round(m.summary.batch_s, 3)
        if survivors:
            accepted = [c.example.call for c in cm.examples if c.status in ("determined", "allowed", "contradicted")]
            inputs = list(dict.fromkeys(accepted + cm.inputs))
            variants = {"original": original, **{f"m{mu.index}": mu.source for mu in survivors}}
            self.say(f"{cm.name}: running {len(survivors)} verified mutant(s) on {len(inputs)} input(s)")
            run = self.auditor.run_variants(cm.name, variants, inputs, timeout)
            base = run.outputs.get("original", [])
            m.summary.inputs_compared = sum(v is not None for v in base)
            for mu in survivors:
                outs = run.outputs.get(f"m{mu.index}", [])
                diff = next((i for i, (a, b) in enumerate(zip(base, outs)) if a is not None and b is not None
                             and a != b), None)
                compared = sum(a is not None and b is not None for a, b in zip(base, outs))
                if diff is not None:
                    counts.surviving += 1
                    m.findings.append(Finding(
                        kind="surviving_mutant", line=mu.line,
                        message=f"mutant {mu.index} ({mu.operator}: {mu.description}, line {mu.line} of "
                                f"{impl.name}) verifies against the contract, but `{run.inputs[diff]}` gives "
                                f"`{outs[diff]}` instead of `{base[diff]}`: the contract does not pin this "
                                "behaviour down",
                        evidence={"mutant": mu.index, "operator": mu.operator, "description": mu.description,
                                  "file": str(impl), "diff": mu.diff, "input": run.inputs[diff],
                                  "original_output": base[diff], "mutant_output": outs[diff]}))
                elif compared:
                    counts.equivalent += 1
                else:
                    counts.undecided += 1
        m.summary.duration_s = round(m.summary.duration_s + time.monotonic() - start, 3)


# --- rendering -------------------------------------------------------------------------------------------


def render_audit(report: AuditReport, contract: Path | None = None) -> str:
    """The human-readable report: per member its findings, then its summary line."""
    lines: list[str] = []
    where = f"{contract}:" if contract else "line "
    for m in report.members:
        s = m.summary
        if not s.audited:
            lines.append(f"{m.name}: not audited ({s.reason})")
            continue
        lines.append(f"{m.name}:")
        for f in m.findings:
            at = f"{where}{f.line}: " if f.line and f.kind != "surviving_mutant" else ""
            lines.append(f"  {f.kind}: {at}{f.message}")
            if f.kind == "surviving_mutant":
                lines += ["    " + ln for ln in str(f.evidence.get("diff", "")).rstrip().splitlines()]
        for u in s.undecided_examples:
            lines.append(f"  {u['status']}: example {u['example']}: `{u['call']}` == `{u['expect']}`: {u['detail']}")
        e = s.examples
        text = (f"  summary: precondition {s.precondition}; examples {e.determined} determined, {e.allowed} allowed, "
                f"{e.contradicted} contradicted, {e.undecided} undecided")
        if e.unusable:
            text += f", {e.unusable} unusable"
        if s.mutants is not None:
            mu = s.mutants
            text += (f"; mutants {mu.killed} killed, {mu.surviving} surviving, {mu.equivalent} equivalent"
                     + (f", {mu.invalid} invalid" if mu.invalid else "")
                     + (f", {mu.undecided} undecided" if mu.undecided else "") + f" (of {mu.tried})")
        lines.append(text)
    n = len(report.findings)
    lines.append(f"{n} finding{'s' if n != 1 else ''} in {sum(m.summary.audited for m in report.members)} "
                 f"member(s)")
    return "\n".join(lines)
