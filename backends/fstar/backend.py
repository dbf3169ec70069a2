"""The F* backend: starts `fstar.exe`, runs the integrity guard meanwhile, and returns one `FileResult`.

Capabilities: `contract_check` (a contract the model wrote must name its module, declare `val`s to implement,
contain no escape and type-check on its own) and `sessions` (a warm `fstar.exe --ide`, `session.py`). It has no
member scope, annotate mode or Python build: asking for them is a one-line error naming the capability.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from backends.base import Backend, BackendPlugin, CheckRequest, PendingCheck, Session, WarmCheck, read_exact_source
from verifier.cache import Store
from verifier.errors import BadInput

from .config import FStarConfig, FStarOptions
from .runner import FStarRunner, PendingRun, prepare, prepare_contract

if TYPE_CHECKING:
    from verifier.models import FileResult, ToolchainRef

    from .verdict import Texts


def read_source(path: Path, what: str) -> str:
    """Read an F* file exactly, or raise BadInput naming the problem and the fix."""
    return read_exact_source(path, what, "a .fst or .fsti file")


class FStarBackend(Backend):
    """Verifies `.fst`/`.fsti` files with the F* found by `toolchains.fstar` (or the configured install)."""

    config: FStarConfig

    def __init__(self, plugin: BackendPlugin, config: FStarConfig):
        super().__init__(plugin, config)
        self._runner: FStarRunner | None = None

    @property
    def runner(self) -> FStarRunner:
        if self._runner is None:
            install = self.config.toolchain
            if install is None:
                from toolchains.fstar import locate_fstar

                install = locate_fstar()
            store = Store(self.config.cache.root) if self.config.cache.enabled else None
            self._runner = FStarRunner(install, store)
        return self._runner

    @property
    def install(self):
        return self.runner.install

    def toolchain(self) -> ToolchainRef:
        return self.runner.install.ref()

    def options_for(self, request: CheckRequest) -> FStarOptions:
        opts = request.options if request.options is not None else self.config.options
        if not isinstance(opts, FStarOptions):
            raise BadInput(f"the F* backend was given {type(opts).__name__} options",
                           fix="pass backends.fstar.config.FStarOptions")
        # F* has no per-query time limit in seconds: its rlimit is "roughly seconds" (FStarC.Options)
        limit = request.resource_limit if request.resource_limit is not None else request.time_limit_s
        return replace(opts, z3rlimit=int(limit)) if limit is not None else opts

    def texts(self, request: CheckRequest) -> Texts:
        from .verdict import Texts

        if request.contract is not None and not request.file.name.endswith(".fst"):
            raise BadInput(f"{request.file} is an interface: an interface cannot implement a contract",
                           fix="pass the implementation module (.fst) to check against the contract")
        source = read_source(request.file, "file")
        interface = None
        if request.contract is None and request.file.name.endswith(".fst"):
            sibling = request.file.with_name(request.file.name + "i")
            if sibling.is_file():
                interface = read_source(sibling, "interface")
        return Texts(file=request.file, shown=request.shown, source=source, contract=request.contract,
                     contract_source=read_source(request.contract, "spec") if request.contract is not None else None,
                     contract_shown=str(request.contract) if request.contract is not None else None,
                     interface_source=interface)

    # -- checks

    def _begin(self, request: CheckRequest) -> PendingCheck:
        start = time.monotonic()
        t = self.texts(request)
        opts = self.options_for(request)
        job = prepare(t.file, t.source, t.shown, t.contract, t.contract_source, t.contract_shown)
        run = self.runner.begin(job, t.source, t.contract_source, opts, request.timeout,
                                self.config.cache.enabled, request.memory_mb)
        contract_run = None
        if t.contract is not None:  # the contract alone, beside the check (cached by content: once per contract)
            try:
                contract_run = self.runner.begin(prepare_contract(t.contract, t.contract_source or "",
                                                                  t.contract_shown), t.contract_source or "", None,
                                                 opts, request.timeout, self.config.cache.enabled, request.memory_mb)
            except BaseException:
                run.cancel()
                raise
        return FStarPendingCheck(self, t, run, start, contract_run)

    # -- capabilities

    def contract_problems(self, file: Path, *, timeout: float = 600.0) -> list[str]:
        """Why `file` cannot serve as a contract (empty when it can): it must name its module, declare a `val` to
        implement, contain no escape from proof, and type-check on its own (F* checks it as an interface)."""
        from verifier.models import Severity

        from .integrity import contract_problems

        source = read_source(file, "contract")
        problems = contract_problems(source)
        if any("no `module" in p for p in problems):
            return problems
        job = prepare_contract(file, source, str(file))
        run = self.runner.begin(job, source, None, self.config.options, timeout, self.config.cache.enabled).result()
        if run.timed_out or run.crashed:
            problems.append("F* could not check the contract (it timed out or crashed): simplify it")
        problems += [f"line {d.line}: {d.message.splitlines()[0]}" if d.line else d.message.splitlines()[0]
                     for d in run.diagnostics if d.severity == Severity.error]
        return problems

    def _open_session(self) -> Session:
        from .session import FStarSession

        return FStarSession(self.runner.install, self.config.options, self.config.sessions)

    def check_warm(self, request: CheckRequest, session: Session) -> WarmCheck:
        """Check through a warm `fstar.exe --ide`, guard included. Never a verdict (see `WarmCheck`)."""
        from .verdict import judge_warm, run_guard

        start = time.monotonic()
        t = self.texts(request)
        outcome = session.outcome(request.file, t.source, request)
        if outcome.crashed or outcome.timed_out:
            return WarmCheck(clean=False, feedback=None, duration_s=round(time.monotonic() - start, 3),
                             session=session.name, answered=False, detail=outcome.detail)
        feedback = judge_warm(t, run_guard(t), outcome, toolchain=self.toolchain(), started=start,
                              session=session.name)
        return WarmCheck(clean=feedback is None, feedback=feedback, duration_s=round(time.monotonic() - start, 3),
                         session=session.name, detail=outcome.detail)


class FStarPendingCheck(PendingCheck):
    """A check whose F* run has started; the guard runs while F* works."""

    def __init__(self, backend: FStarBackend, texts: Texts, run: PendingRun, started: float,
                 contract_run: PendingRun | None = None):
        self.backend, self.texts, self.run, self.started = backend, texts, run, started
        self.contract_run = contract_run

    def cancel(self) -> None:
        self.run.cancel()
        if self.contract_run is not None:
            self.contract_run.cancel()

    def finish(self) -> FileResult:
        from .verdict import judge, run_guard

        try:
            found = run_guard(self.texts)
            contract_run = self.contract_run.result() if self.contract_run is not None else None
            run = self.run.result()
            return judge(self.texts, found, run, toolchain=self.backend.toolchain(), started=self.started,
                         contract_run=contract_run)
        except BaseException:
            self.cancel()
            raise
