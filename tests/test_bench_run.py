"""`qed bench` runs: oracle, replay, model (scripted and a local OpenAI-compatible server), SIGKILL and
`--resume`, the Ray executor, reports and `compare`. Slow work uses the toy backend (a verifier that sleeps
when told to); a few real Dafny tasks per Dafny dataset check the real pipeline."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench import datasets
from bench.passk import mean_pass_at_k, pass_at_k
from bench.runner import RunOptions, Selection, run
from tests.conftest import REPO, with_toy_backend
from verifier.cli import main
from verifier.providers import ScriptedProvider

DATA = datasets.data_root()
needs_data = pytest.mark.skipif(not (DATA / "README.md").is_file(),
                                reason=f"needs the benchmarks folder at {DATA} (or set QED_BENCH_DATA)")


def toy_tasks(folder: Path, n: int, *, sleep: float = 0.0, broken: tuple[int, ...] = ()) -> Path:
    """`n` toy tasks `t0..t{n-1}`: contract `prove a: ?`, a solution that proves it (after `sleep` seconds);
    the solutions of `broken` tasks are wrong."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"t{i}.spec.toy").write_text("prove a: ?\n")
        (folder / f"t{i}.yaml").write_text(f"id: t{i}\nlanguage: toy\ndescription: prove a\nspec: t{i}.spec.toy\n")
        body = "prove a: 1 + 1 == 3\n" if i in broken else "prove a: 1 + 1 == 2\n"
        (folder / f"t{i}.solution.toy").write_text((f"sleep {sleep}\n" if sleep else "") + body)
    return folder


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def rows(run_dir: Path, table: str) -> list[tuple]:
    con = sqlite3.connect(run_dir / "results.sqlite")
    try:
        return con.execute(f"SELECT * FROM {table}").fetchall()
    finally:
        con.close()


# --- pass@k ----------------------------------------------------------------------------------------------------


def test_pass_at_k_is_the_unbiased_estimator():
    assert pass_at_k(5, 0, 1) == 0.0 and pass_at_k(5, 5, 3) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(1 - 3 / 6)  # 1 - C(3,2)/C(4,2)
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)
    assert mean_pass_at_k([(2, 1), (2, 0), (1, 1)], 2) == pytest.approx(0.5)  # the 1-sample task does not count
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


# --- oracle, replay, reports (toy backend) --------------------------------------------------------------------


def test_oracle_on_local_toy_tasks_writes_database_and_reports(tmp_path):
    data = toy_tasks(tmp_path / "tasks", 3, broken=(1,))
    out = tmp_path / "run"
    r = cli("bench", "--dataset", "local", "--data", str(data), "--oracle", "--workers", "2", "--out", str(out),
            "--json")
    assert r.exit_code == 1, r.output  # a new defect
    summary = json.loads(r.stdout)
    assert summary["run_dir"] == str(out) and summary["complete"]
    assert summary["datasets"]["local"]["passed"] == 2 and summary["datasets"]["local"]["new_defects"] == 1
    report = json.loads((out / "report.json").read_text())
    assert set(report) >= {"schema_version", "datasets", "tasks"}
    by_id = {t["id"]: t for t in report["tasks"]}
    assert set(by_id["t0"]) >= {"dataset", "id", "status", "reason", "rounds", "duration_s"}
    assert by_id["t0"]["status"] == "passed" and by_id["t0"]["rounds"] == 1
    assert by_id["t1"]["status"] == "defect" and by_id["t1"]["known_defect"] is False
    assert by_id["t1"]["reason"].startswith("new defect: failed")
    md = (out / "report.md").read_text()
    assert "### New defects" in md and "`t1`" in md
    for png in ("success_by_round.png", "verification_time.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(rows(out, "results")) == 3 and len(rows(out, "attempts")) == 3
    jsonschema = pytest.importorskip("jsonschema", reason="the `test` extra installs jsonschema")
    from bench.report import SCHEMA_FILE

    jsonschema.validate(report, json.loads(SCHEMA_FILE.read_text()))  # the published schema holds


def test_replay_answers_matched_by_file_name(tmp_path):
    data = toy_tasks(tmp_path / "tasks", 4)
    answers = tmp_path / "answers"
    answers.mkdir()
    (answers / "t0_model-x.toy").write_text("prove a: 1 + 1 == 2\n")  # honest
    (answers / "t1.toy").write_text("assume a: 1 + 1 == 3\nprove a: 1 + 1 == 2\n")  # an escape of its own
    (answers / "t2.toy").write_text("prove a: 2 > 3\n")  # wrong
    (answers / "t3.dfy").write_text("method M() {}\n")  # another language: not an answer to t3
    (answers / "t33.toy").write_text("prove a: 1 == 1\n")  # no task t33 (and not t3's)
    out = tmp_path / "run"
    r = cli("bench", "--dataset", "local", "--data", str(data), "--answers", str(answers), "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    report = json.loads((out / "report.json").read_text())
    got = {t["id"]: (t["status"], t["reason"]) for t in report["tasks"]}
    assert got["t0"] == ("passed", "verified") and got["t1"] == ("rejected", "TOY-E1")
    assert got["t2"][0] == "failed" and got["t3"] == ("no_answer", "no answer file for this task")
    assert report["datasets"]["local"]["rejected_by_rule"] == {"TOY-E1": 1}
    assert (out / "verdicts_by_source.png").is_file()


def test_compare_two_runs(tmp_path):
    data = toy_tasks(tmp_path / "tasks", 2)
    a, b = tmp_path / "a", tmp_path / "b"
    ans = tmp_path / "answers"
    ans.mkdir()
    (ans / "t0.toy").write_text("prove a: 1 + 1 == 2\n")
    (ans / "t1.toy").write_text("prove a: 1 + 1 == 2\n")
    assert cli("bench", "--dataset", "local", "--data", str(data), "--answers", str(ans), "--out", str(a)).exit_code == 0
    (ans / "t1.toy").write_text("prove a: 0 == 1\n")
    assert cli("bench", "--dataset", "local", "--data", str(data), "--answers", str(ans), "--out", str(b)).exit_code == 0
    r = cli("bench", "compare", str(a), str(b))
    assert r.exit_code == 0 and "1 task(s) flipped" in r.output and "local/t1: passed (verified) -> failed" in r.output
    doc = json.loads(cli("bench", "compare", str(a), str(b), "--json").stdout)
    assert [f["id"] for f in doc["flipped"]] == ["t1"] and doc["passed_a"] == 2 and doc["passed_b"] == 1


def test_bad_input_is_one_line_with_exit_2(tmp_path):
    data = toy_tasks(tmp_path / "tasks", 1)
    out = tmp_path / "run"
    out.mkdir()
    (out / "x").write_text("something")
    r = cli("bench", "--dataset", "local", "--data", str(data), "--oracle", "--out", str(out))
    assert r.exit_code == 2 and "exists and is not empty" in r.output
    r = cli("bench", "--dataset", "local", "--data", str(data), "--out", str(tmp_path / "r2"))
    assert r.exit_code == 2 and "no mode given" in r.output
    r = cli("bench", "--dataset", "local", "--data", str(data), "--oracle", "--tasks", "nope", "--out",
            str(tmp_path / "r3"))
    assert r.exit_code == 2 and "unknown task id(s): nope" in r.output
    assert not (tmp_path / "r3").exists()  # a refused run leaves no folder behind
    r = cli("bench", "--resume", str(tmp_path / "nothing"))
    assert r.exit_code == 2 and "not a qed bench run folder" in r.output


def test_lean_and_fstar_tasks_are_toolchain_absent_never_failures(tmp_path):
    from tests.conftest import FIXTURES

    out = tmp_path / "run"
    r = cli("bench", "--dataset", "fstar", "--data", str(FIXTURES / "bench" / "fstar"), "--oracle", "--out", str(out),
            "--json")
    assert r.exit_code == 0, r.output
    report = json.loads((out / "report.json").read_text())
    assert {t["status"] for t in report["tasks"]} == {"toolchain_absent"}
    assert "F*" in report["tasks"][0]["reason"] and report["datasets"]["fstar"]["failed"] == 0


@needs_data
def test_lean_datasets_are_toolchain_absent(tmp_path):
    out = tmp_path / "run"
    r = cli("bench", "--dataset", "clever", "--dataset", "verina", "--dataset", "fvapps", "--limit", "4", "--oracle",
            "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    report = json.loads((out / "report.json").read_text())
    assert {t["status"] for t in report["tasks"]} == {"toolchain_absent"}


def test_report_schema_is_published_and_in_sync():
    from bench.report import SCHEMA_FILE, report_schema

    assert json.loads(SCHEMA_FILE.read_text()) == report_schema()
    r = cli("bench", "schema")
    assert json.loads(r.stdout) == report_schema()
    props = report_schema()["$defs"]["TaskEntry"]["properties"]
    assert set(props["status"]["enum"]) == {"passed", "failed", "rejected", "timeout", "error", "no_answer",
                                            "defect", "toolchain_absent"}


# --- kill and resume --------------------------------------------------------------------------------------------


def test_sigkill_then_resume_neither_redoes_nor_duplicates(tmp_path):
    data = toy_tasks(tmp_path / "tasks", 6, sleep=1.5)
    out = tmp_path / "run"
    env = with_toy_backend(dict(os.environ, QED_CACHE_DIR=str(tmp_path / "cache")))
    argv = [sys.executable, "-m", "verifier", "bench", "--dataset", "local", "--data", str(data), "--oracle",
            "--workers", "2", "--out", str(out), "--json"]
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    finished: list[tuple] = []
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if (out / "results.sqlite").exists():
            try:
                finished = rows(out, "results")
            except sqlite3.OperationalError:
                continue
            if len(finished) >= 2:
                break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 2 <= len(finished) < 6, "the run should have been killed half-way"
    before = {(r[0], r[1]): r[-1] for r in rows(out, "results")}  # finished_at of each finished task
    assert not (out / "report.json").exists()
    r = subprocess.run([sys.executable, "-m", "verifier", "bench", "--resume", str(out), "--json"], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    after = rows(out, "results")
    assert len(after) == 6 and len({(x[0], x[1]) for x in after}) == 6
    for row in after:  # finished tasks were not run again
        if (row[0], row[1]) in before:
            assert row[-1] == before[(row[0], row[1])]
    attempts = rows(out, "attempts")
    assert len(attempts) == 6 and len({a[:4] for a in attempts}) == 6
    report = json.loads((out / "report.json").read_text())
    assert report["complete"] and report["datasets"]["local"]["passed"] == 6
    r = subprocess.run([sys.executable, "-m", "verifier", "bench", "--resume", str(out), "--json"], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and len(rows(out, "results")) == 6  # nothing left: nothing run, nothing added


# --- model mode ---------------------------------------------------------------------------------------------------


def test_model_run_through_the_local_openai_compatible_server(tmp_path, monkeypatch):
    from fake_openai import FakeServer, ok_body

    monkeypatch.setenv("QED_CACHE_DIR", str(tmp_path / "cache"))
    data = toy_tasks(tmp_path / "tasks", 1)
    out = tmp_path / "run"
    with FakeServer() as server:
        server.queue((200, ok_body("```toy\nprove a: 1 == 2\n```")), (200, ok_body("```toy\nprove a: 2 == 2\n```")))
        r = cli("bench", "--dataset", "local", "--data", str(data), "--model", "m", "--rounds", "2",
                "--base-url", server.base_url, "--api-key", "secret-key", "--price-per-mtok", "1",
                "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    assert len(server.requests) == 2 and server.requests[0]["model"] == "m"
    report = json.loads((out / "report.json").read_text())
    [t] = report["tasks"]
    assert (t["status"], t["rounds"], t["pass_rounds"], t["tokens"]) == ("passed", 2, [2], 36)
    assert t["cost_usd"] == pytest.approx(36e-6) and t["source"] == "model:m"
    assert report["datasets"]["local"]["pass_at_k"] == {"1": 1.0}
    assert report["datasets"]["local"]["success_by_round"] == {"2": 1}
    assert [a[4] for a in rows(out, "attempts")] == ["failed", "verified"]
    meta = dict(rows(out, "meta"))
    assert "api_key" not in meta["options"] and "secret-key" not in meta["options"]


@pytest.mark.dafny
@needs_data
def test_model_run_with_scripted_answers_on_a_real_dafny_task(tmp_path, monkeypatch, dafny_install):
    """Two samples on MBPP task_id_2: sample 0 fails then passes, sample 1 cheats twice; pass@1 = 0.5."""
    monkeypatch.setenv("QED_CACHE_DIR", str(tmp_path / "cache"))
    [task] = datasets.select(datasets.load("mbpp-dfy"), ids=["task_id_2"])
    good = f"```dafny\n{task.ground_truth}\n```"
    wrong = good.replace("res := res + [a[i]];", "res := res + [a[i], a[i]];")  # duplicates: fails
    cheat = good.replace("result := res;", "assume false;\n    result := res;")
    provider = ScriptedProvider({0: [wrong, good], 1: [cheat, cheat]})
    out = tmp_path / "run"
    summary = run(out, Selection(datasets=["mbpp-dfy"], tasks=["task_id_2"]),
                  RunOptions(mode="model", model="scripted", samples=2, rounds=2, session="cli"),
                  provider=lambda: provider)
    d = summary["datasets"]["mbpp-dfy"]
    assert d["passed"] == 1 and d["pass_at_k"] == {"1": 0.5, "2": 1.0}
    report = json.loads((out / "report.json").read_text())
    [t] = report["tasks"]
    assert (t["samples"], t["passed_samples"], t["pass_rounds"]) == (2, 1, [2])
    outcomes = sorted((a[2], a[3], a[4], a[5]) for a in rows(out, "attempts"))
    assert [o[:3] for o in outcomes] == [(0, 1, "failed"), (0, 2, "verified"), (1, 1, "rejected"), (1, 2, "rejected")]
    assert outcomes[2][3].startswith("QED-E1")
    assert report["scripted_answers"] == 4 and "scripted" in (out / "report.md").read_text()


# --- real Dafny oracle on a few tasks per Dafny dataset ---------------------------------------------------------


@pytest.mark.dafny
@needs_data
def test_oracle_on_real_dafny_tasks(tmp_path, monkeypatch, dafny_install):
    monkeypatch.setenv("QED_CACHE_DIR", str(tmp_path / "cache"))
    ids = ["703FinalProject_tmp_tmpr_10rn4z_DP-GD", "AssertivePrograming_tmp_tmpwf43uz0e_Find_Substring",
           "task_id_2", "task_id_747", "002-truncate", "DA0001"]
    out = tmp_path / "run"
    summary = run(out, Selection(datasets=["dafnybench", "mbpp-dfy", "humaneval-dafny", "vericoding"], tasks=ids),
                  RunOptions(mode="oracle", workers=2, timeout=300))
    assert summary["complete"]
    report = json.loads((out / "report.json").read_text())
    got = {t["id"]: t for t in report["tasks"]}
    # a DafnyBench program's own `assume` is the task's trusted assumption, listed, never the answer's violation
    dp = got["703FinalProject_tmp_tmpr_10rn4z_DP-GD"]
    assert dp["status"] == "passed" and any("given by the program" in a and "QED-E101" in a for a in dp["assumptions"])
    assert got["task_id_2"]["status"] == "passed" and got["002-truncate"]["status"] == "passed"
    for known in ("AssertivePrograming_tmp_tmpwf43uz0e_Find_Substring", "task_id_747", "DA0001"):
        assert got[known]["status"] == "defect" and got[known]["known_defect"] is True, got[known]
    assert sum(d["new_defects"] for d in summary["datasets"].values()) == 0


# --- Ray -----------------------------------------------------------------------------------------------------------


def test_ray_executor_on_a_local_ray_instance(tmp_path):
    """Ray 2.x has no `local_mode` any more: the test starts a Ray instance on this machine (two CPUs)."""
    ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'qedgen[ray]')")
    data = toy_tasks(tmp_path / "tasks", 3, broken=(2,))
    out = tmp_path / "run"
    try:
        summary = run(out, Selection(datasets=["local"], data=str(data)),
                      RunOptions(mode="oracle", workers=2, executor="ray"))
    finally:
        ray.shutdown()
    assert summary["datasets"]["local"]["passed"] == 2 and summary["datasets"]["local"]["new_defects"] == 1
    assert len(rows(out, "results")) == 3  # the driver alone wrote them


def test_per_task_wall_clock_limit(tmp_path):
    data = toy_tasks(tmp_path / "tasks", 2)
    answers = tmp_path / "answers"
    answers.mkdir()
    (answers / "t0.toy").write_text("sleep 30\nprove a: 1 == 1\n")
    (answers / "t1.toy").write_text("prove a: 1 == 1\n")
    out = tmp_path / "run"
    started = time.monotonic()
    r = cli("bench", "--dataset", "local", "--data", str(data), "--answers", str(answers), "--task-timeout", "2",
            "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    assert time.monotonic() - started < 20
    got = {t["id"]: t["status"] for t in json.loads((out / "report.json").read_text())["tasks"]}
    assert got == {"t0": "timeout", "t1": "passed"}


def test_model_mode_on_a_language_without_backend_asks_no_model(tmp_path):
    from tests.conftest import FIXTURES

    out = tmp_path / "run"
    r = cli("bench", "--dataset", "fstar", "--data", str(FIXTURES / "bench" / "fstar"), "--model", "m",
            "--base-url", "http://127.0.0.1:9/v1", "--api-key", "k", "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    assert {t["status"] for t in json.loads((out / "report.json").read_text())["tasks"]} == {"toolchain_absent"}


def test_live_progress_display_shows_counts_rate_and_workers():
    from io import StringIO

    from rich.console import Console

    from bench.outcome import TaskOutcome
    from bench.progress import Progress
    from bench.tasks import BenchTask
    from verifier.tasks import Mode

    buf = StringIO()
    p = Progress(2, console=Console(file=buf, force_terminal=True, width=100))
    t = BenchTask(dataset="d", id="x1", language="toy", mode=Mode.implement, description="x")
    p.start(total=3, done=[TaskOutcome(dataset="d", task_id="x0", status="passed", reason="verified")])
    p.started(1, t)
    assert p._render() is not None and p.current == {1: "d/x1"}
    p.finished(TaskOutcome(dataset="d", task_id="x1", status="failed", reason="assertion"))
    p.close()
    text = buf.getvalue()
    assert "2/3" in text and "pass rate 50.0%" in text and "worker 1" in text and "ETA" in text


def test_list_and_missing_dataset_and_missing_ray(tmp_path, monkeypatch):
    data = toy_tasks(tmp_path / "tasks", 2)
    r = cli("bench", "--dataset", "local", "--data", str(data), "--list")
    assert r.exit_code == 0 and r.output.splitlines() == ["local\tt0\timplement", "local\tt1\timplement"]
    r = cli("bench", "--oracle")
    assert r.exit_code == 2 and "no dataset given" in r.output
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    r = cli("bench", "--dataset", "local", "--data", str(data), "--oracle", "--executor", "ray", "--out",
            str(tmp_path / "run"))
    assert r.exit_code == 2 and "pip install 'qedgen[ray]'" in r.output
    assert not (tmp_path / "run").exists()  # nothing left behind
