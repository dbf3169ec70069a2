"""The Lean REPL protocol (leanprover-community/repl) over a child's stdin/stdout.

Framing (`REPL/Main.lean`): a request is one JSON object followed by a blank line; the answer is JSON
(pretty-printed over several lines) followed by a blank line; text between blank lines that does not start
with `{` is not an answer (some REPL versions print progress text on stdout) and is skipped. Requests used here: `{"cmd": text}` (a fresh
environment: the only place `import` is allowed) and `{"cmd": text, "env": n}` (elaborate on top of snapshot `n`,
which stays unchanged, so one header environment serves every later command). Answers: `{"env": n, "messages"?:
[...], "sorries"?: [...]}` (empty lists omitted; unknown fields ignored), or `{"message": "..."}` for a REPL-level
error ("Unknown environment.", "Could not parse JSON", "Lean error: ...").

The REPL has no timeout of its own and cannot cancel a command (repl #92), so a command that runs past its
deadline gets the whole process group killed (`ReplTimeout`); a process that dies (a stack overflow aborts Lean,
LeanInteract #36) raises `ReplCrashed`; an answer that is not JSON, or larger than `MAX_ANSWER_BYTES`, raises
`ReplProtocolError` after the kill. The caller starts a new process: nothing is reused after a failure.
"""

from __future__ import annotations

import json
import queue
import re
import threading
from pathlib import Path
from typing import Any, Mapping

from verifier import procs

MAX_ANSWER_BYTES = 64 * 1024 * 1024


class ReplError(Exception):
    """The REPL could not answer; the process is gone (killed or dead)."""


class ReplTimeout(ReplError):
    pass


class ReplCrashed(ReplError):
    pass


class ReplProtocolError(ReplError):
    pass


_EOF = object()


class ReplProcess:
    """One REPL process: `command(...)` sends a request and waits for its answer (one at a time)."""

    def __init__(self, argv: list[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
                 memory_mb: int | None = None):
        self.argv = argv
        self.proc = procs.spawn(argv, cwd=cwd, env=env, memory_mb=memory_mb)
        self.commands = 0
        self.noise = 0  # bytes of stdout text that were no answer
        self.last_noise = ""
        self._answers: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, name=f"lean-repl-{self.proc.pid}", daemon=True).start()

    @property
    def alive(self) -> bool:
        return self.proc.alive

    def _read(self) -> None:
        """Split stdout into answers at blank lines (a partial line waits for the rest)."""
        buf = bytearray()
        stream = self.proc.stdout
        try:
            while chunk := stream.read1(65536):
                buf += chunk
                while True:
                    start = 0
                    while start < len(buf) and buf[start:start + 1] in (b"\n", b"\r"):
                        start += 1  # blank lines between answers
                    if start:
                        del buf[:start]
                    end = buf.find(b"\n\n")
                    crlf = buf.find(b"\r\n\r\n")
                    if crlf >= 0 and (end < 0 or crlf < end):
                        end, width = crlf, 4
                    else:
                        width = 2
                    if end < 0:
                        break
                    chunk_text = bytes(buf[:end])
                    del buf[:end + width]
                    if chunk_text.lstrip().startswith(b"{"):
                        self._answers.put(chunk_text)
                    else:
                        # not an answer: some REPL versions print progress text on stdout before the JSON
                        # ("Processing incremental state ..."); kept for messages, bounded
                        self.noise += len(chunk_text)
                        self.last_noise = chunk_text[-300:].decode("utf-8", "replace")
                        if self.noise > MAX_ANSWER_BYTES:
                            self._answers.put(ReplProtocolError(f"more than {MAX_ANSWER_BYTES >> 20} MB of text that "
                                                                f"is no answer; last: {self.last_noise[:120]!r}"))
                            return
                if len(buf) > MAX_ANSWER_BYTES:
                    self._answers.put(ReplProtocolError(f"an answer of more than {MAX_ANSWER_BYTES >> 20} MB"))
                    return
        except (OSError, ValueError):
            pass
        if buf.strip():
            try:  # a last answer without its blank line is still an answer; a torn one is a crash
                json.loads(buf.decode("utf-8", "replace"))
                self._answers.put(bytes(buf))
            except ValueError:
                pass
        self._answers.put(_EOF)

    def command(self, request: dict, timeout: float) -> dict:
        """Send `request`, return the decoded answer. Raises ReplTimeout / ReplCrashed / ReplProtocolError (the
        process is killed first)."""
        with self._lock:
            if not self.proc.alive:
                raise ReplCrashed(self._died())
            try:
                self.proc.stdin.write(json.dumps(request, ensure_ascii=False).encode("utf-8") + b"\n\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                raise ReplCrashed(self._died()) from None
            self.commands += 1
            try:
                got = self._answers.get(timeout=timeout)
            except queue.Empty:
                self.proc.kill()
                raise ReplTimeout(f"no answer within {timeout:.0f} s; the REPL was killed (it cannot cancel a "
                                  f"command)") from None
            if got is _EOF:
                self.proc.kill()
                raise ReplCrashed(self._died())
            if isinstance(got, ReplError):
                self.proc.kill()
                raise got
            try:
                answer = json.loads(got.decode("utf-8", "replace"))
            except ValueError:
                self.proc.kill()
                raise ReplProtocolError(f"the REPL answered with something that is not JSON: "
                                        f"{got[:120].decode('utf-8', 'replace')!r}") from None
            if not isinstance(answer, dict):
                self.proc.kill()
                raise ReplProtocolError("the REPL answered with JSON that is not an object")
            return answer

    def _died(self) -> str:
        import time

        for _ in range(20):  # let the exit status and stderr settle
            if self.proc.returncode is not None:
                break
            time.sleep(0.05)
        if self.proc.killed_for_memory:
            return f"the REPL used more than {self.proc.memory_mb} MB and was killed"
        lines = [line.strip() for line in self.proc.stderr_tail(settle=1.0).strip().splitlines() if line.strip()]
        told = [line for line in lines if not re.match(r"^(Aborted|Killed|Segmentation fault)\b", line)] or lines
        code = self.proc.returncode
        return f"the REPL died (exit status {code}{'; ' + told[-1][:200] if told else ''})"

    def close(self) -> None:
        """EOF ends the REPL politely; then the group is killed."""
        self.proc.terminate(1.0)
