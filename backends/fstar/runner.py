"""Runs `fstar.exe` in batch mode on one file, with a content-addressed cache of what it said.

Every run has the same safety flags, first on the command line:

    fstar.exe --message_format json --report_assumes error --warn_error @296 --smt <z3> --z3version <V> ...

`--report_assumes error` turns uses of `admit`/`assume` that F* notices into errors, `--warn_error @296` makes
"Tactics admitted goal" an error, and Z3 is always passed explicitly, so F* never picks another solver. What
these flags miss is the integrity guard's job (`integrity.py`).

With a contract, F* checks a private snapshot: the candidate as `<M>.fst` and the contract as `<M>.fsti` in a
fresh folder (F* finds a module's files by its name, and checks an implementation against its interface), so
the bytes the guard read are the bytes F* checked. Without one, the file is checked where it is (its folder is
on the include path, so its own interface and sibling modules are found as F* would find them).
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from verifier import __version__ as qed_version
from verifier import procs
from verifier.cache import Store, digest
from verifier.errors import BadInput, ToolchainError
from verifier.models import Diagnostic

from .config import FStarOptions
from .integrity import SAFE_OPTIONS

CACHE_NAMESPACE = "fstar-run-v1"
DEFAULT_MEMORY_MB = 8192
SAFETY_FLAGS = ("--message_format", "json", "--report_assumes", "error", "--warn_error", "@296")
_MODULE = re.compile(r"^\s*module\s+([A-Z][\w']*(?:\.[A-Z][\w']*)*)\s*$", re.M)


class FStarRun(BaseModel):
    """What one `fstar.exe` process said (what is cached): diagnostics name the files qed shows."""

    command: list[str]
    exit_code: int | None
    timed_out: bool = False
    crashed: bool = False
    killed_for_memory: bool = False
    duration_s: float
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    success_line: bool = False
    unparsed: list[str] = Field(default_factory=list)
    cached: bool = False


def module_name(source: str) -> str | None:
    """The name in the file's `module M` line (comments are not looked into: the guard reads them properly)."""
    from .syntax import outline

    return outline(source).name


def check_options(options: FStarOptions) -> None:
    """Extra options may only tune the solver (the same list the guard allows in pragmas)."""
    for a in options.extra_args:
        if a.startswith("-") and a.lstrip("-") not in SAFE_OPTIONS:
            raise BadInput(f"F* option {a} is not allowed: it could weaken or redirect checking",
                           fix="pass only solver-tuning options (--z3rlimit, --fuel, --ifuel, --z3seed, ...)")


@dataclass
class Job:
    """One check's files: what F* is given, in which folder, and how its file names map back to the user's."""

    target: Path  # the file F* checks
    cwd: Path
    includes: list[Path]
    names: dict[str, str]  # a file name F* may print -> the name qed shows
    shown: str
    tmp: tempfile.TemporaryDirectory | None = None
    #: for a file checked in place: a digest of the F* files beside it (what F* may read besides its library),
    #: or None when there are too many to key a cache entry on
    neighbours: str | None = None

    @property
    def cacheable(self) -> bool:
        return self.tmp is not None or self.neighbours is not None

    def cleanup(self) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()


def prepare(file: Path, source: str, shown: str, contract: Path | None = None,
            contract_source: str | None = None, contract_shown: str | None = None) -> Job:
    """The files of one check (see the module docstring). Raises BadInput for a contract without a module."""
    if contract is None:
        cwd = file.resolve().parent
        names = {file.name: shown, str(file): shown, str(file.resolve()): shown}
        return Job(target=file.resolve(), cwd=cwd, includes=[cwd], names=names, shown=shown,
                   neighbours=_neighbours(cwd, file.resolve()))
    name = module_name(contract_source or "")
    if name is None:
        raise BadInput(f"the contract {contract} has no `module M` line",
                       fix="start the contract with `module <Name>` (the module the candidate implements)")
    tmp = tempfile.TemporaryDirectory(prefix="qed-fstar-")
    folder = Path(tmp.name).resolve()
    suffix = ".fsti" if file.name.endswith(".fsti") else ".fst"
    target = folder / f"{name}{suffix}"
    target.write_bytes(source.encode("utf-8"))
    iface = folder / f"{name}.fsti"
    if suffix == ".fst":
        iface.write_bytes((contract_source or "").encode("utf-8"))
    names = {target.name: shown, str(target): shown, iface.name: contract_shown or str(contract),
             str(iface): contract_shown or str(contract)}
    return Job(target=target, cwd=folder, includes=[folder], names=names, shown=shown, tmp=tmp)


_MAX_NEIGHBOURS = 200


def _neighbours(folder: Path, target: Path) -> str | None:
    """A digest of the `.fst`/`.fsti` files in `folder` other than `target` (names and contents)."""
    try:
        files = sorted(p for p in folder.iterdir() if p.name.endswith((".fst", ".fsti")) and p != target)
    except OSError:
        return None
    if len(files) > _MAX_NEIGHBOURS:
        return None
    parts: list[str | bytes] = []
    for p in files:
        try:
            parts += [p.name, p.read_bytes()]
        except OSError:
            return None
    return digest("fstar-neighbours", *parts)


def prepare_contract(contract: Path, source: str, shown: str | None = None) -> Job:
    """The files to check a contract on its own: a snapshot `<M>.fsti` (an interface checked alone)."""
    name = module_name(source)
    if name is None:
        raise BadInput(f"the contract {contract} has no `module M` line",
                       fix="start the contract with `module <Name>` (the module the candidate implements)")
    tmp = tempfile.TemporaryDirectory(prefix="qed-fstar-")
    folder = Path(tmp.name).resolve()
    target = folder / f"{name}.fsti"
    target.write_bytes(source.encode("utf-8"))
    shown = shown or str(contract)
    names = {target.name: shown, str(target): shown}
    return Job(target=target, cwd=folder, includes=[folder], names=names, shown=shown, tmp=tmp)


@dataclass
class FStarRunner:
    """Knows one F* install (`toolchains.fstar.FStarInstall`) and how to run it."""

    install: object
    store: Store | None = field(default_factory=Store)

    def command(self, job: Job, options: FStarOptions) -> list[str]:
        check_options(options)
        argv = [str(self.install.path), *SAFETY_FLAGS, *self.install.solver_args()]
        for inc in job.includes:
            argv += ["--include", str(inc)]
        return argv + options.args() + [str(job.target)]

    def cache_key(self, job: Job, source: str, contract_source: str | None, options: FStarOptions) -> str:
        return digest(CACHE_NAMESPACE, qed_version, str(self.install.full_version), str(self.install.z3_version),
                      json.dumps(options.args()), job.target.name, source, contract_source or "\0none",
                      json.dumps(sorted({v for k, v in job.names.items() if "/" not in k and "\\" not in k})),
                      job.shown, job.neighbours or "", str(job.target) if job.tmp is None else "")

    def begin(self, job: Job, source: str, contract_source: str | None, options: FStarOptions, timeout: float,
              use_cache: bool = True, memory_mb: int | None = None) -> "PendingRun":
        """Start F* now (or find its answer in the cache); collect with `.result()`."""
        key = self.cache_key(job, source, contract_source, options) if self.store is not None and use_cache \
            else None
        # in place, F* also reads the files beside the target (its interface, sibling modules): they are keyed
        if key is not None and job.cacheable:
            hit = self.store.get(CACHE_NAMESPACE, key)
            if isinstance(hit, dict):
                try:
                    run = FStarRun.model_validate(hit)
                    run.cached = True
                    job.cleanup()  # F* will not read the snapshot
                    return PendingRun(self, job, key, cached=run)
                except ValueError:
                    pass
        argv = self.command(job, options)
        try:
            running = procs.start(argv, timeout=timeout, cwd=job.cwd, rss_mb=memory_mb or DEFAULT_MEMORY_MB)
        except OSError as e:
            job.cleanup()
            raise ToolchainError(f"cannot start F* at {self.install.path}: {e.strerror or e}",
                                 fix="run `qed toolchain status` and fix or reinstall F*") from e
        return PendingRun(self, job, key if job.cacheable else None, running=running)


@dataclass
class PendingRun:
    """An F* run that has started (or a cache hit)."""

    runner: FStarRunner
    job: Job
    key: str | None
    cached: FStarRun | None = None
    running: procs.Running | None = None

    def cancel(self) -> None:
        if self.running is not None and self.cached is None:
            self.running.kill()
        self.job.cleanup()

    def result(self) -> FStarRun:
        if self.cached is None:
            assert self.running is not None
            try:
                proc = self.running.wait()
                run = collect(proc, self.job)
            finally:
                self.job.cleanup()
            store = self.runner.store
            if self.key is not None and store is not None and complete(run):
                store.put(CACHE_NAMESPACE, self.key, run.model_dump(mode="json"))
            self.cached = run
        return self.cached


def complete(run: FStarRun) -> bool:
    """F* said all it had to say: it exited 0 with its success line, or 1 with the errors it found."""
    from verifier.models import Severity

    if run.timed_out or run.crashed or run.killed_for_memory:
        return False
    if run.exit_code == 0:
        return run.success_line
    return run.exit_code == 1 and any(d.severity == Severity.error for d in run.diagnostics)


def collect(proc: procs.ProcResult, job: Job) -> FStarRun:
    """Parse a finished F* process; raises ToolchainError for problems of the toolchain itself."""
    from .output import display_name, parse_output

    parsed = parse_output(proc.stdout, proc.stderr, lambda n: display_name(n, job.names, job.shown))
    run = FStarRun(command=list(proc.argv), exit_code=proc.returncode, timed_out=proc.timed_out,
                   killed_for_memory=proc.killed_for_memory, duration_s=round(proc.duration_s, 3),
                   diagnostics=parsed.diagnostics, success_line=parsed.success_line, unparsed=parsed.other[:50])
    if run.killed_for_memory:
        run.crashed = True
        run.unparsed.insert(0, "qed killed F* at its memory cap (F* and Z3 together; raise it with --memory-mb)")
        return run
    from verifier.models import DiagnosticKind, Severity

    for d in run.diagnostics:
        if d.kind == DiagnosticKind.toolchain and d.severity == Severity.error:
            raise ToolchainError(f"F* cannot run its solver: {d.message.splitlines()[0]}",
                                 fix="run `qed toolchain status`; set QED_FSTAR_Z3 to the pinned Z3")
    errors = [d for d in run.diagnostics if d.severity == Severity.error]
    if run.exit_code == 1 and not errors and not run.timed_out and parsed.json_lines == 0 and \
            _looks_like_cli_error(proc.stderr + proc.stdout):
        first = next((ln for ln in (proc.stderr + "\n" + proc.stdout).splitlines() if ln.strip()), "no message")
        raise ToolchainError(f"F* rejected the command line: {first.strip()[:200]}",
                             fix="check the options passed to qed (and `qed toolchain status`)")
    run.crashed = not run.timed_out and (
        run.exit_code is None or run.exit_code not in (0, 1)
        or (run.exit_code == 1 and not errors)
        or (run.exit_code == 0 and (bool(errors) or not run.success_line)))
    return run


def _looks_like_cli_error(text: str) -> bool:
    """F* refusing its command line (`FStarC.Main.go_normal`: `error: <msg>` then the option's help)."""
    low = text.lower()
    return any(ln.strip().startswith("error: ") for ln in low.splitlines()) or any(
        s in low for s in ("unrecognized option", "unknown option", "invalid argument", "usage:", "wrong argument"))
