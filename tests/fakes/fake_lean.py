"""A fake `lean` for tests (NOT Lean; see fake_lean_core.py for what it pretends): `lean --version`, and
`lean --json [-D name=value] FILE`, printing one `SerialMessage` JSON object per line on stdout as Lean 4 does
(`fileName`, `pos` {line 1-based, column 0-based}, `endPos`, `severity` information|warning|error, `caption`,
`data`, `kind`, `isSilent`, `keepFullRange`), exit status 1 when there is an error, else 0.

`FAKE_LEAN_VERSION` sets the version (default 4.24.0); `FAKE_LEAN_LOG` names a file that gets one JSON line per
run (argv, cwd, LEAN_PATH), so tests can see how qed called it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_lean_core import Elab, directives  # noqa: E402

VERSION = os.environ.get("FAKE_LEAN_VERSION", "4.24.0")


def main(argv: list[str]) -> int:
    if "--version" in argv or "-v" in argv:
        print(f"Lean (version {VERSION}, x86_64-unknown-linux-gnu, commit 0123456789ab, Release)")
        return 0
    if os.environ.get("FAKE_LEAN_LOG"):
        with open(os.environ["FAKE_LEAN_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps({"argv": argv, "cwd": os.getcwd(), "LEAN_PATH": os.environ.get("LEAN_PATH")}) + "\n")
    files = [a for a in argv if a.endswith(".lean")]
    if not files:
        print("lean: no input file", file=sys.stderr)
        return 1
    path = files[0]
    text = open(path, encoding="utf-8").read()
    flags = {d.split()[0]: d for _, d in directives(text)}
    out = sys.stdout
    if "hang" in flags:
        time.sleep(3600)
    if "memory" in flags:  # 400 MB resident, then hang: the memory cap must kill the group
        hog = bytearray(400 * 1024 * 1024)
        for i in range(0, len(hog), 4096):
            hog[i] = 1
        time.sleep(3600)
    elab = Elab(text, lean_path=bool(os.environ.get("LEAN_PATH")))

    def emit(m: dict) -> None:
        obj = {"caption": "", "data": m["data"], "endPos": {"column": m["end"], "line": m["line"]},
               "fileName": path, "pos": {"column": m["col"], "line": m["line"]}, "severity": m["severity"]}
        if "old" not in flags:
            obj.update({"isSilent": False, "keepFullRange": False, "kind": m["kind"]})
        if "unknown-fields" in flags:
            obj.update({"futureField": {"nested": [1, 2]}, "tags": ["x"], "severity2": "ignored"})
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")

    if "garbage" in flags:
        out.write("PANIC at Lean.Elab.whatever: this line is not JSON\n")
    for m in sorted(elab.messages, key=lambda m: (m["line"], m["col"])):
        emit(m)
    if "huge" in flags:
        mb = float(flags["huge"].split()[1]) if len(flags["huge"].split()) > 1 else 20
        chunk = "x" * 1000
        for _ in range(int(mb * 1000)):
            emit({"line": 1, "col": 0, "end": 1, "severity": "information", "data": chunk, "kind": "[anonymous]"})
    out.flush()
    if "crash" in flags:
        out.write('{"caption": "", "data": "torn mess')
        out.flush()
        os.kill(os.getpid(), signal.SIGABRT)
    if "stackoverflow" in flags:
        sys.stderr.write("\nStack overflow detected. Aborting.\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGABRT)
    return 1 if any(m["severity"] == "error" for m in elab.messages) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
