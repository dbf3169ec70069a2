"""A tiny local OpenAI-compatible server for tests (the real `openai` client code path runs against it)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def ok_body(content: str, model: str = "test-model") -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def err_body(message: str, type_: str = "error") -> dict:
    return {"error": {"message": message, "type": type_, "param": None, "code": None}}


class FakeServer:
    """POST /v1/chat/completions answers from a queue of (status, body); records request bodies."""

    def __init__(self):
        self.replies: deque[tuple[int, dict]] = deque()
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    status, body = 404, err_body(f"no route {self.path}")
                else:
                    outer.requests.append(json.loads(raw or b"{}"))
                    status, body = outer.replies.popleft() if outer.replies else (500, err_body("no reply queued"))
                    if status == 0:  # a model that does not answer in time: hold the request, then fail
                        time.sleep(body.get("sleep", 30))
                        status, body = 500, err_body("too slow")
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def queue(self, *replies: tuple[int, dict]) -> None:
        """(status, body) replies in order; status 0 holds the request for body["sleep"] seconds."""
        self.replies.extend(replies)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
