"""A fake `dafny server` for tests: speaks LSP framing on stdio and mimics the notifications Dafny 4.11 sends.

Startup behaviour comes from `--mode` on the command line (the session passes the install's `extra_args`):
`normal`, `hang-init` (never answers initialize), `die-init` (exits at once), `banner` (writes a non-LSP line
first). What happens to a document comes from words in its text:

    fail       one verifier error (a postcondition) on the line holding the word
    parse      ParsingFailed with a parse error          resolve   ResolutionFailed with a resolver error
    nothing    no verifiables: only ResolutionSucceeded (no symbolStatus, no diagnostics)
    hang       stops after ResolutionSucceeded             crash     half a frame, then exit 3
    garbage    a line that is not an LSP header            huge      a frame header announcing 100 MB
    badjson    a frame whose body is not JSON              chatty    1 MB on stderr first
    extras     unknown notifications/fields and server->client requests (waits for their answers)
    stale      first repeats the previous version's "done" notifications (must be ignored)
    memory     allocates ~300 MB and hangs                child     starts a sleeping child in its group

Every started child's pid is appended to `<--log-location>/children.txt`, and a log file is written there (as
Dafny does), so tests can check clean-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

out = sys.stdout.buffer
inp = sys.stdin.buffer
args = sys.argv[1:]
mode = args[args.index("--mode") + 1] if "--mode" in args else "normal"
log_dir = args[args.index("--log-location") + 1] if "--log-location" in args else None
_hold = []


def send(msg: dict) -> None:
    body = json.dumps(msg).encode()
    out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    out.flush()


def notify(method: str, params) -> None:
    send({"jsonrpc": "2.0", "method": method, "params": params})


def read() -> dict | None:
    length = None
    while True:
        line = inp.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return json.loads(inp.read(length))


def rng(line: int, start: int = 0, end: int = 1) -> dict:
    return {"start": {"line": line, "character": start}, "end": {"line": line, "character": end}}


def diag(line: int, message: str, source: str, code=0, severity: int = 1, related=None) -> dict:
    return {"range": rng(line, 2, 6), "severity": severity, "code": code, "source": source, "message": message,
            "relatedInformation": related or [], "someFutureField": {"x": 1}}


last_done: dict[str, list] = {}


def check(uri: str, version: int, text: str) -> None:
    lines = text.split("\n")
    where = next((i for i, ln in enumerate(lines) if "fail" in ln), 0)
    if "chatty" in text:
        sys.stderr.write("x" * (1 << 20) + "\nend of chatter\n")
        sys.stderr.flush()
    if "child" in text:
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        if log_dir:
            with open(os.path.join(log_dir, "children.txt"), "a") as f:
                f.write(f"{p.pid}\n")
    if "memory" in text:
        _hold.append(b"\x01" * (300 << 20))
        time.sleep(60)
    if "stale" in text and uri in last_done:
        for method, params in last_done[uri]:
            notify(method, params)
        time.sleep(0.3)
    if "crash" in text:
        out.write(b"Content-Length: 500\r\n\r\n{\"jsonrpc\":")
        out.flush()
        os._exit(3)
    if "garbage" in text:
        out.write(b"this is not a header\r\n\r\n")
        out.flush()
        time.sleep(60)
    if "huge" in text:
        out.write(b"Content-Length: 100000000\r\n\r\n")
        out.flush()
        time.sleep(60)
    if "badjson" in text:
        out.write(b"Content-Length: 5\r\n\r\n{nope")
        out.flush()
        time.sleep(60)
    if "extras" in text:
        notify("window/logMessage", {"type": 3, "message": "hello"})
        notify("dafny/some/futureNotification", {"uri": uri, "whatever": [1, 2]})
        send({"jsonrpc": "2.0", "id": "srv-1", "method": "client/registerCapability", "params": {"registrations": []}})
        send({"jsonrpc": "2.0", "id": 77, "method": "workspace/configuration", "params": {"items": [{}, {}]}})
        send({"jsonrpc": "2.0", "id": "srv-3", "method": "window/workDoneProgress/create", "params": {"token": "t"}})
        send({"jsonrpc": "2.0", "id": 999999, "result": "an answer to nothing"})  # must be ignored
        answers = {}
        while len(answers) < 3:
            m = read()
            if m is None:
                return
            if "method" not in m:
                answers[m.get("id")] = m.get("result", "missing")
        if answers.get(77) != [None, None]:
            sys.stderr.write(f"bad workspace/configuration answer: {answers!r}\n")
            return
    if "parse" in text:
        notify("textDocument/publishDiagnostics", {"uri": uri, "version": version, "diagnostics": [
            diag(where, "closeparen expected", "Parser", code="p_generic_syntax_error")]})
        notify("dafny/textDocument/symbolStatus", {"uri": uri, "version": version, "namedVerifiables": []})
        notify("dafny/compilation/status", {"uri": uri, "version": version, "status": "ParsingFailed"})
        return
    notify("dafny/compilation/status", {"uri": uri, "version": version, "status": "ResolutionStarted",
                                        "message": None})
    if "resolve" in text:
        notify("textDocument/publishDiagnostics", {"uri": uri, "version": version, "diagnostics": [
            diag(where, "unresolved identifier: q", "Resolver"),
            diag(where, "Outdated: a postcondition could not be proved", "Verifier", severity=2),
            diag(where, "a postcondition could not be proved on this return path", "Verifier")]})
        notify("dafny/compilation/status", {"uri": uri, "version": version, "status": "ResolutionFailed"})
        return
    if "nothing" in text:
        notify("dafny/compilation/status", {"uri": uri, "version": version, "status": "ResolutionSucceeded"})
        return
    name = {"nameRange": rng(0, 7, 10)}
    notify("dafny/textDocument/symbolStatus", {"uri": uri, "version": version,
                                               "namedVerifiables": [{**name, "status": 0}]})
    notify("dafny/compilation/status", {"uri": uri, "version": version, "status": "ResolutionSucceeded"})
    if "hang" in text:
        return
    notify("dafny/textDocument/symbolStatus", {"uri": uri, "version": version,
                                               "namedVerifiables": [{**name, "status": 2, "newField": True}]})
    time.sleep(0.05)
    diags = [diag(where, "a postcondition could not be proved on this return path", "Verifier", related=[
        {"location": {"uri": uri, "range": rng(1, 10, 15)}, "message": "this is the postcondition that could not "
                                                                       "be proved"}])] if "fail" in text else []
    done = [
        ("textDocument/publishDiagnostics", {"uri": uri, "version": version, "diagnostics": diags}),
        ("dafny/textDocument/symbolStatus", {"uri": uri, "version": version,
                                             "namedVerifiables": [{**name, "status": 4 if diags else 5}]}),
    ]
    for method, params in done:
        notify(method, params)
    last_done[uri] = done


def main() -> None:
    if log_dir:
        with open(os.path.join(log_dir, "FakeLanguageServerLog.txt"), "w") as f:
            f.write("started\n")
    if mode == "die-init":
        sys.stderr.write("fatal: cannot start\n")
        sys.exit(7)
    if mode == "banner":
        out.write(b"Welcome to a server that talks too much\n")
        out.flush()
    docs: dict[str, int] = {}
    while True:
        m = read()
        if m is None:
            return
        method, params = m.get("method"), m.get("params") or {}
        if method == "initialize":
            if mode == "hang-init":
                time.sleep(120)
            send({"jsonrpc": "2.0", "id": m["id"], "result": {"capabilities": {"textDocumentSync": 2}}})
            notify("serverStarted", ["4.11.0.0"])
        elif method == "shutdown":
            send({"jsonrpc": "2.0", "id": m["id"], "result": None})
        elif method == "exit":
            sys.exit(0)
        elif method == "textDocument/didOpen":
            doc = params["textDocument"]
            docs[doc["uri"]] = doc["version"]
            check(doc["uri"], doc["version"], doc["text"])
        elif method == "textDocument/didChange":
            doc = params["textDocument"]
            docs[doc["uri"]] = doc["version"]
            check(doc["uri"], doc["version"], params["contentChanges"][-1]["text"])
        elif method == "textDocument/didClose":
            docs.pop(params["textDocument"]["uri"], None)
        elif "id" in m:
            send({"jsonrpc": "2.0", "id": m["id"], "error": {"code": -32601, "message": f"no method {method}"}})


if __name__ == "__main__":
    main()
