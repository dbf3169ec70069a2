"""A warm Lean: REPL processes that elaborate a candidate's import header once and then re-check candidates on
top of that environment (`repl.py` speaks the protocol).

The session keeps a small pool of REPL processes keyed by (import header, Lake project): a candidate with the same
`import` lines reuses the process and its header environment, so `import Mathlib` is paid once (a least recently
used process is closed when the pool is full). Each request has a wall-clock limit (the REPL has none: the
process is killed) and the process group's resident memory is capped (`SessionConfig.memory_mb`). A process that
crashed, hung or ran out of memory is replaced by the next request; one that answered `LeanConfig.max_commands`
commands is replaced too (long-lived REPLs were reported to fail after several hundred commands).

What the session says only steers repair rounds: the kernel-check probes (`#print axioms`) and the REPL's
`sorries` are reported in the outcome's diagnostics (info messages with `error_id` `qed.axioms`, warnings with
`error_id` `hasSorry`), and `verdict.judge_warm` reads them; the verdict always comes from the batch command.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from backends.base import CheckRequest, Session, SessionOutcome
from verifier.errors import ToolchainError
from verifier.models import Diagnostic, DiagnosticKind, Severity, WarningClass

from .messages import AXIOMS_ID, SORRY_ID, message_of, to_diagnostic
from .repl import ReplCrashed, ReplError, ReplProcess, ReplTimeout


class _Slot:
    """One REPL process and the environment of its header."""

    def __init__(self, proc: ReplProcess, env: int):
        self.proc, self.env = proc, env


class LeanSession(Session):
    """Warm REPL processes for repair rounds (see the module docstring). One request at a time."""

    def __init__(self, install: Any, config: Any):
        self.install, self.config = install, config
        repl = getattr(install, "repl", None)
        self.repl_path: Path | None = repl.path if repl is not None else None
        self.name = f"lean repl {install.version}"
        self._slots: OrderedDict[tuple[str, str], _Slot] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False
        self.started = 0  # REPL processes started (for tests and the transcript)

    @property
    def alive(self) -> bool:
        return not self._closed

    def outcome(self, file: Path, source: str, request: CheckRequest) -> SessionOutcome:
        """Elaborate `source` (with the kernel-check probes appended) on top of its header's environment."""
        from . import probe
        from .files import project_for
        from .syntax import header_split
        from .verdict import Texts, guard

        with self._lock:
            if self._closed:
                raise ToolchainError("this Lean session was closed", fix="open a new session")
            started = time.monotonic()
            if self.repl_path is None:
                return SessionOutcome([], crashed=True, detail="no Lean REPL found (set QED_LEAN_REPL to a built "
                                                               "leanprover-community/repl); the batch command checks")
            t = Texts(file=file, shown=request.shown, source=source, spec=request.contract,
                      spec_source=_read(request.contract), program=request.program,
                      program_source=_read(request.program))
            names = guard(t).probe_names
            p = probe.build(source, names)
            header, body, offset = header_split(source + p.text)
            project = project_for(file, request.contract, request.program)
            timeout = min(request.timeout, self.config.sessions.request_timeout_s)
            key = (header, str(project.root) if project is not None else "")
            try:
                slot = self._slot(key, header, project, timeout)
                answer = slot.proc.command({"cmd": body, "env": slot.env}, timeout)
            except ReplTimeout as e:
                self._drop(key)
                return SessionOutcome([], duration_s=round(time.monotonic() - started, 3), timed_out=True,
                                      detail=f"{e}; it restarts with the next request")
            except ReplError as e:
                self._drop(key)
                return SessionOutcome([], duration_s=round(time.monotonic() - started, 3), crashed=True,
                                      detail=f"{e}; it restarts with the next request")
            if "message" in answer and "env" not in answer:
                self._drop(key)
                return SessionOutcome([], duration_s=round(time.monotonic() - started, 3), crashed=True,
                                      detail=f"the REPL refused the command: {str(answer['message'])[:200]}")
            if slot.proc.commands >= self.config.max_commands:
                self._drop(key)  # replaced before it degrades
            diags = _diagnostics(answer, request.shown, offset, {line: n for n, line in p.lines.items()})
            return SessionOutcome(diags, duration_s=round(time.monotonic() - started, 3))

    def _slot(self, key: tuple[str, str], header: str, project: Any, timeout: float) -> _Slot:
        slot = self._slots.get(key)
        if slot is not None and slot.proc.alive:
            self._slots.move_to_end(key)
            return slot
        self._drop(key)
        while len(self._slots) >= max(1, self.config.headers_per_session):
            _, old = self._slots.popitem(last=False)
            old.proc.close()
        argv = [str(self.repl_path)]
        cwd = None
        if project is not None and getattr(self.install, "lake", None) is not None:
            argv = [str(self.install.lake.path), "env", str(self.repl_path)]
            cwd = project.root
        try:
            proc = ReplProcess(argv, cwd=cwd, memory_mb=self.config.sessions.memory_mb)
        except OSError as e:
            raise ReplCrashed(f"cannot start the Lean REPL at {self.repl_path}: {e.strerror or e}") from e
        self.started += 1
        answer = proc.command({"cmd": header}, max(timeout, self.config.sessions.start_timeout_s))
        env = answer.get("env")
        errors = [m for m in answer.get("messages") or [] if isinstance(m, dict) and m.get("severity") == "error"]
        if not isinstance(env, int) or errors:
            proc.close()
            why = errors[0].get("data") if errors else answer.get("message", "no environment in the answer")
            raise ReplCrashed(f"the REPL could not elaborate the imports: {str(why)[:200]}")
        slot = _Slot(proc, env)
        self._slots[key] = slot
        return slot

    def _drop(self, key: tuple[str, str]) -> None:
        slot = self._slots.pop(key, None)
        if slot is not None:
            slot.proc.close()

    def close(self) -> None:
        """Close every REPL process (EOF, then the group is killed). Idempotent."""
        self._closed = True
        with self._lock:
            slots, self._slots = list(self._slots.values()), OrderedDict()
        for s in slots:
            s.proc.close()


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    from .files import read_source

    return read_source(path, "spec")


def _diagnostics(answer: dict, shown: str, offset: int, probes: dict[int, str]) -> list[Diagnostic]:
    """The REPL's messages and sorries as diagnostics of the whole file (lines shifted by the header)."""
    out: list[Diagnostic] = []
    for raw in answer.get("messages") or []:
        m = message_of(raw)
        if m is None:
            continue
        line = m.line + offset if m.line is not None else None
        if line in probes:
            if m.is_info:
                out.append(Diagnostic(severity=Severity.info, kind=DiagnosticKind.other, message=m.data, file=shown,
                                      line=line, member=probes[line], error_id=AXIOMS_ID, source="Lean REPL"))
            continue
        if m.is_info or m.severity == "trace":
            continue
        d = to_diagnostic(m, shown)
        d.line = line
        d.end_line = m.end_line + offset if m.end_line is not None else None
        d.source = "Lean REPL"
        out.append(d)
    for s in answer.get("sorries") or []:
        if not isinstance(s, dict):
            continue
        pos = s.get("pos") if isinstance(s.get("pos"), dict) else {}
        line = pos.get("line") + offset if isinstance(pos.get("line"), int) else None
        col = pos.get("column") + 1 if isinstance(pos.get("column"), int) else None
        if line in probes:
            continue
        goal = s.get("goal") if isinstance(s.get("goal"), str) else ""
        out.append(Diagnostic(severity=Severity.warning, kind=DiagnosticKind.warning, file=shown, line=line, column=col,
                              message=f"`sorry` here; the goal is:\n{goal}" if goal else "`sorry` here",
                              error_id=SORRY_ID, source="Lean REPL", warning_class=WarningClass.escape))
    return out
