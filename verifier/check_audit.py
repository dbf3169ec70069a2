"""`qed check --audit`: audit the contract of every checked file that has one (`spec`), with the file as the
implementation (`verifier.audit`), and apply the allow-list to the findings (rule ids QED-A-<kind>).

A contract is audited only when its file verified (mutants of an implementation that does not verify say
nothing); a backend without the contract-audit capability, or an audit that cannot run, gives a note: never a
pass, never a failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backends.base import Capability
from verifier.check_models import AUDIT_RULE_OF, Approval, AuditEvent, AuditFindingDoc
from verifier.errors import BadInput

if TYPE_CHECKING:
    from backends.base import Backend
    from verifier.models import FileResult
    from verifier.project import Project


def audit_targets(project: Project, targets: list, results: dict[str, FileResult], backends: dict[str, Backend],
                  mutants: int, use_cache: bool) -> list[AuditEvent]:
    """One AuditEvent per target with a `spec` contract (targets are `verifier.check._Target`)."""
    from verifier.audit import audit_contract

    events: list[AuditEvent] = []
    for t in targets:
        if t.contract is None or t.contract[0] != "spec":
            continue
        contract_rel = _rel(project, t.contract[1])
        event = AuditEvent(file=t.rel, contract=contract_rel, audited=False)
        events.append(event)
        backend = backends[t.language]
        r = results.get(t.rel)
        if not backend.supports(Capability.contract_audit):
            event.note = f"the {t.language} backend cannot audit a contract (no contract-audit capability)"
            continue
        if r is None or r.verdict.value != "verified":
            event.note = (f"not audited: {t.rel} is {r.verdict.value if r else 'not checked'} (an implementation "
                          "must verify before its mutants say anything about the contract)")
            continue
        limits = project.limits_for(t.rel)
        try:
            report = audit_contract(t.contract[1], (), impl=t.path, mutants=mutants, backend=backend,
                                    timeout=limits.timeout_s or 600.0, time_limit_s=limits.time_limit_s or 20,
                                    use_cache=use_cache)
        except BadInput as e:
            event.note = f"not audited: {e}"
            continue
        event.audited = True
        for m in report.members:
            event.members.append({"name": m.name, **m.summary.model_dump(mode="json")})
            for f in m.findings:
                rule = AUDIT_RULE_OF[f.kind]
                where = t.rel if f.kind == "surviving_mutant" else contract_rel
                allow = project.allowed(where, rule) or project.allowed(t.rel, rule)
                event.findings.append(AuditFindingDoc(
                    member=m.name, kind=f.kind, rule=rule, message=f.message, file=where, line=f.line,
                    evidence=f.evidence,
                    approved=Approval(file=where, rule=rule, message=f.message, line=f.line, reason=allow.reason,
                                      approved_by=allow.approved_by) if allow else None))
    return events


def _rel(project: Project, path: Path) -> str:
    try:
        return path.resolve().relative_to(project.root.resolve()).as_posix()
    except ValueError:
        return str(path)
