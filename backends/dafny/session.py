"""A warm Dafny: `dafny server` (the language server, LSP over stdio) re-checks edited candidates in well under
the ~1.5 s that every `dafny verify` spends starting .NET and Z3.

Completion of a document version is read from what the server pushes (Dafny 4.11,
`Source/DafnyLanguageServer/Workspace/NotificationPublisher.cs`). For every sampled IDE state (at most one per
100 ms) the server sends, in this order and each only when it differs from what it sent before:
`textDocument/publishDiagnostics`, `dafny/textDocument/symbolStatus` (per named verifiable: 0 stale, 1 queued,
2 running, 4 error, 5 correct) and `dafny/compilation/status` (`Parsing`, `ParsingFailed`, `ResolutionStarted`,
`ResolutionFailed`, `ResolutionSucceeded`, `InternalException`). So version v is done when

* its compilation status is `ParsingFailed`, `ResolutionFailed` or `InternalException` (nothing gets verified), or
* its status is `ResolutionSucceeded` and the symbol status (the last one received: an unchanged one is not
  sent again, and none at all is sent for a program without verifiables) has every verifiable at 4 or 5.

After resolution every verifiable starts again at stale, so old verdicts cannot pass for new ones. The
diagnostics of version v are the last ones published for the document (unchanged ones are not re-sent).

A session never gives a verdict (see `backends.base.Session`): its server's options are the batch command's
verifier options, but `--filter-symbol` (member scope) and the exit-code rules do not apply.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from backends.base import CheckRequest, Session, SessionConfig, SessionOutcome
from verifier import procs
from verifier.errors import ToolchainError
from verifier.models import Diagnostic, MemberOutcome, RelatedLocation, Severity

from .lsp import LspClosed, LspConnection, LspError
from .output import make_diagnostic
from .runner import DafnyOptions, dafny_env

__all__ = ["DafnySession"]

_DONE_STATUSES = {4, 5}  # PublishedVerificationStatus.Error, .Correct
_FAILED = {  # compilation statuses after which nothing gets verified
    "ParsingFailed": "the program does not parse",
    "ResolutionFailed": "the program does not resolve (name or type errors)",
    "InternalException": "Dafny hit an internal error on this program",
}
_SEVERITY = {1: Severity.error, 2: Severity.warning, 3: Severity.info}  # 4 (hint) is dropped, as the CLI does
_SHUTDOWN_GRACE_S = 2.0
_POLL_S = 0.25  # how often a waiting request re-checks that the server is alive


@dataclass
class _Doc:
    """What the server said about one document (updated by the reader thread)."""

    version: int = 0  # the version qed sent last
    resolved: bool = False  # ResolutionSucceeded seen for `version`
    failed: str | None = None  # ParsingFailed / ResolutionFailed / InternalException for `version`
    done: bool = False
    diagnostics: list[dict] = field(default_factory=list)  # the last published (any version)
    symbols: list[dict] = field(default_factory=list)  # the last symbolStatus's namedVerifiables (any version)


def _all_done(symbols: list[dict]) -> bool:
    return all(isinstance(s, dict) and s.get("status") in _DONE_STATUSES for s in symbols)


class _Server:
    """One running `dafny server`: process, connection, private folder, and the documents it knows."""

    def __init__(self, options_args: list[str], proc: procs.Process, folder: Path):
        self.options_args, self.proc, self.folder = options_args, proc, folder
        self.docs: dict[str, _Doc] = {}
        self.open_uri: str | None = None
        self.changed = threading.Condition()
        self.conn: LspConnection | None = None
        # removes the folder at the latest when qed exits (the server is dead by then: parent-death signal)
        self._remove_folder = weakref.finalize(self, shutil.rmtree, folder, True)

    def on_notification(self, method: str, params: Any) -> None:
        if not isinstance(params, dict):
            return
        version = params.get("version")
        with self.changed:
            doc = self.docs.get(_norm(params.get("uri")))
            if doc is None:
                return
            if method == "textDocument/publishDiagnostics":
                diags = params.get("diagnostics")
                doc.diagnostics = [d for d in diags if isinstance(d, dict)] if isinstance(diags, list) else []
            elif method == "dafny/textDocument/symbolStatus":
                named = params.get("namedVerifiables")
                doc.symbols = named if isinstance(named, list) else []
                if doc.resolved and version == doc.version and _all_done(doc.symbols):
                    doc.done = True
            elif method == "dafny/compilation/status" and version == doc.version:
                status = params.get("status")
                if status in _FAILED:
                    doc.failed, doc.done = status, True
                elif status == "ResolutionSucceeded":
                    doc.resolved = True
                    doc.done = _all_done(doc.symbols)
            else:
                return
            self.changed.notify_all()

    def on_close(self, reason: str) -> None:
        with self.changed:
            self.changed.notify_all()

    def stop(self, polite: bool) -> None:
        """End the server (LSP shutdown + exit first when `polite`), kill its group, remove its folder."""
        conn = self.conn
        if polite and conn is not None and conn.alive and self.proc.alive:
            try:
                conn.request("shutdown", None, _SHUTDOWN_GRACE_S)
                conn.notify("exit", None)
            except LspError:
                pass
            self.proc.terminate(_SHUTDOWN_GRACE_S)
        else:
            self.proc.kill()
        self._remove_folder()


class DafnySession(Session):
    """A warm `dafny server` for repair rounds (see the module docstring). One request at a time; restarts
    itself after a crash, a memory kill or a request that ran out of time."""

    def __init__(self, install: Any, options: DafnyOptions, config: SessionConfig):
        self.install, self.options, self.config = install, options, config
        self.name = f"dafny server {install.version}"
        self._lock = threading.Lock()  # one request at a time
        self._server: _Server | None = None
        self._closed = False
        self._start(self.options)

    @property
    def alive(self) -> bool:
        server = self._server
        return (not self._closed and server is not None and server.proc.alive
                and server.conn is not None and server.conn.alive)

    def command(self, options: DafnyOptions | None = None) -> list[str]:
        """The server's command line, less `--log-location <private folder>` that each start adds (without it,
        Dafny 4.11 writes `DafnyLanguageServerLog<date>.txt` beside Dafny.dll: `LanguageServer.InitializeLogger`)."""
        return [str(self.install.path), "server", *self.install.extra_args, *_server_args(options or self.options)]

    def outcome(self, file: Path, source: str, request: CheckRequest) -> SessionOutcome:
        """Check `source` as the current text of `file`; wait for the server to finish that exact version."""
        with self._lock:
            if self._closed:
                raise ToolchainError("this Dafny session was closed", fix="open a new session")
            started = time.monotonic()
            options = self._options_for(request)
            server = self._server
            if server is None or server.options_args != _server_args(options) or not self.alive:
                self._restart(options)
                server = self._server
            timeout = min(request.timeout, self.config.request_timeout_s)
            path = file.resolve()
            uri = path.as_uri()
            try:
                doc = self._send(server, uri, source)
                problem = self._wait(server, doc, time.monotonic() + timeout)
            except LspClosed:
                problem = "crashed"
            if problem is not None:
                detail = self._failure(server, problem, doc_version=server.docs.get(_norm(uri), _Doc()).version,
                                       timeout=timeout)
                self._kill()
                return SessionOutcome([], duration_s=round(time.monotonic() - started, 3),
                                      timed_out=problem == "timeout", crashed=problem != "timeout", detail=detail)
            with server.changed:
                diagnostics, symbols, failed = list(doc.diagnostics), list(doc.symbols), doc.failed
            # An internal error of the server says nothing about the candidate: report it as a crash (the
            # batch command then decides), never as the candidate's problems.
            return SessionOutcome(
                diagnostics=_diagnostics(diagnostics, uri, path, static_only=failed is not None),
                members=[] if failed else _members(symbols, source),
                duration_s=round(time.monotonic() - started, 3), crashed=failed == "InternalException",
                detail=f"{_FAILED[failed]} ({failed}): nothing was verified" if failed else None)

    def close(self) -> None:
        """Shut the server down politely (LSP shutdown + exit), then kill its process group. Idempotent."""
        self._closed = True
        server, self._server = self._server, None
        if server is not None:
            server.stop(polite=True)

    # -- internals

    def _options_for(self, request: CheckRequest) -> DafnyOptions:
        opts = request.options if isinstance(request.options, DafnyOptions) else self.options
        changes: dict = {}
        if request.time_limit_s is not None:
            changes["time_limit_s"] = request.time_limit_s
        if request.resource_limit is not None:
            changes["resource_limit"] = str(request.resource_limit)
        return replace(opts, **changes) if changes else opts

    def _start(self, options: DafnyOptions) -> None:
        folder = Path(tempfile.mkdtemp(prefix="qed-dafny-server-"))
        argv = [*self.command(options), "--log-location", str(folder)]
        try:
            proc = procs.spawn(argv, cwd=folder, env=dafny_env(), memory_mb=self.config.memory_mb)
        except OSError as e:
            shutil.rmtree(folder, ignore_errors=True)
            raise ToolchainError(f"cannot start `dafny server` at {self.install.path}: {e.strerror or e}",
                                 fix="run `qed toolchain status` and fix or reinstall Dafny") from e
        server = _Server(_server_args(options), proc, folder)
        server.conn = LspConnection(proc, server.on_notification, server.on_close)
        try:
            server.conn.request("initialize", {
                "processId": os.getpid(), "rootUri": None, "clientInfo": {"name": "qed"},
                "capabilities": {"textDocument": {"publishDiagnostics": {"relatedInformation": True,
                                                                         "versionSupport": True}}},
            }, self.config.start_timeout_s)
            server.conn.notify("initialized", {})
        except LspError as e:
            tail = proc.stderr_tail().strip().splitlines()
            server.stop(polite=False)
            why = f"{e}" + (f"; it said: {tail[-1][:200]}" if tail else "")
            raise ToolchainError(f"`dafny server` did not start ({why})",
                                 fix="check that `dafny server` runs (`qed toolchain status`), or raise the "
                                     "session start timeout") from e
        self._server = server
        if self._closed:  # closed from another thread meanwhile
            self._kill()
            raise ToolchainError("this Dafny session was closed", fix="open a new session")

    def _restart(self, options: DafnyOptions) -> None:
        self._kill()
        self._start(options)

    def _kill(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop(polite=False)

    def _send(self, server: _Server, uri: str, source: str) -> _Doc:
        """didOpen (first time) or didChange (full text, next version); other documents are closed first."""
        conn = server.conn
        if server.open_uri is not None and server.open_uri != uri:
            conn.notify("textDocument/didClose", {"textDocument": {"uri": server.open_uri}})
            server.open_uri = None
        with server.changed:
            doc = server.docs.setdefault(_norm(uri), _Doc())
            # versions keep growing across didClose/didOpen, so that a late notification never matches
            doc.version += 1
            doc.resolved, doc.failed, doc.done = False, None, False
            reopened = server.open_uri != uri
            if reopened:
                doc.diagnostics, doc.symbols = [], []
        if reopened:
            conn.notify("textDocument/didOpen", {"textDocument": {
                "uri": uri, "languageId": "dafny", "version": doc.version, "text": source}})
            server.open_uri = uri
        else:
            conn.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": doc.version},
                                                   "contentChanges": [{"text": source}]})
        return doc

    def _wait(self, server: _Server, doc: _Doc, deadline: float) -> str | None:
        """None when `doc`'s version is done; else "timeout" or "crashed"."""
        with server.changed:
            while not doc.done:
                if not (server.conn.alive and server.proc.alive):
                    return "crashed"
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "timeout"
                server.changed.wait(min(remaining, _POLL_S))
        return None

    def _failure(self, server: _Server, problem: str, *, doc_version: int, timeout: float) -> str:
        if problem == "timeout":
            return (f"no result for version {doc_version} within {timeout:.0f} s; the server was killed and "
                    f"restarts with the next request")
        if server.proc.killed_for_memory:
            return (f"the server used more than {server.proc.memory_mb} MB and was killed; it restarts with the "
                    f"next request")
        why = server.conn.dead_reason if server.conn is not None and server.conn.dead_reason else "it exited"
        tail = server.proc.stderr_tail(settle=1.0).strip().splitlines()
        return (f"the server died ({why}{'; ' + tail[-1][:200] if tail else ''}); it restarts with the next "
                f"request")


def _server_args(options: DafnyOptions) -> list[str]:
    # `dafny server` takes the verify options that change results, but not --filter-symbol.
    a: list[str] = []
    if options.time_limit_s is not None:
        a += ["--verification-time-limit", str(options.time_limit_s)]
    if options.resource_limit is not None:
        a += ["--resource-limit", str(options.resource_limit)]
    if options.cores is not None:
        a += ["--cores", str(options.cores)]
    return a + list(options.extra_args)


def _norm(uri: Any) -> str | None:
    """A URI as compared here: servers may percent-encode differently from `Path.as_uri()`."""
    return unquote(uri) if isinstance(uri, str) else None


def _path_of(uri: Any, uri_self: str, path: Path) -> str:
    if not isinstance(uri, str) or _norm(uri) == _norm(uri_self):
        return str(path)
    if uri.startswith("file://"):
        return unquote(urlparse(uri).path)
    return uri


def _span(rng: Any) -> tuple[int | None, int | None, int | None, int | None]:
    """An LSP range (0-based, exclusive end) as 1-based line, column, end line, exclusive end column."""
    if not isinstance(rng, dict):
        return None, None, None, None
    start, end = rng.get("start") or {}, rng.get("end") or {}

    def one(v: Any) -> int | None:
        return v + 1 if isinstance(v, int) and v >= 0 else None

    return one(start.get("line")), one(start.get("character")), one(end.get("line")), one(end.get("character"))


def _diagnostics(raw: list[dict], uri: str, path: Path, *, static_only: bool) -> list[Diagnostic]:
    """LSP diagnostics as the shared models. `static_only`: the version did not parse or resolve, so leftover
    verifier messages of an earlier version are dropped."""
    out = []
    for d in raw:
        severity = _SEVERITY.get(d.get("severity", 1))
        text = d.get("message")
        if severity is None or not isinstance(text, str) or text.startswith("Outdated: "):
            continue
        source = d.get("source") if isinstance(d.get("source"), str) else None
        if static_only and source == "Verifier":
            continue
        line, col, end_line, end_col = _span(d.get("range"))
        message, *extra = text.split("\n")
        related = []
        for r in d.get("relatedInformation") or []:
            if not isinstance(r, dict):
                continue
            loc = r.get("location") if isinstance(r.get("location"), dict) else {}
            rl, rc, rel, rec = _span(loc.get("range"))
            related.append(RelatedLocation(file=_path_of(loc.get("uri"), uri, path), line=rl, column=rc,
                                           end_line=rel, end_column=rec, message=str(r.get("message") or "")))
        for chunk in extra:  # "Related message: ..." lines, as in the CLI's output
            chunk = chunk.strip().removeprefix("Related message:").strip()
            if chunk:
                related.append(RelatedLocation(file=str(path), line=line, column=col, message=chunk))
        code = d.get("code")
        out.append(make_diagnostic(severity, message, str(path), line, col, end_line, end_col, source=source,
                                   error_id=code if isinstance(code, str) and code else None, related=related))
    out.sort(key=lambda d: (d.line or 0, d.column or 0))  # the server's order depends on timing
    return out


def _members(symbols: list[dict], source: str) -> list[MemberOutcome]:
    """Named verifiables as member outcomes, named by the source text at their name range (unqualified)."""
    lines = source.split("\n")
    out = []
    for s in symbols:
        line, col, end_line, end_col = _span(s.get("nameRange"))
        name = "?"
        if line is not None and col is not None and line == end_line and end_col and line <= len(lines):
            name = lines[line - 1][col - 1:end_col - 1] or "?"
        out.append(MemberOutcome(name=name, outcome="verified" if s.get("status") == 5 else "failed"))
    return out
