"""`qed synth`: the command line of the synthesis loop (`verifier/synth.py`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from verifier.cli_options import backend_options, backend_values
from verifier.errors import BadInput

SCRIPTED_NOTE = ("note: {n} answer(s) in this run came from a scripted session (written by hand for a demo or "
                 "test), not from a model")


@click.command()
@click.argument("task_file", metavar="[TASK.yaml]", required=False, type=click.Path(path_type=Path))
@click.option("--model", default=None, help="Model name at the OpenAI-compatible endpoint (required for a new run).")
@click.option("--samples", type=click.IntRange(min=1, max=64), default=None,
              help="Independent samples (default: the task's budget, else 1).")
@click.option("--rounds", type=click.IntRange(min=1, max=100), default=None,
              help="Verify-and-repair rounds per sample (default: the task's budget, else 3).")
@click.option("--max-tokens", type=click.IntRange(min=1), default=None,
              help="Token budget of the whole run, prompts and answers (default: the task's budget, else none).")
@click.option("--wall-time", type=click.FloatRange(min=1), default=None,
              help="Wall-clock budget in seconds (default: the task's budget, else none).")
@click.option("--jobs", type=click.IntRange(min=1, max=64), default=None,
              help="Samples run at once (default: min(samples, 4)).")
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Folder for the run's record (a fresh <task>-<timestamp>/ inside it).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary document.")
@click.option("--offline", is_flag=True,
              help="Answer only from recorded responses (the --cassette if given, else the response cache); a prompt "
                   "never recorded is an error.")
@click.option("--cassette", type=click.Path(path_type=Path), default=None,
              help="A cassette file of recorded answers: replayed from, and new answers recorded into.")
@click.option("--prompts", "prompts_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of prompt templates replacing the bundled ones (<language>/{system,generate,"
                   "write_contract,repair}.j2).")
@click.option("--accept-spec", is_flag=True,
              help="From-description tasks: accept the contract the model writes without asking.")
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path), default=None,
              help="Continue the run in this folder where it stopped; recorded model answers are not asked again.")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL).")
@click.option("--api-key", default=None, help="API key (default: $OPENAI_API_KEY).")
@click.option("--timeout", type=click.FloatRange(min=1), default=None,
              help="Wall-clock limit in seconds for each verifier run (default 600).")
@click.option("--no-build", is_flag=True,
              help="Do not build the verified artifact into a Python package (RUN_DIR/python/, see `qed build`).")
@click.option("--session", "session", type=click.Choice(["warm", "cli"]), default=None,
              help="warm: check repair rounds with a warm verifier session first (e.g. `dafny server`); the verdict "
                   "still comes from the batch command. cli: the batch command only. Default: warm where the "
                   "backend has sessions.")
@click.option("--memory-mb", type=click.IntRange(min=64), default=None,
              help="Memory cap in MB of each verifier run, the verifier and its solver together (default 8192).")
@click.option("--max-candidate-chars", type=click.IntRange(min=1), default=None,
              help="Largest program an answer may hold; larger ones are refused before any verifier runs and the "
                   "model is told (default: 20 times the task's contract or program, at least 64,000, at most "
                   "256,000 characters).")
@backend_options("synth")
def synth(task_file: Path | None, model: str | None, samples: int | None, rounds: int | None,
          max_tokens: int | None, wall_time: float | None, jobs: int | None, out: Path, as_json: bool,
          offline: bool, cassette: Path | None, prompts_dir: Path | None, accept_spec: bool,
          resume_dir: Path | None, base_url: str | None, api_key: str | None, timeout: float | None,
          no_build: bool, session: str | None, memory_mb: int | None, max_candidate_chars: int | None,
          **backend_kwargs) -> None:
    """Synthesize a verified program for TASK.yaml: generate, verify, repair until verified or out of budget.

    The mode follows from the task: `spec:` (implement the contract), `program:` (annotate it with proof
    hints), neither (write a contract first, which you accept, then implement it).

    A verified artifact is then built into a Python package in RUN_DIR/python/ (unless --no-build; a build
    problem is reported as a warning and leaves the verified artifact and the exit code as they are).

    Exit codes: 0 verified, 1 budget exhausted, 2 bad input (also: a written contract awaits acceptance),
    3 toolchain, 4 model provider, 5 the run record cannot be written, 130/143 stopped by Ctrl-C/SIGTERM
    (continue with --resume).
    """
    from backends import registry
    from verifier.cache import Store
    from verifier.prompting import PromptRenderer
    from verifier.providers import CachingProvider, CassetteProvider, OpenAIProvider, ReplayingProvider
    from verifier.runstore import RunDir, sha256_file
    from verifier.synth import SynthConfig, recorded_completions, synthesize
    from verifier.tasks import load_task

    params: dict = {}
    run: RunDir | None = None
    if resume_dir is not None:
        run = RunDir.open_existing(resume_dir)
        params = run.read_params()
        run.close()
        task_file = task_file or (Path(params["task_file"]) if params.get("task_file") else None)
    if task_file is None:
        raise BadInput("no task file given", fix="pass TASK.yaml (or --resume RUN_DIR)")
    task = load_task(task_file)
    if params:
        if params.get("task_sha256") != sha256_file(task_file):
            raise BadInput(f"the task file {task_file} changed since the run in {resume_dir} started",
                           fix="start a new run (without --resume), or restore the task file")
        if model is not None and model != params.get("model"):
            raise BadInput(f"the run in {resume_dir} used model {params.get('model')!r}, not {model!r}",
                           fix="drop --model to resume with the run's model, or start a new run")
        model = params.get("model")
        if prompts_dir is None and params.get("prompts"):
            prompts_dir = Path(params["prompts"])
    if not model:
        raise BadInput("no model given", fix="pass --model NAME (the model's name at the endpoint)")
    budget = task.budget

    def pick(flag, key, from_task, default):
        for v in (flag, params.get(key), from_task):
            if v is not None:
                return v
        return default

    config = SynthConfig(
        model=model, samples=pick(samples, "samples", budget.samples, 1),
        rounds=pick(rounds, "rounds", budget.rounds, 3),
        max_tokens=pick(max_tokens, "max_tokens", budget.tokens, None),
        wall_time_s=pick(wall_time, "wall_time_s", budget.wall_time_s, None),
        timeout=pick(timeout, "timeout", None, 600.0), jobs=pick(jobs, "jobs", None, None),
        session=pick(session, "session", None, None),
        max_candidate_chars=pick(max_candidate_chars, "max_candidate_chars", None, None),
        memory_mb=pick(memory_mb, "memory_mb", None, None))
    plugin = registry.plugin_for_language(task.language)
    backend = registry.create_backend(plugin, plugin.config(backend_values(backend_kwargs).get(plugin.language.name)))
    backend.toolchain()  # a missing or broken toolchain stops the run here (exit 3), before any model is asked
    renderer = PromptRenderer(prompts_dir=prompts_dir, language=task.language)

    inner = None if offline else OpenAIProvider(base_url=base_url, api_key=api_key)
    provider = CachingProvider(inner, Store(), offline=offline)
    if cassette is not None:
        provider = CassetteProvider(cassette, inner=provider, offline=offline)
    if run is not None:
        provider = ReplayingProvider(recorded_completions(run), provider)

    def show(att) -> None:
        if not as_json:
            detail = f": {att.message}" if att.message else ""
            where = "contract" if att.phase == "contract" else f"sample {att.sample}"
            click.echo(f"{where} round {att.round}: {att.outcome}{detail}")

    def accept(contract: Path) -> bool:
        if accept_spec:
            return True
        if not sys.stdin.isatty():
            return False
        click.echo(f"\nThe model wrote this contract ({contract}):\n")
        click.echo(contract.read_text(encoding="utf-8"))
        return click.confirm("Implement and prove this contract?", default=False)

    with backend:
        res = synthesize(task, provider, config=config, out_dir=resume_dir if run is not None else out,
                         backend=backend, renderer=renderer, task_file=task_file, resume=run is not None,
                         accept=accept, on_attempt=show)
        summary = res.summary()
        built = None
        if res.status == "verified" and not no_build:
            built = _build(backend, task, res)
            summary["package"] = built
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    elif res.status == "verified":
        click.echo(f"verified after {len(res.attempts)} attempt(s): {res.artifact} (record: {res.out_dir})")
        if built:
            project = Path(built).parent
            click.echo(f"Python package: {built} (`pip install {project}`, or import it with {project} on sys.path; "
                       f"see its README.md)")
    elif res.status == "awaiting_acceptance":
        click.echo(f"contract written: {res.contract}")
    else:
        click.echo(f"exhausted ({res.reason}): no verified program in {len(res.attempts)} attempt(s) "
                   f"(record: {res.out_dir})")
    if res.scripted_responses and not as_json:
        click.echo(SCRIPTED_NOTE.format(n=res.scripted_responses))
    if res.status == "awaiting_acceptance":
        click.echo(f"qed: error: the contract the model wrote awaits your acceptance: review {res.contract} "
                   f"(edit it if you wish)", err=True)
        click.echo(f"  fix: accept it with `qed synth --resume {res.out_dir} --accept-spec`", err=True)
        sys.exit(2)
    sys.exit(0 if res.status == "verified" else 1)


def _build(backend, task, res) -> str | None:
    """Build the run's verified artifact into RUN_DIR/python/, the same installable, typed project as `qed build`
    writes (`pip install RUN_DIR/python`); the package folder, or None (a note or a warning) when the backend has
    no Python build or the build failed."""
    from backends.base import Capability, PythonBuildRequest
    from verifier.errors import QedError
    from verifier.pypackage import package_name
    from verifier.runstore import RunDir

    run_dir = Path(res.out_dir)
    if not backend.supports(Capability.python_build):
        click.echo(f"note: the {backend.language.title} backend has no Python build; the verified artifact is "
                   f"{res.artifact}", err=True)
        return None
    spec = Path(res.contract) if res.contract else (Path(task.spec) if task.spec is not None else None)
    # named after the task, not after `artifact.<suffix>`
    name = package_name(Path(f"{task.id}{backend.language.suffix}"), None)
    try:
        cert = json.loads((run_dir / "certificate.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cert = None
    record = RunDir(run_dir)
    try:
        try:
            built = backend.build_python(PythonBuildRequest(
                artifact=Path(res.artifact), out_dir=run_dir / "python", contract=spec, name=name,
                description=task.description, certificate=cert,
                examples=tuple((e.call, e.expect) for e in task.examples)))
        except QedError as e:
            record.event("build", ok=False, error=type(e).__name__, message=str(e))
            click.echo(f"qed: warning: the verified artifact was not built into a Python package: {e}", err=True)
            return None
        record.event("build", ok=True, package=built.package_dir, project=built.out_dir)
        return built.package_dir
    finally:
        record.close()
