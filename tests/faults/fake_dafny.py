"""A stand-in for `dafny` (and its Z3) that misbehaves on demand, for the fault-injection tests.

Run as `python fake_dafny.py ARGS...`. `--version` answers like Dafny 4.11; `-version` like Z3 4.12.1 (the same
file serves as the fake solver). Other commands behave by `FAKE_DAFNY_MODE`:

  ok          the program verified (the summary line of `verify`, `resolve` or `audit`)
  fail        one postcondition error, like a real proof failure
  slow        record this process and a child (a stand-in for the solver) in `FAKE_DAFNY_PIDS`, then sleep
  crash       print half a JSON line, then die by SIGSEGV
  truncated   print a JSON status line cut in the middle, exit 0
  garbage     print bytes that are neither JSON nor Dafny's text, exit 0
  memory      record pids, then allocate and touch memory until killed
"""

import json
import os
import signal
import subprocess
import sys
import time

args = sys.argv[1:]
if args == ["--version"]:
    print("4.11.0+fake")
    sys.exit(0)
if args == ["-version"]:
    print("Z3 version 4.12.1 - 64 bit")
    sys.exit(0)
mode = os.environ.get("FAKE_DAFNY_MODE", "ok")
command = args[0] if args else ""
target = next((a for a in reversed(args) if a.endswith(".dfy")), "x.dfy")


def record(pid: int) -> None:
    path = os.environ.get("FAKE_DAFNY_PIDS")
    if path:
        with open(path, "a") as f:
            f.write(f"{pid}\n")


def status(text: str) -> None:
    if "--json-output" in args:
        print(json.dumps({"type": "status", "value": f"\n{text}\n"}), flush=True)
    else:
        print(text, flush=True)


if mode in ("slow", "memory"):
    record(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    record(child.pid)
    if mode == "memory":
        hog = []
        while True:
            block = bytearray(32 * 1024 * 1024)
            for i in range(0, len(block), 4096):
                block[i] = 1
            hog.append(block)
            time.sleep(0.05)
    time.sleep(600)
elif mode == "crash":
    sys.stdout.write('{"type":"diagnostic","value":{"location":{"filename":')
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGSEGV)
elif mode == "truncated":
    sys.stdout.write('{"type":"status","value":"\\nDafny program verifier fini')
    sys.stdout.flush()
    sys.exit(0)
elif mode == "garbage":
    sys.stdout.buffer.write(b"\x00\xff\xfe garbage \x1b[31m{{{ not json\n" * 20)
    sys.exit(0)
elif command == "audit":
    print("Dafny auditor completed with 0 findings\n\nDafny program verifier did not attempt verification")
elif command == "resolve":
    print("\nDafny program verifier did not attempt verification")
elif mode == "fail":
    diag = {"location": {"filename": target, "uri": "file://" + os.path.abspath(target),
                         "range": {"start": {"pos": 0, "line": 1, "character": 0},
                                   "end": {"pos": 0, "line": 1, "character": 1}}},
            "severity": 1, "message": "a postcondition could not be proved on this return path", "source": "Verifier"}
    print(json.dumps({"type": "diagnostic", "value": diag}), flush=True)
    status("Dafny program verifier finished with 0 verified, 1 error")
    sys.exit(4)
else:
    status("Dafny program verifier finished with 1 verified, 0 errors")
