"""Task files: validation with errors that name the field and the fix; modes; the example tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import check
from verifier.cli import main
from verifier.errors import BadInput
from verifier.schema import TASK_SCHEMA_FILE
from verifier.tasks import Mode, load_task, task_schema

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"


def test_example_tasks_cover_the_three_modes():
    modes = {p.name: load_task(p).mode for p in sorted(EXAMPLES.glob("*.yaml"))}
    assert set(modes.values()) == {Mode.implement, Mode.from_description, Mode.annotate}
    abs_task = load_task(EXAMPLES / "abs.yaml")
    assert abs_task.spec == (EXAMPLES / "abs.spec.dfy").resolve() and abs_task.examples[0].call == "Abs(-3)"
    assert load_task(EXAMPLES / "sum.yaml").budget.rounds == 3


@pytest.mark.parametrize("text,field,fix", [
    ("language: dafny\ndescription: x\n", "`id` is missing", "add `id:`"),
    ("id: a\nlanguage: cobol\ndescription: x\n", "field `language`", "correct that field"),
    ("id: a\nlanguage: dafny\ndescription: x\nspce: a.dfy\n", "unknown field `spce`", "spelling"),
    ("id: a b\nlanguage: dafny\ndescription: x\n", "field `id`", "correct that field"),
    ("id: a\nlanguage: dafny\ndescription: '  '\n", "field `description`", "correct that field"),
    ("id: a\nlanguage: dafny\ndescription: x\nbudget: {rounds: 0}\n", "field `budget.rounds`", "correct"),
    ("id: a\nlanguage: dafny\ndescription: x\nspec: nope.dfy\n", "field `spec`: nope.dfy does not exist", "relative"),
    ("id: a\nlanguage: dafny\ndescription: x\nexamples: [{call: f(1)}]\n", "`examples.0.expect` is missing", "add"),
    ("- just\n- a list\n", "must be a YAML mapping", "id: my-task"),
    ("id: a\n  language: : dafny\n", "is not valid YAML at line", "YAML syntax"),
])
def test_bad_task_files_name_the_field_and_the_fix(tmp_path, text, field, fix):
    p = tmp_path / "t.yaml"
    p.write_text(text)
    with pytest.raises(BadInput) as e:
        load_task(p)
    assert field in str(e.value) and fix in str(e.value) and e.value.exit_code == 2


def test_spec_and_program_are_exclusive(tmp_path):
    (tmp_path / "a.dfy").write_text("method M()\n")
    p = tmp_path / "t.yaml"
    p.write_text("id: a\nlanguage: dafny\ndescription: x\nspec: a.dfy\nprogram: a.dfy\n")
    with pytest.raises(BadInput, match="not both"):
        load_task(p)


def test_spec_must_match_the_language(tmp_path):
    (tmp_path / "a.lean").write_text("def f := 1\n")
    p = tmp_path / "t.yaml"
    p.write_text("id: a\nlanguage: dafny\ndescription: x\nspec: a.lean\n")
    with pytest.raises(BadInput, match="not a Dafny file"):
        load_task(p)


def test_missing_task_file(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        load_task(tmp_path / "none.yaml")


def test_task_schema_is_published_and_current():
    assert json.loads(TASK_SCHEMA_FILE.read_text()) == task_schema(), "run: python -m verifier.schema"
    r = CliRunner().invoke(main, ["schema", "--task"])
    assert r.exit_code == 0 and json.loads(r.stdout)["title"] == "Task"


@pytest.mark.dafny
def test_every_example_task_is_usable(dafny_backend):
    """Each example's contract or program passes the checks `qed synth` makes before it starts."""
    for path in sorted(EXAMPLES.glob("*.yaml")):
        task = load_task(path)
        if task.language != "dafny":
            continue  # the F* examples are checked in tests/fstar/
        if task.spec is not None:
            assert dafny_backend.contract_problems(task.spec) == [], path.name
        if task.program is not None:
            assert dafny_backend.program_problems(task.program) == [], path.name


@pytest.mark.dafny
@pytest.mark.parametrize("task_name,solution", [("abs.yaml", "abs.dfy"), ("maxarray.yaml", "maxarray.dfy"),
                                                ("count.yaml", "count.dfy")])
def test_example_tasks_have_a_verified_reference_solution(dafny_backend, task_name, solution):
    task = load_task(EXAMPLES / task_name)
    res = check(dafny_backend, EXAMPLES / solution, task.spec, program=task.program, timeout=300)
    assert res.verdict == "verified", (res.diagnostics, res.integrity)
