"""`qed synth` end to end on Lean tasks, with scripted answers and the fake Lean tools (tests/fakes: written from
the documented formats, NOT Lean). The fake decides a wrong proof from a `--! error ...` directive in the answer;
`sorry`, `native_decide` and the `#print axioms` answers follow its documented rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.lean_support import fake_lean, lean_backend  # noqa: F401 - fixtures
from verifier.providers import ScriptedProvider
from verifier.synth import SynthConfig, synthesize
from verifier.tasks import load_task

EX = Path(__file__).resolve().parent.parent / "specs" / "examples" / "lean"
TASK = EX / "abs.yaml"
RIGHT = (EX / "abs.lean").read_text(encoding="utf-8")
HEAD, _, _ = RIGHT.partition("-- proof")
STATEMENT = ("theorem myAbs_spec_satisfied (x : Int) (h_precond : myAbs_precond x) :\n"
             "    myAbs_postcond x (myAbs x h_precond) h_precond := by\n")
WRONG = HEAD + "-- proof\n" + STATEMENT + (
    "  unfold myAbs_postcond myAbs\n"
    "  simp  --! error unsolved goals\\nx : Int\\nh_precond : myAbs_precond x\\n⊢ 0 ≤ if x < 0 then -x else x\n")
SORRY = HEAD + "-- proof\n" + STATEMENT + "  sorry\n"
NATIVE = HEAD + "-- proof\n" + STATEMENT + "  native_decide\n"


def fenced(code: str) -> str:
    return f"Here is the file.\n\n```lean\n{code}```\n"


def events(res) -> list[dict]:
    return [json.loads(line) for line in (Path(res.out_dir) / "transcript.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("session", ["cli", "warm"])
def test_wrong_sorry_native_then_right(tmp_path, lean_backend, session):  # noqa: F811
    provider = ScriptedProvider([fenced(WRONG), fenced(SORRY), fenced(NATIVE), fenced(RIGHT)])
    res = synthesize(load_task(TASK), provider, config=SynthConfig(model="m", rounds=4, session=session),
                     out_dir=tmp_path / "runs", backend=lean_backend, task_file=TASK)
    assert res.status == "verified", [a.message for a in res.attempts]
    assert [a.outcome for a in res.attempts] == ["failed", "rejected", "rejected", "verified"]
    assert Path(res.artifact).name == "artifact.lean" and Path(res.artifact).read_text() == RIGHT
    prompts = [r.messages[-1].content for r in provider.requests]
    # round 2 repairs the unsolved goal: the goal state is quoted, with Lean's advice for unsolved goals
    assert "unsolved goals" in prompts[1] and "⊢ 0 ≤ if x < 0 then -x else x" in prompts[1]
    assert "Unsolved goals: the tactic block ends" in prompts[1] and "```lean" in prompts[1]
    # round 3 repairs the sorry, round 4 the native_decide (both rejected with a rule id and advice)
    assert "QED-L101" in prompts[2] and "`sorry`" in prompts[2]
    assert "QED-L112" in prompts[3] and "native_decide" in prompts[3]
    cert = json.loads((Path(res.out_dir) / "certificate.json").read_text())
    assert cert["verdict"] == "verified" and cert["toolchain"]["name"] == "lean"
    checked = [e.get("checked_by") for e in events(res) if e.get("type", e.get("event")) == "verifier"
               or "checked_by" in e]
    if session == "warm":
        assert "session" in checked  # the REPL steered the repair rounds
    assert checked[-1] == "batch"  # and the verdict came from `lean --json`


def test_native_decide_in_a_helper_rejects_the_candidate(tmp_path, lean_backend):  # noqa: F811
    """The escape may hide in a helper lemma the contract theorem uses: the token rule finds it there, and the
    kernel check finds the helper's axiom in the contract theorem's answer (reported once, for the helper)."""
    from backends.base import CheckRequest

    text = HEAD + "theorem helper : True := by native_decide\n\n-- proof\n" + STATEMENT + \
        "  have := helper\n  unfold myAbs_postcond myAbs\n  split <;> omega\n"
    f = tmp_path / "c.lean"
    f.write_text(text)
    res = lean_backend.check(CheckRequest(file=f, contract=EX / "abs.spec.lean"))
    assert res.verdict == "rejected"
    rules = {(v.rule, v.member) for v in res.integrity}
    assert ("QED-L112", "helper") in rules and ("QED-L120", "myAbs_spec_satisfied") in rules


def test_from_description_writes_a_contract_then_implements_it(tmp_path, lean_backend):  # noqa: F811
    task_file = EX / "max.yaml"
    contract = ("def myMax (a b : Int) : Int :=\n  sorry\n\n"
                "theorem myMax_spec (a b : Int) : a ≤ myMax a b ∧ b ≤ myMax a b ∧ (myMax a b = a ∨ myMax a b = b) "
                ":= by\n  sorry\n")
    solution = ("def myMax (a b : Int) : Int :=\n  if a ≤ b then b else a\n\n"
                "theorem myMax_spec (a b : Int) : a ≤ myMax a b ∧ b ≤ myMax a b ∧ (myMax a b = a ∨ myMax a b = b) "
                ":= by\n  unfold myMax\n  split <;> omega\n")
    provider = ScriptedProvider([fenced(contract), fenced(solution)])
    res = synthesize(load_task(task_file), provider, config=SynthConfig(model="m", rounds=2, session="cli"),
                     out_dir=tmp_path / "runs", backend=lean_backend, task_file=task_file, accept=lambda p: True)
    assert res.status == "verified", [a.message for a in res.attempts]
    assert (Path(res.out_dir) / "contract.lean").read_text() == contract


def test_annotate_mode_keeps_the_code_frozen(tmp_path, lean_backend):  # noqa: F811
    task_file = EX / "sumto.yaml"
    program = (EX / "sumto.program.lean").read_text()
    changed = program.replace("sumTo n + (n + 1)", "sumTo n + n + 1").replace(
        "  sorry", "  induction n with\n  | zero => exact Nat.zero_le _\n  | succ k ih => simp only [sumTo]; omega")
    right = (EX / "sumto.lean").read_text()
    provider = ScriptedProvider([fenced(changed), fenced(right)])
    res = synthesize(load_task(task_file), provider, config=SynthConfig(model="m", rounds=2, session="cli"),
                     out_dir=tmp_path / "runs", backend=lean_backend, task_file=task_file)
    assert [a.outcome for a in res.attempts] == ["rejected", "verified"]
    assert "QED-L004" in provider.requests[1].messages[-1].content


def test_qed_synth_command_on_a_lean_task(tmp_path, fake_lean):  # noqa: F811
    """The CLI path: record a cassette of two scripted answers (a sorry, then the right file) through the loop,
    then `qed synth --offline --cassette` replays it: verified, JSON output, exit 0, scripted answers said."""
    from backends import registry
    from verifier.cli import main
    from verifier.providers import CassetteProvider

    cassette = tmp_path / "lean.cassette.json"
    provider = CassetteProvider(cassette, inner=ScriptedProvider([fenced(SORRY), fenced(RIGHT)]), note="scripted")
    with registry.create_backend("lean") as backend:
        first = synthesize(load_task(TASK), provider, config=SynthConfig(model="m", rounds=2, session="cli"),
                           out_dir=tmp_path / "rec", backend=backend, task_file=TASK)
    assert first.status == "verified"
    r = CliRunner().invoke(main, ["synth", str(TASK), "--model", "m", "--rounds", "2", "--offline", "--cassette",
                                  str(cassette), "--out", str(tmp_path / "runs"), "--json", "--session", "cli"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output[r.output.index("{"):])
    assert doc["status"] == "verified" and doc["artifact"].endswith("artifact.lean")
    assert doc["scripted_responses"] == 2


def test_every_lean_example_task_is_usable(lean_backend):  # noqa: F811
    """Each Lean example's contract or program passes the checks `qed synth` makes before it starts, and the
    three modes are covered."""
    modes = set()
    for path in sorted(EX.glob("*.yaml")):
        task = load_task(path)
        modes.add(task.mode)
        if task.spec is not None:
            assert lean_backend.contract_problems(task.spec) == [], path.name
        if task.program is not None:
            assert lean_backend.program_problems(task.program) == [], path.name
    assert {m.value for m in modes} == {"implement", "annotate", "from_description"}
    # a program with a definition left as `sorry` is no program to annotate
    assert any("has no code" in p for p in lean_backend.program_problems(EX / "abs.spec.lean"))
