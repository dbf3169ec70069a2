"""`qed build`: a verified program -> an importable Python package with contract checks and tests (through the
backend's python_build capability).

    qed build ARTIFACT [--spec SPEC] --out DIR [--name PKG] [--task TASK.yaml] [--test] [--json]
    exit 0 built (and, with --test, every evaluable clause held), 1 not verified / a test failed,
    2 bad input, 3 toolchain
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from verifier.cli_options import backend_options, backend_values


@click.command("build")
@click.argument("artifact", metavar="ARTIFACT", type=click.Path(path_type=Path))
@click.option("--spec", type=click.Path(path_type=Path), help="Contract the artifact must keep (as in qed verify).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the package, its README.md and its property tests.")
@click.option("--name", default=None, help="Package name (default: from the artifact's file name).")
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
def build(artifact: Path, spec: Path | None, out: Path, name: str | None, task_file: Path | None,
          description: str | None, cert_file: Path | None, run_tests: bool, max_examples: int, test_timeout: float,
          timeout: float, no_cache: bool, as_json: bool, **backend_kwargs) -> None:
    """Turn the verified program ARTIFACT into an importable Python package in --out (needs a backend with a
    Python build).

    Nothing is built unless `qed verify` semantics accept the artifact (with --spec: the contract is unchanged
    and nothing escapes proof). Each top-level method and function becomes a Python function of the same name
    taking plain values; arguments and every compilable `requires` are checked at the call
    (ContractViolation, a ValueError). Exit codes: 0 built (and tests passed), 1 not verified or a test
    failed, 2 bad input, 3 toolchain.
    """
    from backends import registry
    from backends.base import Capability, PythonBuildRequest
    from verifier.testrun import render
    from verifier.testrun import run_tests as run

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
    report = run(Path(res.test_file), timeout=test_timeout, max_examples=max_examples) if run_tests else None
    if as_json:
        doc = {"build": res.model_dump(), "tests": report.model_dump() if report else None}
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
        if report is not None:
            click.echo(render(report))
    sys.exit(0 if report is None or report.ok else 1)


def _certificate(artifact: Path, cert_file: Path | None) -> dict | None:
    """The given certificate (must be readable JSON), else `certificate.json` beside the artifact when it
    names this artifact's hash."""
    import hashlib

    from verifier.errors import BadInput

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
