"""The backend protocol: what a verifier backend declares, and the only things the core may ask of it.

A backend package (`backends/dafny`, or a third-party distribution) exposes one `BackendPlugin` through the
Python entry-point group `qedgen.backends` (see `backends.registry`). The plugin is cheap to import: it holds
the `LanguageSpec` (name, suffixes, code-fence tags, comment syntax, prompt folder), the declared
`Capability` set, the backend's own command-line options, and its toolchain discovery; `plugin.create(config)`
imports the heavy parts and returns a `Backend`.

The core talks to a `Backend` through typed requests and results only:

* `begin(CheckRequest) -> PendingCheck`, `check(CheckRequest) -> FileResult` (every backend);
* the capabilities it declares, asked for by name (`backend.supports(Capability.x)`, `backend.require(...)`):
  contract checks, program checks (annotate mode), changed members, member scope, a Python build, sessions,
  contract audits.
  Calling a capability a backend does not declare raises `CapabilityMissing` (a `BadInput` naming the
  backend and the capability), never an `AttributeError`;
* a lifecycle: a backend is a context manager, and `close()` stops everything it started (verifier runs,
  sessions).

A `Session` is a long-lived verifier process (Dafny `dafny server`, the Lean REPL, F* `--ide`) that re-checks an
edited candidate fast. It only steers repair rounds: a clean `WarmCheck` means "worth a batch run", never
"verified". The verdict a user gets always comes from `check()` (the batch command) and the guard.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from verifier.errors import BackendUnavailable, BadInput, CapabilityMissing, ToolchainError

if TYPE_CHECKING:
    from verifier.models import Diagnostic, FileResult, MemberOutcome, ToolchainRef

    from .audit_protocol import ContractAuditor

__all__ = [
    "Backend", "BackendConfig", "BackendOptions", "BackendPlugin", "CachePolicy", "PlannedBackendPlugin", "Capability", "CheckRequest",
    "CliOption", "LanguageSpec", "PendingCheck", "PythonBuildRequest", "Session", "SessionConfig",
    "SessionOutcome", "SourceSyntax", "WarmCheck",
]


class Capability(StrEnum):
    """What a backend may offer beyond `check`. The core asks for these by name."""

    #: `contract_problems(file)`: the file resolves, gives something to implement and contains no escape
    contract_check = "contract_check"
    #: `program_problems(file)`, and `CheckRequest.program` is honoured (annotate mode's guard)
    program_check = "program_check"
    #: `changed_members(old, new)`: members new or changed between two candidates
    changed_members = "changed_members"
    #: `CheckRequest.members` is honoured: only those members are verified (the result carries `scope`)
    member_scope = "member_scope"
    #: `build_python(PythonBuildRequest)`: a verified artifact as an importable Python package
    python_build = "python_build"
    #: `open_session()`: a warm verifier process for repair rounds (`check_warm`)
    sessions = "sessions"
    #: `review_contract(old, new)`: which members and clauses of a contract changed and whether that weakens it
    #: (by form, and by asking the verifier about changed clauses); types in `backends.contracts`
    contract_review = "contract_review"
    #: `dependencies(file)`: the other files a file's verdict depends on (includes, imports), transitively
    dependencies = "dependencies"
    #: `contract_auditor()`: is a contract strong enough? (`qed audit`; see `backends.audit_protocol`)
    contract_audit = "contract_audit"


# --- what a language looks like ----------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSyntax:
    """What the code extractor and the prompts need to know of a language's surface syntax.

    `declaration` is a regular expression (compiled with re.M) matching a line that starts a top-level
    declaration (`method M(`, `theorem foo :`, `let f x =`): a code block without the language's tag is taken
    when it has such a line. `preamble` matches lines that may open a bare, unfenced program besides a
    declaration (`include "..."`, `import Mathlib`, `module M`)."""

    fence_tags: tuple[str, ...]  # the first is the one the prompts use (```dafny)
    line_comment: str  # "//"
    block_comment: tuple[str, str]  # ("/*", "*/"); stripped non-nested by the extractor
    declaration: str
    preamble: str


@dataclass(frozen=True)
class CheckTexts:
    """The exact texts one check judges, read once before the verifier starts and judged after it: the
    candidate, and its contract (implement mode) or the program it annotates (annotate mode)."""

    file: Path
    shown: str
    source: str
    spec: Path | None = None
    spec_source: str | None = None
    program: Path | None = None
    program_source: str | None = None

    @property
    def given(self) -> tuple[str | None, str | None]:
        """(text, path) of what the candidate is compared with: the contract, or the program to annotate."""
        if self.spec_source is not None:
            return self.spec_source, str(self.spec)
        if self.program_source is not None:
            return self.program_source, str(self.program)
        return None, None


def read_exact_source(path: Path, what: str, kind: str) -> str:
    """Read a source file as UTF-8, exactly (no newline translation: the guard must read what the verifier reads),
    or raise BadInput naming the problem and the fix. `kind` names the files expected (`a .dfy file`)."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BadInput(f"{what} {path} does not exist", fix="check the path") from None
    except IsADirectoryError:
        raise BadInput(f"{what} {path} is a directory", fix=f"pass {kind}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{what} {path} is not UTF-8 text", fix="save it as UTF-8") from None
    except OSError as e:
        raise BadInput(f"cannot read {what} {path}: {e.strerror}", fix="check its permissions") from None


@dataclass(frozen=True)
class LanguageSpec:
    """A verification language as the core knows it: the task `language:` value and everything tied to it."""

    name: str  # "dafny": the task file's `language:` and the prompt folder's name
    title: str  # "Dafny": for messages
    suffixes: tuple[str, ...]  # (".dfy",): the first is the suffix of files qed writes
    syntax: SourceSyntax
    toolchain: str  # the toolchain's name in `toolchains/manifest.json` and `qed toolchain status`
    prompts: Path | None = None  # template folder; None: the bundled `prompts/<name>/`

    @property
    def suffix(self) -> str:
        """The suffix of files qed writes in this language (candidates, artifacts, contracts)."""
        return self.suffixes[0]

    @property
    def fence(self) -> str:
        """The code-fence tag the prompts ask for."""
        return self.syntax.fence_tags[0]


# --- options and configuration -----------------------------------------------------------------------


@dataclass(frozen=True)
class CliOption:
    """A command-line option a backend adds to qed's commands (like pytest's `pytest_addoption`).

    `decls` are click parameter declarations (`("--audit/--no-audit",)`); `dest` is the keyword the value
    arrives under in `BackendPlugin.config(values)`. Options of every registered backend are added to the
    commands in `commands`; a backend reads only its own."""

    decls: tuple[str, ...]
    dest: str
    help: str
    type: Any = None  # a click type, or None for a flag / a string
    default: Any = None
    is_flag: bool = False
    metavar: str | None = None
    commands: tuple[str, ...] = ("verify", "synth", "build")


@dataclass(frozen=True)
class BackendOptions:
    """Verifier options that change results (part of every cache key). Each backend subclasses it."""


@dataclass(frozen=True)
class CachePolicy:
    """Whether verifier outcomes are answered from (and stored into) the result cache, and where it lives."""

    enabled: bool = True
    root: Path | None = None  # None: `verifier.cache.default_root()`


@dataclass(frozen=True)
class SessionConfig:
    """How warm sessions run: per-request wall clock, memory cap of the whole process group, pool size."""

    request_timeout_s: float = 600.0
    memory_mb: int | None = 4096
    pool_size: int = 2
    start_timeout_s: float = 60.0


@dataclass(frozen=True)
class BackendConfig:
    """A backend's frozen configuration: the toolchain to use (None: discover on first use), its options, the
    cache policy and how sessions run. Each backend subclasses it with its own `options` type."""

    toolchain: Any = None  # a found install, as the backend's discovery returns it
    options: BackendOptions = field(default_factory=BackendOptions)
    cache: CachePolicy = field(default_factory=CachePolicy)
    sessions: SessionConfig = field(default_factory=SessionConfig)


# --- requests ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRequest:
    """Check one file. `contract` (implement mode: its bodiless members are to be implemented, the rest is
    frozen) and `program` (annotate mode: the file must be that program plus proof hints) exclude each other.
    `members` limits verification to those members (Capability.member_scope). `timeout` is the wall clock of
    the whole check; `time_limit_s` the solver limit per proof obligation; `resource_limit` a deterministic
    solver limit; `memory_mb` caps the resident memory of the verifier and everything it starts (None: the
    backend's default; a run above it is killed and reported as an error). `options`, when given, replaces the
    backend's configured options for this request and must be of the backend's own options type."""

    file: Path
    contract: Path | None = None
    program: Path | None = None
    members: tuple[str, ...] = ()
    timeout: float = 600.0
    time_limit_s: int | None = None
    resource_limit: int | None = None
    memory_mb: int | None = None
    display_name: str | None = None
    options: BackendOptions | None = None

    def __post_init__(self) -> None:
        if self.contract is not None and self.program is not None:
            raise BadInput("a candidate is checked against a contract (--spec) or a program to annotate "
                           "(--annotates), not both", fix="pass only one of them")

    @property
    def shown(self) -> str:
        return self.display_name or str(self.file)


@dataclass(frozen=True)
class PythonBuildRequest:
    """Build a verified artifact into an importable Python package in `out_dir`."""

    artifact: Path
    out_dir: Path
    contract: Path | None = None
    name: str | None = None
    description: str | None = None
    certificate: dict | None = None
    examples: tuple[tuple[str, str], ...] = ()
    verify: bool = True  # False only for fidelity benchmarks; the CLI never skips the gate
    timeout: float = 600.0


# --- results of warm sessions ------------------------------------------------------------------------


@dataclass
class SessionOutcome:
    """What a warm session said about one document version (diagnostics in the shared models)."""

    diagnostics: list[Diagnostic]
    members: list[MemberOutcome] = field(default_factory=list)
    duration_s: float = 0.0
    timed_out: bool = False  # the request hit its wall-clock limit (the session was restarted)
    crashed: bool = False  # the session died or answered garbage (it was restarted)
    detail: str | None = None


@dataclass
class WarmCheck:
    """A warm session's check of a candidate, guard included. Never a verdict: `clean` only means that
    nothing was found and a batch run is worth it. When problems were found, `feedback` is a `FileResult`
    (never `verified`, `checked_by="session"`) for the repair prompt. `answered` is False when the session
    crashed or hit its time limit (it restarts itself): then only the batch command can say anything."""

    clean: bool
    feedback: FileResult | None
    duration_s: float
    session: str  # e.g. "dafny server 4.11.0"
    answered: bool = True
    detail: str | None = None


# --- the backend -------------------------------------------------------------------------------------


class PendingCheck(ABC):
    """A check whose verifier run has started."""

    @abstractmethod
    def finish(self) -> FileResult:
        """Wait for the verifier and return the result."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop the verifier and everything it started."""


class Session(ABC):
    """A warm verifier process. `outcome()` re-checks a document; the session restarts itself after a crash or
    a request that hit its time limit. `close()` ends the process group."""

    name: str = "session"

    @abstractmethod
    def outcome(self, file: Path, source: str, request: CheckRequest) -> SessionOutcome:
        """Check `source` (the current text of `file`) and return what the session said."""

    @abstractmethod
    def close(self) -> None:
        """Shut the session down (politely, then by killing its process group)."""

    @property
    def alive(self) -> bool:
        return True

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Backend(ABC):
    """A verifier driver. Subclasses set `plugin`-derived facts through `BackendPlugin.create` and implement
    `begin` plus the methods of the capabilities they declare."""

    def __init__(self, plugin: BackendPlugin, config: BackendConfig):
        self.plugin = plugin
        self.config = config
        self._lock = threading.Lock()
        self._running: dict[int, PendingCheck] = {}
        self._sessions: dict[int, Session] = {}
        self._closed = False

    # -- facts

    @property
    def language(self) -> LanguageSpec:
        return self.plugin.language

    @property
    def name(self) -> str:
        return self.plugin.language.name

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.plugin.capabilities

    def supports(self, capability: Capability) -> bool:
        return capability in self.plugin.capabilities

    def require(self, capability: Capability, needed_for: str) -> None:
        """Raise `CapabilityMissing` (naming the backend, the capability and what needed it) unless declared."""
        if capability not in self.plugin.capabilities:
            raise CapabilityMissing(
                f"the {self.language.title} backend has no {capability.value.replace('_', ' ')} capability, "
                f"which {needed_for} needs",
                fix=f"{needed_for} is not available for {self.language.title} in this qed")

    # -- every backend

    @abstractmethod
    def toolchain(self) -> ToolchainRef:
        """The toolchain that will be used; raises `ToolchainError` (with the fix) when it is missing."""

    @abstractmethod
    def _begin(self, request: CheckRequest) -> PendingCheck:
        """Start the check (subclasses); `begin` registers it so that `close()` can stop it."""

    def begin(self, request: CheckRequest) -> PendingCheck:
        """Start checking `request.file` and return at once; `.finish()` gives the `FileResult`."""
        if self._closed:
            raise ToolchainError(f"the {self.language.title} backend was closed", fix="open a new backend")
        if request.members and not self.supports(Capability.member_scope):
            self.require(Capability.member_scope, "verifying only some members")
        if request.program is not None:
            self.require(Capability.program_check, "annotate mode")
        pending = self._begin(request)
        return _Tracked(self, pending)

    def check(self, request: CheckRequest) -> FileResult:
        """Verify and wait (see `begin`)."""
        return self.begin(request).finish()

    def cached_result(self, request: CheckRequest) -> dict | None:
        """The `FileResult` of an identical earlier check as its JSON document (`model_dump(mode="json")`),
        found without loading qed's models, or None (the default: the backend keeps no whole results). Lets
        `qed verify` answer a repeated check before anything heavy loads; `check` must give the same answer."""
        return None

    def rule_help(self) -> dict[str, tuple[str, str]]:
        """The backend's integrity rule ids -> (short name, help text), for reports (SARIF rules); {} by default."""
        return {}

    # -- capabilities (declared in the plugin; the defaults refuse)

    def contract_problems(self, file: Path, *, timeout: float = 600.0) -> list[str]:
        """Why `file` cannot serve as a contract ([] when it can). Capability.contract_check."""
        self.require(Capability.contract_check, "checking a written contract")
        raise NotImplementedError

    def program_problems(self, file: Path, *, timeout: float = 600.0) -> list[str]:
        """Why `file` cannot be a program to annotate ([] when it can). Capability.program_check."""
        self.require(Capability.program_check, "annotate mode")
        raise NotImplementedError

    def changed_members(self, old_source: str, new_source: str) -> list[str] | None:
        """Members of `new_source` new or changed since `old_source` (None: cannot say). Capability.changed_members."""
        self.require(Capability.changed_members, "scoped repair rounds")
        raise NotImplementedError

    def review_contract(self, old_source: str | None, new_source: str, *, file: Path, role: str,
                        timeout: float = 600.0) -> Any:
        """How the contract in `new_source` differs from `old_source` (None: it is new), as a
        `backends.contracts.ContractReview`. `role` is `spec` (a contract file: bodied members are fixed
        definitions) or `file` (a checked file: only signatures and clauses are its contract).
        Capability.contract_review."""
        self.require(Capability.contract_review, "contract review (`qed check`)")
        raise NotImplementedError

    def dependencies(self, file: Path) -> list[Path]:
        """The files `file`'s verdict depends on besides itself (includes, transitively; missing ones too).
        Capability.dependencies."""
        self.require(Capability.dependencies, "selecting files by what they include")
        raise NotImplementedError

    def build_python(self, request: PythonBuildRequest) -> Any:
        """Build the verified artifact into a Python package. Capability.python_build."""
        self.require(Capability.python_build, "`qed build` (a Python package)")
        raise NotImplementedError

    def contract_auditor(self) -> ContractAuditor:
        """The language half of `qed audit` (Capability.contract_audit; see `ContractAuditor`)."""
        self.require(Capability.contract_audit, "`qed audit` (a contract audit)")
        raise NotImplementedError

    def _open_session(self) -> Session:
        self.require(Capability.sessions, "a warm session")
        raise NotImplementedError

    def open_session(self) -> Session:
        """A new warm session (Capability.sessions), closed with the backend."""
        self.require(Capability.sessions, "a warm session")
        session = self._open_session()
        with self._lock:
            self._sessions[id(session)] = session
        return session

    def check_warm(self, request: CheckRequest, session: Session) -> WarmCheck:
        """Check through a warm session, guard included (Capability.sessions). Never a verdict."""
        self.require(Capability.sessions, "a warm session")
        raise NotImplementedError

    # -- lifecycle

    def close(self) -> None:
        """Stop every check still running and every session this backend opened."""
        self._closed = True
        with self._lock:
            running, self._running = list(self._running.values()), {}
            sessions, self._sessions = list(self._sessions.values()), {}
        for p in running:
            p.cancel()
        for s in sessions:
            s.close()

    def cancel_running(self) -> None:
        """Kill the checks in flight (sessions stay open)."""
        with self._lock:
            running = list(self._running.values())
        for p in running:
            p.cancel()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _forget(self, pending: PendingCheck) -> None:
        with self._lock:
            self._running.pop(id(pending), None)

    def _remember(self, pending: PendingCheck) -> None:
        with self._lock:
            self._running[id(pending)] = pending


class _Tracked(PendingCheck):
    """A check the backend knows about until it finishes (so `close()` can stop it)."""

    def __init__(self, backend: Backend, inner: PendingCheck):
        self.backend, self.inner = backend, inner
        backend._remember(self)

    def finish(self) -> FileResult:
        try:
            return self.inner.finish()
        finally:
            self.backend._forget(self)

    def cancel(self) -> None:
        try:
            self.inner.cancel()
        finally:
            self.backend._forget(self)


# --- the plugin --------------------------------------------------------------------------------------


class BackendPlugin(ABC):
    """What a backend package registers under the `qedgen.backends` entry-point group. Cheap to import.

    `available` is False for a language qed knows of but whose backend is not installed yet: its files and
    tasks are recognised, and asking for its backend raises `BackendUnavailable` (exit 3) with
    `unavailable_fix`."""

    language: ClassVar[LanguageSpec]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    options: ClassVar[tuple[CliOption, ...]] = ()
    available: ClassVar[bool] = True
    unavailable_fix: ClassVar[str] = ""

    def config(self, values: Mapping[str, Any] | None = None, *, use_cache: bool = True,
               cache_root: Path | None = None, toolchain: Any = None) -> BackendConfig:
        """A frozen config from this backend's command-line option values (`CliOption.dest` -> value)."""
        return BackendConfig(toolchain=toolchain, cache=CachePolicy(enabled=use_cache, root=cache_root))

    @abstractmethod
    def create(self, config: BackendConfig | None = None) -> Backend:
        """The backend itself (imports its heavy parts now)."""

    def toolchain_status(self, env: Mapping[str, str]) -> Any:
        """This backend's row of `qed toolchain status` (a `toolchains.report.ToolchainStatus`); None (the
        default) makes the report ask `Backend.toolchain()` instead."""
        return None

    def install(self, source: str | None, dest: Path | None, sha256: str | None, *, env: Mapping[str, str],
                force: bool, progress: Callable[[str], None]) -> str:
        """`qed toolchain install NAME`; returns a one-line description of what was installed."""
        from toolchains.manifest import load_manifest

        hint = load_manifest().get(self.language.toolchain).install_hint
        raise BadInput(f"qed cannot install {self.language.title} itself", fix=hint)


class PlannedBackendPlugin(BackendPlugin):
    """A language qed recognises (files, tasks, code extraction) whose backend is not installed: `create`
    raises `BackendUnavailable` (exit 3) with `unavailable_fix`."""

    available = False

    def create(self, config: BackendConfig | None = None) -> Backend:
        raise BackendUnavailable(f"the {self.language.title} backend is not part of this qed yet",
                                 fix=self.unavailable_fix)
