"""`qed build`: a verified Dafny artifact -> an importable Python package (plus its property tests)."""

from __future__ import annotations

import hashlib
import keyword
import re
import sys
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field

from verifier.errors import BadInput, QedError


class NotVerified(QedError):
    """The artifact is not verified and accepted: nothing is built."""

    exit_code = 1


class MemberInfo(BaseModel):
    dafny_name: str
    python: str  # PKG.Module.name
    kind: str
    checked_requires: list[str] = Field(default_factory=list)
    unchecked_requires: list[tuple[str, str]] = Field(default_factory=list)  # (clause, why)
    ensures_evaluable: list[str] = Field(default_factory=list)
    ensures_not_evaluable: list[tuple[str, str]] = Field(default_factory=list)


class BuildResult(BaseModel):
    package: str
    out_dir: str
    package_dir: str
    test_file: str
    readme: str
    artifact: str
    artifact_sha256: str
    spec: str | None = None
    spec_sha256: str | None = None
    verified: bool  # False only when built with verify=False (benchmarks), never by the CLI
    dafny_version: str | None = None
    solver: str | None = None
    members: list[MemberInfo] = Field(default_factory=list)
    datatypes: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    translate_rounds: int = 1


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def package_name(artifact: Path, name: str | None) -> str:
    if name is not None:
        if not _IDENT.fullmatch(name) or keyword.iskeyword(name) or name.startswith("_"):
            raise BadInput(f"--name {name!r} is not a Python package name",
                           fix="use letters, digits and _ (not first), e.g. --name my_pkg")
        if name in sys.stdlib_module_names:
            raise BadInput(f"--name {name!r} would shadow the standard library module of that name",
                           fix="choose another --name")
        return name
    base = re.sub(r"[^A-Za-z0-9_]", "_", artifact.stem).strip("_") or "dafny_pkg"
    if base[0].isdigit():
        base = "p_" + base
    if keyword.iskeyword(base) or base in sys.stdlib_module_names:
        base += "_dfy"
    return base


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _verify(artifact: Path, spec: Path | None, timeout: float, use_cache: bool):
    from verifier.models import Verdict
    from verifier.verify import VerifyRequest, verify

    report = verify(VerifyRequest(files=(artifact,), spec=spec, timeout=timeout, use_cache=use_cache))
    res = report.results[0]
    if res.verifier_crashed:
        from verifier.errors import ToolchainError

        raise ToolchainError(f"the verifier crashed on {artifact}", fix="check `qed toolchain status`")
    if res.verdict != Verdict.verified.value:
        first = ""
        if res.integrity:
            first = f": {res.integrity[0].message}"
        elif res.diagnostics:
            d = next((d for d in res.diagnostics if d.severity == "error"), res.diagnostics[0])
            first = f": line {d.line}: {d.message}"
        raise NotVerified(f"{artifact} is not verified (verdict: {res.verdict}){first}; qed build only packages "
                          "verified programs", fix=f"run `qed verify {'--spec ' + str(spec) + ' ' if spec else ''}{artifact}` "
                                          "and fix what it reports")
    return res


def _smoke_import(out_dir: Path, pkg: str) -> None:
    """Import the new package in a child Python: Dafny's Python backend has bugs of its own (e.g. a class
    emitted before the trait it extends), and a package that does not import must not pass as built."""
    from verifier import procs
    from verifier.errors import ToolchainError

    res = procs.run([sys.executable, "-c", f"import {pkg}"], timeout=120, cwd=out_dir, memory_mb=2048)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["(no message)"])[-1] if not res.timed_out else "timed out"
        raise ToolchainError(f"the Python code Dafny generated for this program does not import: {last}",
                             fix="a Dafny Python-backend limitation; simplify the program (e.g. classes and "
                                 "traits) or report it to Dafny")


def build_package(artifact: Path, out_dir: Path, *, spec: Path | None = None, name: str | None = None,
                  description: str | None = None, certificate: dict | None = None,
                  examples: list[tuple[str, str]] | None = None, verify: bool = True, timeout: float = 600.0,
                  use_cache: bool = True) -> BuildResult:
    """Verify `artifact` (against `spec` when given), translate it with Dafny and write `out_dir/PKG/`,
    `out_dir/README.md` and `out_dir/test_PKG.py`. Raises NotVerified (exit 1), BadInput (2), ToolchainError (3).

    `examples` are (call, expect) pairs of Dafny expressions (a task's examples), checked by `--test`.
    `verify=False` skips the verification gate (for fidelity benchmarks only; the CLI never does)."""
    from toolchains.discovery import locate_dafny
    from verifier import __version__
    from verifier.pybuild import contracts, genpy, interface, package, proptests, readme, translate, wrappers

    artifact, out_dir = Path(artifact), Path(out_dir)
    if not artifact.is_file():
        raise BadInput(f"{artifact} does not exist or is not a file", fix="pass the verified .dfy file")
    if spec is not None and not Path(spec).is_file():
        raise BadInput(f"spec {spec} does not exist", fix="check the path")
    pkg = package_name(artifact, name)
    sha = _sha(artifact)
    if certificate and certificate.get("artifact_sha256") not in (None, sha):
        raise BadInput(f"the certificate is for another artifact (sha256 {certificate['artifact_sha256'][:12]}..., "
                       f"{artifact.name} has {sha[:12]}...)", fix="pass the certificate.json of this artifact's run")
    install = locate_dafny()
    verdict_line = "not checked (built with verify=False)"
    if verify:
        res = _verify(artifact, spec, timeout, use_cache)
        proved = len(res.members)
        verdict_line = "verified by `qed verify`" + (" against the contract" if spec else "") + \
            (f" ({proved} member(s) proved)" if proved else "")
    src = artifact.read_bytes().decode("utf-8")
    api = interface.read_interface(src)
    members = [m for m in api.members]
    helpers = contracts.helpers_for(api, members)
    ex_helpers = contracts.example_helpers(api, list(examples or []))
    helpers += ex_helpers
    with tempfile.TemporaryDirectory(prefix="qed-build-") as tmp:
        work = Path(tmp)
        tr = translate.translate(install, src, "program", api, helpers, work, f"{pkg}.{wrappers.GEN}",
                                 timeout=timeout)
        gen = genpy.read_translation(tr.out_dir)
        main_target = genpy.main_call(tr.out_dir)
        plan = wrappers.plan(api, members, helpers, gen, pkg, main_target)
        files = package.gen_files(tr.out_dir, pkg)
        main_gen = gen.get(genpy.module_file(()))
        ex_rows = []
        for h in ex_helpers:
            fn = main_gen.find_def(h.name) if (h.ok and main_gen) else None
            reason = h.reason or (None if fn else "not found in Dafny's output")
            ex_rows.append((h.index, examples[h.index - 1][0], examples[h.index - 1][1], genpy.module_file(()),
                            fn, reason))
    files["_types.py"] = wrappers.types_source(plan, sorted(gen))
    tree: dict[tuple[str, ...], list[str]] = {m: [] for m in api.modules}
    for m in api.modules:
        if m:
            tree.setdefault(m[:-1], []).append(m[-1])
    for m in api.modules:
        rel = "/".join((*m, "__init__.py"))
        title = (f"Python API of the verified Dafny program {artifact.name}" if not m else
                 f"Dafny module {'.'.join(m)} of {artifact.name}")
        if description and not m:
            title += "\n\n" + description.strip()
        files[rel] = wrappers.module_source(plan, m, sorted(tree.get(m, [])), description, title)
    test_name = f"test_{pkg}.py"
    target = package.prepare_out(out_dir, pkg)
    written = [f"{pkg}/{r}" for r in package.write_tree(target, files)]
    _smoke_import(out_dir, pkg)
    test_src = proptests.render(plan, api.modules, pkg, ex_rows)
    (out_dir / test_name).write_text(test_src, encoding="utf-8")
    spec_sha = _sha(Path(spec)) if spec else None
    text = readme.render(pkg=pkg, artifact_name=artifact.name, artifact_sha=sha,
                         spec_name=Path(spec).name if spec else None, spec_sha=spec_sha, verdict_line=verdict_line,
                         dafny=install.version, solver=(f"z3 {install.solver_version}" if install.solver_version
                                                        else None),
                         qed_version=__version__, plan=plan, description=description, certificate=certificate,
                         test_file=test_name)
    (out_dir / "README.md").write_text(text, encoding="utf-8")
    infos = []
    for w in plan.wrapped:
        m = w.member
        infos.append(MemberInfo(
            dafny_name=m.qualified, python=".".join((pkg, *m.module, w.pyname)), kind=m.kind,
            checked_requires=[h.clause for h in w.pre if h.name in w.pre_gen],
            unchecked_requires=[(h.clause, h.reason or "not compiled") for h in w.pre if h.name not in w.pre_gen],
            ensures_evaluable=[h.clause for h in w.post if h.ok],
            ensures_not_evaluable=[(h.clause, h.reason) for h in w.post if not h.ok]))
    return BuildResult(
        package=pkg, out_dir=str(out_dir), package_dir=str(target), test_file=str(out_dir / test_name),
        readme=str(out_dir / "README.md"), artifact=str(artifact), artifact_sha256=sha,
        spec=str(spec) if spec else None, spec_sha256=spec_sha, verified=verify, dafny_version=install.version,
        solver=f"z3 {install.solver_version}" if install.solver_version else None, members=infos,
        datatypes=[".".join((*dt.module, dt.name)) for dt, _, _ in plan.dts], skipped=plan.skipped,
        files=sorted([*written, test_name, "README.md"]), translate_rounds=tr.rounds)
