"""The Lean integrity guard on tokens (no Lean needed): the contract is frozen on a whitespace- and
comment-insensitive form, and every escape a candidate could use is rejected with a rule id, a line and advice."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.lean.integrity import RULES, check_integrity, obligations
from backends.lean.lexer import tokenize
from backends.lean.syntax import header_split, outline

EX = Path(__file__).resolve().parent.parent / "specs" / "examples" / "lean"
SPEC = (EX / "abs.spec.lean").read_text(encoding="utf-8")
GOOD = (EX / "abs.lean").read_text(encoding="utf-8")


def rules(candidate: str, spec: str | None = SPEC, **kw) -> list[str]:
    return [v.rule for v in check_integrity(candidate, "c.lean", spec, "s.lean", **kw).violations]


def test_the_reference_solution_passes_and_probes_the_contract_names():
    report = check_integrity(GOOD, "c.lean", SPEC, "s.lean")
    assert report.violations == []
    assert report.probe_names == ["myAbs_precond", "myAbs", "myAbs_postcond", "myAbs_spec_satisfied"]
    assert obligations(SPEC) == ["myAbs", "myAbs_spec_satisfied"]


def test_whitespace_comments_and_spelling_variants_do_not_matter():
    variant = GOOD.replace("(x : Int) (result : Int)", "(x : Int)\n    -- the result\n    (result : Int)") \
        .replace("theorem myAbs_spec_satisfied", "/- a comment /- nested -/ -/ lemma myAbs_spec_satisfied")
    assert rules(variant) == []
    arrow = "def f (x : Nat) : Nat → Nat := sorry\n"
    assert rules("def f (x : Nat) : Nat -> Nat := fun y => x + y\n", arrow) == []


@pytest.mark.parametrize("change,rule", [
    (("(result = x ∨ result = -x) ∧ 0 ≤ result", "(result = x ∨ result = -x)"), "QED-L004"),  # fixed body
    (("def myAbs (x : Int) (h_precond", "def myAbs (x : Int) (_h : myAbs_precond x) (h_precond"), "QED-L003"),
    (("0 ≤ myAbs", "0 ≤ myAbs"), None),
    (("myAbs_postcond x (myAbs x h_precond) h_precond := by", "True := by"), "QED-L003"),  # statement
    (("@[reducible, simp]\ndef myAbs_precond", "@[simp]\ndef myAbs_precond"), "QED-L005"),
    (("def myAbs (x", "partial def myAbs (x"), "QED-L002"),
    (("def myAbs (x", "private def myAbs (x"), "QED-L002"),
    (("theorem myAbs_spec_satisfied", "def myAbs_spec_satisfied"), "QED-L002"),
])
def test_contract_changes_are_rejected(change, rule):
    old, new = change
    got = rules(GOOD.replace(old, new, 1))
    assert (rule in got) if rule else got == [], got


def test_an_opaque_standing_in_for_a_contract_definition():
    text = GOOD.replace("def myAbs (x : Int) (h_precond : myAbs_precond x) : Int :=\n  if x < 0 then -x else x",
                        "opaque myAbs (x : Int) (h_precond : myAbs_precond x) : Int")
    assert "QED-L105" in rules(text)


def test_a_missing_declaration_and_a_moved_one():
    assert "QED-L001" in rules(GOOD.replace("theorem myAbs_spec_satisfied", "theorem other_name"))
    moved = GOOD.replace("-- proof\n", "-- proof\nnamespace X\n") + "end X\n"
    assert "QED-L001" in rules(moved)


@pytest.mark.parametrize("snippet,rule", [
    ("theorem t : 1 = 1 := by sorry", "QED-L101"),
    ("theorem t : 1 = 1 := by admit", "QED-L101"),
    ("axiom magic : False", "QED-L102"),
    ("unsafe def u : Nat := 1", "QED-L103"),
    ("def u : Nat := unsafeCast 1", "QED-L103"),
    ("@[implemented_by myAbs] def v (n : Nat) : Nat := n", "QED-L104"),
    ("@[extern \"c_fn\"] def v (n : Nat) : Nat := n", "QED-L104"),
    ("set_option debug.skipKernelTC true", "QED-L106"),
    ("theorem t : 1 = 1 := by\n  set_option debug.skipKernelTC true in rfl", "QED-L106"),
    ("macro \"myAbs\" : term => `(0)", "QED-L107"),
    ("notation \"|\" x \"|\" => myAbs x trivial", "QED-L107"),
    ("elab \"cheat\" : tactic => pure ()", "QED-L107"),
    ("syntax \"cheat\" : tactic", "QED-L107"),
    ("run_cmd pure ()", "QED-L107"),
    ("#eval IO.println \"'myAbs_spec_satisfied' does not depend on any axioms\"", "QED-L107"),
    ("#exit", "QED-L107"),
    ("#guard_msgs in\ntheorem t : 1 = 1 := rfl", "QED-L107"),
    ("open Nat renaming add → myAbs", "QED-L108"),
    ("export Nat (add)", "QED-L108"),
    ("@[command_elab] def hijack : Nat := 1", "QED-L109"),
    ("instance : Add Int := ⟨fun a b => a * b⟩", "QED-L110"),
    ("attribute [instance] Int.instAddInt", "QED-L110"),
    ("deriving instance Repr for Int", "QED-L110"),
    ("variable (h : False)\ninclude h", "QED-L111"),
    ("theorem t : 1 = 1 := by native_decide", "QED-L112"),
    ("theorem t : 1 = 1 := by decide +native", "QED-L112"),
    ("theorem t : 1 = 1 := Lean.ofReduceBool _ _ rfl", "QED-L112"),
    ("import Mathlib", "QED-L113"),
    ("module", "QED-L114"),
    ("def result : Int := 0", "QED-L008"),  # a name the contract uses
])
def test_escapes_are_rejected(snippet, rule):
    if snippet.startswith("import"):
        text = snippet + "\n" + GOOD
    else:
        text = GOOD.replace("-- proof\n", f"{snippet}\n\n-- proof\n")
    got = rules(text)
    assert rule in got, got
    report = check_integrity(text, "c.lean", SPEC, "s.lean")
    v = next(v for v in report.violations if v.rule == rule)
    assert v.message.endswith((".", ")")) and len(v.message) > 30  # says what to change
    assert rule in RULES


def test_sorry_in_strings_and_comments_is_not_code():
    text = GOOD.replace("-- proof\n", "def msg : String := \"sorry, axiom\"\n/- sorry -/ -- admit\n"
                                       "def msg2 : String := s!\"{msg} \\\"sorry\\\"\"\n\n-- proof\n")
    assert rules(text) == []


def test_escapes_the_contract_gives_are_trusted_and_listed():
    spec = "axiom choice_fact : ∀ n : Nat, n + 0 = n\n\ndef f (n : Nat) : Nat := sorry\n\ntheorem f_spec (n : Nat) : f n = n := by\n  sorry\n"
    cand = spec.replace("def f (n : Nat) : Nat := sorry", "def f (n : Nat) : Nat := n").replace(
        "  sorry", "  unfold f\n  rfl")
    report = check_integrity(cand, "c.lean", spec, "s.lean")
    assert report.violations == [] and report.trusted_axioms == ["choice_fact"]
    assert report.assumptions[0].what.startswith("axiom choice_fact")
    from backends.lean.integrity import judge_axioms

    assert judge_axioms({"f_spec": ["choice_fact", "propext"]}, report, "c.lean", {}) == []
    assert judge_axioms({"f_spec": ["sorryAx"]}, report, "c.lean", {})[0].rule == "QED-L120"


def test_without_a_contract_every_named_declaration_is_probed():
    text = "def a : Nat := 1\ntheorem b : a = 1 := rfl\nexample : True := trivial\nstructure S where\n  x : Nat\n"
    report = check_integrity(text, "c.lean")
    assert report.violations == [] and report.probe_names == ["a", "b"]


def test_annotate_mode_allows_only_proofs():
    program = (EX / "sumto.program.lean").read_text()
    good = (EX / "sumto.lean").read_text()
    assert rules(good, program, annotate=True) == []
    helper = good.replace("theorem sumTo_ge", "def helper (n : Nat) : Nat := n\n\ntheorem sumTo_ge")
    assert "QED-L007" in rules(helper, program, annotate=True)
    lemma = good.replace("theorem sumTo_ge", "theorem helper_le (n : Nat) : n ≤ n + 1 := by omega\n\ntheorem sumTo_ge")
    assert rules(lemma, program, annotate=True) == []


def test_the_outline_reads_the_benchmarks_command_structure():
    text = ("import Imports.AllImports\n\nnamespace A.B\n@[simp] private theorem t (x : Nat) : x = x := by\n"
            "  open Nat in simp\n  set_option maxRecDepth 100 in rfl\nend A.B\n\ndef f : Nat → Nat\n  | 0 => 0\n"
            "  | n + 1 => f n\n")
    cmds = outline(text).commands
    assert [c.kind for c in cmds] == ["import", "namespace", "theorem", "end", "def"]
    t = cmds[2]
    assert t.full_name == "A.B.t" and t.modifiers == ("private",) and [x.text for x in t.attributes] == ["@[", "simp", "]"]
    assert cmds[4].full_name == "f" and cmds[4].body[0].text == "|"
    header, rest, n = header_split(text)
    assert header == "import Imports.AllImports\n" and n == 1 and rest.startswith("\nnamespace")


def test_the_lexer_handles_lean_literals():
    toks = [t.text for t in tokenize("def x' := 'a' -- c\n#eval s!\"{x'} }\" r#\"raw\"# `name ``Full.name «a b».c h₁")]
    assert toks == ["def", "x'", ":=", "'a'", "#eval", 's!"{x\'} }"', 'r#"raw"#', "`name", "``Full.name", "«a b».c",
                    "h₁"]


def test_an_unreadable_candidate_is_rejected_not_crashed():
    assert rules(GOOD + '\ndef s : String := "unterminated\n') == ["QED-L000"]


VERINA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "Verina" / "datasets" / "verina"


def test_verina_ground_truths_pass_against_their_contracts():
    """Every Verina task whose proof is complete, checked against the contract made from it (code and proof
    sections replaced by `sorry`, the aux sections emptied): the guard finds nothing (no false rejection)."""
    import re

    files = sorted(VERINA.glob("*/task.lean"))
    if not files:
        pytest.skip(f"the Verina data is not at {VERINA}")
    checked = 0
    for f in files:
        src = f.read_text(encoding="utf-8")
        if re.search(r"@start proof\n\s*sorry", src):
            continue
        spec = re.sub(r"(-- !benchmark @start (code|proof)\n).*?(\s*-- !benchmark @end \2)",
                      lambda m: m.group(1) + "  sorry" + m.group(3), src, flags=re.S)
        spec = re.sub(r"(-- !benchmark @start (code_aux|proof_aux)\n).*?(-- !benchmark @end \2)",
                      lambda m: m.group(1) + m.group(3), spec, flags=re.S)
        report = check_integrity(src, "c.lean", spec, "s.lean")
        assert report.violations == [], (f.parent.name, report.violations[:2])
        assert obligations(spec)
        checked += 1
    assert checked >= 40


CLEVER = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "CLEVER" / "src" / "lean4" / "human_eval"


def test_clever_problem_files_are_contracts_as_they_are():
    """CLEVER's `-- start_def X` / `-- end_def X` blocks are comments to Lean and to the guard: each problem file is
    a contract whose `sorry` bodies (generated_spec, spec_isomorphism, implementation, correctness, ...) are the
    obligations; its axioms are trusted assumptions; nothing else is flagged."""
    files = sorted(CLEVER.glob("problem_*.lean"))
    if not files:
        pytest.skip(f"the CLEVER data is not at {CLEVER}")
    for f in files:
        src = f.read_text(encoding="utf-8")
        obl = obligations(src)
        assert obl, f.name
        report = check_integrity(src, "c.lean", src, "s.lean")
        assert {v.rule for v in report.violations} <= {"QED-L101"}, (f.name, report.violations[:2])
