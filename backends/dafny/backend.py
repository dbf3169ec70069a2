"""The Dafny backend: starts the verifier, runs the integrity guard meanwhile, and returns one `FileResult`.

How the verdict is decided is in `verdict.py`. This module stays light to import so that Dafny starts before
qed loads its models and the guard.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from verifier.cache import Store
from verifier.errors import BadInput

from .runner import DafnyOptions, DafnyRunner, PendingRun

if TYPE_CHECKING:
    from verifier.models import FileResult, ToolchainRef


def read_source(path: Path, what: str) -> str:
    """Read a Dafny file as UTF-8, or raise BadInput naming the problem and the fix."""
    try:
        # Exact text: no newline translation (a lone CR ends a `//` comment for Dafny, and the guard must
        # read what Dafny reads).
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BadInput(f"{what} {path} does not exist", fix="check the path") from None
    except IsADirectoryError:
        raise BadInput(f"{what} {path} is a directory", fix="pass a .dfy file") from None
    except UnicodeDecodeError:
        raise BadInput(f"{what} {path} is not UTF-8 text", fix="save it as UTF-8") from None
    except OSError as e:
        raise BadInput(f"cannot read {what} {path}: {e.strerror}", fix="check its permissions") from None


@dataclass
class DafnyBackend:
    """Verifies `.dfy` files with the Dafny found by `toolchains` (or the given install)."""

    install: object | None = None
    options: DafnyOptions = field(default_factory=DafnyOptions)
    store: Store | None = field(default_factory=Store)
    use_cache: bool = True
    audit: bool | None = None  # run `dafny audit` as a second opinion; None: only when a spec is given
    name: str = "dafny"
    suffixes: tuple[str, ...] = (".dfy",)

    def __post_init__(self) -> None:
        self._runner: DafnyRunner | None = None

    @property
    def runner(self) -> DafnyRunner:
        if self._runner is None:
            if self.install is None:
                from toolchains.discovery import locate_dafny

                self.install = locate_dafny()
            self._runner = DafnyRunner(self.install, self.store)
        return self._runner

    def toolchain(self) -> "ToolchainRef":
        from verifier.models import ToolchainRef

        inst = self.runner.install
        solver = f"z3 {inst.solver_version}" if getattr(inst, "solver_version", None) else None
        return ToolchainRef(name="dafny", version=inst.version, path=str(inst.path), solver=solver)

    def contract_problems(self, file: Path, *, timeout: float = 600.0) -> list[str]:
        """Why `file` cannot serve as a contract (empty when it can): it must resolve, give at least one member
        without a body to implement, and contain no escape from proof (members without a body excepted)."""
        return self._usable(file, "contract", timeout)

    def program_problems(self, file: Path, *, timeout: float = 600.0) -> list[str]:
        """Why `file` cannot be a program to annotate (empty when it can): it must resolve and contain no
        escape from proof (the candidate keeps its code, so an escape in it could never be removed)."""
        return self._usable(file, "program", timeout)

    def _usable(self, file: Path, what: str, timeout: float) -> list[str]:
        from .integrity import check_integrity
        from .syntax import outline
        from .verdict import resolution_problems

        source = read_source(file, what)
        problems = resolution_problems(self.runner, file, source, timeout, self.use_cache)
        report = check_integrity(source, str(file))
        problems += [f"line {v.line}: {v.message}" if v.line else v.message
                     for v in report.violations if not (what == "contract" and v.rule == "QED-E107")]
        if what == "contract" and not any(d.is_callable and not d.has_body for d in outline(source).walk()):
            problems.append("the contract has no member without a body, so there is nothing to implement: give "
                            "the members to implement their signature and clauses, and no body")
        return problems

    def check(self, file: Path, spec: Path | None = None, *, timeout: float = 600.0,
              display_name: str | None = None, options: DafnyOptions | None = None,
              program: Path | None = None, members: tuple[str, ...] = ()) -> "FileResult":
        """Verify `file` and wait for the result (see `begin`)."""
        return self.begin(file, spec, timeout=timeout, display_name=display_name, options=options,
                          program=program, members=members).finish()

    @staticmethod
    def changed_members(old_source: str, new_source: str) -> list[str] | None:
        """Members of `new_source` that are new or changed since `old_source` (None: cannot say)."""
        from .syntax import changed_members

        return changed_members(old_source, new_source)

    def begin(self, file: Path, spec: Path | None = None, *, timeout: float = 600.0,
              display_name: str | None = None, options: DafnyOptions | None = None,
              program: Path | None = None, members: tuple[str, ...] = ()) -> "PendingCheck":
        """Start verifying `file` (Dafny runs in the background); `.finish()` gives the result, `.cancel()`
        kills the run.

        `program` (annotate mode): `file` must be that program with proof hints added and nothing else changed
        (`annotate.check_annotation`); it cannot be combined with `spec`. `members` verifies only those members
        (Dafny --filter-symbol); the result then carries `scope` and speaks for them only."""
        if members:
            options = replace(options or self.options, filter_symbols=tuple(members))
        if spec is not None and program is not None:
            raise BadInput("a candidate is checked against a contract (--spec) or a program to annotate "
                           "(--annotates), not both", fix="pass only one of them")
        start = time.monotonic()
        source = read_source(file, "file")
        spec_source = read_source(spec, "spec") if spec is not None else None
        program_source = read_source(program, "program") if program is not None else None
        opts = options or self.options
        runs = [self.runner.begin(file, source, opts, timeout, self.use_cache)]
        try:
            if self.audit or (self.audit is None and (spec is not None or program is not None)):
                runs.append(self.runner.audit(file, source, timeout, self.use_cache))
        except BaseException:
            runs[0].cancel()
            raise
        return PendingCheck(self, file, display_name or str(file), source, spec, spec_source, opts, timeout,
                            start, runs[0], runs[1] if len(runs) > 1 else None, program, program_source)


@dataclass
class PendingCheck:
    """A check whose verifier run has started."""

    backend: DafnyBackend
    file: Path
    shown: str
    source: str
    spec: Path | None
    spec_source: str | None
    options: DafnyOptions
    timeout: float
    started: float
    run: PendingRun
    audit: PendingRun | None
    program: Path | None = None
    program_source: str | None = None

    def cancel(self) -> None:
        for r in (self.run, self.audit):
            if r is not None:
                r.cancel()

    def finish(self) -> "FileResult":
        """Check the spec and run the guard (while Dafny works), then wait and decide the verdict."""
        from .verdict import finish_check

        try:
            return finish_check(self)
        except BaseException:
            self.cancel()
            raise
