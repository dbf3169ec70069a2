"""`qed synth` end to end on an F* task, with the scripted provider and the fake `fstar.exe`: a failing answer,
an `admit` answer (rejected by the guard although F* would pass it without --report_assumes), then a right one.
Also the from-description mode writes an interface first."""

from __future__ import annotations

import json
from pathlib import Path

from verifier.providers import ScriptedProvider
from verifier.synth import synthesize
from verifier.tasks import load_task

EX = Path(__file__).resolve().parents[2] / "specs" / "examples"
RIGHT = (EX / "Abs.fst").read_text()
FAILING = "module Abs\n\nlet abs x = x (* fake:post: F* cannot prove y >= 0 *)\n"
ADMIT = "module Abs\n\nlet abs (x:int) = admit ()\n"


def fenced(code: str) -> str:
    return f"Here is the module.\n\n```fstar\n{code}```\n"


def test_failing_then_admit_then_right(fstar_backend, tmp_path):
    task_file = EX / "fstar_abs.yaml"
    provider = ScriptedProvider([fenced(FAILING), fenced(ADMIT), fenced(RIGHT)])
    res = synthesize(load_task(task_file), provider, model="m", rounds=3, out_dir=tmp_path / "runs",
                     backend=fstar_backend, timeout=60, task_file=task_file)
    assert res.status == "verified"
    assert [a.outcome for a in res.attempts] == ["failed", "rejected", "verified"]
    first = provider.requests[0].messages
    assert "F*" in first[0].content and "val abs" in first[-1].content and "```fstar" in first[-1].content
    repair1 = provider.requests[1].messages[-1].content
    assert "postcondition" in repair1 and "fake:post" in repair1 and "refinement" in repair1
    repair2 = provider.requests[2].messages[-1].content
    assert "`admit` at line 3 escapes proof" in repair2
    assert "Escapes from proof are rejected" in repair2
    art = Path(res.artifact)
    assert art.name == "artifact.fst" and art.read_text() == RIGHT
    cert = json.loads((Path(res.out_dir) / "certificate.json").read_text())
    assert cert["verdict"] == "verified" and cert["toolchain"]["name"] == "fstar"
    assert cert["toolchain"]["solver"] == "z3 4.13.3"


def test_from_description_writes_an_interface_first(fstar_backend, tmp_path):
    task_file = EX / "fstar_max.yaml"
    contract = "module Max\n\nval max (x y:int) : r:int{r >= x /\\ r >= y /\\ (r == x \\/ r == y)}\n"
    impl = "module Max\n\nlet max x y = if x >= y then x else y\n"
    provider = ScriptedProvider([fenced(contract), fenced(impl)])
    res = synthesize(load_task(task_file), provider, model="m", rounds=2, out_dir=tmp_path / "runs",
                     backend=fstar_backend, timeout=60, task_file=task_file, accept=lambda p: True)
    assert res.status == "verified", res.attempts
    assert "write the interface" in provider.requests[0].messages[-1].content
    assert "val max" in provider.requests[1].messages[-1].content


def test_qed_synth_command_on_an_f_star_task(fake_fstar, tmp_path, monkeypatch):
    """The `qed synth` command with warm `--ide` sessions (the default) and the batch verdict."""
    from click.testing import CliRunner

    import verifier.providers as providers
    from verifier.cli import main

    answers = [fenced(FAILING), fenced(ADMIT), fenced(RIGHT)]
    monkeypatch.setattr(providers, "OpenAIProvider", lambda **kw: ScriptedProvider(answers))
    r = CliRunner().invoke(main, ["synth", str(EX / "fstar_abs.yaml"), "--model", "m", "--out", str(tmp_path),
                                  "--rounds", "3", "--api-key", "x"])
    assert r.exit_code == 0, r.output
    assert "round 2: rejected" in r.output and "verified after 3 attempt(s)" in r.output
    assert "no Python build" in r.output and "artifact.fst" in r.output
