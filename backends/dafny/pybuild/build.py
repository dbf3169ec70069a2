"""`qed build`: a verified Dafny artifact -> an importable Python package (plus its property tests)."""

from __future__ import annotations

import hashlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifier.errors import BadInput, NotVerified, ToolchainError
from verifier.models import BuildResult, FileResult, MemberInfo

if TYPE_CHECKING:
    from backends.base import CheckRequest, PythonBuildRequest


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _verify(check: Callable[[CheckRequest], FileResult], artifact: Path, spec: Path | None, timeout: float):
    """The gate: `qed verify` semantics (with a contract: unchanged, nothing escapes proof)."""
    from backends.base import CheckRequest
    from verifier.models import Verdict

    res = check(CheckRequest(file=artifact, contract=spec, timeout=timeout))
    if res.verifier_crashed:
        raise ToolchainError(f"the verifier crashed on {artifact}", fix="check `qed toolchain status`")
    if res.verdict != Verdict.verified:
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

    res = procs.run([sys.executable, "-c", f"import {pkg}"], timeout=120, cwd=out_dir, memory_mb=2048)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["(no message)"])[-1] if not res.timed_out else "timed out"
        raise ToolchainError(f"the Python code Dafny generated for this program does not import: {last}",
                             fix="a Dafny Python-backend limitation; simplify the program (e.g. classes and "
                                 "traits) or report it to Dafny")


def build_package(request: PythonBuildRequest, *, install: Any,
                  check: Callable[[CheckRequest], FileResult]) -> BuildResult:
    """Verify `request.artifact` with `check` (against its contract when given), translate it with the Dafny
    `install` (a `toolchains.discovery.DafnyInstall`) and write the project `out_dir`: `PKG/` (typed, with
    `py.typed`), `README.md`, `test_PKG.py`, `pyproject.toml` (version `dist.default_version` of the artifact's
    hash) and its build backend `qed_build_backend.py`. Raises NotVerified (exit 1), BadInput (2),
    ToolchainError (3).

    `request.examples` are (call, expect) pairs of Dafny expressions (a task's examples), checked by `--test`.
    `request.verify=False` skips the verification gate (for fidelity benchmarks only; the CLI never does)."""
    from verifier import __version__
    from verifier.pypackage import package_name

    from . import contracts, dist, genpy, interface, package, proptests, readme, translate, wrappers

    artifact, out_dir, spec, name = Path(request.artifact), Path(request.out_dir), request.contract, request.name
    description, certificate, verify, timeout = request.description, request.certificate, request.verify, \
        request.timeout
    examples = list(request.examples)
    if not artifact.is_file():
        raise BadInput(f"{artifact} does not exist or is not a file", fix="pass the verified .dfy file")
    if spec is not None and not Path(spec).is_file():
        raise BadInput(f"spec {spec} does not exist", fix="check the path")
    pkg = package_name(artifact, name)
    sha = _sha(artifact)
    if certificate and certificate.get("artifact_sha256") not in (None, sha):
        raise BadInput(f"the certificate is for another artifact (sha256 {certificate['artifact_sha256'][:12]}..., "
                       f"{artifact.name} has {sha[:12]}...)", fix="pass the certificate.json of this artifact's run")
    verdict_line = "not checked (built with verify=False)"
    if verify:
        res = _verify(check, artifact, spec, timeout)
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
    files["_types.py"] = wrappers.types_source(plan)
    for m in api.modules:
        rel = "/".join((*m, "__init__.py"))
        title = (f"Python API of the verified Dafny program {artifact.name}" if not m else
                 f"Dafny module {'.'.join(m)} of {artifact.name}")
        if description and not m:
            title += "\n\n" + description.strip()
        files[rel] = wrappers.module_source(plan, m, description, title)
    test_name = f"test_{pkg}.py"
    target = package.prepare_out(out_dir, pkg)
    written = [f"{pkg}/{r}" for r in package.write_tree(target, files)]
    _smoke_import(out_dir, pkg)
    test_src = proptests.render(plan, api.modules, pkg, ex_rows)
    package.write_file(out_dir / test_name, test_src)
    spec_sha = _sha(Path(spec)) if spec else None
    text = readme.render(pkg=pkg, artifact_name=artifact.name, artifact_sha=sha,
                         spec_name=Path(spec).name if spec else None, spec_sha=spec_sha, verdict_line=verdict_line,
                         dafny=install.version, solver=(f"z3 {install.solver_version}" if install.solver_version
                                                        else None),
                         qed_version=__version__, plan=plan, description=description, certificate=certificate,
                         test_file=test_name)
    package.write_file(out_dir / "README.md", text)
    provenance = dist.Provenance(
        artifact=artifact.name, artifact_sha256=sha, contract=Path(spec).name if spec else None,
        contract_sha256=spec_sha, verified=verify, verdict=verdict_line, dafny=install.version,
        solver=f"z3 {install.solver_version}" if install.solver_version else None, qedgen=__version__)
    package.write_file(out_dir / "pyproject.toml", dist.pyproject(
        pkg=pkg, version=dist.default_version(sha), test_file=test_name, provenance=provenance))
    package.write_file(out_dir / f"{dist.BACKEND}.py", dist.backend_source())
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
        datatypes=[d.key for d in plan.dts], skipped=plan.skipped,
        files=sorted([*written, test_name, "README.md", "pyproject.toml", f"{dist.BACKEND}.py"]),
        translate_rounds=tr.rounds)
