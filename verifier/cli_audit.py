"""`qed audit`: the command line of `verifier/audit.py`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from verifier.errors import BadInput


def load_examples(path: Path) -> list[tuple[str, str]]:
    """Examples from a YAML or JSON file: a list of `{call, expect}`, or a mapping with such an `examples:` list
    (a task file works too)."""
    import yaml

    from verifier.tasks import Example

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"examples file {path} does not exist", fix="check the path") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise BadInput(f"cannot read examples file {path}: {e}".splitlines()[0],
                       fix="give a YAML or JSON list of {call, expect}") from None
    if isinstance(data, dict):
        data = data.get("examples")
    if not isinstance(data, list):
        raise BadInput(f"{path} holds no list of examples", fix="give a list of {call: ..., expect: ...} (or a "
                                                                "mapping with an `examples:` list)")
    out = []
    for k, item in enumerate(data, 1):
        try:
            ex = Example.model_validate(item)
        except ValueError:
            raise BadInput(f"{path}: example {k} is not a mapping with `call` and `expect`",
                           fix="write each example as {call: \"F(1)\", expect: \"2\"}") from None
        out.append((ex.call, ex.expect))
    return out


def _shown(path: Path) -> Path:
    """`path` relative to the working folder when it lies below it (as the user would write it)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


@click.command()
@click.argument("task_file", metavar="[TASK.yaml]", required=False, type=click.Path(path_type=Path))
@click.option("--spec", type=click.Path(path_type=Path), help="Contract file to audit (instead of a task's `spec:`).")
@click.option("--examples", "examples_file", type=click.Path(path_type=Path),
              help="YAML/JSON list of {call, expect} examples (added to the task's examples, if any).")
@click.option("--impl", type=click.Path(path_type=Path),
              help="An implementation that verifies against the contract: its mutants are tried (default: the "
                   "task's `solution:`).")
@click.option("--mutants", "n_mutants", type=click.IntRange(min=0, max=500), default=20, show_default=True,
              help="Mutants tried per member (0: none).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (schema: `qed schema --audit`).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Wall-clock limit in seconds of each verifier or compiler run.")
@click.option("--time-limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Solver time limit in seconds per question about the contract (beyond it: undecided).")
@click.option("--session", "session", type=click.Choice(["warm", "cli"]), default=None,
              help="warm: mutants are checked in a warm verifier session first (only the batch command can say a "
                   "mutant verifies). cli: the batch command only. Default: warm where the backend has sessions.")
@click.option("--no-cache", is_flag=True, help="Always run the verifier (do not answer from the result cache).")
def audit(task_file: Path | None, spec: Path | None, examples_file: Path | None, impl: Path | None,
          n_mutants: int, as_json: bool, timeout: float, time_limit: int, session: str | None,
          no_cache: bool) -> None:
    """Is the contract strong enough? Audit the contract of TASK.yaml (or --spec SPEC with --examples FILE).

    Findings, each proved by the verifier: vacuous_precondition (no input satisfies the requires),
    example_contradicts (the contract rejects an example's input or forbids its output),
    example_not_determined (the contract admits another output for an example's input: the witness is shown),
    surviving_mutant (a mutant of the implementation verifies and behaves differently: its diff and the input
    are shown). Examples the verifier cannot decide are reported as undecided, never as findings.

    Exit codes: 0 no finding, 1 findings, 2 bad input, 3 toolchain.
    """
    from verifier.audit import audit_contract, exit_code, render_audit

    examples: list[tuple[str, str]] = []
    contract = spec
    if task_file is not None:
        from verifier.tasks import load_task

        task = load_task(task_file)
        if contract is None:
            if task.spec is None:
                raise BadInput(f"the task {task_file} gives no contract (`spec:`) to audit",
                               fix="audit the contract file with --spec CONTRACT (a from-description run audits the "
                                   "contract the model writes by itself)")
            contract = Path(task.spec)
        examples = [(e.call, e.expect) for e in task.examples]
        if impl is None and task.solution is not None:
            impl = Path(task.solution)
    if contract is None:
        raise BadInput("no contract given", fix="pass TASK.yaml or --spec CONTRACT")
    if examples_file is not None:
        examples += load_examples(examples_file)

    def progress(msg: str) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"  {msg}", err=True)

    report = audit_contract(contract, examples, impl=impl, mutants=n_mutants if impl is not None else 0,
                            session=session, timeout=timeout, time_limit_s=time_limit, use_cache=not no_cache,
                            on_progress=progress)
    if as_json:
        click.echo(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        click.echo(render_audit(report, _shown(contract)))
    sys.exit(exit_code(report))
