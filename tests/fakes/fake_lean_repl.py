"""A fake Lean REPL for tests (NOT leanprover-community/repl; written from its documented protocol): reads a JSON
request ended by a blank line (lines starting with `#` or `--` between requests are skipped), answers with
pretty-printed JSON ended by a blank line, exits at EOF. `{"cmd": text}` makes a fresh environment (imports
allowed), `{"cmd": text, "env": n}` elaborates on top of environment n (`{"message": "Unknown environment."}` for
an unknown n); answers are `{"env", "messages"?, "sorries"?}` with severities `info`/`warning`/`error` (the REPL's
names) and no `kind`. What it says comes from fake_lean_core.py; further directives in a command's text:
`--! crash` (half an answer, then exit 1), `--! stackoverflow` (Lean's stack-overflow line, then SIGABRT),
`--! hang`, `--! huge` (a 3 MB message), `--! unknown-fields` (extra fields), `--! slow` (2 s), `--! memory` (400 MB resident, then hang).

`FAKE_REPL_LOG` gets a line per process start and per command; after `FAKE_REPL_MAX_COMMANDS` commands the
process dies (the reported wear of long-lived REPLs).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_lean_core import Elab, directives  # noqa: E402

ENVS: list[tuple[str, dict]] = []  # (text so far, declarations)


def log(line: str) -> None:
    if os.environ.get("FAKE_REPL_LOG"):
        with open(os.environ["FAKE_REPL_LOG"], "a", encoding="utf-8") as f:
            f.write(line + "\n")


def send(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, indent=1, ensure_ascii=False) + "\n\n")
    sys.stdout.flush()


def answer(req: dict) -> dict:
    cmd = req.get("cmd")
    if not isinstance(cmd, str):
        return {"message": "Could not parse JSON:\nno cmd"}
    flags = {d.split()[0]: d for _, d in directives(cmd)}
    if "hang" in flags:
        time.sleep(3600)
    if "memory" in flags:
        hog = bytearray(400 * 1024 * 1024)  # noqa: F841 - resident: the session's memory cap must kill us
        for i in range(0, len(hog), 4096):
            hog[i] = 1
        time.sleep(3600)
    if "slow" in flags:
        time.sleep(2)
    if "crash" in flags:
        sys.stdout.write('{"messages":\n [{"severity": "error", "pos"')
        sys.stdout.flush()
        os._exit(1)
    if "stackoverflow" in flags:
        sys.stderr.write("\nStack overflow detected. Aborting.\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGABRT)
    known: dict = {}
    if "env" in req:
        if not isinstance(req["env"], int) or not 0 <= req["env"] < len(ENVS):
            return {"message": "Unknown environment."}
        known = ENVS[req["env"]][1]
        if "import " in cmd:
            return {"message": "Lean error:\n<input>:1:0: invalid 'import' command, it must be used in the beginning "
                               "of the file"}
    elab = Elab(cmd, known=known, lean_path=bool(os.environ.get("LEAN_PATH")))
    ENVS.append((cmd, elab.decls))
    out: dict = {}
    if elab.sorries:
        out["sorries"] = [{"proofState": i, "pos": {"line": s["line"], "column": s["col"]}, "goal": s["goal"],
                           "endPos": {"line": s["line"], "column": s["col"] + 5}} for i, s in enumerate(elab.sorries)]
    msgs = [{"severity": {"information": "info"}.get(m["severity"], m["severity"]),
             "pos": {"line": m["line"], "column": m["col"]}, "endPos": {"line": m["line"], "column": m["end"]},
             "data": m["data"]} for m in sorted(elab.messages, key=lambda m: (m["line"], m["col"]))]
    if "huge" in flags:
        msgs.append({"severity": "info", "pos": {"line": 1, "column": 0}, "endPos": None, "data": "y" * 3_000_000})
    if msgs:
        out["messages"] = msgs
    if "unknown-fields" in flags:
        out["futureField"] = {"a": [1, 2, {"b": None}]}
        out["tactics"] = []
    out["env"] = len(ENVS) - 1
    return out


def main() -> int:
    log(f"start {os.getpid()}")
    limit = int(os.environ.get("FAKE_REPL_MAX_COMMANDS", "0") or 0)
    count = 0
    buf: list[str] = []
    for line in sys.stdin:
        if line.strip() == "":
            if not buf:
                continue
            text, buf = "".join(buf), []
            count += 1
            log(f"command {count}")
            if limit and count > limit:
                sys.stderr.write("INTERNAL PANIC: out of memory\n")
                return 1
            try:
                req = json.loads(text)
            except ValueError as e:
                send({"message": f"Could not parse JSON:\n{e}"})
                continue
            send(answer(req))
            continue
        if not buf and (line.startswith("#") or line.startswith("--")):
            continue
        buf.append(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
