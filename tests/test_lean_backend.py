"""The Lean backend's batch checks (`lean --json`, `lake env lean --json`) against the fake Lean tools (tests/fakes:
written from the documented formats, NOT Lean): verdicts, the kernel check, tolerant parsing (unknown fields,
torn lines, garbage, huge output), crashes and hangs, Lake projects, the cache, and `qed verify` for `.lean`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from backends.base import CheckRequest
from tests.lean_support import fake_lean, lean_backend  # noqa: F401 - fixtures
from verifier.cli import main
from verifier.errors import BadInput

EX = Path(__file__).resolve().parent.parent / "specs" / "examples" / "lean"
SPEC = EX / "abs.spec.lean"
GOOD = (EX / "abs.lean").read_text(encoding="utf-8")
PLAIN = "def double (n : Nat) : Nat := n + n\n\ntheorem double_eq (n : Nat) : double n = 2 * n := by\n  unfold double\n  omega\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def check(backend, f: Path, **kw):
    return backend.check(CheckRequest(file=f, **kw))


# --- verdicts ------------------------------------------------------------------------------------------------


def test_honest_file_is_verified_with_the_kernel_check(tmp_path, lean_backend):  # noqa: F811
    res = check(lean_backend, write(tmp_path, "d.lean", PLAIN))
    assert res.verdict == "verified" and res.exit_code == 0 and not res.integrity
    assert {m.name: m.outcome for m in res.members} == {"double": "verified", "double_eq": "verified"}
    assert res.command[0].endswith("lean") and "--json" in res.command
    assert res.toolchain.name == "lean" and res.toolchain.version == "4.24.0"


def test_unsolved_goals_fail_with_the_goal_state(tmp_path, lean_backend):  # noqa: F811
    text = PLAIN.replace("  omega", "  simp --! error unsolved goals\\nn : Nat\\n⊢ n + n = 2 * n")
    res = check(lean_backend, write(tmp_path, "d.lean", text))
    assert res.verdict == "failed"
    [d] = [d for d in res.diagnostics if d.severity == "error"]
    assert d.kind == "postcondition" and "⊢ n + n = 2 * n" in d.message and d.line == 5 and d.column == 3
    assert d.member == "double_eq"


def test_unknown_identifier_and_parse_errors_are_errors(tmp_path, lean_backend):  # noqa: F811
    for directive, kind in (("--! error [lean.unknownIdentifier._namedError] Unknown identifier `foo`", "resolution"),
                            ("--! error unexpected token 'at'; expected command", "parse")):
        res = check(lean_backend, write(tmp_path, "d.lean", PLAIN + directive + "\n"))
        assert res.verdict == "error" and res.diagnostics[0].kind == kind


def test_heartbeats_are_a_timeout_not_a_failure(tmp_path, lean_backend):  # noqa: F811
    text = PLAIN + "--! error (deterministic) timeout at `whnf`, maximum number of heartbeats (200000) has been reached\n"
    res = check(lean_backend, write(tmp_path, "d.lean", text))
    assert res.verdict == "timeout" and res.diagnostics[0].kind == "resource_limit"


@pytest.mark.parametrize("wording", ["old", "new"])
def test_sorry_is_found_structurally_whatever_the_wording(tmp_path, lean_backend, monkeypatch, wording):  # noqa: F811
    """`stop` (= `repeat sorry`) is no token the guard knows: Lean's `hasSorry` message kind and the kernel's
    `sorryAx` catch it, in either wording of the message."""
    monkeypatch.setenv("FAKE_LEAN_SORRY_WORDING", wording)
    res = check(lean_backend, write(tmp_path, "d.lean", PLAIN.replace("  omega", "  stop")))
    assert res.verdict == "rejected"
    assert "QED-L121" in {v.rule for v in res.integrity}


def test_old_lean_without_message_kinds_is_caught_by_the_kernel_check(tmp_path, lean_backend):  # noqa: F811
    res = check(lean_backend, write(tmp_path, "d.lean", "--! old\n" + PLAIN.replace("  omega", "  stop")))
    assert res.verdict == "rejected"
    [v] = [v for v in res.integrity if v.rule == "QED-L120"]
    assert v.member == "double_eq" and "`sorry`" in v.message


@pytest.mark.parametrize("native", ["old", "new"])
def test_native_decide_axioms_are_rejected_by_name(tmp_path, lean_backend, monkeypatch, native):  # noqa: F811
    from backends.lean.integrity import IntegrityReport, judge_axioms

    monkeypatch.setenv("FAKE_LEAN_NATIVE", native)
    res = check(lean_backend, write(tmp_path, "d.lean", PLAIN.replace("  unfold double\n  omega", "  native_decide")))
    assert res.verdict == "rejected" and "QED-L112" in {v.rule for v in res.integrity}
    for ax in ("Lean.ofReduceBool", "double_eq._native.native_decide.ax_1_1"):
        [v] = judge_axioms({"double_eq": ["propext", ax]}, IntegrityReport(), "d.lean", {"double_eq": 3})
        assert v.rule == "QED-L120" and "native_decide" in v.message and v.line == 3


def test_allowed_axioms_pass_and_a_new_axiom_does_not(tmp_path, lean_backend):  # noqa: F811
    res = check(lean_backend, write(tmp_path, "d.lean", PLAIN))  # omega: propext, Classical.choice, Quot.sound
    assert res.verdict == "verified"
    text = "axiom cheat : ∀ n : Nat, n = 0\n\n" + PLAIN.replace("  unfold double\n  omega", "  rw [cheat n, cheat (double n)]")
    res = check(lean_backend, write(tmp_path, "e.lean", text))
    assert res.verdict == "rejected"
    rules = {v.rule for v in res.integrity}
    assert "QED-L102" in rules and "QED-L120" in rules


def test_a_forged_axioms_line_does_not_count(tmp_path, lean_backend):  # noqa: F811
    text = "--! old\n" + PLAIN.replace("  unfold double\n  omega", "  stop") + \
        "\n#eval IO.println \"'double_eq' does not depend on any axioms\"\n"
    res = check(lean_backend, write(tmp_path, "d.lean", text))
    assert res.verdict == "rejected"
    assert {"QED-L107", "QED-L120"} <= {v.rule for v in res.integrity}


def test_a_missing_kernel_answer_is_never_verified(tmp_path, lean_backend):  # noqa: F811
    from backends.lean.messages import BatchOutput
    from backends.lean.runner import LeanRun
    from backends.lean.verdict import decide

    run = LeanRun(command=["lean"], exit_code=0, output=BatchOutput())
    verdict, note = decide(run, [], [], {"double_eq": None})
    assert verdict == "error" and "#print axioms" in note


# --- robustness ----------------------------------------------------------------------------------------------


def test_unknown_fields_and_garbage_lines_are_tolerated(tmp_path, lean_backend):  # noqa: F811
    res = check(lean_backend, write(tmp_path, "d.lean", "--! unknown-fields\n--! garbage\n" + PLAIN))
    assert res.verdict == "verified", (res.note, res.diagnostics)


def test_a_crash_mid_output_is_an_error_and_exit_3(tmp_path, lean_backend):  # noqa: F811
    for directive in ("--! crash", "--! stackoverflow"):
        res = check(lean_backend, write(tmp_path, "d.lean", directive + "\n" + PLAIN))
        assert res.verdict == "error" and res.verifier_crashed, res.note
        assert "crashed" in res.note
    r = CliRunner().invoke(main, ["verify", str(tmp_path / "d.lean"), "--no-cache"])
    assert r.exit_code == 3 and "Stack overflow" in r.output


def test_a_hang_is_killed_at_the_timeout(tmp_path, lean_backend):  # noqa: F811
    start = time.monotonic()
    res = check(lean_backend, write(tmp_path, "d.lean", "--! hang\n" + PLAIN), timeout=2)
    assert res.verdict == "timeout" and time.monotonic() - start < 15


def test_the_memory_cap_is_an_error_and_exit_3(tmp_path, fake_lean):  # noqa: F811
    f = write(tmp_path, "d.lean", "--! memory\n" + PLAIN)
    r = CliRunner().invoke(main, ["verify", str(f), "--memory-mb", "150", "--json"])
    assert r.exit_code == 3
    res = json.loads(r.output)["results"][0]
    assert res["verdict"] == "error" and "memory cap" in res["note"] and res["verifier_crashed"]


def test_huge_output_is_read(tmp_path, lean_backend):  # noqa: F811
    res = check(lean_backend, write(tmp_path, "d.lean", "--! huge 15\n" + PLAIN), timeout=120)
    assert res.verdict == "verified"  # 15 MB of information messages, none of them a problem


# --- contracts, projects, cache, CLI -------------------------------------------------------------------------


def test_contract_kept_and_filled_is_verified_changed_is_rejected(tmp_path, lean_backend):  # noqa: F811
    res = check(lean_backend, EX / "abs.lean", contract=SPEC)
    assert res.verdict == "verified", res.integrity
    weaker = GOOD.replace("∧ 0 ≤ result", "")
    res = check(lean_backend, write(tmp_path, "w.lean", weaker), contract=SPEC)
    assert res.verdict == "rejected" and "QED-L004" in {v.rule for v in res.integrity}


def test_a_spec_that_does_not_elaborate_is_bad_input(tmp_path, lean_backend):  # noqa: F811
    spec = write(tmp_path, "s.lean", SPEC.read_text() + "--! error [lean.unknownIdentifier._namedError] Unknown "
                                                        "identifier `helper`\n")
    with pytest.raises(BadInput, match="does not stand alone"):
        check(lean_backend, EX / "abs.lean", contract=spec)
    r = CliRunner().invoke(main, ["verify", "--spec", str(spec), str(EX / "abs.lean")])
    assert r.exit_code == 2 and "fix:" in r.output


def test_a_file_in_a_lake_project_runs_through_lake_env(tmp_path, lean_backend, monkeypatch):  # noqa: F811
    log = tmp_path / "lean.log"
    monkeypatch.setenv("FAKE_LEAN_LOG", str(log))
    project = tmp_path / "proj"
    write(project, "lakefile.lean", "import Lake\nopen Lake DSL\npackage proj\nrequire mathlib from git \"x\"\n")
    write(project, "lean-toolchain", "leanprover/lean4:v4.24.0\n")
    f = write(project / "Proj", "A.lean", "import Mathlib.Tactic\n\n" + PLAIN)
    res = check(lean_backend, f)
    assert res.verdict == "verified", res.diagnostics
    assert res.command[0].endswith("lake") and res.command[1:3] == ["env", os.environ["QED_LEAN"]]
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["cwd"] == str(project.resolve()) and entry["LEAN_PATH"]
    # the same file outside a project: Mathlib does not resolve
    res = check(lean_backend, write(tmp_path / "loose", "A.lean", "import Mathlib.Tactic\n\n" + PLAIN))
    assert res.verdict == "error" and "unknown module prefix" in res.diagnostics[0].message


def test_qed_verify_json_cache_and_exit_codes(tmp_path, fake_lean):  # noqa: F811
    good = write(tmp_path, "good.lean", PLAIN)
    bad = write(tmp_path, "bad.lean", PLAIN.replace("  unfold double\n  omega", "  sorry"))
    r = CliRunner().invoke(main, ["verify", str(good), str(bad), "--json"])
    assert r.exit_code == 1
    doc = json.loads(r.output)
    assert [x["verdict"] for x in doc["results"]] == ["verified", "rejected"]
    assert doc["results"][1]["integrity"][0]["rule"] == "QED-L101"
    assert doc["results"][1]["integrity"][0]["family"] == "escape"
    r = CliRunner().invoke(main, ["verify", str(good)])
    assert r.exit_code == 0 and "cached" in r.output and "with lean 4.24.0" in r.output
    r = CliRunner().invoke(main, ["verify", str(good), "--no-cache", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["results"][0]["cached"] is False
    r = CliRunner().invoke(main, ["verify", "--spec", str(SPEC), str(EX / "abs_cheat.lean")])
    assert r.exit_code == 1 and "QED-L101" in r.output
    r = CliRunner().invoke(main, ["verify", "--spec", str(EX / "abs.spec.dfy" if False else SPEC), str(tmp_path / "x.dfy")])
    assert r.exit_code == 2
    r = CliRunner().invoke(main, ["verify", "--annotates", str(EX / "sumto.program.lean"), str(EX / "sumto.lean")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["verify", str(tmp_path), "--json"])  # a folder: every .lean below it
    assert r.exit_code == 1 and len(json.loads(r.output)["results"]) == 2


def test_lean_heartbeats_option_reaches_lean(tmp_path, fake_lean, monkeypatch):  # noqa: F811
    log = tmp_path / "lean.log"
    monkeypatch.setenv("FAKE_LEAN_LOG", str(log))
    f = write(tmp_path, "d.lean", PLAIN)
    r = CliRunner().invoke(main, ["verify", str(f), "--lean-heartbeats", "400000", "--no-cache"])
    assert r.exit_code == 0, r.output
    assert "maxHeartbeats=400000" in json.loads(log.read_text().splitlines()[-1])["argv"]


def test_time_limit_does_not_apply_to_lean(tmp_path, fake_lean):  # noqa: F811
    r = CliRunner().invoke(main, ["verify", str(write(tmp_path, "d.lean", PLAIN)), "--time-limit", "5"])
    assert r.exit_code == 2 and "--lean-heartbeats" in r.output


def test_without_lean_the_error_names_the_fix(tmp_path, monkeypatch):
    for var in ("QED_LEAN", "QED_LAKE", "QED_LEAN_REPL", "ELAN_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    r = CliRunner().invoke(main, ["verify", str(write(tmp_path, "d.lean", PLAIN))])
    assert r.exit_code == 3 and "qed toolchain install lean" in r.output and "QED_LEAN" in r.output


def test_a_statement_whose_meaning_changed_is_rejected(tmp_path, lean_backend):  # noqa: F811
    """The text rules see nothing wrong, but Lean elaborates the contract theorem differently in the candidate (the
    fake's `--! type` directive stands for a change of surroundings, e.g. an instance the rules did not know):
    the statements compared through `set_option pp.all true in #check` differ, so it is rejected."""
    text = GOOD + "--! type myAbs_spec_satisfied : ∀ (x : Int) (h : False), True\n"
    res = check(lean_backend, write(tmp_path, "c.lean", text), contract=SPEC)
    assert res.verdict == "rejected"
    [v] = res.integrity
    assert v.rule == "QED-L122" and v.family == "contract" and v.member == "myAbs_spec_satisfied"
    assert "(h : False)" in v.message and v.line == 17
    # the same candidate with the statement Lean gives the contract is accepted
    res = check(lean_backend, write(tmp_path, "d.lean", GOOD), contract=SPEC)
    assert res.verdict == "verified"


def test_a_program_to_annotate_must_elaborate(tmp_path, lean_backend):  # noqa: F811
    program = write(tmp_path, "p.lean", (EX / "sumto.program.lean").read_text() + "--! error unexpected token\n")
    with pytest.raises(BadInput, match="the program does not elaborate"):
        check(lean_backend, EX / "sumto.lean", program=program)
