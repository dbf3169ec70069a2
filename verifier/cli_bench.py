"""`qed bench`: the command line of the benchmark runner (`bench/`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from verifier.errors import BadInput


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dataset", "dataset_names", multiple=True, metavar="NAME",
              help="Dataset to run (repeatable): dafnybench, mbpp-dfy, humaneval-dafny, vericoding, clever, verina, "
                   "fvapps, fstar, local.")
@click.option("--variant", default=None, help="Dataset variant: humaneval-dafny `write-contract`; vericoding `all` "
                                              "(the 2,334 tasks + the 695 set aside for quality issues).")
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="The dataset's folder (needed for local and fstar; default: $QED_BENCH_DATA/<upstream layout>).")
@click.option("--tasks", "task_ids", default=None, metavar="ID,ID,...|@FILE", help="Only these task ids.")
@click.option("--filter", "pattern", default=None, metavar="GLOB", help="Only task ids matching GLOB.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N tasks (after --shuffle).")
@click.option("--shuffle", type=int, default=None, metavar="SEED", help="Shuffle the tasks with SEED.")
@click.option("--list", "list_only", is_flag=True, help="List the selected task ids and stop.")
@click.option("--oracle", is_flag=True, help="Check each task's own ground truth through the same pipeline.")
@click.option("--audit-specs", "audit_specs", is_flag=True,
              help="Audit each selected task's contract against its own tests (`qed audit`, no mutants): writes "
                   "RUN_DIR/audit.json and a table in RUN_DIR/report.md (vacuous, contradicted, weaker than own "
                   "tests, undecided) and prints the counts.")
@click.option("--answers", type=click.Path(path_type=Path), default=None,
              help="Replay answers produced elsewhere: one file per task, named after the task id.")
@click.option("--model", default=None, help="Run the synth loop per task with this model (OpenAI-compatible).")
@click.option("--samples", type=click.IntRange(min=1, max=64), default=1, show_default=True,
              help="Model runs: independent samples per task (pass@k for k <= samples).")
@click.option("--rounds", type=click.IntRange(min=1, max=100), default=3, show_default=True,
              help="Model runs: verify-and-repair rounds per sample.")
@click.option("--session", type=click.Choice(["warm", "cli"]), default=None,
              help="Model runs: as in `qed synth` (default: warm where the backend has sessions).")
@click.option("--max-tokens", type=click.IntRange(min=1), default=None, help="Model runs: token budget per task.")
@click.option("--price-per-mtok", type=click.FloatRange(min=0), default=None,
              help="Model runs: US dollars per million tokens, for the report's cost.")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL).")
@click.option("--api-key", default=None, help="API key (default: $OPENAI_API_KEY; never stored in the run).")
@click.option("--offline", is_flag=True, help="Model runs: answer only from recorded responses.")
@click.option("--cassette", type=click.Path(path_type=Path), default=None, help="Model runs: a cassette file.")
@click.option("--workers", type=click.IntRange(min=1, max=256), default=1, show_default=True,
              help="Tasks run at once.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: threads on this machine; ray: a Ray cluster (pip install 'qedgen[ray]').")
@click.option("--ray-address", default=None, help="Ray cluster address (default: start Ray locally).")
@click.option("--task-timeout", type=click.FloatRange(min=1), default=None,
              help="Wall-clock limit in seconds of each task (all its samples and rounds).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Wall-clock limit in seconds of each verifier run.")
@click.option("--memory-mb", type=click.IntRange(min=64), default=None, help="Memory cap of each verifier run.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="The run folder (new or empty; default: bench-runs/<mode>-<time>).")
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path), default=None,
              help="Finish the run in RUN_DIR: finished tasks are not run again.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (no progress display).")
@click.pass_context
def bench(ctx: click.Context, dataset_names: tuple[str, ...], variant: str | None, data: Path | None,
          task_ids: str | None, pattern: str | None, limit: int | None, shuffle: int | None, list_only: bool,
          oracle: bool, audit_specs: bool, answers: Path | None, model: str | None, samples: int, rounds: int, session: str | None,
          max_tokens: int | None, price_per_mtok: float | None, base_url: str | None, api_key: str | None,
          offline: bool, cassette: Path | None, workers: int, executor: str, ray_address: str | None,
          task_timeout: float | None, timeout: float, memory_mb: int | None, out: Path | None,
          resume_dir: Path | None, as_json: bool) -> None:
    """Run formal benchmarks: a dataset's ground truth (--oracle), answers from elsewhere (--answers DIR), or a
    model (--model NAME), with qed's guards; or audit the tasks' contracts against their own tests
    (--audit-specs: RUN_DIR/audit.json and report.md). Results go to a SQLite database in the run folder; a killed run
    continues with --resume RUN_DIR. Writes report.json, report.md and plots.

    Exit codes: 0 done (oracle: no new defect), 1 oracle found a new defect, 2 bad input, 3 toolchain,
    4 model provider, 5 cannot write, 130/143 stopped (continue with --resume).
    """
    if ctx.invoked_subcommand is not None:
        return
    from bench import datasets
    from bench.runner import RunOptions, Selection, run

    modes = [m for m, on in (("oracle", oracle), ("answers", answers is not None), ("model", model is not None),
                             ("audit-specs", audit_specs)) if on]
    selection = options = None
    given: dict = {}
    if resume_dir is None:
        if not dataset_names:
            raise BadInput("no dataset given", fix=f"pass --dataset NAME ({', '.join(datasets.names())})")
        selection = Selection(datasets=list(dataset_names), variant=variant, data=str(data) if data else None,
                              tasks=datasets.read_ids(task_ids) if task_ids else None, filter=pattern, limit=limit,
                              shuffle=shuffle)
        if list_only:
            for t in selection.load():
                click.echo(f"{t.dataset}\t{t.id}\t{t.mode.value}")
            return
        if len(modes) != 1:
            raise BadInput("choose exactly one mode" if modes else "no mode given",
                           fix="pass one of --oracle, --answers DIR, --model NAME, --audit-specs")
        if audit_specs:
            _audit_specs(selection, out, timeout, as_json)
            return
        options = RunOptions(mode=modes[0], answers=str(answers) if answers else None, model=model, samples=samples,
                             rounds=rounds, session=session, max_tokens=max_tokens, base_url=base_url,
                             offline=offline, cassette=str(cassette) if cassette else None, workers=workers,
                             executor=executor, ray_address=ray_address, task_timeout=task_timeout, timeout=timeout,
                             memory_mb=memory_mb, price_per_mtok=price_per_mtok)
        if out is None:
            import time

            out = Path("bench-runs") / f"{modes[0]}-{time.strftime('%Y%m%d-%H%M%S')}"
    else:
        if modes or dataset_names:
            raise BadInput("--resume continues a run with its own datasets and mode",
                           fix="drop the dataset and mode options (--workers/--executor may change)")
        out = resume_dir
        given = {name: value for name, value in (("workers", workers), ("executor", executor),
                                                 ("ray_address", ray_address))
                 if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    progress = None
    if not as_json and sys.stdout.isatty():
        from bench.progress import Progress

        progress = Progress(workers if resume_dir is None else given.get("workers") or _saved_workers(out, workers))
    from verifier.signals import Interrupted

    try:
        summary = run(out, selection, options, resume=resume_dir is not None, overrides=given, api_key=api_key,
                      progress=progress)
    except Interrupted as e:
        e.resume = f"qed bench --resume {out}"
        raise
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(_text(summary))
    new = sum(d.get("new_defects", 0) for d in summary["datasets"].values())
    sys.exit(1 if summary["mode"] == "oracle" and new else 0)


def _audit_specs(selection, out: Path | None, timeout: float, as_json: bool) -> None:
    import time

    from bench.audit_specs import render_counts, run_audit_specs

    out = out or Path("bench-runs") / f"audit-specs-{time.strftime('%Y%m%d-%H%M%S')}"
    say = None if as_json else (lambda line: click.echo(line, err=True))
    summary = run_audit_specs(out, selection.load(), timeout=timeout, say=say)
    click.echo(json.dumps(summary, indent=2) if as_json else
               f"{render_counts(summary['counts'])}\naudit: {summary['audit']}; table: {out / 'report.md'}")


def _saved_workers(run_dir: Path, default: int) -> int:
    """The worker count a resumed run will use (for the progress display's rows)."""
    from bench.store import DB_NAME, Store

    if not (run_dir / DB_NAME).is_file():
        return default
    with Store(run_dir) as store:
        return int((store.meta("options") or {}).get("workers") or default)


def _text(s: dict) -> str:
    lines = []
    for name, d in s["datasets"].items():
        parts = [f"{d['passed']}/{d['tasks']} passed"] + [f"{d[k]} {k.replace('_', ' ')}" for k in (
            "failed", "rejected", "timeout", "error", "no_answer", "toolchain_absent") if d[k]]
        if d["defect"]:
            parts.append(f"{d['defect']} defect ({d['known_defects']} known, {d['new_defects']} new)")
        if d.get("pass_at_k"):
            parts.append(", ".join(f"pass@{k} {v:.3f}" for k, v in d["pass_at_k"].items()))
        lines.append(f"{name}: " + ", ".join(parts))
    lines.append(f"report: {s['report']} (+ report.md, {', '.join(s['plots']) or 'no plots'})")
    return "\n".join(lines)


@bench.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare_cmd(run_a: Path, run_b: Path, as_json: bool) -> None:
    """Tasks whose verdict differs between two runs, with the reasons."""
    from bench.compare import compare, render

    doc = compare(run_a, run_b)
    click.echo(json.dumps(doc, indent=2) if as_json else render(doc))


@bench.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of report.json."""
    from bench.report import report_schema

    click.echo(json.dumps(report_schema(), indent=2))
