"""The synthesis loop with scripted model answers (and the real Dafny where marked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from verifier.cli import main
from verifier.errors import BadInput
from verifier.providers import ScriptedProvider
from verifier.synth import SynthConfig, synthesize
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
    assert kinds.count("candidate") == 1
    checks = [e["checked_by"] for e in ev if e["event"] == "verifier"]
    assert checks == ["session", "batch"]  # the warm session steers, the batch command decides
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
    import time

    from verifier.synth import SynthConfig

    class SlowForSample0(ScriptedProvider):
        def complete(self, req):
            if req.sample == 0:
                time.sleep(6)  # longer than sample 1's session start and both of its checks, even on a busy machine
            return super().complete(req)

    provider = SlowForSample0({0: [fenced(WRONG)] * 3, 1: [fenced(CORRECT)]})
    res = synthesize(load_task(TASK), provider, config=SynthConfig(model="m", samples=2, rounds=3, jobs=2,
                     timeout=120), out_dir=tmp_path, backend=dafny_backend, task_file=TASK)
    assert res.status == "verified"
    assert Path(res.artifact).read_text(encoding="utf-8") == CORRECT
    assert any(a.sample == 1 and a.outcome == "verified" for a in res.attempts)
    assert len([r for r in provider.requests if r.sample == 0]) < 3  # sample 0 stopped early


def test_a_backend_of_another_language_is_refused(tmp_path):
    """Through the Python API, a task's candidates never go to a backend of another language."""
    from backends.base import Backend, BackendPlugin
    from backends.lean import LEAN

    class LeanLike(BackendPlugin):
        language = LEAN

        def create(self, config=None):
            class B(Backend):
                def toolchain(self):
                    raise AssertionError("never asked")

                def _begin(self, request):
                    raise AssertionError("never asked")

            return B(self, self.config())

    with pytest.raises(BadInput, match="written in dafny"):
        synthesize(load_task(TASK), ScriptedProvider([]), model="m", out_dir=tmp_path, backend=LeanLike().create())


def test_a_task_whose_toolchain_is_missing_stops_with_exit_3(tmp_path, monkeypatch):
    """A `language: lean` task on a machine without Lean names Lean and how to get it, never Dafny."""
    from verifier.errors import ToolchainError

    for var in ("QED_LEAN", "QED_LAKE", "QED_LEAN_REPL", "ELAN_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "t.yaml").write_text("id: t\nlanguage: lean\ndescription: do it\n", encoding="utf-8")
    with pytest.raises(ToolchainError) as e:  # the written contract is the first thing checked
        synthesize(load_task(tmp_path / "t.yaml"), ScriptedProvider(["```lean\ndef f : Nat := sorry\n```\n"]),
                   model="m", out_dir=tmp_path)
    assert e.value.exit_code == 3 and "Lean 4" in str(e.value) and "elan" in str(e.value)
    assert "Dafny" not in str(e.value)
    # the command checks the toolchain before it asks any model
    r = _cli("synth", str(tmp_path / "t.yaml"), "--model", "m", "--out", str(tmp_path / "o"))
    assert r.exit_code == 3 and "Lean 4" in r.output and "Dafny" not in r.output
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def _cli(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.dafny
def test_cli_no_build_leaves_only_the_artifact(tmp_path, dafny_install, cache_dir, monkeypatch):
    import verifier.providers as providers

    monkeypatch.setattr(providers, "OpenAIProvider", lambda **kw: ScriptedProvider([fenced(CORRECT)]))
    r = _cli("synth", str(TASK), "--model", "m", "--no-build", "--out", str(tmp_path / "o"), "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert "package" not in doc and not (Path(doc["out_dir"]) / "python").exists()


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


# --- from description: contract, acceptance, resume --------------------------------------------------

CLAMP = EX / "clamp.yaml"
CLAMP_CONTRACT = """method Clamp(x: int, lo: int, hi: int) returns (r: int)
  requires lo <= hi
  ensures lo <= r <= hi
  ensures x < lo ==> r == lo
  ensures x > hi ==> r == hi
  ensures lo <= x <= hi ==> r == x
"""
CLAMP_BAD_CONTRACT = CLAMP_CONTRACT.replace("ensures lo <= r <= hi", "ensures lo <= r <= hi && Valid(r)")
CLAMP_IMPL = CLAMP_CONTRACT + """{
  if x < lo { r := lo; } else if x > hi { r := hi; } else { r := x; }
}
"""


@pytest.mark.dafny
def test_from_description_writes_a_contract_then_implements_it(tmp_path, dafny_backend):
    provider = ScriptedProvider([fenced(CLAMP_BAD_CONTRACT), fenced(CLAMP_CONTRACT), fenced(CLAMP_IMPL)])
    seen = []
    res = synthesize(load_task(CLAMP), provider, model="m", rounds=3, out_dir=tmp_path, backend=dafny_backend,
                     task_file=CLAMP, accept=lambda p: seen.append(p.read_text(encoding="utf-8")) or True)
    assert res.status == "verified", res.attempts
    assert [(a.phase, a.outcome) for a in res.attempts] == [
        ("contract", "contract_invalid"), ("contract", "contract_ok"), ("implement", "verified")]
    assert seen == [CLAMP_CONTRACT]
    retry = provider.requests[1].messages[-1].content
    assert "Your previous contract could not be used" in retry and "Valid" in retry
    run_dir = Path(res.out_dir)
    assert (run_dir / "contract.dfy").read_text(encoding="utf-8") == CLAMP_CONTRACT
    assert CLAMP_CONTRACT.strip() in provider.requests[2].messages[-1].content  # implement prompt quotes it
    cert = json.loads((run_dir / "certificate.json").read_text(encoding="utf-8"))
    assert cert["mode"] == "from_description" and cert["contract_origin"] == "written by the model, accepted by the user"


@pytest.mark.dafny
def test_contract_that_cheats_or_gives_nothing_to_implement_is_refused(tmp_path, dafny_backend):
    cheat = CLAMP_CONTRACT + "\nlemma {:axiom} Anything()\n  ensures false\n"
    done = CLAMP_IMPL
    provider = ScriptedProvider([fenced(cheat), fenced(done)])
    res = synthesize(load_task(CLAMP), provider, model="m", rounds=2, out_dir=tmp_path, backend=dafny_backend,
                     task_file=CLAMP, accept=lambda p: True)
    assert res.status == "exhausted" and res.reason == "contract"
    assert [a.outcome for a in res.attempts] == ["contract_invalid", "contract_invalid"]
    assert "axiom" in res.attempts[0].message
    assert "nothing to implement" in res.attempts[1].message


@pytest.mark.dafny
def test_contract_awaits_acceptance_then_resume_with_an_edited_contract(tmp_path, dafny_install, cache_dir,
                                                                       monkeypatch):
    import verifier.providers as providers

    first = ScriptedProvider([fenced(CLAMP_CONTRACT)])
    monkeypatch.setattr(providers, "OpenAIProvider", lambda **kw: first)
    r = _cli("synth", str(CLAMP), "--model", "m", "--out", str(tmp_path / "runs"), "--json")
    assert r.exit_code == 2, r.output
    doc = json.loads(r.stdout)
    assert doc["status"] == "awaiting_acceptance"
    assert "awaits your acceptance" in r.stderr and "--accept-spec" in r.stderr
    run_dir = Path(doc["out_dir"])
    contract = run_dir / "contract.dfy"
    assert contract.read_text(encoding="utf-8") == CLAMP_CONTRACT
    # The user tightens the contract before accepting it.
    edited = CLAMP_CONTRACT.replace("  ensures lo <= r <= hi\n", "  ensures lo <= r <= hi\n  ensures r == x || r == lo || r == hi\n")
    contract.write_text(edited, encoding="utf-8")
    # Resume with an empty response cache: the contract answer must come from the run's own transcript.
    monkeypatch.setenv("QED_CACHE_DIR", str(tmp_path / "fresh-cache"))
    impl = edited + CLAMP_IMPL[len(CLAMP_CONTRACT):]
    second = ScriptedProvider([fenced(impl)])
    monkeypatch.setattr(providers, "OpenAIProvider", lambda **kw: second)
    r = _cli("synth", "--resume", str(run_dir), "--accept-spec", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["status"] == "verified"
    assert len(second.requests) == 1 and "ensures r == x || r == lo || r == hi" in second.requests[0].messages[-1].content
    ev = [json.loads(x) for x in (run_dir / "transcript.jsonl").read_text(encoding="utf-8").splitlines()]
    kinds = [e["event"] for e in ev]
    assert "resume" in kinds and "contract_edited" in kinds
    assert [e["seq"] for e in ev] == list(range(1, len(ev) + 1))
    cert = json.loads((run_dir / "certificate.json").read_text(encoding="utf-8"))
    assert "edited" in cert["contract_origin"]


def test_resume_refuses_a_changed_task_or_another_model(tmp_path, cache_dir, monkeypatch):
    import shutil

    import verifier.providers as providers

    task = tmp_path / "abs.yaml"
    shutil.copy(TASK, task)
    shutil.copy(EX / "abs.spec.dfy", tmp_path / "abs.spec.dfy")
    monkeypatch.setattr(providers, "OpenAIProvider", lambda **kw: ScriptedProvider(["no"]))
    r = _cli("synth", str(task), "--model", "m", "--rounds", "1", "--out", str(tmp_path / "runs"), "--json")
    run_dir = json.loads(r.stdout)["out_dir"]
    r = _cli("synth", "--resume", run_dir, "--model", "other")
    assert r.exit_code == 2 and "used model 'm'" in r.output
    task.write_text(task.read_text() + "notes: changed\n")
    r = _cli("synth", "--resume", run_dir)
    assert r.exit_code == 2 and "changed since the run" in r.output
    r = _cli("synth", "--resume", str(tmp_path))
    assert r.exit_code == 2 and "not a qed synth run folder" in r.output


# --- cassettes and prompt folders ----------------------------------------------------------------------


@pytest.mark.dafny
def test_cassette_records_then_replays_offline(tmp_path, dafny_install, cache_dir, monkeypatch):
    import verifier.providers as providers

    cassette = tmp_path / "session.cassette.json"
    monkeypatch.setattr(providers, "OpenAIProvider",
                        lambda **kw: ScriptedProvider([fenced(WRONG), fenced(CORRECT)]))
    r = _cli("synth", str(TASK), "--model", "m", "--cassette", str(cassette), "--out", str(tmp_path / "a"))
    assert r.exit_code == 0, r.output
    doc = json.loads(cassette.read_text(encoding="utf-8"))
    assert doc["format"] == "qedgen-cassette" and len(doc["entries"]) == 2
    assert {e["completion"]["source"] for e in doc["entries"].values()} == {"scripted"}
    monkeypatch.setenv("QED_CACHE_DIR", str(tmp_path / "empty-cache"))
    r = _cli("synth", str(TASK), "--model", "m", "--offline", "--cassette", str(cassette), "--out", str(tmp_path / "b"))
    assert r.exit_code == 0, r.output
    assert "scripted session" in r.output and "verified after 2 attempt(s)" in r.output
    r = _cli("synth", str(TASK), "--model", "other", "--offline", "--cassette", str(cassette), "--out", str(tmp_path / "c"))
    assert r.exit_code == 4 and "has no response for this prompt" in r.output


def test_cassette_errors_are_clear(tmp_path, cache_dir):
    r = _cli("synth", str(TASK), "--model", "m", "--offline", "--cassette", str(tmp_path / "none.json"))
    assert r.exit_code == 2 and "does not exist" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"entries": []}')
    r = _cli("synth", str(TASK), "--model", "m", "--offline", "--cassette", str(bad))
    assert r.exit_code == 2 and "not a qedgen cassette" in r.output


def test_prompts_folder_replaces_the_bundled_templates(tmp_path, cache_dir, monkeypatch):
    import shutil

    import verifier.providers as providers
    from verifier.prompting import BUNDLED_PROMPTS

    mine = tmp_path / "prompts"
    shutil.copytree(BUNDLED_PROMPTS / "dafny", mine / "dafny")
    gen = mine / "dafny" / "generate.j2"
    gen.write_text("HOUSE STYLE: tabs only.\n" + gen.read_text(encoding="utf-8"), encoding="utf-8")
    scripted = ScriptedProvider(["no"])
    monkeypatch.setattr(providers, "OpenAIProvider", lambda **kw: scripted)
    r = _cli("synth", str(TASK), "--model", "m", "--rounds", "1", "--prompts", str(mine), "--out", str(tmp_path / "o"))
    assert r.exit_code == 1, r.output
    assert scripted.requests[0].messages[-1].content.startswith("HOUSE STYLE: tabs only.")
    gen.unlink()
    r = _cli("synth", str(TASK), "--model", "m", "--rounds", "1", "--prompts", str(mine), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "generate.j2 does not exist" in r.output


@pytest.mark.dafny
def test_killed_run_resumes_without_asking_the_model_again(tmp_path, dafny_install, monkeypatch):
    """A real `qed synth` process is killed while its second model call hangs; `--resume` finishes the run
    against a new server that only ever sees the remaining call."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from fake_openai import FakeServer, ok_body

    env = {**os.environ, "QED_CACHE_DIR": str(tmp_path / "cache1")}
    env.pop("OPENAI_API_KEY", None)
    out = tmp_path / "runs"
    with FakeServer() as server:
        server.queue((200, ok_body(f"```dafny\n{WRONG}```\n")), (0, {"sleep": 60}))
        proc = subprocess.Popen(
            [sys.executable, "-m", "verifier", "synth", str(TASK), "--model", "test-model", "--base-url",
             server.base_url, "--rounds", "3", "--out", str(out), "--json"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while len(server.requests) < 2 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.1)
            assert len(server.requests) == 2, proc.communicate(timeout=5)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    (run_dir,) = out.iterdir()
    assert not (run_dir / "certificate.json").exists()
    env["QED_CACHE_DIR"] = str(tmp_path / "cache2")  # nothing cached: replay must come from the transcript
    with FakeServer() as server:
        server.queue((200, ok_body(f"```dafny\n{CORRECT}```\n")))
        done = subprocess.run(
            [sys.executable, "-m", "verifier", "synth", "--resume", str(run_dir), "--base-url", server.base_url,
             "--json"], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert len(server.requests) == 1
        assert "postcondition" in server.requests[0]["messages"][-1]["content"]  # the repair prompt
    doc = json.loads(done.stdout)
    assert doc["status"] == "verified" and doc["attempts"] == 2
    assert (run_dir / "artifact.dfy").read_text(encoding="utf-8") == CORRECT


@pytest.mark.dafny
def test_the_readme_demo_replays_from_the_bundled_cassette(tmp_path, dafny_install, monkeypatch):
    """The README's main-job command. If this fails after a prompt change, re-record the cassette with
    `python specs/examples/demo/make_cassette.py`."""
    monkeypatch.setenv("QED_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(REPO)
    r = _cli("synth", "specs/examples/abs.yaml", "--model", "scripted-demo", "--offline", "--cassette",
             "specs/examples/demo/abs.cassette.json", "--out", str(tmp_path / "runs"))
    assert r.exit_code == 0, r.output + "\n(re-record: python specs/examples/demo/make_cassette.py)"
    assert "sample 0 round 1: failed" in r.output and "sample 0 round 2: verified" in r.output
    assert "scripted session" in r.output
    # The verified artifact was built into a Python package inside the run folder (`--no-build` skips it).
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert "Python package:" in r.output
    import subprocess
    import sys

    call = subprocess.run([sys.executable, "-c", "import abs; print(abs.Abs(-3), abs.Abs(4))"],
                          cwd=run_dir / "python", capture_output=True, text=True, timeout=120)
    assert call.stdout.split() == ["3", "4"], call.stderr
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "qed synth specs/examples/abs.yaml --model scripted-demo --offline --cassette " \
           "specs/examples/demo/abs.cassette.json" in readme


# --- annotate mode -------------------------------------------------------------------------------------

SUM_TASK = EX / "sum.yaml"
SUM_REWRITTEN = """method SumTo(n: nat) returns (s: nat)
  ensures s == n * (n + 1) / 2
{
  s := n * (n + 1) / 2;
}
"""
SUM_ANNOTATED = """// annotate mode: this program is correct but Dafny cannot prove it without a loop invariant.
method SumTo(n: nat) returns (s: nat)
  ensures s == n * (n + 1) / 2
{
  s := 0;
  var i := 0;
  while i < n
    invariant i <= n
    invariant s == i * (i + 1) / 2
  {
    i := i + 1;
    s := s + i;
  }
}
"""


@pytest.mark.dafny
def test_annotate_rejects_a_rewritten_program_and_accepts_added_hints(tmp_path, dafny_backend):
    """The rewritten program verifies in Dafny, but it is not the given program: rejected, and the repair
    prompt says the code is frozen."""
    provider = ScriptedProvider([fenced(SUM_REWRITTEN), fenced(SUM_ANNOTATED)])
    res = synthesize(load_task(SUM_TASK), provider, model="m", rounds=2, out_dir=tmp_path, backend=dafny_backend,
                     task_file=SUM_TASK)
    assert [(a.phase, a.outcome) for a in res.attempts] == [("annotate", "rejected"), ("annotate", "verified")]
    repair = provider.requests[1].messages[-1].content
    assert "QED-E2" in repair and "frozen" in repair
    cert = json.loads((Path(res.out_dir) / "certificate.json").read_text(encoding="utf-8"))
    assert cert["mode"] == "annotate"
    assert cert["contract_sha256"] == __import__("hashlib").sha256((EX / "sum_nohints.dfy").read_bytes()).hexdigest()


@pytest.mark.dafny
def test_annotate_lists_the_programs_own_escape_as_a_trusted_assumption(tmp_path, dafny_backend):
    """An escape the program to annotate gives itself (here an `assume`) is the task's trusted assumption:
    the candidate keeps it and is not blamed for it; one more of its own is rejected."""
    program = "method M(x: int) returns (y: int)\n  ensures y > x\n{\n  assume false;\n}\n"
    (tmp_path / "p.dfy").write_text(program)
    (tmp_path / "t.yaml").write_text("id: t\nlanguage: dafny\ndescription: d\nprogram: p.dfy\n")
    extra = program.replace("  assume false;\n", "  assume false;\n  assume x > 0;\n")
    res = synthesize(load_task(tmp_path / "t.yaml"), ScriptedProvider([fenced(extra), fenced(program)]), model="m",
                     rounds=2, out_dir=tmp_path, backend=dafny_backend)
    assert [a.outcome for a in res.attempts] == ["rejected", "verified"]
    cert = json.loads((Path(res.out_dir) / "certificate.json").read_text(encoding="utf-8"))
    assert any("given by the program" in a["what"] and "QED-E101" in a["what"] for a in cert["assumptions"])


@pytest.mark.dafny
def test_qed_verify_annotates(tmp_path, dafny_install, cache_dir):
    good = tmp_path / "good.dfy"
    good.write_text(SUM_ANNOTATED)
    bad = tmp_path / "bad.dfy"
    bad.write_text(SUM_REWRITTEN)
    r = _cli("verify", "--annotates", str(EX / "sum_nohints.dfy"), str(good), str(bad), "--json")
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    verdicts = {Path(x["file"]).name: x["verdict"] for x in doc["results"]}
    assert verdicts == {"good.dfy": "verified", "bad.dfy": "rejected"}
    bad_result = next(x for x in doc["results"] if x["file"].endswith("bad.dfy"))
    assert any(v["rule"].startswith("QED-E2") for v in bad_result["integrity"])
    r = _cli("verify", "--annotates", str(EX / "sum_nohints.dfy"), "--spec", str(EX / "abs.spec.dfy"), str(good))
    assert r.exit_code == 2 and "cannot be combined" in r.output


@pytest.mark.dafny
@pytest.mark.parametrize("stem, rule", [("bv8_lemma_call", "QED-E204"), ("ghost_let", "QED-E206")])
def test_qed_verify_annotates_refuses_hints_that_change_meaning(stem, rule, tmp_path, dafny_install, cache_dir):
    """Dafny verifies these candidates and their text is the program's plus hints, yet a hint changes what Dafny
    makes of the program's code: `qed verify --annotates` must not say verified, and says why."""
    fix = Path(__file__).parent / "fixtures" / "annotate"
    r = _cli("verify", "--annotates", str(fix / f"{stem}.program.dfy"), str(fix / f"{stem}.candidate.dfy"), "--json")
    assert r.exit_code == 1, r.output
    (res,) = json.loads(r.stdout)["results"]
    assert res["verdict"] == "rejected"
    assert [v["rule"] for v in res["integrity"]] == [rule]
    assert res["integrity"][0]["file"].endswith(f"{stem}.candidate.dfy")


@pytest.mark.dafny
def test_cli_retries_a_rate_limit_then_fails_clearly_on_auth(tmp_path, dafny_install, cache_dir, monkeypatch):
    """Through the real openai client: a 429 is retried with backoff and the run goes on; a 401 stops the run
    with exit 4, one line naming the fix, and the error in the transcript."""
    from fake_openai import FakeServer, err_body, ok_body

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeServer() as server:
        server.queue((429, err_body("slow down", "rate_limit_exceeded")), (200, ok_body(fenced(CORRECT))))
        r = _cli("synth", str(TASK), "--model", "test-model", "--base-url", server.base_url,
                 "--out", str(tmp_path / "a"), "--json")
        assert r.exit_code == 0, r.output
        assert len(server.requests) == 2
    with FakeServer() as server:
        server.queue((401, err_body("Incorrect API key provided")))
        r = _cli("synth", str(TASK), "--model", "other-model", "--base-url", server.base_url,
                 "--out", str(tmp_path / "b"))
        assert r.exit_code == 4
        assert r.stderr.count("\n") == 1 and "authentication failed" in r.stderr and "OPENAI_API_KEY" in r.stderr
    (run_dir,) = (tmp_path / "b").iterdir()
    last = json.loads((run_dir / "transcript.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert last["event"] == "error" and "authentication failed" in last["message"]


@pytest.mark.dafny
def test_repair_rounds_verify_the_changed_members_first(tmp_path, dafny_backend):
    """(--session cli) Round 2 changes only `Abs` (still wrong): only `Abs` is verified. Round 3 fixes it: `Abs` passes alone,
    then the whole file is verified, and only that gives `verified`."""
    spec = tmp_path / "two.spec.dfy"
    spec.write_text("method Abs(x: int) returns (y: int)\n  ensures y >= 0 && (y == x || y == -x)\n\n"
                    "method Max(a: int, b: int) returns (m: int)\n  ensures m >= a && m >= b && (m == a || m == b)\n")
    (tmp_path / "two.yaml").write_text("id: two\nlanguage: dafny\ndescription: abs and max\nspec: two.spec.dfy\n")
    max_ok = "method Max(a: int, b: int) returns (m: int)\n  ensures m >= a && m >= b && (m == a || m == b)\n" \
             "{\n  if a >= b { m := a; } else { m := b; }\n}\n"
    abs_head = "method Abs(x: int) returns (y: int)\n  ensures y >= 0 && (y == x || y == -x)\n"
    wrong1 = abs_head + "{\n  y := x;\n}\n\n" + max_ok
    wrong2 = abs_head + "{\n  y := x + 0;\n}\n\n" + max_ok
    right = abs_head + "{\n  if x < 0 { y := -x; } else { y := x; }\n}\n\n" + max_ok
    res = synthesize(load_task(tmp_path / "two.yaml"), ScriptedProvider([fenced(wrong1), fenced(wrong2), fenced(right)]),
                     config=SynthConfig(model="m", rounds=3, session="cli"), out_dir=tmp_path / "runs",
                     backend=dafny_backend)
    assert [a.outcome for a in res.attempts] == ["failed", "failed", "verified"]
    assert "only the changed members: Abs" in res.attempts[1].message
    ver = [e for e in events(res) if e["event"] == "verifier"]
    assert [(e["round"], e.get("scope")) for e in ver] == [(1, None), (2, ["Abs"]), (3, ["Abs"]), (3, None)]
    assert ver[-1]["result"]["verdict"] == "verified" and ver[-1]["result"]["scope"] is None


def test_a_failing_sample_stops_the_others_and_kills_their_verifier(tmp_path):
    """Sample 1's provider fails while sample 0's verifier runs: the run stops with the error at once and the
    running verification is cancelled (its process group killed), not waited for."""
    import threading
    import time

    from verifier.providers import ProviderError
    from verifier.synth import SynthConfig

    cancelled = threading.Event()

    class Hanging:
        def finish(self):
            cancelled.wait(30)
            raise AssertionError("cancelled") if cancelled.is_set() else AssertionError("never cancelled")

        def cancel(self):
            cancelled.set()

    from backends.base import Backend, BackendPlugin
    from backends.dafny import DAFNY

    class HangingPlugin(BackendPlugin):
        language = DAFNY

        def create(self, config=None):
            class HangingBackend(Backend):
                def toolchain(self):
                    raise AssertionError("not needed")

                def _begin(self, request):
                    return Hanging()

            return HangingBackend(self, self.config())

    class Provider(ScriptedProvider):
        def complete(self, req):
            if req.sample == 1:
                time.sleep(0.5)
                raise ProviderError("rate limit (HTTP 429) after 3 retries")
            return super().complete(req)

    start = time.monotonic()
    with pytest.raises(ProviderError):
        synthesize(load_task(TASK), Provider({0: [fenced(CORRECT)]}), config=SynthConfig(model="m", samples=2, jobs=2),
                   out_dir=tmp_path, backend=HangingPlugin().create())
    assert cancelled.is_set() and time.monotonic() - start < 10


def test_a_server_without_usage_is_charged_an_estimate(tmp_path):
    from verifier.synth import SynthConfig

    provider = ScriptedProvider(["x" * 4000] * 10)  # reports no usage: ~1000 tokens an answer, plus the prompt
    res = synthesize(load_task(TASK), provider, config=SynthConfig(model="m", rounds=10, max_tokens=2500),
                     out_dir=tmp_path, backend=None)
    assert res.reason == "tokens" and 2 <= len(provider.requests) <= 3 and res.tokens >= 2500


# --- warm sessions ---------------------------------------------------------------------------------------------


def _warm_backend(session_says, batch_says, opened: list):
    """A Dafny-language backend whose warm session answers `session_says(text)` ("clean", "failed" or "crash")
    and whose batch command answers `batch_says(text)` (a verdict)."""
    from backends.base import Backend, BackendPlugin, Capability, PendingCheck, Session, SessionConfig, WarmCheck
    from backends.dafny import DAFNY
    from verifier.models import Diagnostic, FileResult

    class FakeSession(Session):
        name = "fake server"

        def __init__(self):
            self.closed = False
            opened.append(self)

        def outcome(self, file, source, request):
            raise AssertionError("check_warm answers directly")

        def close(self):
            self.closed = True

    def result(text, verdict, by):
        diags = [] if verdict == "verified" else [Diagnostic(severity="error", kind="postcondition", message="nope",
                                                             file="c.dfy", line=1)]
        return FileResult(file="c.dfy", verdict=verdict, diagnostics=diags, checked_by=by)

    class Pending(PendingCheck):
        def __init__(self, text):
            self.text = text

        def finish(self):
            return result(self.text, batch_says(self.text), "batch")

        def cancel(self):
            pass

    class Plugin(BackendPlugin):
        language = DAFNY
        capabilities = frozenset({Capability.sessions})

        def create(self, config=None):
            class B(Backend):
                def toolchain(self):
                    from verifier.models import ToolchainRef

                    return ToolchainRef(name="fake")

                def _begin(self, request):
                    return Pending(request.file.read_text())

                def _open_session(self):
                    return FakeSession()

                def check_warm(self, request, session):
                    says = session_says(request.file.read_text())
                    if says == "crash":
                        return WarmCheck(clean=False, feedback=None, duration_s=0.01, session=session.name,
                                         answered=False, detail="the server died")
                    fb = None if says == "clean" else result(request.file.read_text(), "failed", "session")
                    return WarmCheck(clean=fb is None, feedback=fb, duration_s=0.01, session=session.name)

            return B(self, BackendConfig(sessions=SessionConfig(pool_size=2)))

    from backends.base import BackendConfig

    return Plugin().create()


def test_warm_session_feedback_steers_and_only_the_batch_command_verifies(tmp_path):
    opened = []
    backend = _warm_backend(lambda t: "failed" if "WRONG" in t else "clean",
                            lambda t: "verified" if "RIGHT" in t else "failed", opened)
    provider = ScriptedProvider([fenced("// WRONG\n" + WRONG), fenced("// RIGHT\n" + CORRECT)])
    res = synthesize(load_task(TASK), provider, config=SynthConfig(model="m", rounds=3), out_dir=tmp_path,
                     backend=backend, task_file=TASK)
    assert res.status == "verified" and res.session == "warm" and res.summary()["session"] == "warm"
    ver = [(e["round"], e["checked_by"]) for e in events(res) if e["event"] == "verifier"]
    assert ver == [(1, "session"), (2, "session"), (2, "batch")]  # round 1's problems came from the session
    assert res.attempts[0].outcome == "failed" and "postcondition" in provider.requests[1].messages[-1].content
    assert json.loads((Path(res.out_dir) / "run.json").read_text())["session"] == "warm"
    assert all(e.get("duration_s") is not None for e in events(res) if e["event"] == "verifier")
    assert len(opened) == 1 and opened[0].closed  # one session, shut down at the end
    cert = json.loads((Path(res.out_dir) / "certificate.json").read_text())
    assert cert["verdict"] == "verified"


def test_a_disagreement_between_session_and_batch_is_recorded_and_the_batch_wins(tmp_path):
    backend = _warm_backend(lambda t: "clean", lambda t: "failed", [])
    res = synthesize(load_task(TASK), ScriptedProvider([fenced(CORRECT)]), config=SynthConfig(model="m", rounds=1),
                     out_dir=tmp_path, backend=backend)
    assert res.status == "exhausted" and res.attempts[0].outcome == "failed"
    (dis,) = [e for e in events(res) if e["event"] == "session_disagreement"]
    assert dis["batch_verdict"] == "failed" and dis["session"] == "fake server"


def test_a_session_that_cannot_answer_leaves_the_round_to_the_batch_command(tmp_path):
    backend = _warm_backend(lambda t: "crash", lambda t: "verified", [])
    res = synthesize(load_task(TASK), ScriptedProvider([fenced(CORRECT)]), config=SynthConfig(model="m", rounds=1),
                     out_dir=tmp_path, backend=backend)
    assert res.status == "verified"
    warm = [e for e in events(res) if e["event"] == "verifier" and e["checked_by"] == "session"]
    assert warm[0]["answered"] is False and warm[0]["detail"] == "the server died"
    assert not [e for e in events(res) if e["event"] == "session_disagreement"]


def test_concurrent_samples_share_a_small_pool_of_sessions(tmp_path):
    opened = []
    backend = _warm_backend(lambda t: "failed", lambda t: "failed", opened)
    res = synthesize(load_task(TASK), ScriptedProvider([fenced(WRONG)] * 12),
                     config=SynthConfig(model="m", samples=4, rounds=3, jobs=4), out_dir=tmp_path, backend=backend)
    assert res.status == "exhausted" and len(res.attempts) == 12
    assert 1 <= len(opened) <= 2 and all(s.closed for s in opened)  # pool_size 2 for 4 concurrent samples


def test_session_cli_uses_the_batch_command_only(tmp_path):
    opened = []
    backend = _warm_backend(lambda t: "failed", lambda t: "verified", opened)
    res = synthesize(load_task(TASK), ScriptedProvider([fenced(CORRECT)]),
                     config=SynthConfig(model="m", rounds=1, session="cli"), out_dir=tmp_path, backend=backend)
    assert res.status == "verified" and res.session == "cli" and not opened
    assert [e["checked_by"] for e in events(res) if e["event"] == "verifier"] == ["batch"]


def test_an_oversized_answer_is_refused_before_any_verifier_runs(tmp_path):
    """A 1 MB answer never reaches the verifier: the model is told it is too large (and by how much)."""
    huge = "method Abs(x: int) returns (y: int) { y := x; }\n" + "// padding\n" * 100_000
    provider = ScriptedProvider([fenced(huge), fenced(CORRECT)])
    opened = []
    backend = _warm_backend(lambda t: "clean", lambda t: opened.append(t) or "verified", [])
    res = synthesize(load_task(TASK), provider, config=SynthConfig(model="m", rounds=2, session="cli"),
                     out_dir=tmp_path, backend=backend)
    assert res.status == "verified" and [a.outcome for a in res.attempts] == ["extraction_error", "verified"]
    assert "over this task's limit of 64,000" in res.attempts[0].message and len(opened) == 1
    assert "characters, over this task's limit" in provider.requests[1].messages[-1].content
    ev = [e for e in events(res) if e["event"] == "extraction"]
    assert ev[0]["kind"] == "too_large"
    assert not (Path(res.out_dir) / "candidates" / "s0-r1.dfy").exists()
