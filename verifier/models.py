"""Typed results shared by every backend, the CLI (`--json`), prompts and reports.

These models are the project's public boundary: `qed verify --json` prints a `VerifyReport`, and its JSON
Schema is published as `verifier/schemas/verify-report.schema.json` (kept in sync by a test).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from verifier import SCHEMA_VERSION  # re-exported: the version of `qed verify --json` documents


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Severity(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"


class Verdict(StrEnum):
    """What happened to one file. Only `verified` means accepted."""

    verified = "verified"
    failed = "failed"
    timeout = "timeout"
    error = "error"  # parse / resolution errors, verifier crash on the input
    rejected = "rejected"  # verifier may accept it, but the integrity guard does not


class DiagnosticKind(StrEnum):
    """A normalised, language-independent class of a diagnostic (drives repair guidance)."""

    precondition = "precondition"
    postcondition = "postcondition"
    invariant_entry = "invariant_entry"
    invariant_maintained = "invariant_maintained"
    invariant = "invariant"
    assertion = "assertion"
    decreases = "decreases"
    frame = "frame"  # modifies clauses
    reads = "reads"
    index_out_of_range = "index_out_of_range"
    division_by_zero = "division_by_zero"
    null_dereference = "null_dereference"
    subset_type = "subset_type"  # value may violate a subset/newtype constraint (nat, bounded ints...)
    definite_assignment = "definite_assignment"
    well_formedness = "well_formedness"
    timeout = "timeout"
    resource_limit = "resource_limit"
    parse = "parse"
    resolution = "resolution"
    warning = "warning"
    toolchain = "toolchain"
    other = "other"


class WarningClass(StrEnum):
    """How a warning counts: style and trigger warnings never fail a proof; escape warnings are violations."""

    style = "style"
    trigger = "trigger"
    escape = "escape"
    other = "other"


class RelatedLocation(_Model):
    file: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    message: str = ""


class Diagnostic(_Model):
    """One message from a verifier. Lines and columns are 1-based; `None` when the tool gave no position."""

    severity: Severity
    kind: DiagnosticKind
    message: str
    file: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    member: str | None = Field(None, description="enclosing member (e.g. `M.C.Foo`), when known")
    error_id: str | None = Field(None, description="the tool's own id for this message, when it gives one")
    source: str | None = Field(None, description="the tool's phase: Parser, Resolver, Verifier, ...")
    warning_class: WarningClass | None = None
    related: list[RelatedLocation] = Field(default_factory=list)


class RuleFamily(StrEnum):
    """What kind of rule an integrity violation breaks, whatever the language (drives repair guidance)."""

    contract = "contract"  # the frozen contract was changed (a member, clause, signature, fixed body...)
    escape = "escape"  # the candidate escapes proof (assume, axioms, checks turned off, bodiless members...)
    frozen_code = "frozen_code"  # annotate mode: the program's code or contract was changed
    verifier_warning = "verifier_warning"  # the verifier itself warns of an escape from proof
    second_opinion = "second_opinion"  # a second tool (e.g. `dafny audit`) found an escape


class IntegrityViolation(_Model):
    """A rule of the integrity guard that the candidate breaks. The message says what to change."""

    rule: str = Field(description="the backend's own rule id (its rule table explains it)")
    family: RuleFamily
    message: str
    file: str
    line: int | None = None
    column: int | None = None
    member: str | None = None


class TrustedAssumption(_Model):
    """An escape from proof that the contract itself gives (kept unchanged, listed, never blamed on the candidate)."""

    what: str
    file: str
    line: int | None = None
    member: str | None = None


class MemberOutcome(_Model):
    """Outcome of one verifiable member (a Dafny method/function/lemma...)."""

    name: str
    outcome: str = Field(description="verified | failed | timeout | out_of_resource | inconclusive | error")
    duration_s: float | None = None
    resource_count: int | None = None


class ToolchainRef(_Model):
    name: str
    version: str | None = None
    path: str | None = None
    solver: str | None = Field(None, description="solver name and version, e.g. `z3 4.12.1`")


class FileResult(_Model):
    file: str
    verdict: Verdict
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    integrity: list[IntegrityViolation] = Field(default_factory=list)
    assumptions: list[TrustedAssumption] = Field(default_factory=list)
    members: list[MemberOutcome] = Field(default_factory=list)
    duration_s: float = 0.0
    toolchain: ToolchainRef | None = None
    command: list[str] = Field(default_factory=list, description="exact command line that was run")
    exit_code: int | None = Field(None, description="the verifier's exit status (None: not run / killed)")
    cached: bool = False
    verifier_crashed: bool = Field(False, description="the toolchain crashed on this input (qed exits 3)")
    scope: list[str] | None = Field(
        None, description="when set, only these members were verified: the verdict covers them alone"
    )
    note: str | None = None
    checked_by: Literal["batch", "session"] = Field(
        "batch", description="`batch`: the verifier's batch command (the only source of `verified`); `session`: a "
                             "warm session's feedback during repair rounds (never `verified`)")


class VerifySummary(_Model):
    files: int = 0
    verified: int = 0
    failed: int = 0
    timeout: int = 0
    error: int = 0
    rejected: int = 0
    duration_s: float = 0.0

    @classmethod
    def of(cls, results: list[FileResult], duration_s: float) -> "VerifySummary":
        from verifier.render import summary_of

        return cls(**summary_of([{"verdict": r.verdict.value} for r in results], duration_s))


class VerifyReport(_Model):
    schema_version: int = SCHEMA_VERSION
    results: list[FileResult]
    summary: VerifySummary


class MemberInfo(BaseModel):
    """One member of a built Python package: its Python name and which clauses are checked or evaluable."""

    dafny_name: str = Field(description="the member's qualified name in the artifact")
    python: str  # PKG.Module.name
    kind: str
    checked_requires: list[str] = Field(default_factory=list)
    unchecked_requires: list[tuple[str, str]] = Field(default_factory=list)  # (clause, why)
    ensures_evaluable: list[str] = Field(default_factory=list)
    ensures_not_evaluable: list[tuple[str, str]] = Field(default_factory=list)


class BuildResult(BaseModel):
    """What `qed build` (a backend's python_build capability) wrote: `qed build --json`'s `build` document."""

    package: str
    out_dir: str
    package_dir: str
    test_file: str
    readme: str
    artifact: str
    artifact_sha256: str
    spec: str | None = None
    spec_sha256: str | None = None
    verified: bool  # False only when built with verify=False (benchmarks), never by the CLI
    dafny_version: str | None = Field(None, description="the verifier's version (named for the first backend)")
    solver: str | None = None
    members: list[MemberInfo] = Field(default_factory=list)
    datatypes: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    translate_rounds: int = 1
