"""What a backend's contract review (`Capability.contract_review`) answers: the language-independent shape of a
contract change. The backend decides what the clauses are and whether a change weakens the contract; the core
(`qed check`) only reports, gates and applies the allow-list.

A `Finding` is `weakened` when the backend knows the new contract promises less or demands more (a removed
`ensures`, an added `requires`, a wider frame, a removed member, or a changed clause the verifier found not to
be implied), `undecided` when it cannot tell (the verifier timed out, or the clause is outside what the
implication query can express), and `not_weakened` when the verifier proved the new clauses at least as strong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FindingStatus = Literal["weakened", "undecided", "not_weakened"]


@dataclass(frozen=True)
class ClauseText:
    """One specification clause as written: its keyword (`requires`, `ensures`, `modifies`, ...) and text."""

    keyword: str
    text: str
    line: int | None = None


@dataclass(frozen=True)
class Finding:
    """One reason a contract change does or may weaken the contract (or, `not_weakened`, a proved change)."""

    member: str
    status: FindingStatus
    how: Literal["form", "verifier"]
    what: str  # a stable short code: removed_ensures, added_requires, wider_frame, removed_member, ...
    message: str
    line: int | None = None  # in the new contract (None: the member is gone)


@dataclass
class MemberChange:
    """A member of the contract that was added, removed or changed, with the clauses that came and went."""

    name: str
    change: Literal["added", "removed", "changed"]
    kind: str = ""
    line: int | None = None
    added: list[ClauseText] = field(default_factory=list)
    removed: list[ClauseText] = field(default_factory=list)
    signature_changed: bool = False
    definition_changed: bool = False  # a fixed (bodied) member's definition


@dataclass
class ContractReview:
    """How one contract differs from its earlier version. `changed` is False when nothing of the contract
    changed (whitespace, comments, bodies of proved members do not count)."""

    changed: bool
    members: list[MemberChange] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    note: str | None = None  # e.g. the contract could not be read (then every finding is `undecided`)

    @property
    def status(self) -> FindingStatus:
        """`weakened` if any finding is, else `undecided` if any is, else `not_weakened`."""
        statuses = {f.status for f in self.findings}
        for s in ("weakened", "undecided"):
            if s in statuses:
                return s  # type: ignore[return-value]
        return "not_weakened"
