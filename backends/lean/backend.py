"""The Lean 4 backend: starts `lean --json` on a private copy of the candidate with the kernel-check probes
appended, runs the integrity guard meanwhile, and returns one `FileResult` (rules in `verdict.py`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from backends.base import Backend, BackendPlugin, CheckRequest, PendingCheck, Session, WarmCheck
from verifier.cache import Store
from verifier.errors import BadInput

from .config import LeanConfig, LeanOptions
from .files import project_for, read_source
from .runner import LeanRunner, PendingRun
from .verdict import Texts

if TYPE_CHECKING:
    from verifier.models import FileResult, ToolchainRef


class LeanBackend(Backend):
    """Verifies `.lean` files with the Lean found by `toolchains.lean` (or the configured install)."""

    config: LeanConfig

    def __init__(self, plugin: BackendPlugin, config: LeanConfig):
        super().__init__(plugin, config)
        self._runner: LeanRunner | None = None

    @property
    def runner(self) -> LeanRunner:
        if self._runner is None:
            install = self.config.toolchain
            if install is None:
                from toolchains.lean import locate_lean

                install = locate_lean()
            store = Store(self.config.cache.root) if self.config.cache.enabled else None
            self._runner = LeanRunner(install, store)
        return self._runner

    @property
    def install(self):
        return self.runner.install

    def toolchain(self) -> ToolchainRef:
        from verifier.models import ToolchainRef

        inst = self.runner.install
        return ToolchainRef(name="lean", version=inst.version, path=str(inst.lean))

    def options_for(self, request: CheckRequest) -> LeanOptions:
        opts = request.options if request.options is not None else self.config.options
        if not isinstance(opts, LeanOptions):
            raise BadInput(f"the Lean backend was given {type(opts).__name__} options",
                           fix="pass backends.lean.config.LeanOptions")
        if request.time_limit_s is not None:
            raise BadInput("Lean has no per-obligation time limit, so --time-limit does not apply to .lean files",
                           fix="use --lean-heartbeats N (Lean's deterministic limit) and --timeout for the wall clock")
        if request.resource_limit is not None:
            from dataclasses import replace

            opts = replace(opts, max_heartbeats=int(request.resource_limit))
        return opts

    def texts(self, request: CheckRequest) -> Texts:
        return Texts(
            file=request.file, shown=request.shown, source=read_source(request.file, "file"),
            spec=request.contract,
            spec_source=read_source(request.contract, "spec") if request.contract is not None else None,
            program=request.program,
            program_source=read_source(request.program, "program") if request.program is not None else None)

    # -- checks

    def _begin(self, request: CheckRequest) -> PendingCheck:
        from . import probe
        from .verdict import guard

        start = time.monotonic()
        t = self.texts(request)
        opts = self.options_for(request)
        project = project_for(t.file, t.spec, t.program)
        report = guard(t)  # before Lean starts: the probes are the names the guard found
        given, given_path = t.given
        compared = report.probe_names if given is not None else []
        p = probe.build(t.source, report.probe_names, compared)
        mem = request.memory_mb
        run = self.runner.begin(t.file.name, t.source + p.text, project, opts, request.timeout,
                                self.config.cache.enabled, mem)
        spec_run = given_probe = None
        if given is not None:
            try:
                given_probe = probe.build(given, [], compared, axioms=False)
                spec_run = self.runner.begin(Path(given_path).name, given + given_probe.text,
                                             project_for(Path(given_path)) or project, LeanOptions(), request.timeout,
                                             self.config.cache.enabled, mem)
            except BaseException:
                run.cancel()
                raise
        return LeanPendingCheck(self, t, report, p, run, spec_run, start, given_probe)

    # -- capabilities

    def contract_problems(self, file: Path, *, timeout: float = 600.0) -> list[str]:
        """Why `file` cannot serve as a contract ([] when it can): it must elaborate (with `sorry`s), give at least
        one declaration to fill (`:= sorry`) and use no escape from proof elsewhere."""
        return self._usable(file, "contract", timeout)

    def program_problems(self, file: Path, *, timeout: float = 600.0) -> list[str]:
        """Why `file` cannot be a program to annotate ([] when it can): it must elaborate, its definitions must be
        complete (only theorem proofs may be `sorry`) and it must use no other escape from proof."""
        return self._usable(file, "program", timeout)

    def _usable(self, file: Path, what: str, timeout: float) -> list[str]:
        from .integrity import check_integrity
        from .lexer import LexError
        from .syntax import outline

        source = read_source(file, what)
        try:
            tree = outline(source)
        except LexError as e:
            return [f"{e}: the file cannot be read as Lean"]
        run = self.runner.begin(file.name, source, project_for(file), LeanOptions(), timeout,
                                self.config.cache.enabled).result()
        problems = [f"line {m.line}: {m.data.splitlines()[0] if m.data else 'error'}"
                    for m in run.output.messages if m.is_error][:10]
        if run.timed_out:
            problems.append(f"lean did not finish within {timeout:.0f} s")
        elif run.crashed:
            problems.append(f"lean crashed (exit status {run.exit_code})")
        fill = [c for c in tree.decls() if c.to_fill]
        sorry_lines = set()
        for c in fill:
            sorry_lines |= {t.line for t in c.body}
        report = check_integrity(source, str(file))
        for v in report.violations:
            if v.rule == "QED-L101" and v.line in sorry_lines:
                continue
            problems.append(f"line {v.line}: {v.message}" if v.line else v.message)
        if what == "contract" and not fill:
            problems.append("the contract has no declaration to fill: give the definitions and theorems to write "
                            "with `:= sorry` (or `:= by sorry`) as their body")
        if what == "program":
            for c in fill:
                if c.kind not in ("theorem", "lemma"):
                    problems.append(f"line {c.line}: `{c.kind} {c.name}` has no code (`sorry`): a program to annotate "
                                    f"gives every definition; only theorem proofs may be `sorry`")
        return problems

    def _open_session(self) -> Session:
        from .session import LeanSession

        return LeanSession(self.runner.install, self.config)

    def check_warm(self, request: CheckRequest, session: Session) -> WarmCheck:
        """Check through a warm REPL session, guard included. Never a verdict (see `WarmCheck`)."""
        from .verdict import guard, judge_warm

        start = time.monotonic()
        t = self.texts(request)
        report = guard(t)
        outcome = session.outcome(t.file, t.source, request)
        if outcome.crashed or outcome.timed_out:
            return WarmCheck(clean=False, feedback=None, duration_s=round(time.monotonic() - start, 3),
                             session=session.name, answered=False, detail=outcome.detail)
        feedback = judge_warm(t, report, outcome, toolchain=self.toolchain(), started=start, session=session.name)
        return WarmCheck(clean=feedback is None, feedback=feedback, duration_s=round(time.monotonic() - start, 3),
                         session=session.name, detail=outcome.detail)


class LeanPendingCheck(PendingCheck):
    """A check whose Lean run has started."""

    def __init__(self, backend: LeanBackend, texts: Texts, report, probe, run: PendingRun,
                 spec_run: PendingRun | None, started: float, given_probe=None):
        self.backend, self.texts, self.report, self.probe = backend, texts, report, probe
        self.run, self.spec_run, self.started, self.given_probe = run, spec_run, started, given_probe

    def cancel(self) -> None:
        for r in (self.run, self.spec_run):
            if r is not None:
                r.cancel()

    def finish(self) -> FileResult:
        from .probe import statements
        from .verdict import check_spec, judge

        try:
            given = None
            if self.spec_run is not None:
                given_run = self.spec_run.result()
                _, given_path = self.texts.given
                check_spec(given_run, Path(given_path), self.given_probe,
                           "program" if self.texts.program is not None else "spec")
                given = statements(given_run.output.messages, self.given_probe)
            run = self.run.result()
            return judge(self.texts, self.report, run, self.probe, toolchain=self.backend.toolchain(),
                         started=self.started, given_statements=given)
        except BaseException:
            self.cancel()
            raise
