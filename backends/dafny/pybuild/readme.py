"""DIR/README.md: what was verified, by which toolchain, with which hashes, and what the package offers."""

from __future__ import annotations

import json

from backends.dafny.pybuild.resolve import pyhint
from backends.dafny.pybuild.wrappers import Plan


def _cert_lines(certificate: dict | None) -> list[str]:
    if not certificate:
        return ["No certificate was given (this build was not made by `qed synth`)."]
    out = ["Certificate (from the synthesis run):", ""]

    def walk(prefix: str, v) -> None:
        if isinstance(v, dict):
            for k in sorted(v):
                walk(f"{prefix}.{k}" if prefix else str(k), v[k])
        elif isinstance(v, list):
            out.append(f"- `{prefix}`: `{json.dumps(v, sort_keys=True)[:200]}`")
        else:
            out.append(f"- `{prefix}`: `{v}`")

    walk("", certificate)
    return out


def render(*, pkg: str, artifact_name: str, artifact_sha: str, spec_name: str | None, spec_sha: str | None,
           verdict_line: str, dafny: str, solver: str | None, qed_version: str, plan: Plan,
           description: str | None, certificate: dict | None, test_file: str) -> str:
    L: list[str] = [f"# {pkg}", ""]
    if description:
        L += [description.strip(), ""]
    L += [
        f"Built by `qed build` (qedgen {qed_version}) from the verified Dafny program `{artifact_name}`.",
        "",
        "## What was verified",
        "",
        f"- artifact `{artifact_name}`, sha256 `{artifact_sha}`",
    ]
    if spec_name:
        L.append(f"- contract `{spec_name}`, sha256 `{spec_sha}` (unchanged in the artifact: integrity guard)")
    L += [
        f"- verdict: {verdict_line}",
        f"- toolchain: Dafny {dafny}" + (f" with {solver}" if solver else ""),
        ("- translated by Dafny's own Python backend (`dafny translate py`); its runtime is vendored in "
         f"`{pkg}/_dafny_gen/` (Dafny runtime, MIT license)"),
        "",
    ]
    L += _cert_lines(certificate)
    L += [
        "",
        "## Install",
        "",
        ("This folder is a Python project: `pip install .` (or `pip install PATH/TO/THIS/FOLDER`) builds and "
         "installs it with the build backend beside `pyproject.toml` (`qed_build_backend.py`, standard library "
         "only: nothing is downloaded); `python -m build` writes its sdist and wheel. The package needs only "
         "the standard library; the property tests need `pip install '.[test]'` (hypothesis, pytest)."),
        "",
        ("Typed (PEP 484 annotations, PEP 561 `py.typed`): `mypy` and `pyright` run in this folder check the "
         f"package strictly (`pyproject.toml` configures them; Dafny's untyped translation in `{pkg}/_dafny_gen/` "
         "is marked `# type: ignore`)."),
        "",
        "## API",
        "",
        ("Plain Python values in and out: int (int, nat, bounded ints), bool, str (string; a char is a "
         "one-character str), fractions.Fraction (real), list (seq, array), tuple, set, dict (map), "
         "collections.Counter (multiset), datatype classes; the annotations say which for each parameter."),
        "",
    ]
    for w in plan.wrapped:
        m = w.member
        path = ".".join((pkg, *m.module, w.pyname))
        sig = ", ".join(f"{pn}: {pyhint(t)}" for _, pn, t in w.params)
        if not w.outs:
            ret = "None"
        elif len(w.outs) == 1:
            ret = pyhint(w.outs[0][1])
        else:
            ret = "tuple[" + ", ".join(pyhint(t) for _, t in w.outs) + "]"
        L.append(f"### `{path}({sig}) -> {ret}`")
        L.append("")
        n0 = len(L)
        for h in w.pre:
            state = "checked" if h.name in w.pre_gen else f"not checked at run time ({h.reason})"
            L.append(f"- requires `{h.clause}` — {state}")
        for c in m.ensures:
            L.append(f"- ensures `{c}`")
        if m.modifies:
            L.append(f"- modifies {', '.join(m.modifies)} (written back into the list passed in)")
        if len(L) > n0:
            L.append("")
    if plan.dts:
        L += ["### Datatypes", "", "Frozen dataclasses (`match` works on them); the base class is the datatype.", ""]
        for d in plan.dts:
            where = ".".join((pkg, *d.dt.module))
            L.append(f"- `{where}.{d.base}`: " + " | ".join(
                f"`{c.pyname}({', '.join(f[0] for f in c.fields)})`" for c in d.ctors))
        L.append("")
    if plan.skipped:
        L += ["## Not available from Python", ""]
        L += [f"- {s}" for s in plan.skipped]
        L.append("")
    L += [
        "## Contract at the boundary",
        "",
        ("Callers in Python are not verified. Each wrapper converts and checks its arguments (types, subset "
         "types such as nat, every `requires` Dafny could compile) before any compiled code runs; a violation "
         f"raises `{pkg}.ContractViolation` (a ValueError) quoting the clause."),
        "",
        "## Property tests",
        "",
        f"`{test_file}` draws inputs from the parameter types, keeps those that meet the preconditions and checks "
        "each postcondition (compiled by Dafny). Run it with `qed build --test` or `python " + test_file + "`.",
        "",
    ]
    return "\n".join(L)
