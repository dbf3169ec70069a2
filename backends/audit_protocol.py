"""The contract-audit half of the backend protocol (`Capability.contract_audit`): the typed requests and results
of `qed audit`, and the `ContractAuditor` a backend returns from `Backend.contract_auditor()`.

Kept apart from `backends.base` so that `qed verify` (whose start-up is on every call's path) never loads it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["AuditExample", "BehaviourRun", "ContractAuditor", "ContractMember", "ContractQueries",
           "ContractQueryRequest", "ExampleCheck", "ExampleStatus", "MUTATION_OPERATORS", "Mutant", "MutantCheck",
           "PreconditionStatus"]

#: What the contract says of one example, as the verifier proved it (`undecided`: it could not say)
ExampleStatus = Literal["determined", "allowed", "contradicted", "rejected", "undecided", "unusable"]
#: `vacuous`: proved unsatisfiable; `satisfiable`: some input was proved to satisfy it; `none`: no precondition
PreconditionStatus = Literal["none", "satisfiable", "vacuous", "undecided"]

#: The mutation operators a backend may apply (each `Mutant.operator` is one of these)
MUTATION_OPERATORS = ("arithmetic", "comparison", "logical", "constant", "off_by_one", "swap_branches",
                      "drop_statement")


@dataclass(frozen=True)
class AuditExample:
    """One example of a task: `call` and `expect` are expressions in the task's language. `index` is 1-based."""

    index: int
    call: str
    expect: str


@dataclass(frozen=True)
class ContractQueryRequest:
    """Query a contract file. `time_limit_s` bounds each query's solver time; `timeout` the whole run."""

    contract: Path
    examples: tuple[AuditExample, ...] = ()
    timeout: float = 600.0
    time_limit_s: int | None = 20
    generated_inputs: bool = True  # also find inputs that satisfy the precondition (for behaviour runs)
    use_cache: bool = True


@dataclass
class ExampleCheck:
    """What the contract alone says of one example's expected output."""

    example: AuditExample
    member: str
    status: ExampleStatus
    detail: str
    witness: str | None = None  # allowed: another output the contract admits (checked by the verifier)
    witness_source: str | None = None  # "verifier counterexample" or "tried"
    counterexample: str | None = None  # the verifier's own counterexample text, when it offered one
    line: int | None = None  # the member's line in the contract


@dataclass
class ContractMember:
    """One member the contract asks to implement, as audited."""

    name: str  # qualified name
    kind: str  # method, function, predicate
    line: int
    precondition: PreconditionStatus
    precondition_detail: str = ""
    requires_line: int | None = None
    requires: list[str] = field(default_factory=list)
    examples: list[ExampleCheck] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # calls whose arguments were proved to satisfy the precondition


@dataclass
class ContractQueries:
    members: list[ContractMember]
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # (member, line, why it was not audited)
    unmatched: list[tuple[AuditExample, str]] = field(default_factory=list)  # examples calling no audited member
    duration_s: float = 0.0
    verifier: str = ""  # e.g. "dafny 4.11.0"


@dataclass(frozen=True)
class Mutant:
    """One mutant of an implementation: `source` is the whole mutated program, `diff` a unified diff."""

    member: str
    index: int
    operator: str  # one of MUTATION_OPERATORS
    line: int
    description: str  # "`<` -> `<=`"
    source: str
    diff: str


@dataclass
class MutantCheck:
    """Does a mutant verify against the contract? `verified` is None when the verifier could not say."""

    verified: bool | None
    checked_by: Literal["batch", "session"]
    detail: str = ""
    invalid: bool = False  # the mutant does not even parse or type-check (not a mutant of interest)
    duration_s: float = 0.0
    session_s: float = 0.0  # time spent in a warm session (0 without one)
    batch_s: float = 0.0  # time spent in the batch command


@dataclass
class BehaviourRun:
    """Outputs of compiled variants: `outputs[label][i]` is what variant `label` printed for `inputs[i]` (None:
    it did not run). `problem` says why nothing could be run."""

    inputs: list[str]
    outputs: dict[str, list[str | None]] = field(default_factory=dict)
    problem: str | None = None
    duration_s: float = 0.0


class ContractAuditor(ABC):
    """The language half of `qed audit` (`Capability.contract_audit`): what a backend offers so that the core can
    ask whether a contract is strong enough without knowing the language.

    A backend that declares the capability returns a `ContractAuditor` from `Backend.contract_auditor()`. The core
    (`verifier/audit.py`) asks it for four things and decides the findings itself:

    * `query_contract(ContractQueryRequest) -> ContractQueries`: per member to implement, whether the verifier proves
      its precondition unsatisfiable, and for each example whether the contract alone (modular verification: a call
      followed by an assertion on its result) determines, admits another output than, or contradicts the expected
      one, or cannot decide. Every status other than `undecided` is something the verifier proved; `allowed` comes
      with a confirmed witness (another output the contract admits). It also names inputs the verifier proved to
      satisfy the precondition (`ContractMember.inputs`), on which behaviours can be compared;
    * `mutants(...)`: mutants of an implementation's bodies (one syntactic change each, with its diff);
    * `check_mutant(...)`: does a mutant still verify against the contract (a warm session may say "no" early; only
      the batch command says "yes");
    * `run_variants(...)`: the original and some mutants compiled and run on inputs, each output as text.

    Inputs and calls are text in the backend's language (`Abs(-3)`); the core only compares them.
    """

    @abstractmethod
    def query_contract(self, request: ContractQueryRequest) -> ContractQueries:
        """Vacuity of each member's precondition and the examples' statuses (module docstring). Raises BadInput
        when the contract does not resolve or verify on its own."""

    @abstractmethod
    def implementation_problems(self, contract: Path, impl: Path, timeout: float = 600.0) -> list[str]:
        """Why `impl` cannot serve as the implementation to mutate ([] when it verifies against the contract)."""

    @abstractmethod
    def mutants(self, contract: Path, impl: Path, members: Sequence[str], limit: int) -> list[Mutant]:
        """Up to `limit` mutants per member of `impl`'s bodies of `members`, spread over the operators."""

    @abstractmethod
    def check_mutant(self, source: str, contract: Path, work: Path, session: Any = None,
                     timeout: float = 600.0) -> MutantCheck:
        """Verify a mutant (written into folder `work`) against the contract; a session (`backends.base.Session`)
        may only refute."""

    @abstractmethod
    def run_variants(self, member: str, variants: dict[str, str], inputs: Sequence[str],
                     timeout: float = 600.0) -> BehaviourRun:
        """Compile each variant (a whole program) and run it on `inputs` (calls of `member`)."""
