"""The `qed` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from verifier import __version__
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

    Exit codes: 0 success, 1 some file failed / timed out / was rejected, 2 bad input,
    3 toolchain missing or crashed.
    """


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--spec", type=click.Path(path_type=Path),
              help="Contract file: its members without a body must be implemented, the rest stays as is.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (schema: `qed schema`).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Wall-clock limit in seconds for each file's verifier run.")
@click.option("--time-limit", type=click.IntRange(min=0), default=None,
              help="Solver time limit per proof obligation in seconds (Dafny --verification-time-limit; default 30).")
@click.option("--no-cache", is_flag=True, help="Always run the verifier (do not answer from the result cache).")
@click.option("--member", "members", multiple=True, metavar="NAME",
              help="Verify only members whose qualified name contains NAME (Dafny --filter-symbol; repeatable). "
                   "The verdict then speaks for those members only, and says so.")
@click.option("--audit/--no-audit", default=None,
              help="Also run `dafny audit` as a second opinion on escapes from proof (default: on with --spec).")
def verify(files: tuple[Path, ...], spec: Path | None, as_json: bool, timeout: float, time_limit: int | None,
           no_cache: bool, members: tuple[str, ...], audit: bool | None) -> None:
    """Verify FILES (a folder stands for every .dfy file below it), optionally against the contract in SPEC,
    and report an honest verdict per file.

    A file is `verified` only when the verifier accepts it, the contract is unchanged and nothing in it
    escapes proof (assume, {:axiom}, {:verify false}, bodiless lemmas, ...).
    """
    from backends.dafny.runner import DafnyOptions
    from verifier.verify import VerifyRequest, exit_code
    from verifier.verify import verify as run_verify

    options = {"options": DafnyOptions(time_limit_s=time_limit, filter_symbols=members), "audit": audit}
    report = run_verify(VerifyRequest(files=files, spec=spec, timeout=timeout, use_cache=not no_cache,
                                      backend_options=options))
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        from verifier.render import render_report

        click.echo(render_report(report))
    sys.exit(exit_code(report))


@main.command()
@click.option("--task", "of_task", is_flag=True, help="The schema of task files (specs/*.yaml) instead.")
def schema(of_task: bool) -> None:
    """Print the JSON Schema of `qed verify --json` output (or of task files)."""
    if of_task:
        from verifier.tasks import task_schema

        click.echo(json.dumps(task_schema(), indent=2))
        return
    from verifier.schema import report_schema

    click.echo(json.dumps(report_schema(), indent=2))


@main.command()
@click.argument("task_file", metavar="TASK.yaml", type=click.Path(path_type=Path))
@click.option("--model", required=True, help="Model name at the OpenAI-compatible endpoint.")
@click.option("--samples", type=click.IntRange(min=1, max=64), default=None,
              help="Independent samples (default: the task's budget, else 1).")
@click.option("--rounds", type=click.IntRange(min=1, max=100), default=None,
              help="Verify-and-repair rounds per sample (default: the task's budget, else 3).")
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Folder for the run's record (a fresh <task>-<timestamp>/ inside it).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary document.")
@click.option("--offline", is_flag=True, help="Replay recorded answers only; a prompt never recorded is an error.")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL).")
@click.option("--api-key", default=None, help="API key (default: $OPENAI_API_KEY).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Wall-clock limit in seconds for each verifier run.")
def synth(task_file: Path, model: str, samples: int | None, rounds: int | None, out: Path, as_json: bool,
          offline: bool, base_url: str | None, api_key: str | None, timeout: float) -> None:
    """Synthesize a verified program for TASK.yaml: generate, verify, repair until verified or out of budget.

    Exit codes: 0 verified, 1 budget exhausted, 2 bad input, 3 toolchain, 4 model provider.
    """
    from backends.dafny.backend import DafnyBackend
    from verifier.cache import Store
    from verifier.providers import CachingProvider, OpenAIProvider
    from verifier.synth import synthesize
    from verifier.tasks import load_task

    task = load_task(task_file)
    samples = samples or task.budget.samples or 1
    rounds = rounds or task.budget.rounds or 3
    inner = None if offline else OpenAIProvider(base_url=base_url, api_key=api_key)
    provider = CachingProvider(inner, Store(), offline=offline)

    def show(att) -> None:
        if not as_json:
            detail = f": {att.message}" if att.message else ""
            click.echo(f"sample {att.sample} round {att.round}: {att.outcome}{detail}")

    res = synthesize(task, provider, model=model, samples=samples, rounds=rounds, out_dir=out,
                     backend=DafnyBackend(), timeout=timeout, task_file=task_file, on_attempt=show)
    if as_json:
        click.echo(json.dumps(res.summary(), indent=2))
    elif res.status == "verified":
        click.echo(f"verified after {len(res.attempts)} attempt(s): {res.artifact} (record: {res.out_dir})")
    else:
        click.echo(f"exhausted: no verified program in {len(res.attempts)} attempt(s) (record: {res.out_dir})")
    sys.exit(0 if res.status == "verified" else 1)


def _add_optional_commands() -> None:
    try:
        from verifier.cli_toolchain import toolchain
    except ImportError:  # pragma: no cover - during development only
        return
    main.add_command(toolchain)


_add_optional_commands()
