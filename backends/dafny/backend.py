"""The Dafny backend: starts the verifier, runs the integrity guard meanwhile, and returns one `FileResult`.

How the verdict is decided is in `verdict.py`. This module stays light to import so that Dafny starts before
qed loads its models and the guard.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from backends.base import Backend, BackendPlugin, CheckRequest, PendingCheck, PythonBuildRequest, Session, WarmCheck
from verifier.cache import Store
from verifier.errors import BadInput

from .cachefmt import RESULTS_NAMESPACE
from .runner import DafnyOptions, DafnyRunner, PendingRun
from .texts import Texts, read_source  # noqa: F401  (read_source: re-exported for callers)

if TYPE_CHECKING:
    from verifier.models import FileResult, ToolchainRef

    from .config import DafnyConfig


class DafnyBackend(Backend):
    """Verifies `.dfy` files with the Dafny found by `toolchains` (or the configured install)."""

    config: DafnyConfig

    def __init__(self, plugin: BackendPlugin, config: DafnyConfig):
        super().__init__(plugin, config)
        self._runner: DafnyRunner | None = None

    @property
    def use_cache(self) -> bool:
        return self.config.cache.enabled

    @property
    def install(self):
        """The Dafny install (`toolchains.discovery.DafnyInstall`), found on first use."""
        return self.runner.install

    @property
    def runner(self) -> DafnyRunner:
        if self._runner is None:
            install = self.config.toolchain
            if install is None:
                from toolchains.discovery import locate_dafny

                install = locate_dafny()
            store = Store(self.config.cache.root) if self.config.cache.enabled else None
            self._runner = DafnyRunner(install, store)
        return self._runner

    def toolchain(self) -> ToolchainRef:
        from verifier.models import ToolchainRef

        inst = self.runner.install
        solver = f"z3 {inst.solver_version}" if getattr(inst, "solver_version", None) else None
        return ToolchainRef(name="dafny", version=inst.version, path=str(inst.path), solver=solver)

    def options_for(self, request: CheckRequest) -> DafnyOptions:
        """The verifier options of one request: the configured ones (or the request's own), with the request's
        limits and member scope."""
        opts = request.options if request.options is not None else self.config.options
        if not isinstance(opts, DafnyOptions):
            raise BadInput(f"the Dafny backend was given {type(opts).__name__} options",
                           fix="pass backends.dafny.runner.DafnyOptions")
        changes: dict = {}
        if request.time_limit_s is not None:
            changes["time_limit_s"] = request.time_limit_s
        if request.resource_limit is not None:
            changes["resource_limit"] = str(request.resource_limit)
        if request.members:
            changes["filter_symbols"] = tuple(request.members)
        return replace(opts, **changes) if changes else opts

    # -- checks

    def _begin(self, request: CheckRequest) -> PendingCheck:
        start = time.monotonic()
        texts = self._texts(request)
        opts = self.options_for(request)
        key = self._result_key(texts, opts)
        if key is not None:
            hit = self.runner.store.get(RESULTS_NAMESPACE, key) if self.runner.store is not None else None
            if isinstance(hit, dict):
                return _Answered(hit, start)
        mem = request.memory_mb
        run = self.runner.begin(request.file, texts.source, opts, request.timeout, self.use_cache, "verify", mem)
        audit = spec_run = meaning = None
        try:
            spec_run = self._resolve_spec(texts, request.timeout, mem)
            meaning = self._start_meaning(texts, request.timeout, mem)
            if self._audits(texts):
                audit = self.runner.audit(request.file, texts.source, request.timeout, self.use_cache, mem)
        except BaseException:
            for r in (run, spec_run, audit, meaning):
                if r is not None:
                    r.cancel()
            raise
        return DafnyPendingCheck(self, texts, opts, request.timeout, start, run, audit, key, spec_run,
                                 meaning=meaning, memory_mb=mem)

    def _start_meaning(self, texts: Texts, timeout: float, memory_mb: int | None = None):
        """Annotate mode: start Dafny's reading of the program and of the candidate (`meaning.py`), beside the
        check. None when there is no program to annotate."""
        if texts.program is None or texts.program_source is None:
            return None
        from .meaning import start_meaning_check

        return start_meaning_check(self.runner.install, texts.program, texts.program_source, texts.file,
                                   texts.source, timeout=timeout, store=self.runner.store if self.use_cache else None,
                                   memory_mb=memory_mb)

    def _audit_given(self, texts: Texts, timeout: float, memory_mb: int | None = None) -> PendingRun | None:
        """Start `dafny audit` on the contract (or the program to annotate): its own findings are not the
        candidate's (`verdict.judge`). Started only once the candidate's audit has a finding (most have none:
        a Dafny process saved per check), and cached by content, so one run serves every candidate."""
        given = texts.spec if texts.spec is not None else texts.program
        source = texts.spec_source if texts.spec is not None else texts.program_source
        if given is None or source is None:
            return None
        return self.runner.audit(given, source, timeout, self.use_cache, memory_mb)

    def _resolve_spec(self, texts: Texts, timeout: float, memory_mb: int | None = None) -> PendingRun | None:
        """Start `dafny resolve` on the contract (it runs beside the check; `check_spec` judges it)."""
        if texts.spec is None:
            return None
        return self.runner.begin(texts.spec, texts.spec_source, DafnyOptions(), timeout, self.use_cache, "resolve",
                                 memory_mb)

    def _audits(self, texts: Texts) -> bool:
        return bool(self.config.audit or (self.config.audit is None and (texts.spec or texts.program) is not None))

    def _result_key(self, texts: Texts, opts: DafnyOptions) -> str | None:
        """The key of this check's whole result: everything the verdict depends on (the exact texts and their
        includes, the toolchain, the options, the guard's inputs, the paths shown) and qed's own code."""
        if not self.use_cache or self.runner.store is None:
            return None
        from verifier.cache import code_fingerprint, digest

        return digest(RESULTS_NAMESPACE, code_fingerprint(*_CODE_ROOTS),
                      self.runner.cache_key(texts.file, texts.source, opts, "verify"), str(self._audits(texts)),
                      texts.spec_source or "", texts.program_source or "", str(texts.spec), str(texts.program),
                      texts.shown, str(texts.file.resolve()))

    def cached_result(self, request: CheckRequest) -> dict | None:
        """The `FileResult` (as JSON) of an identical earlier check, read without loading qed's models."""
        texts = self._texts(request)
        key = self._result_key(texts, self.options_for(request))
        hit = self.runner.store.get(RESULTS_NAMESPACE, key) if key is not None and self.runner.store else None
        return hit if isinstance(hit, dict) else None

    def _texts(self, request: CheckRequest) -> Texts:
        return Texts(
            file=request.file, shown=request.shown, source=read_source(request.file, "file"),
            spec=request.contract,
            spec_source=read_source(request.contract, "spec") if request.contract is not None else None,
            program=request.program,
            program_source=read_source(request.program, "program") if request.program is not None else None)

    # -- capabilities

    def contract_problems(self, file: Path, *, timeout: float = 600.0) -> list[str]:
        """Why `file` cannot serve as a contract (empty when it can): it must resolve, give at least one member
        without a body to implement, and contain no escape from proof (members without a body excepted)."""
        return self._usable(file, "contract", timeout)

    def program_problems(self, file: Path, *, timeout: float = 600.0) -> list[str]:
        """Why `file` cannot be a program to annotate (empty when it can): it must resolve. Escapes from proof
        it has itself (a bodiless or `{:axiom}` member, an `assume`) are the task's trusted assumptions: the
        candidate keeps them, and they are listed in its result, never blamed on it."""
        return self._usable(file, "program", timeout)

    def _usable(self, file: Path, what: str, timeout: float) -> list[str]:
        from .integrity import check_integrity
        from .syntax import outline
        from .verdict import resolution_problems

        source = read_source(file, what)
        problems = resolution_problems(self.runner.resolve(file, source, timeout, self.use_cache))
        report = check_integrity(source, str(file))
        if what == "contract":
            problems += [f"line {v.line}: {v.message}" if v.line else v.message
                         for v in report.violations if v.rule != "QED-E107"]
        if what == "contract" and not any(d.is_callable and not d.has_body for d in outline(source).walk()):
            problems.append("the contract has no member without a body, so there is nothing to implement: give "
                            "the members to implement their signature and clauses, and no body")
        return problems

    def changed_members(self, old_source: str, new_source: str) -> list[str] | None:
        """Members of `new_source` that are new or changed since `old_source` (None: cannot say)."""
        from .syntax import changed_members

        return changed_members(old_source, new_source)

    def rule_help(self) -> dict[str, tuple[str, str]]:
        """The integrity guard's rule table (`integrity.py`), plus the verifier-warning and audit rules."""
        import re

        from . import integrity
        from .verdict import AUDIT_RULE, ESCAPE_WARNING_RULE

        table = dict(re.findall(r"^\| (QED-[A-Z]\d+) \| (.+) \|$", integrity.__doc__ or "", re.M))
        out = {rule: (name, table.get(rule, name)) for rule, name in integrity.RULES.items()}
        out[ESCAPE_WARNING_RULE] = ("escape warning", "Dafny itself warns of an escape from proof (an `assume` "
                                    "without `{:axiom}`, a bodiless lemma with `ensures`, `{:verify false}`, ...)")
        out[AUDIT_RULE] = ("audit finding", "`dafny audit` (a second opinion) found an escape from proof")
        return out

    def review_contract(self, old_source: str | None, new_source: str, *, file: Path, role: str,
                        timeout: float = 600.0):
        """How the contract changed since `old_source` (see `backends.dafny.review`)."""
        from .review import review

        return review(self.runner, old_source, new_source, file, role, timeout, self.use_cache)

    def dependencies(self, file: Path) -> list[Path]:
        """Files reached through `include "..."`, transitively (missing ones too: their absence matters)."""
        from .runner import included_paths

        return included_paths(file)

    def build_python(self, request: PythonBuildRequest):
        """`qed build`: the verified artifact as a Python package (see `backends.dafny.pybuild`)."""
        from .pybuild.build import build_package

        return build_package(request, install=self.install, check=self.check)

    def contract_auditor(self):
        """`qed audit`'s Dafny half (see `backends.dafny.audit`)."""
        from .audit.auditor import DafnyAuditor

        return DafnyAuditor(self)

    def _open_session(self) -> Session:
        from .session import DafnySession

        return DafnySession(self.runner.install, self.config.options, self.config.sessions)

    def check_warm(self, request: CheckRequest, session: Session) -> WarmCheck:
        """Check through a warm `dafny server` session, guard included. Never a verdict (see `WarmCheck`)."""
        from .verdict import guard, judge_warm

        start = time.monotonic()
        texts = self._texts(request)
        spec_run = self._resolve_spec(texts, request.timeout, request.memory_mb)  # beside the session's check
        try:
            outcome = session.outcome(request.file, texts.source, request)
            if spec_run is not None:
                from .verdict import check_spec

                check_spec(spec_run.result(), texts.spec)
        except BaseException:
            if spec_run is not None:
                spec_run.cancel()
            raise
        if outcome.crashed or outcome.timed_out:
            return WarmCheck(clean=False, feedback=None, duration_s=round(time.monotonic() - start, 3),
                             session=session.name, answered=False, detail=outcome.detail)
        found = guard(texts)
        feedback = judge_warm(texts, found, outcome, toolchain=self.toolchain(), started=start, session=session.name)
        return WarmCheck(clean=feedback is None, feedback=feedback, duration_s=round(time.monotonic() - start, 3),
                         session=session.name, detail=outcome.detail)



#: qed's own code that decides a Dafny verdict (keyed into cached results)
_CODE_ROOTS = (Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent / "base.py",
               Path(__file__).resolve().parent.parent.parent / "verifier")


class _Answered(PendingCheck):
    """An identical check answered from the result cache."""

    def __init__(self, hit: dict, started: float):
        self.hit, self.started = hit, started

    def finish(self) -> FileResult:
        from verifier.models import FileResult

        result = FileResult.model_validate(self.hit)
        result.cached, result.duration_s = True, round(time.monotonic() - self.started, 3)
        return result

    def cancel(self) -> None:
        pass


class DafnyPendingCheck(PendingCheck):
    """A check whose verifier run has started."""

    def __init__(self, backend: DafnyBackend, texts: Texts, options: DafnyOptions, timeout: float, started: float,
                 run: PendingRun, audit: PendingRun | None, key: str | None = None,
                 spec_run: PendingRun | None = None, given_audit: PendingRun | None = None, meaning=None,
                 memory_mb: int | None = None):
        self.backend, self.texts, self.options, self.timeout = backend, texts, options, timeout
        self.started, self.run, self.audit, self.key, self.spec_run = started, run, audit, key, spec_run
        self.given_audit = given_audit  # `dafny audit` of the contract or program: its findings are not blamed
        self.memory_mb = memory_mb
        self.meaning = meaning  # annotate mode: `meaning.PendingMeaning`, Dafny's reading of program and candidate

    def cancel(self) -> None:
        for r in (self.run, self.audit, self.spec_run, self.given_audit, self.meaning):
            if r is not None:
                r.cancel()

    def finish(self) -> FileResult:
        """Check the spec and run the guard (while Dafny works), then wait and decide the verdict."""
        from .verdict import check_spec, guard, has_audit_findings, judge, meaning_violations

        try:
            t, b = self.texts, self.backend
            if self.spec_run is not None:
                check_spec(self.spec_run.result(), t.spec)
            found = guard(t)
            if self.meaning is not None:
                found.violations += meaning_violations(self.meaning, found, t.shown)
            run = self.run.result()
            audit = self.audit.result() if self.audit is not None else None
            if self.given_audit is None and audit is not None and has_audit_findings(audit):
                self.given_audit = b._audit_given(t, self.timeout, self.memory_mb)
            given = self.given_audit.result() if self.given_audit is not None else None
            result = judge(t, found, run, audit, toolchain=b.toolchain(), started=self.started,
                           scope=list(self.options.filter_symbols) or None, given_audit=given)
        except BaseException:
            self.cancel()
            raise
        store = b.runner.store
        # a whole result is kept only when every run behind it said all it had to say (see PendingRun.result)
        if self.key is not None and store is not None and all(
                r is None or (r.status and not r.timed_out and not r.crashed) for r in (run, audit, given)):
            store.put(RESULTS_NAMESPACE, self.key, result.model_dump(mode="json"))
        return result
