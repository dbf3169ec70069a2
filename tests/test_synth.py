"""The synthesis loop with scripted model answers (and the real Dafny where marked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from verifier.cli import main
from verifier.errors import BadInput
from verifier.providers import ScriptedProvider
from verifier.synth import synthesize
from verifier.tasks import load_task

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "specs" / "examples"

REPO = Path(__file__).resolve().parent.parent
EX = REPO / "specs" / "examples"
TASK = EX / "abs.yaml"

CORRECT = (EX / "abs.dfy").read_text(encoding="utf-8")
CHEAT = (EX / "abs_cheat.dfy").read_text(encoding="utf-8")
WRONG = """function AbsSpec(x: int): int { if x < 0 then -x else x }

method Abs(x: int) returns (y: int)
  ensures y == AbsSpec(x)
  ensures y >= 0
{
  y := x;
}
"""


def fenced(code: str) -> str:
    return f"Here is the program.\n\n```dafny\n{code}```\n"


def run(tmp_path, answers, backend, rounds=3, samples=1):
    provider = ScriptedProvider(answers)
    res = synthesize(load_task(TASK), provider, model="m", samples=samples, rounds=rounds,
                     out_dir=tmp_path / "runs", backend=backend, timeout=120, task_file=TASK)
    return provider, res


def events(res):
    lines = (Path(res.out_dir) / "transcript.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.dafny
def test_wrong_then_correct_repairs_and_verifies(tmp_path, dafny_backend):
    provider, res = run(tmp_path, [fenced(WRONG), fenced(CORRECT)], dafny_backend)
    assert res.status == "verified"
    assert [a.outcome for a in res.attempts] == ["failed", "verified"]
    assert len(provider.requests) == 2
    repair = provider.requests[1].messages[-1].content
    assert "postcondition" in repair and "y := x;" in repair
    assert all(r.sample == 0 for r in provider.requests)
    art = Path(res.artifact)
    assert art.name == "artifact.dfy" and art.read_text(encoding="utf-8") == CORRECT
    cert = json.loads((Path(res.out_dir) / "certificate.json").read_text(encoding="utf-8"))
    assert cert["verdict"] == "verified"
    for k in ("task_sha256", "contract_sha256", "artifact_sha256"):
        assert len(cert[k]) == 64
    assert cert["toolchain"]["name"] == "dafny"
    assert (Path(res.out_dir) / "candidates" / "s0-r1.dfy").read_text(encoding="utf-8") == WRONG
    assert "verified" in (Path(res.out_dir) / "report.md").read_text(encoding="utf-8")


@pytest.mark.dafny
def test_cheating_candidate_is_rejected_and_loop_continues(tmp_path, dafny_backend):
    provider, res = run(tmp_path, [fenced(CHEAT), fenced(CORRECT)], dafny_backend)
    assert [a.outcome for a in res.attempts] == ["rejected", "verified"]
    assert res.status == "verified"
    assert "assume" in provider.requests[1].messages[-1].content


@pytest.mark.dafny
def test_garbage_then_correct(tmp_path, dafny_backend):
    provider, res = run(tmp_path, ["", "I cannot help with that.", fenced(CORRECT)], dafny_backend)
    assert [a.outcome for a in res.attempts] == ["extraction_error", "extraction_error", "verified"]
    assert "empty" in res.attempts[0].message
    assert "previous answer had no usable program" in provider.requests[1].messages[-1].content
    assert res.status == "verified"
    ev = events(res)
    assert [e["seq"] for e in ev] == list(range(1, len(ev) + 1))
    kinds = [e["event"] for e in ev]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert kinds.count("prompt") == kinds.count("response") == kinds.count("extraction") == 3
    assert kinds.count("candidate") == kinds.count("verifier") == 1
    assert kinds.count("verdict") == 3


def test_exhausted_without_verifier(tmp_path):
    # Only extraction errors: the verifier never runs.
    provider, res = run(tmp_path, ["nope", "still nope"], backend=None, rounds=2)
    assert res.status == "exhausted" and res.artifact is None
    assert res.rounds == 2 and len(res.attempts) == 2
    assert not (Path(res.out_dir) / "certificate.json").exists()
    assert not (Path(res.out_dir) / "artifact.dfy").exists()
    assert "exhausted" in (Path(res.out_dir) / "report.md").read_text(encoding="utf-8")


def test_samples_use_distinct_sample_numbers(tmp_path):
    provider, res = run(tmp_path, {0: ["a", "b"], 1: ["c", "d"]}, backend=None, rounds=2, samples=2)
    assert sorted(r.sample for r in provider.requests) == [0, 0, 1, 1]
    assert res.samples == 2 and res.rounds == 4 and res.status == "exhausted" and res.reason == "rounds"


def test_samples_run_concurrently(tmp_path):
    """With jobs=2, two samples' model calls are in flight at the same time."""
    import threading
    import time

    from verifier.synth import SynthConfig

    inside, peak = [0], [0]
    lock = threading.Lock()

    class Slow(ScriptedProvider):
        def complete(self, req):
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.5)
            with lock:
                inside[0] -= 1
            return super().complete(req)

    res = synthesize(load_task(TASK), Slow({0: ["x"], 1: ["y"]}),
                     config=SynthConfig(model="m", samples=2, rounds=1, jobs=2), out_dir=tmp_path, backend=None)
    assert peak[0] == 2 and res.samples == 2


def test_token_budget_stops_the_run(tmp_path):
    from verifier.synth import SynthConfig

    provider = ScriptedProvider(["no"] * 10, usage=(60, 40))
    res = synthesize(load_task(TASK), provider, config=SynthConfig(model="m", rounds=10, max_tokens=250),
                     out_dir=tmp_path, backend=None)
    assert res.status == "exhausted" and res.reason == "tokens"
    assert len(provider.requests) == 3 and res.tokens == 300  # the third call crossed the budget
    assert "(tokens)" in (Path(res.out_dir) / "report.md").read_text(encoding="utf-8")


def test_wall_time_budget_stops_the_run(tmp_path):
    import time

    from verifier.synth import SynthConfig

    class Slow(ScriptedProvider):
        def complete(self, req):
            time.sleep(0.6)
            return super().complete(req)

    provider = Slow(["no"] * 10)
    res = synthesize(load_task(TASK), provider, config=SynthConfig(model="m", rounds=10, wall_time_s=1.0),
                     out_dir=tmp_path, backend=None)
    assert res.reason == "wall_time" and len(provider.requests) == 2


@pytest.mark.dafny
def test_first_verified_sample_wins_and_the_others_stop(tmp_path, dafny_backend):
    from verifier.synth import SynthConfig

    provider = ScriptedProvider({0: [fenced(WRONG)] * 3, 1: [fenced(CORRECT)]})
    res = synthesize(load_task(TASK), provider, config=SynthConfig(model="m", samples=2, rounds=3, jobs=2,
                     timeout=120), out_dir=tmp_path, backend=dafny_backend, task_file=TASK)
    assert res.status == "verified"
    assert Path(res.artifact).read_text(encoding="utf-8") == CORRECT
    assert any(a.sample == 1 and a.outcome == "verified" for a in res.attempts)
    assert len([r for r in provider.requests if r.sample == 0]) < 3  # sample 0 stopped early


def test_from_description_needs_a_backend(tmp_path):
    (tmp_path / "t.yaml").write_text("id: t\nlanguage: dafny\ndescription: do it\n", encoding="utf-8")
    with pytest.raises(BadInput, match="need a verifier backend"):
        synthesize(load_task(tmp_path / "t.yaml"), ScriptedProvider([]), model="m", out_dir=tmp_path,
                   backend=None)


def _cli(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_exhausted_exits_1(tmp_path, cache_dir, monkeypatch):
    import verifier.providers as providers

    monkeypatch.setattr(providers, "OpenAIProvider", lambda **kw: ScriptedProvider(["no", "no"]))
    r = _cli("synth", str(TASK), "--model", "m", "--rounds", "2", "--out", str(tmp_path / "o"), "--json")
    assert r.exit_code == 1, r.output
    doc = json.loads(r.output)
    assert doc["status"] == "exhausted" and doc["attempts"] == 2 and doc["artifact"] is None
    assert {"status", "artifact", "attempts", "samples", "rounds", "tokens", "duration_s", "out_dir"} <= set(doc)
    assert doc["reason"] == "rounds" and doc["scripted_responses"] == 2


def test_cli_human_output(tmp_path, cache_dir, monkeypatch):
    import verifier.providers as providers

    monkeypatch.setattr(providers, "OpenAIProvider", lambda **kw: ScriptedProvider([""]))
    r = _cli("synth", str(TASK), "--model", "m", "--rounds", "1", "--out", str(tmp_path / "o"))
    assert r.exit_code == 1
    assert "sample 0 round 1: extraction_error" in r.output
    assert "exhausted" in r.output


def test_cli_offline_empty_cache_exits_4(tmp_path, cache_dir):
    r = _cli("synth", str(TASK), "--model", "m", "--offline", "--out", str(tmp_path / "o"))
    assert r.exit_code == 4
    assert "offline: no recorded response" in r.output


def test_cli_bad_task_exits_2(tmp_path, cache_dir):
    r = _cli("synth", str(tmp_path / "missing.yaml"), "--model", "m", "--offline")
    assert r.exit_code == 2


def test_provider_error_is_recorded(tmp_path, cache_dir):
    r = _cli("synth", str(TASK), "--model", "m", "--offline", "--out", str(tmp_path / "o"))
    assert r.exit_code == 4
    (run_dir,) = (tmp_path / "o").iterdir()
    ev = [json.loads(x) for x in (run_dir / "transcript.jsonl").read_text(encoding="utf-8").splitlines()]
    assert ev[-1]["event"] == "error" and ev[-1]["error"] == "ProviderError"


@pytest.mark.dafny
def test_synth_end_to_end_through_a_local_openai_compatible_server(dafny_install, cache_dir, tmp_path, monkeypatch):
    """The real openai client against a local server: wrong answer -> repair prompt with the diagnostics ->
    verified; then the same run replays offline from the response cache."""
    from fake_openai import FakeServer, ok_body

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    wrong = (EXAMPLES_DIR / "abs.dfy").read_text().replace("    y := -x;", "    y := x;")
    right = (EXAMPLES_DIR / "abs.dfy").read_text()
    with FakeServer() as server:
        server.queue((200, ok_body(f"Here it is:\n```dafny\n{wrong}```\n")),
                     (200, ok_body(f"Fixed:\n```dafny\n{right}```\n")))
        r = _cli("synth", str(EXAMPLES_DIR / "abs.yaml"), "--model", "test-model", "--base-url", server.base_url,
                 "--rounds", "2", "--out", str(tmp_path / "runs"), "--json")
        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        assert doc["status"] == "verified" and Path(doc["artifact"]).read_text() == right
        assert len(server.requests) == 2
        repair = server.requests[1]["messages"][-1]["content"]
        assert "postcondition" in repair and "y := x;" in repair
    # The server is gone: the same run answers from the recorded responses.
    r = _cli("synth", str(EXAMPLES_DIR / "abs.yaml"), "--model", "test-model", "--offline", "--rounds", "2",
             "--out", str(tmp_path / "replay"), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["status"] == "verified"
