"""A fake `lake` for tests (NOT Lake; written from Lake's documented `lake env CMD ARGS...`, which runs CMD with
the workspace's `LEAN_PATH`): `lake --version`, and `lake env CMD ...` run from a folder holding a `lakefile.lean`
or `lakefile.toml` (else it fails as Lake does outside a package). CMD is found on PATH."""

from __future__ import annotations

import os
import shutil
import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        print("Lake version 5.0.0-fake (Lean version 4.24.0)")
        return 0
    if argv[:1] != ["env"] or len(argv) < 2:
        print(f"error: fake lake knows only `lake env CMD` (got {argv})", file=sys.stderr)
        return 1
    root = os.getcwd()
    if not any(os.path.isfile(os.path.join(root, f)) for f in ("lakefile.lean", "lakefile.toml")):
        print(f"error: {root}: no configuration file with a supported extension", file=sys.stderr)
        return 1
    env = dict(os.environ)
    env["LEAN_PATH"] = os.pathsep.join([os.path.join(root, ".lake", "build", "lib"),
                                        os.path.join(root, ".lake", "packages", "mathlib", ".lake", "build", "lib")])
    cmd = argv[1]
    exe = cmd if os.sep in cmd else shutil.which(cmd, path=env.get("PATH"))
    if exe is None:
        print(f"error: could not execute external process '{cmd}'", file=sys.stderr)
        return 1
    os.execve(exe, [exe, *argv[2:]], env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
