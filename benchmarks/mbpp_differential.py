"""Differential fidelity check of `qed build` on the dafny-synthesis MBPP-DFY `test/` programs.

For each program: what `dafny run --target py` prints for its `Main` must equal what `PKG.Main()` prints
through the package `qed build` makes of the same file (run in a child Python). The build skips the
verification gate (`verify=False`): this measures translation and wrapping fidelity, not proofs (several test
files use `expect`, which `qed verify` rejects by design). With `--calls`, each `var r := F(literals);` in the
programs' test methods is also replayed through the plain-Python API (`PKG.F(python values)`) and the result,
printed the way Dafny prints it, compared with the value Dafny computed.

    python benchmarks/mbpp_differential.py [--dataset DIR] [--jobs 2] [--limit N] [--calls] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_DATASET = REPO.parent / "shared" / "benchmarks" / "dafny-synthesis" / "MBPP-DFY-153" / "test"
_BANNER = "Dafny program verifier did not attempt verification\n"

_CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
import importlib
pkg = importlib.import_module(sys.argv[2])
if not hasattr(pkg, "Main"):
    sys.exit(4)
try:
    pkg.Main()
except pkg.ProgramHalted:
    sys.stdout.flush()
    sys.exit(3)
"""


def dafny_run(install, f: Path, timeout: float) -> tuple[int | None, str, str]:
    from verifier import procs

    with tempfile.TemporaryDirectory(prefix="qed-mbpp-run-") as tmp:
        # `dafny run` writes NAME-py/ beside its input: run a copy, never the shared dataset's file itself
        copy = Path(tmp) / f.name
        copy.write_bytes(f.read_bytes())
        argv = [str(install.path), "run", "--no-verify", "--allow-warnings", "--target", "py", *install.extra_args,
                str(copy)]
        r = procs.run(argv, timeout=timeout, cwd=tmp)
    # Dafny's own warnings and its banner come first on stdout; the program's output follows the banner
    out = r.stdout
    at = out.find(_BANNER)
    return r.returncode, (out[at + len(_BANNER):] if at >= 0 else out), r.stderr


def package_main(out_dir: Path, pkg: str, timeout: float) -> tuple[int | None, str, str]:
    from verifier import procs

    r = procs.run([sys.executable, "-c", _CHILD, str(out_dir), pkg], timeout=timeout, cwd=out_dir, memory_mb=2048)
    return r.returncode, r.stdout, r.stderr


def _first_diff(a: str, b: str) -> str:
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"line {i + 1}: dafny {x!r} vs package {y!r}"
    return f"dafny printed {len(la)} lines, the package {len(lb)}"


def one(f: Path, install, timeout: float, calls: bool, props: int = 0) -> dict:
    from backends import registry
    from backends.base import PythonBuildRequest
    from verifier.errors import QedError

    def build_package(artifact: Path, out: Path, **kw):
        with registry.create_backend("dafny") as backend:
            return backend.build_python(PythonBuildRequest(artifact=artifact, out_dir=out, **kw))

    row: dict = {"file": f.name, "agree": False, "cause": None}
    rc, want, err = dafny_run(install, f, timeout)
    row["dafny_exit"] = rc
    if rc not in (0, 3):
        first = next((ln.strip() for ln in (want + "\n" + err).splitlines() if ": Error: " in ln), "")
        row["cause"] = f"dafny run refuses the program (exit {rc}): {first or ' '.join(err.split())[-200:]}"
        with tempfile.TemporaryDirectory(prefix="qed-mbpp-build-") as tmp:
            try:
                build_package(f, Path(tmp), name="mbpp_refused", verify=False, timeout=timeout)
                row["cause"] += "; qed build built it anyway"
            except QedError as e:
                row["cause"] += f"; qed build refuses it too ({type(e).__name__})"
        return row
    with tempfile.TemporaryDirectory(prefix="qed-mbpp-build-") as tmp:
        out = Path(tmp)
        pkg = "mbpp_" + f.stem.replace("-", "_")
        try:
            res = build_package(f, out, name=pkg, verify=False, timeout=timeout)
        except QedError as e:
            row["cause"] = f"build failed: {e}"
            return row
        row["skipped"] = res.skipped
        row["requires_checked"] = sum(len(m.checked_requires) for m in res.members)
        row["requires_unchecked"] = [f"{m.dafny_name}: requires {c}: {why}" for m in res.members
                                     for c, why in m.unchecked_requires]
        prc, got, perr = package_main(out, pkg, timeout)
        row["package_exit"] = prc
        if prc == 4 and not got:
            row["agree"] = want == ""
            row["vacuous"] = True
            row["cause"] = None if row["agree"] else "the package has no Main, but dafny run printed something"
        elif got == want and (prc == 0) == (rc == 0):
            row["agree"] = True
        elif prc not in (0, 3):
            row["cause"] = f"PKG.Main() failed (exit {prc}): {' '.join(perr.split())[-300:]}"
        else:
            row["cause"] = f"output differs: {_first_diff(want, got)}"
        if calls:
            row.update(replay(f, out, pkg, want, timeout))
        if props:
            from verifier.testrun import run_tests

            rep = run_tests(Path(res.test_file), timeout=timeout, max_examples=props, call_seconds=1.0)
            row["props"] = {"ok": rep.ok, "counts": rep.counts(), "problem": rep.problem,
                            "failures": [f"{m.member}: ensures {c.clause}: {c.counterexample}" for m in rep.members
                                         for c in m.clauses if c.status == "fail"]
                            + [e for m in rep.members for e in m.errors],
                            "not_evaluable": [f"{m.member}: ensures {c.clause}: {c.reason}" for m in rep.members
                                              for c in m.clauses if c.status == "not_evaluable"]}
    return row


# ------------------------------------------------------------------------------ --calls: replay through the API


class Unsupported(Exception):
    pass


_ESC = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"'}


def _unescape(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = body[i + 1]
        if n in _ESC:
            out.append(_ESC[n])
            i += 2
        elif n == "u":
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif n == "U":
            j = body.index("}", i)
            out.append(chr(int(body[i + 3:j].replace("_", ""), 16)))
            i = j + 1
        else:
            raise Unsupported(f"escape \\{n}")
    return "".join(out)


class _Replay:
    """Dafny test-method statements -> Python calling the package's plain API (literals, calls, prints)."""

    def __init__(self, src: str, pkg: str):
        from backends.dafny.syntax import outline

        self.ol = outline(src)
        self.pkg = pkg
        self.methods = {d.name: d for d in self.ol.decls if d.kind == "method" and d.body}
        self.callables = {d.name for d in self.ol.decls if d.kind in ("method", "function", "predicate")}
        self.types: dict[str, tuple | None] = {}
        self.lines: list[str] = []
        self.depth = 0

    def inline(self, name: str) -> None:
        d = self.methods[name]
        self.depth += 1
        if self.depth > 10:
            raise Unsupported("recursion")
        toks = self.ol.tokens[d.body[0] + 1:d.body[1] - 1]
        for stmt in self.split(toks):
            self.statement(stmt)
        self.depth -= 1

    @staticmethod
    def split(toks):
        out, cur, depth = [], [], 0
        for t in toks:
            if t.kind == "op" and t.text in "([{":
                depth += 1
            elif t.kind == "op" and t.text in ")]}":
                depth -= 1
            if t.kind == "op" and t.text == ";" and depth == 0:
                if cur:
                    out.append(cur)
                cur = []
                continue
            if t.kind == "op" and t.text == "{" and depth == 1 and not cur:
                raise Unsupported("block statement")
            cur.append(t)
        if cur:
            raise Unsupported(f"statement without `;`: {' '.join(t.text for t in cur[:6])}")
        return out

    def statement(self, s) -> None:
        head = s[0].text
        if head == "assume":
            return
        if head in ("assert", "expect"):
            body = s[1:]
            if body and body[-1].kind == "string" and len(body) > 2 and body[-2].text == ",":
                body = body[:-2]  # expect E, "message"
            try:
                cond = self.condition(body)
            except Unsupported:
                self.lines.append(f"_skipped({head!r})")
                return
            text = " ".join(t.text for t in body)
            self.lines.append(f"_check({head!r}, {cond}, {text!r})")
            return
        if head == "var":
            j = next((i for i, t in enumerate(s) if t.text == ":="), None)
            if j is None:
                raise Unsupported("var without :=")
            names = [part[0].text for part in self.commas(s[1:j])]  # `x: T` -> x (types are not needed)
            code, typ = self.expr(s[j + 1:], want=len(names))
            if len(names) == 1:
                self.lines.append(f"v_{names[0]} = {code}")
                self.types[names[0]] = typ
            else:
                self.lines.append(f"{', '.join('v_' + n for n in names)} = {code}")
                for i, n in enumerate(names):
                    self.types[n] = ("out", typ[1], i) if typ and typ[0] == "out" else None
            return
        if head == "print":
            for arg in self.commas(s[1:]):
                code, typ = self.expr(arg)
                self.lines.append(f"_p({code}, {typ!r})")
            return
        if s[0].kind == "ident" and len(s) >= 3 and s[1].text == "(" and s[-1].text == ")":
            name = s[0].text
            args = self.commas(s[2:-1]) if len(s) > 3 else []
            d = self.methods.get(name)
            if d is not None and not args and not any(t.text == "returns" for t in d.signature) \
                    and name != "Main" and (name.endswith("Test") or name.startswith("Test")):
                self.inline(name)
                return
            if name in self.callables:
                self.lines.append(f"P.{name}({', '.join(self.expr(a)[0] for a in args)})")
                return
        raise Unsupported(f"statement `{' '.join(t.text for t in s[:8])}`")

    def condition(self, toks) -> str:
        depth = 0
        for i, t in enumerate(toks):
            if t.kind == "op" and t.text in "([{":
                depth += 1
            elif t.kind == "op" and t.text in ")]}":
                depth -= 1
            elif depth == 0 and t.kind == "op" and t.text in ("==", "!="):
                a, b = self.expr(toks[:i])[0], self.expr(toks[i + 1:])[0]
                return f"({a}) {t.text} ({b})"
            elif depth == 0 and t.kind == "op" and t.text in ("&&", "||", "<", ">", "<=", ">=", "==>"):
                raise Unsupported("condition")
        if toks and toks[0].text == "!":
            return f"not ({self.expr(toks[1:])[0]})"
        return f"({self.expr(toks)[0]}) is True"

    @staticmethod
    def commas(toks):
        out, cur, depth = [], [], 0
        for t in toks:
            if t.kind == "op" and t.text in "([{":
                depth += 1
            elif t.kind == "op" and t.text in ")]}":
                depth -= 1
            if t.kind == "op" and t.text == "," and depth == 0:
                out.append(cur)
                cur = []
                continue
            cur.append(t)
        if cur:
            out.append(cur)
        return out

    def expr(self, e, want: int = 1):
        if not e:
            raise Unsupported("empty expression")
        t0 = e[0]
        if t0.text == "(" and e[-1].text == ")":
            parts = self.commas(e[1:-1])
            if len(parts) == 1:
                return self.expr(parts[0], want)
            items = [self.expr(p)[0] for p in parts]
            return "(" + ", ".join(items) + ",)", None
        if len(e) == 1:
            if t0.kind == "number":
                if "." in t0.text:
                    return f"Fraction({t0.text.replace('_', '')!r})", ("real",)
                return str(int(t0.text.replace("_", ""), 0)), None
            if t0.text in ("true", "false"):
                return ("True" if t0.text == "true" else "False"), ("bool",)
            if t0.kind == "string":
                if t0.text.startswith("@"):
                    return repr(t0.text[2:-1].replace('""', '"')), ("seq", ("char",))
                return repr(_unescape(t0.text[1:-1])), ("seq", ("char",))
            if t0.kind == "char":
                return repr(_unescape(t0.text[1:-1])), ("char",)
            if t0.kind == "ident" and t0.text in self.types:
                return f"v_{t0.text}", self.types[t0.text]
            raise Unsupported(f"expression `{t0.text}`")
        if t0.text == "-" and len(e) == 2 and e[1].kind == "number":
            code, typ = self.expr(e[1:])
            return f"-{code}", typ
        if t0.text == "[" and e[-1].text == "]":
            inner = self.commas(e[1:-1]) if len(e) > 2 else []
            return "[" + ", ".join(self.expr(p)[0] for p in inner) + "]", None
        if t0.text == "{" and e[-1].text == "}":
            inner = self.commas(e[1:-1]) if len(e) > 2 else []
            return "{" + ", ".join(self.expr(p)[0] for p in inner) + "}" if inner else "set()", None
        if t0.text == "new" and e[-1].text == "]":
            k = next((i for i in range(len(e) - 1) if e[i].text == "]" and e[i + 1].text == "["), None)
            if k is None:
                raise Unsupported("array without initial values")
            return self.expr(e[k + 1:])[0], None
        if t0.kind == "ident" and e[1].text == "(" and e[-1].text == ")" and t0.text in self.callables:
            args = self.commas(e[2:-1]) if len(e) > 3 else []
            code = f"P.{t0.text}({', '.join(self.expr(a)[0] for a in args)})"
            return code, ("out", t0.text, 0)
        raise Unsupported(f"expression `{' '.join(t.text for t in e[:8])}`")


_REPLAY_PRELUDE = r"""
import sys
from collections import Counter
from fractions import Fraction
sys.path.insert(0, sys.argv[1])
import importlib
P = importlib.import_module(sys.argv[2])
from importlib import import_module
R = import_module(sys.argv[2] + "._types").REG
rt = R.rt


CHECKS = {"assert": [0, 0], "expect": [0, 0], "skipped": 0}


def _check(kind, ok, text):
    CHECKS[kind][0] += 1
    if not ok:
        CHECKS[kind][1] += 1
        sys.stderr.write(f"QED-CHECK-FAILED {kind} {text}\n")
        if kind == "expect":
            sys.stdout.flush()
            _done(3)


def _skipped(kind):
    CHECKS["skipped"] += 1


def _done(code):
    import json
    sys.stderr.write("QED-CHECKS " + json.dumps(CHECKS) + "\n")
    sys.exit(code)


def _p(v, t):
    if t is not None and t[0] == "out":
        t = P.__qed_contracts__[t[1]]["outs"][t[2]][1]
    if t == ("seq", ("char",)):
        sys.stdout.write(v)
        return
    d = R.to_dafny(v, t, "print") if t is not None else R.to_dafny_dyn(v, "print")
    sys.stdout.write(rt.string_of(d))


try:
"""


def replay_source(src: str, pkg: str) -> str:
    r = _Replay(src, pkg)
    if "Main" not in r.methods:
        raise Unsupported("no Main")
    r.inline("Main")
    body = "\n".join("    " + ln for ln in r.lines) or "    pass"
    return (_REPLAY_PRELUDE + body + "\nexcept P.ProgramHalted:\n    _done(3)\n"
            "except P.ContractViolation as e:\n    sys.stderr.write('QED-CONTRACT ' + str(e) + '\\n')\n    _done(6)\n"
            "_done(0)\n")


def replay(f: Path, out_dir: Path, pkg: str, want: str, timeout: float) -> dict:
    from verifier import procs

    try:
        code = replay_source(f.read_text(encoding="utf-8"), pkg)
    except (Unsupported, KeyError, ValueError, IndexError) as e:
        return {"calls": "not_replayable", "calls_cause": str(e)}
    script = out_dir / "_replay.py"
    script.write_text(code, encoding="utf-8")
    r = procs.run([sys.executable, str(script), str(out_dir), pkg], timeout=timeout, cwd=out_dir, memory_mb=2048)
    checks = next((json.loads(ln.split(" ", 1)[1]) for ln in r.stderr.splitlines() if ln.startswith("QED-CHECKS ")),
                  None)
    failed = [ln.split(" ", 1)[1] for ln in r.stderr.splitlines() if ln.startswith("QED-CHECK-FAILED ")]
    row = {"checks": checks, "failed_checks": failed}
    if r.returncode == 6:
        msg = next((ln.split(" ", 1)[1] for ln in r.stderr.splitlines() if ln.startswith("QED-CONTRACT ")), "")
        return {**row, "calls": "contract_violation",
                "calls_cause": f"the test calls outside the precondition, the wrapper refuses: {msg}"}
    if r.returncode not in (0, 3):
        return {**row, "calls": "disagree", "calls_cause": f"replay failed: {' '.join(r.stderr.split())[-300:]}"}
    halted = "\n[Program halted] " in "\n" + want
    want_out = want[: ("\n" + want).find("\n[Program halted] ")] if halted else want
    if r.stdout == want_out and (r.returncode == 3) == halted:
        return {**row, "calls": "agree", "calls_cause": None}
    if r.stdout == want_out:
        return {**row, "calls": "disagree", "calls_cause": f"halting differs (expect failed through the API: {failed})"}
    return {**row, "calls": "disagree", "calls_cause": f"output differs: {_first_diff(want_out, r.stdout)}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--calls", action="store_true", help="also replay literal calls through the plain API")
    ap.add_argument("--props", type=int, default=0, metavar="N",
                    help="also run each package's generated property tests with N inputs per member")
    ap.add_argument("--json", type=Path, help="write one JSON line per program here")
    args = ap.parse_args()

    from toolchains.discovery import locate_dafny

    install = locate_dafny()
    files = sorted(args.dataset.glob("*.dfy"), key=lambda p: (len(p.stem), p.stem))[: args.limit or None]
    with ThreadPoolExecutor(max_workers=args.jobs) as ex:
        rows = list(ex.map(lambda f: one(f, install, args.timeout, args.calls, args.props), files))
    agree = sum(r["agree"] for r in rows)
    vacuous = [r["file"] for r in rows if r.get("vacuous")]
    for r in rows:
        if not r["agree"]:
            print(f"DISAGREE {r['file']}: {r['cause']}")
    if args.calls:
        rep = [r for r in rows if r.get("calls") in ("agree", "disagree")]
        for r in rows:
            if r.get("calls") == "disagree":
                print(f"CALLS DISAGREE {r['file']}: {r['calls_cause']}")
        refused = [r for r in rows if r.get("calls") == "contract_violation"]
        for r in refused:
            print(f"CALLS REFUSED {r['file']}: {r['calls_cause']}")
        causes = Counter(r.get("calls_cause") for r in rows if r.get("calls") == "not_replayable")
        tot = {k: [0, 0] for k in ("assert", "expect")}
        for r in rep:
            for k, acc in tot.items():
                if r.get("checks"):
                    acc[0] += r["checks"][k][0]
                    acc[1] += r["checks"][k][1]
            for fc in r.get("failed_checks") or []:
                print(f"CHECK FAILED through the API {r['file']}: {fc}")
        print(f"test checks evaluated on API results: expect {tot['expect'][0] - tot['expect'][1]}/{tot['expect'][0]} "
              f"hold, assert {tot['assert'][0] - tot['assert'][1]}/{tot['assert'][0]} hold")
        print(f"calls replayed through the plain API: {sum(r['calls'] == 'agree' for r in rep)}/{len(rep)} agree; "
              f"{len(refused)} stopped by ContractViolation (the test breaks a precondition); "
              f"{sum(causes.values())} programs not replayable: "
              + "; ".join(f"{n} x {c}" for c, n in causes.most_common()))
    built = [r for r in rows if "requires_checked" in r]
    unchecked = [x for r in built for x in r["requires_unchecked"]]
    print(f"requires clauses checked at the Python boundary: {sum(r['requires_checked'] for r in built)}; "
          f"not checkable: {len(unchecked)}")
    for x in unchecked:
        print(f"  not checkable: {x[:160]}")
    skipped = [(r["file"], x) for r in built for x in r.get("skipped") or []]
    for f, x in skipped:
        print(f"NOT WRAPPED {f}: {x}")
    if args.props:
        tested = [r for r in rows if r.get("props")]
        totals = Counter()
        for r in tested:
            totals.update(r["props"]["counts"])
            for x in r["props"]["failures"]:
                print(f"PROPERTY FAILED {r['file']}: {x}")
            if r["props"]["problem"]:
                print(f"PROPERTY TESTS BROKE {r['file']}: {r['props']['problem']}")
        reasons = Counter(x.split(": ensures ", 1)[1].rsplit(": ", 1)[-1][:90] for r in tested
                          for x in r["props"]["not_evaluable"])
        print(f"property tests: {sum(r['props']['ok'] for r in tested)}/{len(tested)} packages pass; postconditions: "
              + ", ".join(f"{n} {k}" for k, n in sorted(totals.items())))
        for why, n in reasons.most_common():
            print(f"  not evaluable x{n}: {why}")
    print(f"{agree}/{len(rows)} programs: PKG.Main() prints what `dafny run --target py` prints"
          + (f" ({len(vacuous)} without a Main, both print nothing: {', '.join(vacuous)})" if vacuous else ""))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
