#!/usr/bin/env python3
"""A fake `fstar.exe` for tests, written from F*'s documented formats (not from F* itself).

`fstar.exe --version` prints `F* <FAKE_FSTAR_VERSION or 2025.06.20>` and the build lines.

Batch mode (`fstar.exe [options] File.fst`) writes issues as JSON lines on stderr when `--message_format json`
is given (`{"msg", "level", "range": {"def", "use"}, "number", "ctx"}`, 0-based columns), else in the 2025 human
format; it ends with `Verified module: M` and `All verification conditions discharged successfully` on stdout
(exit 0) or `N errors were reported (see above)` on stderr (exit 1). It needs `--smt <z3> --z3version <V>`
(else: "Z3 solver not found", as F* says when it finds none). What happens to a file comes from markers in its
text (and in the interface `M.fsti` found on `--include`):

    fake:fail      Error 19 (assertion failed) at that line      fake:post    Error 19, a postcondition
    fake:parse     Error 168 (syntax error)                      fake:unknown Error 72 (identifier not found)
    fake:rlimit    Error 19, the solver ran out of resources     fake:hang    never answers
    fake:crash     half a JSON line, then SIGSEGV                fake:huge    20 MB of info lines first
    fake:silent0   exit 0 without the success line               fake:extra   unknown fields in every issue
    fake:human     the human format of older releases, even with --message_format json

Escapes behave as reported for recent releases: `admit` is Error 335 under `--report_assumes error` (else
silent), `tadmit` is Warning 296 (an error under `--warn_error @296`), while `assume val` and
`[@@expect_failure]` pass.

`--ide File.fst` speaks the interactive protocol: first `{"kind": "protocol-info", "version": 3, "features":
[...]}`, then one JSON query per line. `full-buffer` answers with progress messages, sub-query responses
`<id>.k` (in reverse order, after a stale answer to another id, with unknown fields) and `full-buffer-finished`;
`push`/`pop`/`cancel`/`exit` as documented. FAKE_FSTAR_IDE selects the start-up: `normal`, `old` (protocol
version 1), `nohello` (never says hello), `pushonly` (no full-buffer feature), `banner` (a non-JSON line
first). Markers in the pushed code: fake:fail (a failure response), fake:hang (no answer; `cancel` ends it only
with fake:cancellable), fake:crash (half a line, then exit), fake:huge (one 20 MB line first), fake:violation.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time

VERSION = os.environ.get("FAKE_FSTAR_VERSION", "2025.06.20")
args = sys.argv[1:]


def opt(name: str) -> str | None:
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else None


def err(s: str) -> None:
    sys.stderr.write(s + "\n")
    sys.stderr.flush()


if "--version" in args:
    print(f"F* {VERSION}\nplatform=Linux_x86_64\ncompiler=OCaml 4.14.2\ndate=2025-06-20\ncommit=fake")
    sys.exit(0)

if os.environ.get("FAKE_FSTAR_LOG"):
    with open(os.environ["FAKE_FSTAR_LOG"], "a", encoding="utf-8") as fh:
        fh.write(json.dumps(args) + "\n")


def module_of(path: str) -> str:
    text = open(path, encoding="utf-8").read()
    m = re.search(r"^module\s+([A-Z][\w.]*)", text, re.M)
    return m.group(1) if m else os.path.basename(path).rsplit(".", 1)[0]


def issue(level: str, msgs: list[str], fname: str, line: int, col: int, number: int | None, extra: bool) -> dict:
    rng = {"file_name": fname, "start_pos": {"line": line, "col": col}, "end_pos": {"line": line, "col": col + 5}}
    d = {"msg": msgs, "level": level, "range": {"def": rng, "use": rng}, "number": number,
         "ctx": ["While typechecking the top-level declaration `let f`"]}
    if extra:
        d["future_field"] = {"nested": [1, 2]}
        d["range"]["unknown"] = True
    return d


def human(d: dict) -> str:
    r = d["range"]["use"]
    head = f"* {d['level']}" + (f" {d['number']}" if d["number"] is not None else "")
    head += f" at {r['file_name']}:{r['start_pos']['line']}.{r['start_pos']['col'] + 1}-" \
            f"{r['end_pos']['line']}.{r['end_pos']['col'] + 1}:"
    return "\n".join([head] + [f"  - {m}" for m in d["msg"]])


MARKERS = {
    "fake:fail": ("Error", ["Assertion failed", "The SMT solver could not prove the query. Use --query_stats for "
                            "more details."], 19),
    "fake:post": ("Error", ["Could not prove post-condition", "The SMT solver could not prove the query. Use "
                            "--query_stats for more details."], 19),
    "fake:parse": ("Error", ["Syntax error"], 168),
    "fake:unknown": ("Error", ["Identifier not found: [frobnicate]"], 72),
    "fake:rlimit": ("Error", ["The SMT solver could not prove the query. Use --query_stats for more details.",
                              "Z3 ran out of resources (rlimit)"], 19),
}


def findings(path: str, text: str, report_assumes: bool, warn296: bool, extra: bool) -> list[dict]:
    out = []
    fname = os.path.basename(path)
    for n, line in enumerate(text.splitlines(), 1):
        for word, (level, msgs, num) in MARKERS.items():
            if word in line:
                out.append(issue(level, msgs, fname, n, max(line.find(word) - 3, 0), num, extra))
        code = line.split("//")[0]
        if re.search(r"\badmit\s*\(", code) and report_assumes:
            out.append(issue("Error", ["Every use of admit triggers a warning (--report_assumes)"], fname, n,
                             code.find("admit"), 335, extra))
        if re.search(r"\btadmit\s*\(", code):
            out.append(issue("Error" if warn296 else "Warning", ["Tactics admitted goal."], fname, n,
                             code.find("tadmit"), 296, extra))
    return out


def batch() -> int:
    target = args[-1]
    if os.environ.get("FAKE_FSTAR_BADCLI"):  # as FStarC.Main answers an option it does not know
        err("error: unrecognized option '--message_format'")
        return 1
    if opt("--smt") is None or opt("--z3version") is None or not os.path.exists(opt("--smt") or ""):
        err(json.dumps({"msg": ["Z3 solver not found. Required version: 4.8.5"], "level": "Error", "range": None,
                        "number": 181, "ctx": []}) if opt("--message_format") == "json" else
            "* Error 181:\n  - Z3 solver not found. Required version: 4.8.5")
        err("1 error was reported (see above)")
        return 1
    report_assumes = opt("--report_assumes") == "error"
    warn296 = "@296" in (opt("--warn_error") or "")
    as_json = opt("--message_format") == "json"
    files = [target]
    if target.endswith(".fst"):
        for inc in [args[i + 1] for i, a in enumerate(args) if a == "--include"]:
            iface = os.path.join(inc, os.path.basename(target) + "i")
            if os.path.exists(iface):
                files.insert(0, iface)
                break
    texts = {f: open(f, encoding="utf-8").read() for f in files}
    whole = "\n".join(texts.values())
    extra = "fake:extra" in whole
    if "fake:hang" in whole:
        time.sleep(3600)
    if "fake:huge" in whole:
        line = json.dumps({"msg": ["x" * 1000], "level": "Info", "range": None, "number": None, "ctx": []})
        for _ in range(20000):
            sys.stderr.write(line + "\n")
    if "fake:crash" in whole:
        sys.stderr.write('{"msg": ["Assertion fai')
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGSEGV)
    found = []
    for f, text in texts.items():
        found += findings(f, text, report_assumes, warn296, extra)
    if len(files) == 2:  # an implementation with its interface: every val needs a definition
        iface, impl = texts[files[0]], texts[files[1]]
        for n, line in enumerate(iface.splitlines(), 1):
            m = re.match(r"val\s+([a-z_][\w']*)", line)
            if m and not re.search(rf"^let\s+(?:rec\s+)?{m.group(1)}\b", impl, re.M):
                found.append(issue("Error", [f"Missing definitions in module {module_of(target)}: {m.group(1)}"],
                                   os.path.basename(files[0]), n, 0, 230, extra))
    use_human = "fake:human" in whole or not as_json
    for d in found:
        err(human(d) if use_human else json.dumps(d))
    errors = [d for d in found if d["level"] == "Error"]
    if errors:
        err(f"{len(errors)} error{' was' if len(errors) == 1 else 's were'} reported (see above)")
        return 1
    if "fake:silent0" in whole:
        return 0
    print(f"Verified module: {module_of(target)}")
    print("All verification conditions discharged successfully")
    return 0


# --- --ide ------------------------------------------------------------------------------------------------------

out = sys.stdout


def send(obj) -> None:
    out.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
    out.flush()


def progress(qid: str, stage: str, **more) -> None:
    send({"kind": "message", "query-id": qid, "level": "progress", "contents": {"stage": stage, **more}})


def ide_issue(level: str, msg: str, line: int, number: int | None) -> dict:
    return {"level": level, "number": number, "message": msg,
            "ranges": [{"fname": "<input>", "beg": [line, 2], "end": [line, 8]}], "unknown": "x"}


def ide() -> int:
    mode = os.environ.get("FAKE_FSTAR_IDE", "normal")
    features = ["autocomplete", "describe-protocol", "exit", "lookup", "peek", "pop", "push", "search", "segment",
                "vfs-add", "progress", "full-buffer", "format", "restart-solver", "cancel", "fly-deps"]
    if mode == "nohello":
        time.sleep(3600)
    if mode == "banner":
        send("F* (fake) interactive mode starting")
    if mode == "pushonly":
        features = [f for f in features if f != "full-buffer"]
    send({"kind": "protocol-info", "version": 1 if mode == "old" else 3, "features": features, "extra": {"a": 1}})
    pending_hang: str | None = None
    cancellable = False
    for raw in sys.stdin:
        try:
            q = json.loads(raw)
        except ValueError:
            send({"kind": "response", "query-id": "?", "status": "protocol-violation", "response": "Json parsing failed."})
            continue
        qid, query, a = q.get("query-id"), q.get("query"), q.get("args") or {}
        if query == "exit":
            send({"kind": "response", "query-id": qid, "status": "success", "response": None})
            return 0
        if query == "cancel":
            if pending_hang is not None and cancellable:
                progress(pending_hang, "full-buffer-finished")
                pending_hang = None
            continue
        if query == "pop":
            send({"kind": "response", "query-id": qid, "status": "success", "response": None})
            continue
        if query not in ("full-buffer", "push"):
            send({"kind": "response", "query-id": qid, "status": "protocol-violation",
                  "response": f"Unknown query '{query}'"})
            continue
        code = a.get("code", "")
        if "fake:violation" in code:
            send({"kind": "response", "query-id": qid, "status": "protocol-violation", "response": "bad args"})
            continue
        if "fake:crash" in code:
            out.write('{"kind": "response", "query-id": "' + str(qid))
            out.flush()
            os._exit(3)
        if "fake:huge" in code:
            send({"kind": "message", "query-id": qid, "level": "info", "contents": "y" * (20 * 1024 * 1024)})
        if "fake:hang" in code:
            pending_hang, cancellable = qid, "fake:cancellable" in code
            progress(qid, "full-buffer-started")
            continue
        issues = []
        for n, line in enumerate(code.splitlines(), 1):
            if "fake:fail" in line:
                issues.append(ide_issue("error", "Assertion failed; The SMT solver could not prove the query", n, 19))
            if re.search(r"\btadmit\s*\(", line.split("//")[0]):
                issues.append(ide_issue("error", "Tactics admitted goal.", n, 296))
        if query == "push":
            send({"kind": "response", "query-id": qid, "status": "failure" if issues else "success",
                  "response": issues})
            continue
        # stale answer to another query, progress, then sub-query answers in reverse order
        send({"kind": "response", "query-id": "999.1", "status": "failure",
              "response": [ide_issue("error", "stale answer of an old query", 1, 19)]})
        progress(qid, "full-buffer-started")
        progress(qid, "loading-dependency", modname="FStar.Pervasives")
        subs = [(f"{qid}.{k + 2}", [i]) for k, i in enumerate(issues)]
        for sub, iss in reversed(subs):
            progress(sub, "full-buffer-fragment-started", ranges={"fname": "<input>", "beg": [1, 0], "end": [1, 1]})
            send({"kind": "response", "query-id": sub, "status": "failure", "response": iss, "more": 1})
            progress(sub, "full-buffer-fragment-failed", ranges={"fname": "<input>", "beg": [1, 0], "end": [1, 1]})
        send({"kind": "response", "query-id": f"{qid}.1", "status": "success", "response": []})
        progress(f"{qid}.1", "full-buffer-fragment-ok", ranges={"fname": "<input>", "beg": [1, 0], "end": [1, 1]})
        progress(f"{qid}.{len(subs) + 1}", "full-buffer-finished")
    return 0


if __name__ == "__main__":
    sys.exit(ide() if "--ide" in args else batch())
