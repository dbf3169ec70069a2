"""The `qed` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from verifier import __version__
from verifier.cli_options import backend_options, backend_values
from verifier.errors import QedError


class _Group(click.Group):
    """Turns every QedError into one line on stderr and its exit code (2 bad input, 3 toolchain, ...)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except QedError as e:
            click.echo(f"qed: error: {e}", err=True)
            ctx.exit(e.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qed")
def main() -> None:
    """qedgen: code that is proved correct, not just tested.

    Exit codes: 0 success, 1 some file failed / timed out / was rejected (synth: budget exhausted),
    2 bad input, 3 toolchain missing or crashed, 4 model provider problem, 5 cannot write (a full disk, a
    read-only folder), 128 + N stopped by signal N (130 Ctrl-C, 143 SIGTERM).
    """


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--spec", type=click.Path(path_type=Path),
              help="Contract file: its members without a body must be implemented, the rest stays as is.")
@click.option("--annotates", "program", type=click.Path(path_type=Path), metavar="PROGRAM",
              help="Each file must be PROGRAM with proof hints added (invariants, asserts, lemmas...), its code "
                   "and contract unchanged.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (schema: `qed schema`).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Wall-clock limit in seconds for each file's verifier run.")
@click.option("--time-limit", type=click.IntRange(min=0), default=None,
              help="Solver time limit per proof obligation in seconds (default: the verifier's own, e.g. 30).")
@click.option("--memory-mb", type=click.IntRange(min=64), default=None,
              help="Memory cap in MB of each verifier run, the verifier and its solver together (default 8192); a "
                   "run above it is killed and reported as an error.")
@click.option("--no-cache", is_flag=True, help="Always run the verifier (do not answer from the result cache).")
@click.option("--member", "members", multiple=True, metavar="NAME",
              help="Verify only members whose qualified name contains NAME (repeatable; for backends with member "
                   "scope). The verdict then speaks for those members only, and says so.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Files verified at once (default: the number of cores).")
@backend_options("verify")
def verify(files: tuple[Path, ...], spec: Path | None, program: Path | None, as_json: bool, timeout: float,
           time_limit: int | None, memory_mb: int | None, no_cache: bool, members: tuple[str, ...],
           workers: int | None, **backend_kwargs) -> None:
    """Verify FILES (a folder stands for every file below it in a language qed has a backend for),
    optionally against the contract in SPEC, and report an honest verdict per file.

    A file is `verified` only when the verifier accepts it, the contract is unchanged and nothing in it
    escapes proof (assume, {:axiom}, {:verify false}, bodiless lemmas, ...).
    """
    from backends import registry
    from verifier.parallel import default_workers
    from verifier.verify import VerifyRequest
    from verifier.verify import verify as run_verify

    values = backend_values(backend_kwargs)
    configs = {name: plugin.config(values.get(name), use_cache=not no_cache)
               for name, plugin in registry.plugins().items() if plugin.available}
    report = run_verify(VerifyRequest(files=files, spec=spec, program=program, timeout=timeout,
                                      time_limit_s=time_limit, memory_mb=memory_mb, members=members,
                                      use_cache=not no_cache, workers=workers or default_workers(),
                                      configs=configs))
    from verifier.render import exit_code_of, render_json, render_report

    doc = report.model_dump(mode="json")
    click.echo(render_json(doc) if as_json else render_report(doc))
    sys.exit(exit_code_of(doc["results"]))


@main.command()
@click.option("--task", "of_task", is_flag=True, help="The schema of task files (specs/*.yaml) instead.")
@click.option("--check", "of_check", is_flag=True, help="The schema of `qed check --format json` reports instead.")
@click.option("--audit", "of_audit", is_flag=True, help="The schema of `qed audit --json` output instead.")
def schema(of_task: bool, of_check: bool, of_audit: bool) -> None:
    """Print the JSON Schema of `qed verify --json` output (or of task files, `qed check` reports or `qed audit
    --json` output)."""
    if of_audit:
        from verifier.audit import audit_schema

        click.echo(json.dumps(audit_schema(), indent=2))
        return
    if of_check:
        from verifier.check_models import CheckReport

        click.echo(json.dumps(CheckReport.model_json_schema(), indent=2))
        return
    if of_task:
        from verifier.tasks import task_schema

        click.echo(json.dumps(task_schema(), indent=2))
        return
    from verifier.schema import report_schema

    click.echo(json.dumps(report_schema(), indent=2))


def _add_optional_commands() -> None:
    from verifier.cli_audit import audit
    from verifier.cli_bench import bench
    from verifier.cli_build import build
    from verifier.cli_check import check, recheck
    from verifier.cli_synth import synth
    from verifier.cli_toolchain import toolchain

    main.add_command(audit)
    main.add_command(bench)
    main.add_command(build)
    main.add_command(check)
    main.add_command(recheck)
    main.add_command(synth)
    main.add_command(toolchain)


_add_optional_commands()
