"""The report of `qed check` (`--format json`): the `qed verify` report plus what a CI gate adds (the files
left unchecked, the approved exceptions, the contract review and the gate's decision)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from verifier import SCHEMA_VERSION
from verifier.models import FileResult, VerifySummary

#: Contract-review rule ids (language-independent; the backends' own ids are their integrity rules)
CONTRACT_WEAKENED = "QED-C001"
CONTRACT_UNDECIDED = "QED-C002"
CONTRACT_CHANGED = "QED-C003"

CONTRACT_RULES = {
    CONTRACT_WEAKENED: ("contract weakened", "A contract changed since the base and now promises less or demands "
                        "more: a removed `ensures`, an added `requires`, a wider `modifies`/`reads` frame, a removed "
                        "member, or a changed clause the verifier could not show to be at least as strong. Restore "
                        "the clause, or have the change approved with an [[allow]] entry (rule QED-C001)."),
    CONTRACT_UNDECIDED: ("contract change undecided", "A contract changed since the base and qed cannot tell "
                         "whether it is weaker (the verifier ran out of time, a two-state clause, a changed "
                         "signature or definition). Review it; approve it with an [[allow]] entry (rule QED-C002)."),
    CONTRACT_CHANGED: ("contract changed", "A contract changed since the base without weakening it (new members, "
                       "stronger clauses): a reviewable event, not a failure."),
}


#: Contract-audit rule ids (`qed check --audit`): `QED-A-<kind>`, one per finding kind of `verifier.audit`
AUDIT_RULES = {
    "QED-A-vacuous_precondition": (
        "vacuous_precondition", "vacuous precondition",
        "The verifier proved that no input satisfies the precondition: every implementation verifies, and the "
        "contract promises nothing. Weaken the `requires`, or approve it with an [[allow]] entry."),
    "QED-A-example_contradicts": (
        "example_contradicts", "example contradicts the contract",
        "The contract rejects an example's input or forbids its expected output. Fix the contract or the "
        "example."),
    "QED-A-example_not_determined": (
        "example_not_determined", "example not determined",
        "The contract admits another output for an example's input (the verifier confirmed the witness): it is "
        "weaker than the example. Strengthen the `ensures`."),
    "QED-A-surviving_mutant": (
        "surviving_mutant", "surviving mutant",
        "A changed implementation verifies against the contract and returns something else on an input the "
        "precondition admits: the contract does not pin that behaviour down. Strengthen the `ensures`, or "
        "approve it with an [[allow]] entry."),
}
AUDIT_RULE_OF = {kind: rid for rid, (kind, _n, _t) in AUDIT_RULES.items()}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Skipped(_Model):
    """A selected file that was not verified in this run (nothing is claimed about it)."""

    file: str
    reason: str


class Approval(_Model):
    """A finding accepted by an `[[allow]]` entry of the config: listed, never hidden."""

    file: str
    rule: str
    message: str
    line: int | None = None
    reason: str
    approved_by: str


class ClauseRef(_Model):
    keyword: str
    text: str
    line: int | None = None


class MemberChangeDoc(_Model):
    name: str
    change: Literal["added", "removed", "changed"]
    kind: str = ""
    line: int | None = None
    added: list[ClauseRef] = Field(default_factory=list)
    removed: list[ClauseRef] = Field(default_factory=list)
    signature_changed: bool = False
    definition_changed: bool = False


class FindingDoc(_Model):
    member: str
    status: Literal["weakened", "undecided", "not_weakened"]
    how: Literal["form", "verifier"]
    what: str
    message: str
    line: int | None = None
    rule: str = Field(description="QED-C001 weakened, QED-C002 undecided, QED-C003 a change that does not weaken")
    approved: Approval | None = None


class ContractEvent(_Model):
    """A contract (a spec file, or the contract part of a checked file) that changed since the base ref."""

    file: str
    role: Literal["spec", "file"]
    status: Literal["weakened", "undecided", "not_weakened"]
    used_by: list[str] = Field(default_factory=list, description="the checked files this contract applies to")
    members: list[MemberChangeDoc] = Field(default_factory=list)
    findings: list[FindingDoc] = Field(default_factory=list)
    note: str | None = None


class AuditFindingDoc(_Model):
    member: str
    kind: str
    rule: str = Field(description="QED-A-<kind>, e.g. QED-A-vacuous_precondition")
    message: str
    file: str = Field(description="where `line` is: the contract, or the checked file for a surviving mutant")
    line: int | None = None
    evidence: dict = Field(default_factory=dict)
    approved: Approval | None = None


class AuditEvent(_Model):
    """`qed check --audit`: the audit of one checked file's contract, with the file as the implementation."""

    file: str
    contract: str
    audited: bool
    findings: list[AuditFindingDoc] = Field(default_factory=list)
    members: list[dict] = Field(default_factory=list, description="per member: name and the audit's summary")
    note: str | None = Field(None, description="why the contract was not audited (never a pass or a failure)")


class Gate(_Model):
    """Whether the run passes as a CI gate, and why not."""

    passed: bool
    fail_on_weakened_contract: bool
    reasons: list[str] = Field(default_factory=list)


class CheckSummary(VerifySummary):
    skipped: int = 0
    selected: int = 0
    contracts_changed: int = 0
    contracts_weakened: int = 0
    contracts_undecided: int = 0
    audit_findings: int = 0


class CheckReport(_Model):
    schema_version: int = SCHEMA_VERSION
    results: list[FileResult]
    summary: CheckSummary
    config: str
    base: dict | None = Field(None, description="{ref, commit} with --changed-since")
    skipped: list[Skipped] = Field(default_factory=list)
    approved: list[Approval] = Field(default_factory=list)
    contract_review: list[ContractEvent] = Field(default_factory=list)
    audit: list[AuditEvent] = Field(default_factory=list, description="with --audit: one entry per checked file "
                                                                       "that has a contract")
    gate: Gate
    exit_code: int
