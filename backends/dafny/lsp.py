"""A minimal JSON-RPC 2.0 / Language Server Protocol client over a `verifier.procs.Process` (stdin/stdout).

Frames are `Content-Length: N` headers (case-insensitive; other headers ignored), a blank line, N bytes of JSON.
A reader thread routes responses to the waiting `request()` by id, hands notifications to a callback, and answers
every server->client request at once (null, or an empty configuration) so that the server never waits on us.
A malformed header, a body that is not JSON or a frame above `max_frame` is a protocol error: the connection is
marked dead (every waiting request fails) instead of hanging. Unknown fields and methods are ignored.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from verifier import procs

__all__ = ["LspClosed", "LspConnection", "LspError", "LspProtocolError", "LspResponseError", "LspTimeout",
           "read_frame", "write_frame"]

MAX_FRAME = 64 * 1024 * 1024
_MAX_HEADER_LINE = 8 * 1024
_MAX_HEADERS = 32 * 1024


class LspError(Exception):
    """Base class of what `LspConnection.request` raises."""


class LspTimeout(LspError):
    """No response within the request's timeout (the connection is still usable)."""


class LspClosed(LspError):
    """The connection is dead: the server exited, closed its output, or broke the protocol."""


class LspProtocolError(LspClosed):
    """The server wrote something that is not a well-formed LSP frame."""


class _Truncated(LspProtocolError):
    """The stream ended inside a frame (usually: the server died while writing)."""


class LspResponseError(LspError):
    """The server answered the request with a JSON-RPC error."""

    def __init__(self, code: Any, message: str, data: Any = None):
        self.code, self.message, self.data = code, message, data
        super().__init__(f"JSON-RPC error {code}: {message}")


def read_frame(stream: BinaryIO, max_frame: int = MAX_FRAME) -> bytes | None:
    """One frame's body from `stream`; None at a clean end of stream. Raises `LspProtocolError`."""
    length: int | None = None
    seen = 0
    while True:
        line = stream.readline(_MAX_HEADER_LINE)
        if not line:
            if length is None and seen == 0:
                return None
            raise _Truncated("the stream ended inside a frame header")
        seen += len(line)
        if not line.endswith(b"\n") or seen > _MAX_HEADERS:
            raise LspProtocolError(f"header too long: {line[:80]!r}")
        line = line.rstrip(b"\r\n")
        if not line:
            if length is None:
                if seen <= 2:  # a stray blank line between frames
                    seen = 0
                    continue
                raise LspProtocolError("a frame header without Content-Length")
            break
        name, sep, value = line.partition(b":")
        if not sep:
            raise LspProtocolError(f"malformed header line {line[:80]!r}")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise LspProtocolError(f"bad Content-Length {value[:40]!r}") from None
            if length < 0:
                raise LspProtocolError(f"negative Content-Length {length}")
    if length > max_frame:
        raise LspProtocolError(f"a frame of {length} bytes (the limit is {max_frame})")
    body = stream.read(length)
    if len(body) < length:
        raise _Truncated(f"the stream ended inside a frame ({len(body)} of {length} bytes)")
    return body


def write_frame(stream: BinaryIO, message: dict) -> None:
    """Write one JSON-RPC message as an LSP frame and flush."""
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    stream.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stream.flush()


class _Pending:
    __slots__ = ("done", "result", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: LspError | None = None


NotificationHandler = Callable[[str, Any], None]


class LspConnection:
    """A JSON-RPC connection to a language server running as `process`.

    `on_notification(method, params)` and `on_close(reason)` run on the reader thread; they must not block.
    """

    def __init__(self, process: procs.Process, on_notification: NotificationHandler | None = None,
                 on_close: Callable[[str], None] | None = None, *, max_frame: int = MAX_FRAME):
        self.process = process
        self.max_frame = max_frame
        self._on_notification = on_notification
        self._on_close = on_close
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()  # guards _pending and _dead
        self._send_lock = threading.Lock()
        self._dead: str | None = None
        self._reader = threading.Thread(target=self._read_loop, name=f"lsp-{process.pid}", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self._dead is None

    @property
    def dead_reason(self) -> str | None:
        """Why the connection died (None while it is alive)."""
        return self._dead

    def request(self, method: str, params: Any, timeout: float) -> Any:
        """Send a request and wait for its result. Raises `LspTimeout`, `LspClosed`, `LspResponseError`."""
        rid = next(self._ids)
        pending = _Pending()
        with self._lock:
            if self._dead is not None:
                raise LspClosed(self._dead)
            self._pending[rid] = pending
        try:
            self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
            if not pending.done.wait(timeout):
                raise LspTimeout(f"no answer to {method} within {timeout:.1f} s")
        finally:
            with self._lock:
                self._pending.pop(rid, None)
        if pending.error is not None:
            raise pending.error
        return pending.result

    def notify(self, method: str, params: Any) -> None:
        """Send a notification. Raises `LspClosed` when the connection is dead."""
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_closed(self, timeout: float) -> bool:
        """Wait for the reader to see the end of the server's output; True when it did."""
        self._reader.join(timeout)
        return not self._reader.is_alive()

    # -- internals

    def _send(self, message: dict) -> None:
        if self._dead is not None:
            raise LspClosed(self._dead)
        try:
            with self._send_lock:
                write_frame(self.process.stdin, message)
        except (OSError, ValueError) as e:  # broken pipe, or stdin already closed
            reason = f"cannot write to the server ({e.__class__.__name__}: {e})"
            self._die(reason)
            raise LspClosed(reason) from e

    def _read_loop(self) -> None:
        stream = self.process.stdout
        try:
            while True:
                body = read_frame(stream, self.max_frame)
                if body is None:
                    self._die(self._exit_reason("the server closed its output"))
                    return
                try:
                    message = json.loads(body)
                except ValueError:
                    raise LspProtocolError(f"a frame that is not JSON: {body[:80]!r}") from None
                for m in message if isinstance(message, list) else [message]:
                    if isinstance(m, dict):
                        self._dispatch(m)
        except _Truncated as e:
            self._die(self._exit_reason(f"the server stopped in mid-message: {e}"))
        except LspProtocolError as e:
            self._die(f"protocol error: {e}")
        except (OSError, ValueError) as e:  # the pipe was closed under us
            self._die(self._exit_reason(f"reading from the server failed ({e.__class__.__name__})"))

    def _exit_reason(self, what: str) -> str:
        try:
            self.process.popen.wait(timeout=1.0)
        except Exception:  # still running (it only closed stdout), or already reaped
            pass
        code = self.process.returncode
        return what if code is None else f"{what} (exit status {code})"

    def _dispatch(self, m: dict) -> None:
        method = m.get("method")
        if isinstance(method, str):
            if "id" in m:  # a request from the server: answer at once
                self._answer(m["id"], method, m.get("params"))
            elif self._on_notification is not None:
                try:
                    self._on_notification(method, m.get("params"))
                except Exception:  # a broken handler must not kill the connection
                    pass
            return
        if "id" not in m:
            return
        with self._lock:
            pending = self._pending.get(m["id"])
            if pending is None and isinstance(m["id"], str) and m["id"].isdigit():
                pending = self._pending.get(int(m["id"]))
        if pending is None:
            return  # a late answer to a request that timed out
        err = m.get("error")
        if err is not None:
            err = err if isinstance(err, dict) else {"message": str(err)}
            pending.error = LspResponseError(err.get("code"), str(err.get("message", "")), err.get("data"))
        else:
            pending.result = m.get("result")
        pending.done.set()

    def _answer(self, rid: Any, method: str, params: Any) -> None:
        result: Any = None
        if method == "workspace/configuration":
            items = params.get("items") if isinstance(params, dict) else None
            result = [None] * len(items) if isinstance(items, list) else []
        try:
            self._send({"jsonrpc": "2.0", "id": rid, "result": result})
        except LspClosed:
            pass

    def _die(self, reason: str) -> None:
        with self._lock:
            if self._dead is not None:
                return
            self._dead = reason
            pending, self._pending = list(self._pending.values()), {}
        for p in pending:
            p.error = LspClosed(reason)
            p.done.set()
        if self._on_close is not None:
            try:
                self._on_close(reason)
            except Exception:
                pass
