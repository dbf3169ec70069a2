"""`qed check` (verification as a CI gate) and `qed recheck` (reproduce a certificate)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from verifier.cli_options import backend_options, backend_values


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--changed-since", "changed_since", metavar="REF",
              help="Verify only files whose content, includes or contract changed since the git REF (the others "
                   "are answered from the result cache), and review the contracts that changed.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Files verified at once (default: `workers` in the config, else the number of cores).")
@click.option("--fail-on-weakened-contract", is_flag=True,
              help="Fail when a contract changed since REF is weakened or may be (undecided), unless an [[allow]] "
                   "entry approves it (rules QED-C001, QED-C002).")
@click.option("--audit", "audit", is_flag=True,
              help="Audit the contract of every verified file that has one (`spec`), the file being the "
                   "implementation (`qed audit`): a finding fails the gate unless an [[allow]] entry approves it "
                   "(rule ids QED-A-<kind>: QED-A-vacuous_precondition, QED-A-example_contradicts, "
                   "QED-A-example_not_determined, QED-A-surviving_mutant).")
@click.option("--audit-mutants", "audit_mutants", type=click.IntRange(min=0), default=8, show_default=True,
              help="Mutants tried per member with --audit.")
@click.option("--format", "fmt", type=click.Choice(["human", "json", "sarif", "junit"]), default="human",
              show_default=True, help="Report format (json: the `qed verify --json` schema plus the review).")
@click.option("--output", "output", type=click.Path(path_type=Path), metavar="FILE",
              help="Write the report to FILE (atomically) instead of standard output; a one-line summary is "
                   "printed.")
@click.option("--config", "config", type=click.Path(path_type=Path), metavar="FILE",
              help="The config (default: qed.toml, or [tool.qed] in pyproject.toml, here or in a parent folder).")
@click.option("--no-cache", is_flag=True, help="Always run the verifier (do not answer from the result cache).")
@backend_options("check")
def check(paths: tuple[Path, ...], changed_since: str | None, workers: int | None, fail_on_weakened_contract: bool,
          audit: bool, audit_mutants: int, fmt: str, output: Path | None, config: Path | None, no_cache: bool,
          **backend_kwargs) -> None:
    """Verify what the project's config (qed.toml) selects, as a CI gate.

    PATHS (optional) keep only the selected files that are, include or are checked against one of them. Exit
    codes as `qed verify` (0 all verified and the gate passed, 1 a file failed, a contract was weakened with
    --fail-on-weakened-contract or an audit finding is not approved, 2 bad input or config, 3 toolchain).
    """
    from backends import registry
    from verifier.check import CheckOptions, run_check

    values = backend_values(backend_kwargs)
    configs = {name: plugin.config(values.get(name), use_cache=not no_cache)
               for name, plugin in registry.plugins().items() if plugin.available}
    report = run_check(CheckOptions(paths=paths, changed_since=changed_since, workers=workers,
                                    fail_on_weakened_contract=fail_on_weakened_contract, use_cache=not no_cache,
                                    config=config, configs=configs, audit=audit, audit_mutants=audit_mutants))
    doc = report.model_dump(mode="json")
    text = _format(doc, fmt, Path(report.config).resolve().parent)
    if output is not None:
        _write(output, text)
        s = doc["summary"]
        click.echo(f"qed check: {s['files']} checked, {s['verified']} verified, {s['skipped']} skipped, "
                   f"{s['contracts_changed']} contract(s) changed"
                   + (f", {s['audit_findings']} audit finding(s)" if audit else "")
                   + f"; gate {'passed' if doc['gate']['passed'] else 'FAILED'}"
                   f"; {fmt} report: {output}")
    else:
        click.echo(text)
    sys.exit(doc["exit_code"])


def _format(doc: dict, fmt: str, root: Path) -> str:
    from verifier import check_render

    if fmt == "json":
        from verifier.render import render_json

        return render_json(doc)
    if fmt == "junit":
        return check_render.render_junit(doc)
    if fmt == "sarif":
        from backends import registry
        from verifier.check import repository_top

        helps: dict = {}
        for plugin in registry.plugins().values():
            if plugin.available:
                with plugin.create(plugin.config(use_cache=False)) as b:
                    helps.update(b.rule_help())
        top = repository_top(root)
        return check_render.render_sarif(doc, lambda f: check_render.to_uri(f, root, top), helps)
    return check_render.render_human(doc)


def _write(path: Path, text: str) -> None:
    """Write the report whole or not at all."""
    import os

    from verifier.errors import storage_error

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise storage_error("the report", path, e) from None


@click.command()
@click.argument("certificate", type=click.Path(path_type=Path))
@click.option("--artifact", type=click.Path(path_type=Path), help="The artifact (default: artifact.* beside the "
                                                                     "certificate).")
@click.option("--contract", type=click.Path(path_type=Path),
              help="The contract or program (default: found by its hash beside the certificate or in the task).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Wall-clock limit in seconds for the verifier run.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def recheck(certificate: Path, artifact: Path | None, contract: Path | None, timeout: float, as_json: bool) -> None:
    """Re-verify an artifact from its certificate (a qed synth run's certificate.json): the hashes must match,
    the verifier runs again (no cache), and the toolchain is compared with the certified one.

    Exit codes: 0 reproduced, 1 not (a hash differs or the verdict is not verified), 2 bad input, 3 toolchain.
    """
    from verifier.recheck import recheck as run_recheck
    from verifier.recheck import render_recheck

    r = run_recheck(certificate, artifact=artifact, contract=contract, timeout=timeout)
    if as_json:
        import json

        click.echo(json.dumps(r.doc(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_recheck(r))
    if r.result is not None and r.result.get("verifier_crashed"):
        sys.exit(3)
    sys.exit(0 if r.reproduced else 1)
