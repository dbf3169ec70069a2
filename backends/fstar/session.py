"""A warm F*: `fstar.exe --ide <M>.fst` re-checks edited candidates without reloading F*'s library each time.

The protocol (F*'s `FStarC.Interactive.Ide`, `Ide.Types`, `Incremental`): JSON Lines both ways.

* On start F* writes `{"kind": "protocol-info", "version": N, "features": [...]}`. qed checks it at run time:
  version 2 or later, and either `full-buffer` or both `push` and `pop` among the features (else the session
  refuses to start, naming what is missing).
* Requests: `{"query-id": "7", "query": "full-buffer", "args": {"kind": "full", "code": ..., "with-symbols":
  false}}`. F* splits the buffer into declarations and runs them as sub-queries `7.1`, `7.2`, ...; each
  failed one answers `{"kind": "response", "query-id": "7.k", "status": "failure", "response": [issues]}`, and
  asynchronous `{"kind": "message", "level": "progress", "contents": {"stage": ...}}` messages report
  `full-buffer-started`, `full-buffer-fragment-ok|-failed`, and finally `full-buffer-finished`, which ends the
  request. Without `full-buffer`, qed pushes the whole text (`push`, kind `full`, line 1, column 0) and pops it
  afterwards. `cancel` (with `cancel-line`/`cancel-column`) and `exit` are used on timeouts and shutdown.
* Issues: `{"level": "error", "number": 19, "message": ..., "ranges": [{"fname", "beg": [l, c], "end":
  [l, c]}]}` (columns 0-based). Unknown fields and kinds are ignored; answers to other query ids are ignored.

The process starts with the first check (it needs the module's name and interface); a start that fails (no
`protocol-info`, an old protocol) is not retried: the session then answers "crashed" at once and only the
batch command decides. Discipline (as `backends/dafny/session.py`): one request at a time; a wall-clock limit per request (on expiry a
`cancel` is sent, and if F* does not finish within a grace period the session is killed and restarts with the
next request); a crash, an oversized or garbled protocol stream, or a memory kill restarts it; `close()` says
`exit`, then kills the process group and removes the private folder. A session never gives a verdict.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.base import CheckRequest, Session, SessionConfig, SessionOutcome
from verifier import procs
from verifier.errors import ToolchainError
from verifier.models import Diagnostic

from .config import FStarOptions
from .output import diagnostic_from_ide, display_name
from .runner import SAFETY_FLAGS, check_options, module_name

__all__ = ["FStarSession", "MIN_PROTOCOL_VERSION", "MAX_LINE_BYTES"]

MIN_PROTOCOL_VERSION = 2
MAX_LINE_BYTES = 8 * 1024 * 1024  # a longer protocol line is dropped (and counted), never held in memory whole
_CANCEL_GRACE_S = 2.0
_SHUTDOWN_GRACE_S = 2.0
_POLL_S = 0.25


@dataclass
class _Query:
    """What came back for one request (its sub-queries `id.k` included)."""

    qid: str
    responses: list[dict] = field(default_factory=list)
    finished: bool = False  # full-buffer-finished (full-buffer), or the response (push/pop)
    violation: str | None = None  # protocol-violation status
    single: bool = False  # push/pop: the request's own response ends it


class _Ide:
    """One running `fstar.exe --ide`: process, reader thread, private folder."""

    def __init__(self, proc: procs.Process, folder: Path, signature: tuple):
        self.proc, self.folder, self.signature = proc, folder, signature
        self.cond = threading.Condition()
        self.hello: dict | None = None
        self.queries: dict[str, _Query] = {}
        self.dead: str | None = None
        self.dropped_lines = 0
        self.garbage: list[str] = []
        self.full_buffer = True  # the protocol offers `full-buffer` (else: push, then pop)
        self.can_cancel = True  # the protocol offers `cancel`
        self._remove_folder = weakref.finalize(self, shutil.rmtree, folder, True)
        threading.Thread(target=self._read, name=f"fstar-ide-{proc.pid}", daemon=True).start()

    @property
    def alive(self) -> bool:
        return self.dead is None and self.proc.alive

    def _read(self) -> None:
        stream = self.proc.stdout
        try:
            while True:
                line = stream.readline(MAX_LINE_BYTES + 1)
                if not line:
                    break
                if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                    while True:  # drop the rest of an oversized line
                        more = stream.readline(MAX_LINE_BYTES)
                        if not more or more.endswith(b"\n"):
                            break
                    with self.cond:
                        self.dropped_lines += 1
                    continue
                self._dispatch(line)
        except (OSError, ValueError) as e:
            with self.cond:
                self.dead = self.dead or f"reading from F* failed: {e}"
        finally:
            with self.cond:
                self.dead = self.dead or "F* closed its output"
                self.cond.notify_all()

    def _dispatch(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").strip()
        if not text:
            return
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        with self.cond:
            if not isinstance(msg, dict):
                self.garbage = (self.garbage + [text[:200]])[-5:]
                return
            kind = msg.get("kind")
            if kind == "protocol-info" and self.hello is None:
                self.hello = msg
            elif kind in ("response", "message"):
                q = self._owner(msg.get("query-id"))
                if q is None:
                    return
                if kind == "response":
                    status = msg.get("status")
                    if status == "protocol-violation":
                        q.violation = str(msg.get("response"))[:300]
                        q.finished = True
                    q.responses.append(msg)
                    if q.single and q.qid == msg.get("query-id"):
                        q.finished = True
                else:
                    contents = msg.get("contents")
                    stage = contents.get("stage") if isinstance(contents, dict) else None
                    if msg.get("level") == "progress" and stage == "full-buffer-finished":
                        q.finished = True
                    elif msg.get("level") in ("error", "warning") and isinstance(contents, dict):
                        q.responses.append({"kind": "response", "query-id": q.qid, "status": "message",
                                            "response": [dict(contents, level=msg.get("level"))]})
            else:
                return
            self.cond.notify_all()

    def _owner(self, qid: Any) -> _Query | None:
        """The request a message belongs to: its own id, or `id.k` of its sub-queries."""
        if not isinstance(qid, str):
            return None
        return self.queries.get(qid) or self.queries.get(qid.split(".", 1)[0])

    def send(self, obj: dict) -> None:
        data = (json.dumps(obj) + "\n").encode("utf-8")
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (OSError, ValueError) as e:
            with self.cond:
                self.dead = self.dead or f"writing to F* failed: {e}"
                self.cond.notify_all()

    def stop(self, polite: bool) -> None:
        if polite and self.alive:
            self.send({"query-id": "exit", "query": "exit", "args": {}})
            self.proc.terminate(_SHUTDOWN_GRACE_S)
        else:
            self.proc.kill()
        self._remove_folder()


class FStarSession(Session):
    """A warm `fstar.exe --ide` for repair rounds (see the module docstring)."""

    def __init__(self, install: Any, options: FStarOptions, config: SessionConfig):
        check_options(options)
        self.install, self.options, self.config = install, options, config
        self.name = f"fstar --ide {install.version}"
        self._lock = threading.Lock()
        self._ide: _Ide | None = None
        self._closed = False
        self._broken: str | None = None  # why `fstar.exe --ide` cannot start (not retried: the batch decides)
        self._ids = itertools.count(1)

    @property
    def alive(self) -> bool:
        return not self._closed and (self._ide is None or self._ide.alive)

    def command(self, target: Path, options: FStarOptions | None = None) -> list[str]:
        return [str(self.install.path), *SAFETY_FLAGS, *self.install.solver_args(), "--include",
                str(target.parent), *(options or self.options).args(), "--ide", str(target)]

    def outcome(self, file: Path, source: str, request: CheckRequest) -> SessionOutcome:
        with self._lock:
            if self._closed:
                raise ToolchainError("this F* session was closed", fix="open a new session")
            started = time.monotonic()
            contract = request.contract.read_bytes().decode("utf-8", "replace") if request.contract else None
            name = module_name(contract or source) or "Candidate"
            options = self.options
            if request.resource_limit is not None or request.time_limit_s is not None:
                from dataclasses import replace

                options = replace(options, z3rlimit=int(request.resource_limit or request.time_limit_s))
            signature = (name, contract, tuple(options.args()))
            if self._broken is not None:
                return SessionOutcome([], crashed=True, detail=self._broken)
            ide = self._ide
            if ide is None or not ide.alive or ide.signature != signature:
                self._kill()
                try:
                    ide = self._start(name, source, contract, options, signature)
                except ToolchainError as e:
                    if self._closed:
                        raise
                    # a start that fails once (no hello, an old protocol) fails again: only the batch decides now
                    self._broken = f"{e.cause}; warm checks are off for this session, the batch command decides"
                    return SessionOutcome([], duration_s=round(time.monotonic() - started, 3), crashed=True,
                                          detail=self._broken)
            shown = request.shown
            names = {f"{name}.fst": shown, str(ide.folder / f"{name}.fst"): shown, "<input>": shown}
            if request.contract is not None:
                names[f"{name}.fsti"] = str(request.contract)
                names[str(ide.folder / f"{name}.fsti")] = str(request.contract)
            timeout = min(request.timeout, self.config.request_timeout_s)
            problem, query = self._check(ide, source, time.monotonic() + timeout)
            if problem is not None:
                detail = self._failure(ide, problem, timeout)
                if problem != "cancelled":
                    self._kill()
                return SessionOutcome([], duration_s=round(time.monotonic() - started, 3),
                                      timed_out=problem in ("timeout", "cancelled"),
                                      crashed=problem not in ("timeout", "cancelled"), detail=detail)
            diagnostics = _diagnostics(query, lambda n: display_name(n, names, shown))
            return SessionOutcome(diagnostics=diagnostics, duration_s=round(time.monotonic() - started, 3))

    def close(self) -> None:
        self._closed = True
        ide, self._ide = self._ide, None
        if ide is not None:
            ide.stop(polite=True)

    # -- internals

    def _start(self, name: str, source: str, contract: str | None, options: FStarOptions, signature: tuple) -> _Ide:
        folder = Path(tempfile.mkdtemp(prefix="qed-fstar-ide-")).resolve()
        target = folder / f"{name}.fst"
        target.write_bytes(source.encode("utf-8"))
        if contract is not None:
            (folder / f"{name}.fsti").write_bytes(contract.encode("utf-8"))
        try:
            proc = procs.spawn(self.command(target, options), cwd=folder, memory_mb=self.config.memory_mb)
        except OSError as e:
            shutil.rmtree(folder, ignore_errors=True)
            raise ToolchainError(f"cannot start `fstar.exe --ide` at {self.install.path}: {e.strerror or e}",
                                 fix="run `qed toolchain status` and fix or reinstall F*") from e
        ide = _Ide(proc, folder, signature)
        deadline = time.monotonic() + self.config.start_timeout_s
        with ide.cond:
            while ide.hello is None and ide.alive and time.monotonic() < deadline:
                ide.cond.wait(min(_POLL_S, max(0.0, deadline - time.monotonic())))
            hello, dead = ide.hello, ide.dead
        problem = _handshake_problem(hello)
        if hello is None:
            tail = proc.stderr_tail().strip().splitlines()
            why = dead or f"no protocol-info within {self.config.start_timeout_s:.0f} s"
            problem = why + (f"; it said: {tail[-1][:200]}" if tail else "")
        if problem is not None:
            ide.stop(polite=False)
            raise ToolchainError(f"`fstar.exe --ide` did not start: {problem}",
                                 fix="check that `fstar.exe --ide` runs (`qed toolchain status`), or use "
                                     "`--session cli`")
        ide.full_buffer = "full-buffer" in (hello.get("features") or [])
        ide.can_cancel = "cancel" in (hello.get("features") or [])
        self._ide = ide
        if self._closed:
            self._kill()
            raise ToolchainError("this F* session was closed", fix="open a new session")
        return ide

    def _check(self, ide: _Ide, source: str, deadline: float) -> tuple[str | None, _Query]:
        """Send one check and wait for it: (None, answers) or (problem, partial answers)."""
        qid = str(next(self._ids))
        q = _Query(qid)
        with ide.cond:
            ide.queries = {qid: q}  # answers to earlier requests are ignored from now on
        if ide.full_buffer:
            ide.send({"query-id": qid, "query": "full-buffer",
                      "args": {"kind": "full", "code": source, "line": 1, "column": 0, "with-symbols": False}})
        else:
            q.single = True
            ide.send({"query-id": qid, "query": "push",
                      "args": {"kind": "full", "code": source, "line": 1, "column": 0}})
        problem = self._wait(ide, q, deadline)
        if problem == "timeout" and ide.can_cancel:
            ide.send({"query-id": f"{qid}-cancel", "query": "cancel",
                      "args": {"cancel-line": 1, "cancel-column": 0}})
            if self._wait(ide, q, time.monotonic() + _CANCEL_GRACE_S) is None:
                problem = "cancelled"
        if problem is None and q.violation is not None:
            problem = "violation"
        if problem is None and not ide.full_buffer:
            if any(r.get("status") == "success" for r in q.responses if r.get("query-id") == qid):
                pop = _Query(f"{qid}p")
                pop.single = True
                with ide.cond:
                    ide.queries[pop.qid] = pop
                ide.send({"query-id": pop.qid, "query": "pop", "args": {}})
                if self._wait(ide, pop, deadline + _CANCEL_GRACE_S) is not None:
                    problem = "crashed"
        return problem, q

    def _wait(self, ide: _Ide, q: _Query, deadline: float) -> str | None:
        with ide.cond:
            while not q.finished:
                if not ide.alive:
                    return "crashed"
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "timeout"
                ide.cond.wait(min(remaining, _POLL_S))
        return None

    def _failure(self, ide: _Ide, problem: str, timeout: float) -> str:
        if problem == "cancelled":
            return f"no result within {timeout:.0f} s; the check was cancelled (the session stays warm)"
        if problem == "timeout":
            return f"no result within {timeout:.0f} s; F* was killed and restarts with the next request"
        if problem == "violation":
            q = next(iter(ide.queries.values()), None)
            return f"F* refused the request as a protocol violation ({q.violation if q else '?'}); it restarts"
        if ide.proc.killed_for_memory:
            return f"F* used more than {ide.proc.memory_mb} MB and was killed; it restarts with the next request"
        tail = ide.proc.stderr_tail().strip().splitlines()
        return (f"F* died ({ide.dead or 'it exited'}{'; ' + tail[-1][:200] if tail else ''}); it restarts with the "
                f"next request")

    def _kill(self) -> None:
        ide, self._ide = self._ide, None
        if ide is not None:
            ide.stop(polite=False)


def _handshake_problem(hello: dict | None) -> str | None:
    if hello is None:
        return None
    version, features = hello.get("version"), hello.get("features")
    if not isinstance(version, int) or isinstance(version, bool):
        return f"protocol-info has no integer version ({version!r})"
    if version < MIN_PROTOCOL_VERSION:
        return f"protocol version {version} is older than {MIN_PROTOCOL_VERSION}"
    if not isinstance(features, list):
        return "protocol-info lists no features"
    if "full-buffer" not in features and not {"push", "pop"} <= set(features):
        return "the protocol offers neither `full-buffer` nor `push`/`pop`"
    return None


def _diagnostics(q: _Query, resolve) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: set[tuple] = set()
    for r in q.responses:
        issues = r.get("response")
        if not isinstance(issues, list):
            continue
        for issue in issues:
            d = diagnostic_from_ide(issue, resolve)
            if d is None:
                continue
            key = (d.severity, d.message, d.file, d.line, d.column)
            if key not in seen:
                seen.add(key)
                out.append(d)
    out.sort(key=lambda d: (d.line or 0, d.column or 0))
    return out
