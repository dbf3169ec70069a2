"""What running one task produced: plain dataclasses (picklable, so Ray workers can return them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: A task's final status in a run (`report.json`'s `status`).
STATUSES = ("passed", "failed", "rejected", "timeout", "error", "no_answer", "defect", "toolchain_absent")

#: verifier verdict -> bench status
STATUS_OF_VERDICT = {"verified": "passed", "failed": "failed", "rejected": "rejected", "timeout": "timeout",
                     "error": "error"}


@dataclass
class AttemptRow:
    """One task x sample x round: the candidate and what the verifier said of it."""

    sample: int
    round: int
    outcome: str  # a verdict, or `extraction_error`
    reason: str | None = None
    artifact: str | None = None  # the candidate's text
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    integrity: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    toolchain: dict[str, Any] | None = None
    tokens: int = 0


@dataclass
class TaskOutcome:
    """A task's final verdict in a run, with every attempt that led to it."""

    dataset: str
    task_id: str
    status: str
    reason: str
    rounds: int = 0
    duration_s: float = 0.0
    samples: int = 0
    passed_samples: int = 0
    pass_rounds: list[int] = field(default_factory=list)  # per passing sample: the round it passed in
    tokens: int = 0
    cost_usd: float | None = None
    known_defect: bool | None = None  # oracle: a failing ground truth that the shipped defects list names
    assumptions: list[dict[str, Any]] = field(default_factory=list)
    artifact: str | None = None
    toolchain: dict[str, Any] | None = None
    source: str | None = None  # where the answer came from (oracle, answers file, model) / dataset's source
    attempts: list[AttemptRow] = field(default_factory=list)
    scripted: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskOutcome:
        d = dict(d)
        d["attempts"] = [AttemptRow(**a) for a in d.get("attempts", [])]
        return cls(**d)
