"""The toy language's "verifier", a separate program like any real one.

A toy file is lines of `prove NAME: EXPR` (EXPR, a Python expression over integers, must hold), `assume NAME:
EXPR` (taken as true: an escape), `# comments`, and `sleep SECONDS` (the verifier hangs that long). Output: one
JSON object per problem, then `toy: N proved, M failed`. Exit 0 when all hold, 4 when some fail, 2 on a
syntax error. `crash` makes it die by SIGSEGV.
"""

import json
import os
import re
import signal
import sys
import time

LINE = re.compile(r"^(prove|assume)\s+([A-Za-z_]\w*)\s*:\s*(.+)$")


def main(path: str) -> int:
    if os.environ.get("QED_TOY_LOG"):  # tests count the runs
        with open(os.environ["QED_TOY_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{path}\n")
    proved = failed = 0
    for n, raw in enumerate(open(path, encoding="utf-8").read().splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("sleep "):
            time.sleep(float(text.split()[1]))
            continue
        if text == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        m = LINE.match(text)
        if m is None:
            print(json.dumps({"line": n, "severity": "error", "kind": "parse", "message": f"cannot read `{text}`"}))
            print(f"toy: {proved} proved, {failed + 1} failed")
            return 2
        if m.group(1) == "assume":
            print(json.dumps({"line": n, "severity": "warning", "kind": "warning",
                              "message": f"`{m.group(2)}` is assumed, not proved"}))
            continue
        try:
            ok = bool(eval(m.group(3), {"__builtins__": {}}, {}))
        except Exception as e:  # noqa: BLE001
            print(json.dumps({"line": n, "severity": "error", "kind": "resolution", "message": str(e)}))
            failed += 1
            continue
        if ok:
            proved += 1
        else:
            failed += 1
            print(json.dumps({"line": n, "severity": "error", "kind": "assertion",
                              "message": f"`{m.group(2)}` does not hold", "member": m.group(2)}))
    print(f"toy: {proved} proved, {failed} failed")
    return 4 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
