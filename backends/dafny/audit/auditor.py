"""The Dafny backend's `ContractAuditor` (Capability.contract_audit): contract queries, mutants, mutant checks
and compiled runs, each in its own module of this package."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from backends.audit_protocol import (
    BehaviourRun,
    ContractAuditor,
    ContractQueries,
    ContractQueryRequest,
    Mutant,
    MutantCheck,
)
from backends.base import CheckRequest
from verifier.models import DiagnosticKind, Verdict


class DafnyAuditor(ContractAuditor):
    def __init__(self, backend: Any) -> None:  # a DafnyBackend (which imports this module)
        self.backend = backend
        self._quiet: Any = None

    @property
    def quiet(self) -> Any:
        """A twin backend without `dafny audit`'s second opinion, for mutants: a mutant changes one operator of
        an implementation that passed the full check, so it cannot add an escape from proof."""
        if self._quiet is None:
            self._quiet = type(self.backend)(self.backend.plugin, replace(self.backend.config, audit=False))
            self._quiet._runner = self.backend.runner
        return self._quiet

    def query_contract(self, request: ContractQueryRequest) -> ContractQueries:
        from ..verdict import check_spec
        from .queries import ContractQuerier

        return ContractQuerier(self.backend.runner, check_spec).query(request)

    def implementation_problems(self, contract: Path, impl: Path, timeout: float = 600.0) -> list[str]:
        result = self.backend.check(CheckRequest(file=impl, contract=contract, timeout=timeout))
        if result.verdict == Verdict.verified:
            return []
        first = next((v.message for v in result.integrity), None) or next(
            (f"line {d.line}: {d.message}" for d in result.diagnostics if d.severity == "error"), None)
        return [f"it is {result.verdict.value} against the contract" + (f" ({first})" if first else "")]

    def mutants(self, contract: Path, impl: Path, members: Sequence[str], limit: int) -> list[Mutant]:
        from ..texts import read_source
        from .mutate import mutants

        return mutants(read_source(impl, "implementation"), members, limit, impl.name)

    def check_mutant(self, source: str, contract: Path, work: Path, session: Any = None,
                     timeout: float = 600.0) -> MutantCheck:
        start = time.monotonic()
        work.mkdir(parents=True, exist_ok=True)
        path = work / "mutant.dfy"
        path.write_text(source, encoding="utf-8")
        request = CheckRequest(file=path, contract=contract, timeout=timeout)
        session_s = 0.0
        if session is not None:
            warm = self.quiet.check_warm(request, session)
            session_s = warm.duration_s
            if warm.answered and warm.feedback is not None:
                static = any(d.kind in (DiagnosticKind.parse, DiagnosticKind.resolution)
                             for d in warm.feedback.diagnostics if d.severity == "error")
                return MutantCheck(False, "session", _why(warm.feedback), invalid=static,
                                   duration_s=round(time.monotonic() - start, 3), session_s=session_s)
        t0 = time.monotonic()
        result = self.quiet.check(request)
        batch_s = time.monotonic() - t0
        done = round(time.monotonic() - start, 3)
        if result.verdict == Verdict.verified:
            return MutantCheck(True, "batch", "verified", duration_s=done, session_s=session_s, batch_s=batch_s)
        if result.verdict == Verdict.timeout:
            return MutantCheck(None, "batch", "the verifier timed out", duration_s=done, session_s=session_s,
                               batch_s=batch_s)
        static = result.verdict == Verdict.error and any(
            d.kind in (DiagnosticKind.parse, DiagnosticKind.resolution) for d in result.diagnostics)
        if result.verdict == Verdict.error and not static:
            return MutantCheck(None, "batch", result.note or "the verifier failed", duration_s=done,
                               session_s=session_s, batch_s=batch_s)
        return MutantCheck(False, "batch", _why(result), invalid=static, duration_s=done, session_s=session_s,
                           batch_s=batch_s)

    def run_variants(self, member: str, variants: dict[str, str], inputs: Sequence[str],
                     timeout: float = 600.0) -> BehaviourRun:
        from .behave import run_variants

        return run_variants(self.backend.runner.install, member, variants, inputs, timeout)


def _why(result) -> str:
    first = next((f"line {d.line}: {d.message}" for d in result.diagnostics if d.severity == "error"), None)
    if first is None and result.integrity:
        first = result.integrity[0].message
    return " ".join((first or result.verdict.value).split())[:200]
