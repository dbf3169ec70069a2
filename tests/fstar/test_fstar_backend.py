"""The F* backend against the fake `fstar.exe` (tests/fakes/fake_fstar.py): verdicts, the command line (safety
flags, Z3 passed explicitly), `qed verify FILE.fst` and `--spec M.fsti M.fst`, JSON, cache and exit codes, and
the misbehaving verifier (crash mid-output, hang, huge output, a report cut short)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fstar_support import make_fake_fstar

from backends.base import Capability, CheckRequest
from verifier.cli import main
from verifier.errors import BadInput, ToolchainError

REPO = Path(__file__).resolve().parents[2]
EX = REPO / "specs" / "examples"
CONTRACT = (EX / "Abs.fsti").read_text(encoding="utf-8")


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def check(backend, file, spec=None, **kw):
    return backend.check(CheckRequest(file=file, contract=spec, **kw))


def test_an_honest_implementation_verifies_against_its_interface(fstar_backend, tmp_path, monkeypatch):
    log = tmp_path / "argv.jsonl"
    monkeypatch.setenv("FAKE_FSTAR_LOG", str(log))
    cand = write(tmp_path, "s0-r1.fst", (EX / "Abs.fst").read_text())  # any file name: F* sees Abs.fst
    res = check(fstar_backend, cand, EX / "Abs.fsti")
    assert res.verdict == "verified", res
    assert res.toolchain.name == "fstar" and res.toolchain.solver == "z3 4.13.3"
    assert [m.name for m in res.members] == ["abs"] and res.members[0].outcome == "verified"
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    argv = next(a for a in runs if a[-1].endswith(".fst"))  # (the contract is also checked alone, as Abs.fsti)
    # the safety flags and the pinned solver are always on the command line
    for flag in (["--message_format", "json"], ["--report_assumes", "error"], ["--warn_error", "@296"],
                 ["--z3version", "4.13.3"]):
        i = argv.index(flag[0])
        assert argv[i + 1] == flag[1]
    assert argv[argv.index("--smt") + 1] == str(fstar_backend.install.z3_path)
    assert Path(argv[-1]).name == "Abs.fst"


def test_failures_carry_kinds_lines_and_the_users_file_name(fstar_backend, tmp_path):
    cand = write(tmp_path, "cand.fst", "module Abs\n\nlet abs x = x (* fake:post *)\n")
    res = check(fstar_backend, cand, EX / "Abs.fsti")
    assert res.verdict == "failed" and res.exit_code == 1
    [d] = [d for d in res.diagnostics if d.severity == "error"]
    assert d.kind == "postcondition" and d.line == 3 and d.file == str(cand) and d.error_id == "Error 19"
    assert res.members[0].outcome == "failed"


@pytest.mark.parametrize("marker,verdict", [("fake:parse", "error"), ("fake:unknown", "error"),
                                            ("fake:rlimit", "timeout"), ("fake:fail", "failed")])
def test_verdict_by_kind(fstar_backend, tmp_path, marker, verdict):
    cand = write(tmp_path, "cand.fst", f"module Abs\nlet abs x = if x < 0 then -x else x // {marker}\n")
    assert check(fstar_backend, cand, EX / "Abs.fsti").verdict == verdict


def test_escapes_are_rejected_even_when_f_star_accepts_them(fstar_backend):
    res = check(fstar_backend, EX / "AbsCheat.fst", EX / "Abs.fsti")
    assert res.verdict == "rejected" and res.exit_code == 0  # the fake, like F*, lets `assume val` pass
    assert [v.rule for v in res.integrity] == ["QED-F102"] and res.integrity[0].family == "escape"


def test_f_stars_own_escape_report_is_an_integrity_violation(fstar_backend, tmp_path):
    cand = write(tmp_path, "c.fst", "module Abs\nlet abs x = assert_norm True; if x < 0 then -x else x\n"
                                    "let lemma_x () : Lemma True = assert True by (tadmit ())\n")
    res = check(fstar_backend, cand, EX / "Abs.fsti")
    assert res.verdict == "rejected"
    assert {"QED-F101", "QED-F201"} <= {v.rule for v in res.integrity}


def test_a_contract_that_does_not_check_is_bad_input(fstar_backend, tmp_path):
    spec = write(tmp_path, "Bad.fsti", "module Abs\nval abs (x:int) : int (* fake:unknown *)\n")
    with pytest.raises(BadInput, match="does not check"):
        check(fstar_backend, EX / "Abs.fst", spec)
    with pytest.raises(BadInput, match="module"):
        check(fstar_backend, EX / "Abs.fst", write(tmp_path, "NoMod.fsti", "val abs : int -> int\n"))


def test_a_crash_mid_output_is_an_error_never_verified(fstar_backend, tmp_path):
    cand = write(tmp_path, "c.fst", "module Abs\nlet abs x = if x < 0 then -x else x (* fake:crash *)\n")
    res = check(fstar_backend, cand, EX / "Abs.fsti")
    assert res.verdict == "error" and res.verifier_crashed and res.exit_code in (-11, 139)


def test_exit_0_without_the_success_line_is_not_verified(fstar_backend, tmp_path):
    cand = write(tmp_path, "c.fst", "module Abs\nlet abs x = if x < 0 then -x else x (* fake:silent0 *)\n")
    res = check(fstar_backend, cand, EX / "Abs.fsti")
    assert res.verdict == "error" and res.exit_code == 0 and "cut short" in res.note


def test_a_hang_is_killed_at_the_timeout(fstar_backend, tmp_path):
    import time

    cand = write(tmp_path, "c.fst", "module Abs\nlet abs x = x (* fake:hang *)\n")
    t = time.monotonic()
    res = check(fstar_backend, cand, EX / "Abs.fsti", timeout=2)
    assert res.verdict == "timeout" and time.monotonic() - t < 15


def test_huge_output_is_read_whole(fstar_backend, tmp_path):
    cand = write(tmp_path, "c.fst", "module Abs\nlet abs x = if x < 0 then -x else x (* fake:huge *)\n")
    res = check(fstar_backend, cand, EX / "Abs.fsti")
    assert res.verdict == "verified" and len(res.diagnostics) == 20000


def test_unknown_fields_and_the_human_fallback(fstar_backend, tmp_path):
    for marker in ("fake:extra fake:fail", "fake:human fake:fail"):
        cand = write(tmp_path, "c.fst", f"module Abs\nlet abs x = x (* {marker} *)\n")
        res = check(fstar_backend, cand, EX / "Abs.fsti")
        assert res.verdict == "failed" and res.diagnostics[0].line == 2, marker


def test_results_are_cached_and_judged_again(fstar_backend, tmp_path, monkeypatch):
    log = tmp_path / "argv.jsonl"
    monkeypatch.setenv("FAKE_FSTAR_LOG", str(log))
    cand = write(tmp_path, "c.fst", (EX / "Abs.fst").read_text())
    first = check(fstar_backend, cand, EX / "Abs.fsti")
    second = check(fstar_backend, cand, EX / "Abs.fsti")
    assert (first.cached, second.cached, second.verdict) == (False, True, "verified")
    # one run of the candidate and one of the contract alone; the repeat runs nothing
    targets = sorted(Path(json.loads(line)[-1]).name for line in log.read_text().splitlines())
    assert targets == ["Abs.fst", "Abs.fsti"]
    # a crash is never cached
    crash = write(tmp_path, "d.fst", "module Abs\nlet abs x = x (* fake:crash *)\n")
    check(fstar_backend, crash, EX / "Abs.fsti")
    assert not check(fstar_backend, crash, EX / "Abs.fsti").cached


def test_a_command_line_f_star_refuses_is_a_toolchain_error(fstar_backend, monkeypatch):
    monkeypatch.setenv("FAKE_FSTAR_BADCLI", "1")
    with pytest.raises(ToolchainError, match="rejected the command line: error: unrecognized option"):
        check(fstar_backend, EX / "Abs.fst", EX / "Abs.fsti")


def test_an_interface_cannot_implement_a_contract(fstar_backend):
    with pytest.raises(BadInput, match="interface cannot implement"):
        check(fstar_backend, EX / "Abs.fsti", EX / "Abs.fsti")


def test_extra_options_that_weaken_checking_are_refused(fstar_backend, tmp_path):
    from backends.fstar.config import FStarOptions

    with pytest.raises(BadInput, match="admit_smt_queries"):
        check(fstar_backend, EX / "Abs.fst", EX / "Abs.fsti",
              options=FStarOptions(extra_args=("--admit_smt_queries", "true")))


def test_capabilities_are_honest(fstar_backend):
    assert fstar_backend.capabilities == {Capability.contract_check, Capability.sessions}
    assert fstar_backend.contract_problems(EX / "Abs.fsti") == []
    assert fstar_backend.contract_problems(EX / "SumTo.fsti") == []


def test_contract_problems_run_f_star_on_the_interface(fstar_backend, tmp_path):
    bad = write(tmp_path, "c.fst", "module M\nval f : int -> int (* fake:parse *)\n")
    assert any("Syntax error" in p for p in fstar_backend.contract_problems(bad))


# --- discovery and status ---------------------------------------------------------------------------------------


def test_discovery_order_and_env_vars(fake_fstar_exe, tmp_path):
    from toolchains.fstar import locate_fstar, search_fstar

    env = {"PATH": str(fake_fstar_exe.parent), "HOME": str(tmp_path), "QED_CACHE_DIR": str(tmp_path / "c")}
    assert locate_fstar(env).how == "PATH"
    found = locate_fstar(dict(env, QED_FSTAR=str(fake_fstar_exe), PATH="/nonexistent"))
    assert found.how == "QED_FSTAR" and found.z3_how == "bundled with F*"
    with pytest.raises(ToolchainError, match="QED_FSTAR=/nope does not exist"):
        locate_fstar(dict(env, QED_FSTAR="/nope"))
    # QED_FSTAR_Z3 must be the pinned version
    old = make_fake_fstar(tmp_path / "old", z3_version="4.8.5")
    z3 = old.parent.parent / "lib" / "fstar" / "z3-4.13.3" / "bin" / "z3"
    with pytest.raises(ToolchainError, match="Z3 4.8.5"):
        locate_fstar(dict(env, QED_FSTAR_Z3=str(z3)))
    none, problems = search_fstar(dict(env, QED_FSTAR=str(old)))
    assert none is None and "4.13.3" in str(problems[0])
    wrong = make_fake_fstar(tmp_path / "wrong", version="2024.01.13")
    with pytest.raises(ToolchainError, match="qed needs F\\* 2025.06.20"):
        locate_fstar(dict(env, QED_FSTAR=str(wrong)))


def test_toolchain_status_shows_f_star_and_its_z3(fake_fstar_exe, tmp_path):
    env = dict(os.environ, QED_FSTAR=str(fake_fstar_exe), QED_CACHE_DIR=str(tmp_path / "c"))
    r = subprocess.run([sys.executable, "-m", "verifier", "toolchain", "status", "--json"], env=env,
                       capture_output=True, text=True, timeout=60)
    row = next(t for t in json.loads(r.stdout)["toolchains"] if t["name"] == "fstar")
    assert row["ok"] and row["supported"] and row["version"] == "2025.06.20" and row["how"] == "QED_FSTAR"
    assert row["solver"]["version"] == "4.13.3" and row["solver"]["works"]
    r = subprocess.run([sys.executable, "-m", "verifier", "toolchain", "status"], env=env, capture_output=True,
                       text=True, timeout=60)
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("fstar "))
    assert "QED_FSTAR" in line and "z3 4.13.3 (works)" in line
    env["QED_FSTAR"] = str(tmp_path / "missing")
    r = subprocess.run([sys.executable, "-m", "verifier", "toolchain", "status", "--require", "fstar"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 3 and "QED_FSTAR=" in r.stdout


# --- qed verify -------------------------------------------------------------------------------------------------


def qed(*args, env=None):
    return subprocess.run([sys.executable, "-m", "verifier", *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=REPO)


def test_qed_verify_spec_json_and_exit_codes(fake_fstar_exe, tmp_path):
    env = dict(os.environ, QED_FSTAR=str(fake_fstar_exe), QED_CACHE_DIR=str(tmp_path / "c"))
    r = qed("verify", "--spec", "specs/examples/Abs.fsti", "specs/examples/Abs.fst", "--json", env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["results"][0]["verdict"] == "verified" and doc["results"][0]["toolchain"]["name"] == "fstar"
    r = qed("verify", "--spec", "specs/examples/Abs.fsti", "specs/examples/Abs.fst", "specs/examples/AbsCheat.fst",
            env=env)
    assert r.returncode == 1 and "[QED-F102]" in r.stdout and "1 verified, 1 rejected" in r.stdout
    r = qed("verify", "specs/examples/Abs.fst", env=env)  # without --spec: its own .fsti beside it is used
    assert r.returncode == 0 and "verified" in r.stdout and "cached" not in r.stdout
    r = qed("verify", "--spec", "specs/examples/Abs.fsti", str(tmp_path / "missing.fst"), env=env)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    crash = write(tmp_path, "Abs.fst", "module Abs\nlet abs x = x (* fake:crash *)\n")
    assert qed("verify", "--spec", "specs/examples/Abs.fsti", str(crash), env=env).returncode == 3
    r = qed("verify", "specs/examples/Abs.fst", env=dict(env, QED_FSTAR=str(tmp_path / "nope")))
    assert r.returncode == 3 and "QED_FSTAR" in r.stderr and "fix:" in r.stderr


def test_qed_verify_repeats_from_the_cache(fake_fstar_exe, tmp_path):
    env = dict(os.environ, QED_FSTAR=str(fake_fstar_exe), QED_CACHE_DIR=str(tmp_path / "c"))
    args = ("verify", "--spec", "specs/examples/Abs.fsti", "specs/examples/AbsCheat.fst", "--json")
    first, second = qed(*args, env=env), qed(*args, env=env)
    a, b = json.loads(first.stdout)["results"][0], json.loads(second.stdout)["results"][0]
    assert (a["cached"], b["cached"]) == (False, True) and a["verdict"] == b["verdict"] == "rejected"
    assert first.returncode == second.returncode == 1


def test_cli_runner_in_process(fake_fstar, tmp_path):
    r = CliRunner().invoke(main, ["verify", "--spec", str(EX / "SumTo.fsti"), str(EX / "SumTo.fst")])
    assert r.exit_code == 0 and "verified" in r.output


def test_every_f_star_example_task_is_usable(fstar_backend):
    from verifier.tasks import load_task

    tasks = {p.name: load_task(p) for p in sorted(EX.glob("fstar_*.yaml"))}
    assert {t.mode for t in tasks.values()} == {"implement", "from_description"} and len(tasks) == 3
    for name, task in tasks.items():
        assert task.language == "fstar"
        if task.spec is not None:
            assert fstar_backend.contract_problems(task.spec) == [], name


def test_a_contract_written_as_an_fst_file_is_used_as_the_interface(fstar_backend, tmp_path):
    spec = write(tmp_path, "abs_contract.fst", CONTRACT)
    assert check(fstar_backend, EX / "Abs.fst", spec).verdict == "verified"
    assert check(fstar_backend, EX / "AbsCheat.fst", spec).verdict == "rejected"


def test_an_escape_f_star_reports_in_the_contract_is_bad_input(fstar_backend, tmp_path):
    spec = write(tmp_path, "Abs.fsti", "module Abs\nlet helper (x:int) : int = admit ()\nval abs (x:int) : int\n")
    with pytest.raises(BadInput, match="report_assumes"):
        check(fstar_backend, EX / "Abs.fst", spec)


def test_errors_f_star_places_in_the_contract_are_the_candidates_when_the_contract_checks(fstar_backend, tmp_path):
    # F* reports a missing definition at the interface's `val`: the candidate's problem, not a bad contract
    cand = write(tmp_path, "c.fst", "module Abs\n\nlet other = 1\n")
    res = check(fstar_backend, cand, EX / "Abs.fsti")
    assert res.verdict == "error"
    [d] = [d for d in res.diagnostics if d.severity == "error"]
    assert d.file == str(EX / "Abs.fsti") and "Missing definitions" in d.message and d.line == 6


def test_no_snapshot_folder_is_left_behind(fstar_backend, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    cand = write(tmp_path, "c.fst", (EX / "Abs.fst").read_text())
    for _ in range(2):  # a run, then cache hits
        check(fstar_backend, cand, EX / "Abs.fsti")
    hang = write(tmp_path, "h.fst", "module Abs\nlet abs x = x (* fake:hang *)\n")
    check(fstar_backend, hang, EX / "Abs.fsti", timeout=1)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_file_checked_in_place_is_cached_with_its_neighbours(fstar_backend, tmp_path, monkeypatch):
    log = tmp_path / "argv.jsonl"
    monkeypatch.setenv("FAKE_FSTAR_LOG", str(log))
    d = tmp_path / "proj"
    d.mkdir()
    f = write(d, "Abs.fst", (EX / "Abs.fst").read_text())
    write(d, "Abs.fsti", CONTRACT)
    assert [check(fstar_backend, f).cached for _ in range(2)] == [False, True]
    write(d, "Abs.fsti", CONTRACT + "\nval extra : int\n")  # the interface beside it changed: checked again
    assert not check(fstar_backend, f).cached
    assert len(log.read_text().splitlines()) == 2
