"""`qed build`: a verified program -> an installable, typed Python project with contract checks and tests
(through the backend's python_build capability).

    qed build ARTIFACT [--spec SPEC] --out DIR [--name PKG] [--version V] [--wheel] [--task TASK.yaml] [--test]
    exit 0 built (and, with --test, every evaluable clause held), 1 not verified / a test failed,
    2 bad input, 3 toolchain

The backend writes DIR as a PEP 517/621 project (`pyproject.toml` naming its own build backend). What is done
to it here is plain Python packaging and knows no verifier: `--version` sets `[project] version`, and
`--wheel` builds the wheel by calling the project's own `build_wheel` hook, as `pip wheel DIR` would, but in a
child Python without build isolation, so nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import click

from verifier.cli_options import backend_options, backend_values
from verifier.errors import BadInput, ToolchainError

# PEP 440 versions in their normalized form (what pip and the wheel's file name will show).
_VERSION = re.compile(r"(?:[1-9]\d*!)?(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))*(?:(?:a|b|rc)(?:0|[1-9]\d*))?"
                      r"(?:\.post(?:0|[1-9]\d*))?(?:\.dev(?:0|[1-9]\d*))?(?:\+[a-z0-9]+(?:\.[a-z0-9]+)*)?")
# A minimal PEP 517 frontend for a backend that needs no build requirements (`requires = []`).
_BUILD_WHEEL = """\
import importlib, json, os, sys, tomllib
with open("pyproject.toml", "rb") as f:
    system = tomllib.load(f).get("build-system", {})
sys.path[:0] = [os.path.abspath(p) for p in system.get("backend-path", [])]
module, _, attr = system["build-backend"].partition(":")
hooks = importlib.import_module(module)
for part in filter(None, attr.split(".")):
    hooks = getattr(hooks, part)
print(json.dumps(hooks.build_wheel(sys.argv[1])))
"""


@click.command("build")
@click.argument("artifact", metavar="ARTIFACT", type=click.Path(path_type=Path))
@click.option("--spec", type=click.Path(path_type=Path), help="Contract the artifact must keep (as in qed verify).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the package, its README.md and its property tests.")
@click.option("--name", default=None, help="Package name (default: from the artifact's file name).")
@click.option("--version", "version", default=None, metavar="VERSION",
              help="Version of the distribution, PEP 440 (default: 0.0.0+sha256.<first 12 hex digits of the "
                   "artifact's sha256>).")
@click.option("--wheel", "wheel", is_flag=True,
              help="Also write the wheel into DIR/dist/ (built offline by the project's own build backend).")
@click.option("--task", "task_file", type=click.Path(path_type=Path), default=None,
              help="Task file: its description goes into the docstrings, its examples into the tests.")
@click.option("--description", default=None, help="Task description for the docstrings (overrides --task's).")
@click.option("--certificate", "cert_file", type=click.Path(path_type=Path), default=None,
              help="certificate.json of the qed synth run that made ARTIFACT (default: the one beside it, if it "
                   "is this artifact's); its hashes go into README.md.")
@click.option("--test", "run_tests", is_flag=True,
              help="Then run the property tests (and the task's examples) in a subprocess and report per clause.")
@click.option("--max-examples", type=click.IntRange(min=1, max=100000), default=100, show_default=True,
              help="Inputs drawn per member with --test.")
@click.option("--test-timeout", type=click.FloatRange(min=1), default=300, show_default=True,
              help="Wall-clock limit in seconds for the test process (killed after).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Wall-clock limit in seconds for verifying and for translating.")
@click.option("--no-cache", is_flag=True, help="Always run the verifier (do not answer from the result cache).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (the build result and test report).")
@backend_options("build")
def build(artifact: Path, spec: Path | None, out: Path, name: str | None, version: str | None, wheel: bool,
          task_file: Path | None, description: str | None, cert_file: Path | None, run_tests: bool,
          max_examples: int, test_timeout: float, timeout: float, no_cache: bool, as_json: bool,
          **backend_kwargs) -> None:
    """Turn the verified program ARTIFACT into an installable, typed Python project in --out (needs a backend
    with a Python build).

    Nothing is built unless `qed verify` semantics accept the artifact (with --spec: the contract is unchanged
    and nothing escapes proof). Each top-level method and function becomes an annotated Python function of the
    same name taking plain values; arguments and every compilable `requires` are checked at the call
    (ContractViolation, a ValueError). DIR gets pyproject.toml: `pip install DIR` works offline, and the
    package is typed (py.typed). Exit codes: 0 built (and tests passed), 1 not verified or a test failed, 2 bad
    input, 3 toolchain.
    """
    from backends import registry
    from backends.base import Capability, PythonBuildRequest
    from verifier.testrun import render
    from verifier.testrun import run_tests as run

    if version is not None and not _VERSION.fullmatch(version):
        raise BadInput(f"--version {version!r} is not a PEP 440 version in normalized form",
                       fix="use e.g. --version 1.0.0 (or 1.0.0rc1, 1.0.0.post1, 1.0.0+local)")
    examples: tuple[tuple[str, str], ...] = ()
    if task_file is not None:
        from verifier.tasks import load_task

        task = load_task(task_file)
        description = description or task.description
        examples = tuple((e.call, e.expect) for e in task.examples)
    certificate = _certificate(artifact, cert_file)
    plugin = registry.ensure_available(registry.plugin_for_file(artifact))
    config = plugin.config(backend_values(backend_kwargs).get(plugin.language.name), use_cache=not no_cache)
    with plugin.create(config) as backend:
        backend.require(Capability.python_build, "`qed build` (a Python package)")
        res = backend.build_python(PythonBuildRequest(
            artifact=artifact, out_dir=out, contract=spec, name=name, description=description,
            certificate=certificate, examples=examples, timeout=timeout))
    project = Path(res.out_dir) / "pyproject.toml"
    if version is not None:
        _set_version(project, version)
    wheel_path = _build_wheel(Path(res.out_dir), timeout) if wheel else None
    meta = _project(project)
    report = run(Path(res.test_file), timeout=test_timeout, max_examples=max_examples) if run_tests else None
    if as_json:
        dist = {"name": meta.get("name"), "version": meta.get("version"), "pyproject": str(project),
                "wheel": str(wheel_path) if wheel_path else None}
        doc = {"build": res.model_dump(), "dist": dist, "tests": report.model_dump() if report else None}
        click.echo(json.dumps(doc, indent=2))
    else:
        n_req = sum(len(m.checked_requires) for m in res.members)
        n_unreq = sum(len(m.unchecked_requires) for m in res.members)
        click.echo(f"built {res.package} in {res.package_dir} from verified {artifact}: {len(res.members)} "
                   f"function(s), {len(res.datatypes)} datatype(s); {n_req} requires checked at the call, "
                   f"{n_unreq} not checkable")
        for m in res.members:
            for clause, why in m.unchecked_requires:
                click.echo(f"  {m.python}: requires {clause}: not checked at run time ({why})")
        for s in res.skipped:
            click.echo(f"  not in Python: {s}")
        click.echo(f"README: {res.readme}; property tests: {res.test_file}")
        click.echo(f"project: {project} ({meta.get('name')} {meta.get('version')}; pip install {res.out_dir})")
        if wheel_path:
            click.echo(f"wheel: {wheel_path}")
        if report is not None:
            click.echo(render(report))
    sys.exit(0 if report is None or report.ok else 1)


def _project(pyproject: Path) -> dict:
    """The `[project]` table of the written project (empty when the backend wrote no pyproject.toml)."""
    import tomllib

    try:
        with open(pyproject, "rb") as f:
            return tomllib.load(f).get("project", {})
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ToolchainError(f"cannot read the written {pyproject}: {e}", fix="rebuild; report it if it persists") \
            from None


def _set_version(pyproject: Path, version: str) -> None:
    """Set `[project] version` in the written pyproject.toml (its own line there), checked by reading it back."""
    import tomllib

    from verifier.errors import storage_error

    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError as e:
        raise ToolchainError(f"the build wrote no readable {pyproject}: {e}",
                             fix="--version needs a backend that writes a pyproject.toml") from None
    new = re.sub(r'(?m)^version = "[^"\n]*"$', f'version = "{version}"', text, count=1)
    if tomllib.loads(new).get("project", {}).get("version") != version:
        raise ToolchainError(f"cannot set the version in {pyproject}: no `version = \"...\"` line in [project]",
                             fix="edit [project] version by hand")
    tmp = pyproject.with_name(f".{pyproject.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(new, encoding="utf-8")
        os.replace(tmp, pyproject)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise storage_error("the project's", pyproject, e) from None


def _build_wheel(project_dir: Path, timeout: float) -> Path:
    """Build the project's wheel into DIR/dist/ through its own PEP 517 backend, in a child Python, offline."""
    from verifier import procs

    dist = project_dir / "dist"
    try:
        dist.mkdir(exist_ok=True)
    except OSError as e:
        from verifier.errors import storage_error

        raise storage_error("the wheel folder", dist, e) from None
    res = procs.run([sys.executable, "-I", "-B", "-c", _BUILD_WHEEL, str(dist.resolve())], timeout=timeout,
                    cwd=project_dir, memory_mb=2048)
    lines = res.stdout.strip().splitlines()
    if res.returncode != 0 or res.timed_out or not lines:
        last = "timed out" if res.timed_out else \
            ((res.stderr.strip().splitlines() or ["(no message)"])[-1])
        raise ToolchainError(f"the wheel of {project_dir} could not be built: {last}",
                             fix=f"run `pip wheel --no-deps {project_dir}` to see the whole error")
    return dist / json.loads(lines[-1])


def _certificate(artifact: Path, cert_file: Path | None) -> dict | None:
    """The given certificate (must be readable JSON), else `certificate.json` beside the artifact when it
    names this artifact's hash."""
    import hashlib

    if cert_file is not None:
        try:
            return json.loads(cert_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise BadInput(f"cannot read certificate {cert_file}: {e}", fix="pass the run's certificate.json") from None
    beside = artifact.parent / "certificate.json"
    if not beside.is_file() or not artifact.is_file():
        return None
    try:
        doc = json.loads(beside.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    sha = hashlib.sha256(artifact.read_bytes()).hexdigest()
    return doc if isinstance(doc, dict) and doc.get("artifact_sha256") == sha else None
