"""Run `dafny translate py` on the artifact plus its contract predicates.

The artifact was verified just before (qed verify semantics), so translation runs with `--no-verify`; the
predicates only restate clauses the verifier already checked for well-formedness in the same order.
`--optimize-erasable-datatype-wrapper:false` keeps every datatype a class (by default Dafny compiles a
datatype with one constructor of one field as that field, e.g. `Wrap(value: int)` as a bare int). A
predicate Dafny refuses to compile (ghost, unbounded quantifier, ...) is dropped with Dafny's reason and the
translation repeated; an error anywhere else means the artifact itself cannot be compiled to Python.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from backends.dafny.pybuild.contracts import Helper, combine
from backends.dafny.pybuild.interface import Interface
from verifier import procs
from verifier.errors import BadInput, ToolchainError

from ..runner import dafny_env

_ERROR = re.compile(r"^(?P<file>.*?)\((?P<line>\d+),(?P<col>\d+)\): Error: (?P<msg>.*)$", re.MULTILINE)
MAX_ROUNDS = 8


@dataclass
class Translation:
    out_dir: Path  # holds module_.py, <Module>.py, __main__.py, _dafny/, System_/
    rounds: int
    argv: list[str]


def translate(install, src: str, stem: str, api: Interface, helpers: list[Helper], work: Path,
              module_prefix: str, timeout: float = 300.0) -> Translation:
    """Translate into `work`; marks helpers Dafny will not compile (their `reason`). Raises BadInput when the
    artifact itself does not compile, ToolchainError when Dafny crashes or times out."""
    for rnd in range(1, MAX_ROUNDS + 1):
        comb = combine(src, api, helpers)
        rdir = work / f"round{rnd}"
        if rdir.exists():
            shutil.rmtree(rdir)
        rdir.mkdir(parents=True)
        dfy = rdir / f"{stem}.dfy"
        dfy.write_text(comb.text, encoding="utf-8")
        argv = [str(install.path), "translate", "py", *install.extra_args, "--no-verify", "--include-runtime",
                "--allow-warnings", "--optimize-erasable-datatype-wrapper:false",
                "--python-module-name", module_prefix, "-o", str(rdir / stem), str(dfy)]
        try:
            res = procs.run(argv, timeout=timeout, cwd=rdir, env=dafny_env())
        except OSError as e:
            raise ToolchainError(f"cannot run dafny: {e}", fix="check `qed toolchain status`") from e
        if res.timed_out:
            raise ToolchainError(f"dafny translate py did not finish within {timeout:.0f} s",
                                 fix="retry, or raise the build timeout")
        out = rdir / f"{stem}-py"
        text = res.stdout + "\n" + res.stderr
        errors = [(int(m["line"]), m["msg"].strip()) for m in _ERROR.finditer(text)
                  if Path(m["file"]).name == dfy.name]
        if res.returncode == 0 and (out / "module_.py").exists():
            return Translation(out, rnd, argv)
        if not errors:
            tail = " ".join(text.split())[-300:]
            raise ToolchainError(f"dafny translate py failed (exit {res.returncode}): {tail}",
                                 fix="check `qed toolchain status`; report it if Dafny crashed")
        dropped = False
        for line, msg in errors:
            hit = next((h for a, b, h in comb.spans if a <= line <= b), None)
            if hit is None:
                raise BadInput(f"Dafny cannot compile the artifact to Python: line {line}: {msg}",
                               fix="make the members you want in Python compilable (no ghost code in bodies, "
                                   "no bodiless or {:extern} members)")
            if not hit.reason:
                hit.reason = f"not compilable: {msg}"
                dropped = True
        if not dropped:
            raise ToolchainError("dafny translate py keeps failing on qed's contract predicates",
                                 fix="report this; build with fewer members as a workaround")
    raise ToolchainError(f"dafny translate py still failed after {MAX_ROUNDS} rounds",
                         fix="report this; qed drops one uncompilable clause per round")
