"""`qed verify` from the command line: exit codes, JSON document, human output, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from backends.base import CheckRequest
from tests.conftest import check
from verifier.cli import main
from verifier.schema import SCHEMA_FILE, report_schema

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"


def qed(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def test_published_schema_is_current():
    assert json.loads(SCHEMA_FILE.read_text()) == report_schema(), "run: python -m verifier.schema"


def test_missing_file_is_bad_input(cache_dir):
    code, out, err = qed("verify", "nope.dfy")
    assert code == 2 and "nope.dfy does not exist" in err and "fix:" in err


def test_no_files_is_bad_input():
    code, _, err = qed("verify")
    assert code == 2 and "no file to verify" in err


def test_unknown_suffix_is_bad_input(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("print(1)")
    code, _, err = qed("verify", str(f))
    assert code == 2 and "no verifier backend" in err


def test_bad_option_is_exit_2():
    code, _, err = qed("verify", "--timeout", "-3", "x.dfy")
    assert code == 2


def test_missing_toolchain_is_exit_3(tmp_path, monkeypatch, cache_dir):
    monkeypatch.setenv("QED_DAFNY", str(tmp_path / "no-dafny-here"))
    code, _, err = qed("verify", str(EXAMPLES / "abs.dfy"))
    assert code == 3 and "QED_DAFNY" in err and "fix:" in err and len(err.strip().splitlines()) == 1


@pytest.mark.dafny
def test_verified_file_exits_0(dafny_install, cache_dir):
    code, out, _ = qed("verify", str(EXAMPLES / "abs.dfy"))
    assert code == 0, out
    assert "abs.dfy: verified" in out and "1 file: 1 verified" in out


@pytest.mark.dafny
def test_spec_with_honest_and_cheating_candidates(dafny_install, cache_dir):
    spec = str(EXAMPLES / "abs.spec.dfy")
    code, out, _ = qed("verify", "--spec", spec, str(EXAMPLES / "abs.dfy"))
    assert code == 0, out
    code, out, _ = qed("verify", "--json", "--spec", spec, str(EXAMPLES / "abs_cheat.dfy"))
    assert code == 1
    doc = json.loads(out)
    [r] = doc["results"]
    assert r["verdict"] == "rejected" and r["exit_code"] == 0  # Dafny alone would have said yes
    assert any(v["line"] == 9 for v in r["integrity"])


@pytest.mark.dafny
def test_json_document_shape(dafny_install, cache_dir):
    code, out, _ = qed("verify", "--json", str(EXAMPLES / "sum.dfy"), str(EXAMPLES / "abs.dfy"))
    assert code == 1
    doc = json.loads(out)
    assert set(doc) == {"schema_version", "results", "summary"}
    failed, ok = doc["results"]
    assert failed["verdict"] == "failed" and ok["verdict"] == "verified"
    for key in ("file", "verdict", "diagnostics", "integrity", "members", "duration_s", "toolchain"):
        assert key in failed
    d = next(d for d in failed["diagnostics"] if d["kind"] == "postcondition")
    for key in ("severity", "kind", "message", "file", "line", "column", "end_line", "end_column", "member",
                "related"):
        assert key in d
    assert d["member"] == "SumTo" and d["line"] >= 1 and d["column"] >= 1
    assert doc["summary"]["files"] == 2 and doc["summary"]["verified"] == 1 and doc["summary"]["failed"] == 1


@pytest.mark.dafny
def test_human_output_shows_source_lines(dafny_install, cache_dir):
    code, out, _ = qed("verify", str(EXAMPLES / "sum.dfy"))
    assert code == 1
    assert "[postcondition] in SumTo" in out
    assert "   4 | {" in out  # the source line of the failing return path
    assert "sum.dfy:3:13: related: this is the postcondition that could not be proved" in out
    assert out.strip().splitlines()[-1].startswith("1 file: 0 verified, 1 failed")


@pytest.mark.dafny
def test_console_script_end_to_end(dafny_install, cache_dir, tmp_path):
    """The installed `qed` entry point, as a user runs it."""
    exe = Path(sys.executable).with_name("qed")
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "verifier"]
    p = subprocess.run([*argv, "verify", "--json", str(EXAMPLES / "abs.dfy")], capture_output=True, text=True,
                       timeout=300, env=dict(os.environ))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["summary"]["verified"] == 1


@pytest.mark.dafny
def test_audit_second_opinion_is_deduplicated(dafny_install, cache_dir):
    """With --spec, `dafny audit` also runs; a finding the guard already reported is not repeated."""
    code, out, _ = qed("verify", "--json", "--spec", str(EXAMPLES / "abs.spec.dfy"), str(EXAMPLES / "abs_cheat.dfy"))
    [r] = json.loads(out)["results"]
    assert [v["rule"] for v in r["integrity"]] == ["QED-E101"]


def test_schema_command_prints_the_schema():
    code, out, _ = qed("schema")
    assert code == 0 and json.loads(out)["title"] == "VerifyReport"


def _fake_backend(tmp_path, body: str):
    """A Dafny backend whose `dafny` is a shell script running `body` (to play crashes and odd exits)."""
    from backends.dafny import PLUGIN
    from toolchains.discovery import DafnyInstall

    exe = tmp_path / "fake-dafny"
    exe.write_text("#!/bin/sh\n" + body)
    exe.chmod(0o755)
    install = DafnyInstall(path=exe, version="4.11.0", full_version="4.11.0+fake", how="test", solver_path=None,
                           solver_version="4.12.1", solver_how="test")
    return PLUGIN.create(PLUGIN.config(toolchain=install, use_cache=False))


def test_verifier_crash_is_exit_3(tmp_path, cache_dir):
    """A verifier that dies on an input is a toolchain problem (exit 3), never a verdict about the proof."""
    from verifier.models import VerifyReport, VerifySummary
    from verifier.verify import exit_code

    backend = _fake_backend(tmp_path, 'echo "Encountered internal compilation exception: Boogie program had 4 '
                                      'resolution errors"\nkill -SEGV $$\n')
    r = check(backend, EXAMPLES / "abs.dfy")
    assert r.verdict == "error" and r.verifier_crashed and "crashed" in r.note
    assert exit_code(VerifyReport(results=[r], summary=VerifySummary.of([r], 0))) == 3


def test_unexplained_exit_status_is_never_verified(tmp_path, cache_dir):
    """Exit 4 with no diagnostics (output the parser does not know) must not pass as success."""
    r = _fake_backend(tmp_path, 'echo "something new"\nexit 4\n').check(CheckRequest(file=EXAMPLES / "abs.dfy"))
    assert r.verdict == "error" and "exited with status 4" in r.note


def test_silent_success_is_never_verified(tmp_path, cache_dir):
    """Exit 0 without Dafny's own 'finished ... 0 errors' summary is not evidence of a proof."""
    r = _fake_backend(tmp_path, "exit 0\n").check(CheckRequest(file=EXAMPLES / "abs.dfy"))
    assert r.verdict == "error" and "never said it finished" in r.note


def test_empty_folder_is_bad_input(tmp_path):
    code, _, err = qed("verify", str(tmp_path))
    assert code == 2 and "holds no .dfy" in err


@pytest.mark.dafny
def test_folder_expands_to_its_dafny_files(dafny_install, cache_dir, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.dfy").write_text((EXAMPLES / "abs.dfy").read_text())
    (tmp_path / "b.dfy").write_text((EXAMPLES / "sum.dfy").read_text())
    (tmp_path / "notes.txt").write_text("not Dafny")
    code, out, _ = qed("verify", "--json", str(tmp_path))
    doc = json.loads(out)
    assert code == 1 and [Path(r["file"]).name for r in doc["results"]] == ["b.dfy", "a.dfy"]


TRUSTING_SPEC = """function Square(x: int): int { x * x }
lemma {:axiom} SquareNonNeg(x: int) ensures Square(x) >= 0
method Given(x: int) returns (r: int) ensures r == x { assume {:axiom} false; }
method Use(x: int) returns (y: int)
  ensures y >= 0
"""
TRUSTING_IMPL = TRUSTING_SPEC.rstrip("\n") + "\n{\n  SquareNonNeg(x);\n  y := Square(x);\n}\n"


@pytest.mark.dafny
def test_contract_assumptions_are_listed_not_blamed(dafny_install, cache_dir, write):
    spec = write("spec.dfy", TRUSTING_SPEC)
    code, out, _ = qed("verify", "--json", "--spec", str(spec), str(write("impl.dfy", TRUSTING_IMPL)))
    [r] = json.loads(out)["results"]
    assert code == 0 and r["verdict"] == "verified" and r["integrity"] == []
    assert {a["line"] for a in r["assumptions"]} == {2, 3} and all(a["file"] == str(spec) for a in r["assumptions"])
    code, out, _ = qed("verify", "--spec", str(spec), str(write("impl.dfy", TRUSTING_IMPL)))
    assert "trusted from the contract" in out
    # The same escape written by the candidate is its own: rejected.
    cheat = TRUSTING_IMPL.replace("  SquareNonNeg(x);\n", "  assume {:axiom} Square(x) >= 0;\n")
    code, out, _ = qed("verify", "--json", "--spec", str(spec), str(write("cheat.dfy", cheat)))
    [r] = json.loads(out)["results"]
    assert code == 1 and r["verdict"] == "rejected"
    assert {v["rule"] for v in r["integrity"]} >= {"QED-E101"}


@pytest.mark.dafny
def test_member_option_scopes_the_verdict(dafny_install, cache_dir, write):
    f = write("two.dfy", (EXAMPLES / "abs.dfy").read_text() + (EXAMPLES / "sum.dfy").read_text())
    code, out, _ = qed("verify", "--member", "Abs", str(f))
    assert code == 0 and "only Abs" in out
    code, out, _ = qed("verify", "--json", "--member", "SumTo", str(f))
    [r] = json.loads(out)["results"]
    assert code == 1 and r["scope"] == ["SumTo"] and r["verdict"] == "failed"


HONEST_PAIRS = Path(__file__).resolve().parent / "fixtures" / "dafny" / "honest"


@pytest.mark.dafny
def test_contract_trait_with_implementing_class_exits_0(dafny_install, cache_dir):
    """A class implementing the spec's trait: no name reuse is blamed (E010), nor the trait's own audit
    findings (A001)."""
    code, out, _ = qed("verify", "--json", "--spec", str(HONEST_PAIRS / "trait_class.spec.dfy"),
                       str(HONEST_PAIRS / "trait_class.dfy"))
    [r] = json.loads(out)["results"]
    assert code == 0 and r["verdict"] == "verified" and r["integrity"] == []


@pytest.mark.dafny
def test_incomplete_contract_is_bad_input_naming_the_names(dafny_install, cache_dir, tmp_path):
    spec = tmp_path / "task.spec.dfy"
    spec.write_text("method Solve(s: seq<int>) returns (r: int)\n  ensures r == Helper(s)\n")
    cand = tmp_path / "solution.dfy"
    cand.write_text("function Helper(s: seq<int>): int { 0 }\nmethod Solve(s: seq<int>) returns (r: int)\n"
                    "  ensures r == Helper(s)\n{ r := 0; }\n")
    code, _, err = qed("verify", "--spec", str(spec), str(cand))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "does not stand alone" in err and "`Helper` (line 2)" in err and "incomplete" in err and "fix:" in err
