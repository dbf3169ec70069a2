"""The annotate guard (`backends/dafny/annotate.py`): candidate = given program + proof hints, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.dafny.annotate import RULES_ANNOTATE, check_annotation
from backends.dafny.integrity import check_integrity
from tests.conftest import check
from verifier.errors import BadInput

REPO = Path(__file__).resolve().parent.parent
FIX = Path(__file__).parent / "fixtures" / "annotate"

SUM = """method SumTo(n: nat) returns (s: nat)
  ensures s == n * (n + 1) / 2
{
  s := 0;
  var i := 0;
  while i < n
  {
    i := i + 1;
    s := s + i;
  }
}
"""

ARR = """method Fill(a: array<int>, v: int)
  modifies a
  ensures forall k :: 0 <= k < a.Length ==> a[k] == v
{
  var i := 0;
  while i < a.Length
  {
    a[i] := v;
    i := i + 1;
  }
}

function Sum(s: seq<int>): int
{
  if |s| == 0 then 0 else s[0] + Sum(s[1..])
}

method Count(s: seq<int>) returns (c: set<int>)
{
  c := {};
  for j := 0 to |s|
  {
    c := c + {s[j]};
  }
}
"""


def rules(program: str, candidate: str) -> list[str]:
    return [v.rule for v in check_annotation(program, candidate, "cand.dfy")]


def sub(src: str, old: str, new: str) -> str:
    assert old in src, old
    return src.replace(old, new, 1)


LOOP = "  while i < n\n"
BODY_END = "    s := s + i;\n"

# ------------------------------------------------------------------------------------------------ accepted

ACCEPTED = {
    "unchanged": SUM,
    "invariants": sub(SUM, LOOP, LOOP + "    invariant 0 <= i <= n\n    invariant s == i * (i + 1) / 2\n"),
    "invariant with attribute and legacy semicolon": sub(SUM, LOOP, LOOP + "    invariant {:focus} i <= n;\n"),
    "loop decreases and modifies": sub(SUM, LOOP, LOOP + "    decreases n - i\n    modifies {}\n"),
    "invariant with cardinality before body": sub(SUM, LOOP, LOOP + "    invariant |[1, 2]| == 2\n"),
    "invariant with a set display": sub(SUM, LOOP, LOOP + "    invariant i in {i, 1, 2}\n"),
    "invariant ending in an empty set display": sub(SUM, LOOP, LOOP + "    invariant {s} - {s} == {}\n"),
    "invariant with multiset display": sub(SUM, LOOP, LOOP + "    invariant multiset{s} - multiset{s} == multiset{}\n"),
    "invariant with a quantifier": sub(SUM, LOOP, LOOP + "    invariant forall k :: 0 <= k < i ==> k < n\n"),
    "invariant with set comprehension in bars": sub(
        SUM, LOOP, LOOP + "    invariant |set k | 0 <= k < i| == i\n"),
    "invariant with a let": sub(SUM, LOOP, LOOP + "    invariant var j := i; j <= n\n"),
    "invariant with if-then-else": sub(SUM, LOOP, LOOP + "    invariant if i < n then true else i == n\n"),
    "invariant with function member": sub(SUM, LOOP, LOOP + "    invariant (x => x).requires(1)\n"),
    "assert": sub(SUM, BODY_END, BODY_END + "    assert s == i * (i + 1) / 2;\n"),
    "assert with label and attribute": sub(SUM, BODY_END, BODY_END + "    assert {:split_here} L: s >= i;\n"),
    "assert by": sub(SUM, BODY_END, BODY_END + "    assert s >= i by { assert i >= 0; }\n"),
    "assert with let": sub(SUM, BODY_END, BODY_END + "    assert var t := s; t >= 0;\n"),
    "calc": sub(SUM, BODY_END, BODY_END + "    calc == { s; { assert true; } s + 0; }\n"),
    "lemma and call": sub(SUM, "method SumTo", "lemma Helper(k: nat)\n  ensures k * (k + 1) / 2 >= 0\n{}\n\n"
                          "method SumTo").replace(BODY_END, BODY_END + "    Helper(i);\n"),
    "twostate and legacy lemmas": "twostate lemma T() {}\ncolemma Co() {}\ninductive lemma Ind() {}\n" + SUM,
    "ghost var": sub(SUM, BODY_END, BODY_END + "    ghost var t := s + 1;\n    ghost var u: int, w := 1, 2;\n"),
    "reveal": sub(SUM, BODY_END, BODY_END + "    reveal Helper();\n").replace(
        "method SumTo", "opaque function Helper(): int { 1 }\nmethod SumTo"),
    "new ghost function used in an invariant": sub(
        SUM, LOOP, LOOP + "    invariant s == Tri(i)\n").replace(
        "method SumTo", "ghost function Tri(k: nat): nat { k * (k + 1) / 2 }\n\nmethod SumTo"),
    "new predicate and function": "predicate P(x: int) { x > 0 }\nfunction F(): int { 1 }\n" + SUM,
    "comments and whitespace": "// a comment\n" + SUM.replace("  s := 0;", "/* init */ s   :=\n 0 ;"),
    "forall ensures": sub(ARR, "    a[i] := v;\n", "    a[i] := v;\n    forall k | 0 <= k < i ensures a[k] == a[k] "
                          "{ }\n"),
    "hints in arrays, functions and for loops": sub(sub(sub(
        ARR, "  while i < a.Length\n", "  while i < a.Length\n    invariant 0 <= i <= a.Length\n"
        "    invariant forall k :: 0 <= k < i ==> a[k] == v\n    modifies a\n"),
        "  if |s| == 0", "  assert |s| >= 0; if |s| == 0"),
        "  for j := 0 to |s|\n", "  for j := 0 to |s|\n    invariant c <= set k | k in s[..j]\n"),
    "function decreases": sub(ARR, "function Sum(s: seq<int>): int\n", "function Sum(s: seq<int>): int\n"
                              "  decreases |s|\n"),
    "lemma call in function body": sub(ARR, "  if |s| == 0", "  L(s); if |s| == 0").replace(
        "function Sum", "lemma L(t: seq<int>) {}\nfunction Sum"),
    "assert in then branch": sub(ARR, "then 0", "then assert true; 0"),
}


def _program_for(name: str) -> str:
    if name in ("forall ensures", "hints in arrays, functions and for loops", "function decreases",
                "lemma call in function body", "assert in then branch"):
        return ARR
    if name == "reveal":
        return SUM.replace("method SumTo", "opaque function Helper(): int { 1 }\nmethod SumTo")
    return SUM


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted(name):
    assert check_annotation(_program_for(name), ACCEPTED[name], "cand.dfy") == []


def test_programs_own_hints_are_stripped_from_both():
    program = sub(SUM, LOOP, LOOP + "    invariant i <= n\n").replace(BODY_END, BODY_END + "    assert s >= 0;\n")
    program = "lemma Old() {}\n" + program
    assert check_annotation(program, SUM, "cand.dfy") == []  # the candidate dropped them
    changed = sub(SUM, LOOP, LOOP + "    invariant 0 <= i <= n\n")
    assert check_annotation(program, changed, "cand.dfy") == []  # or changed them


def test_label_before_assert():
    program = sub(SUM, BODY_END, BODY_END + "    label L:\n    s := s + 0;\n")
    cand = sub(program, "    label L:\n", "    label L:\n    assert s >= 0;\n")
    assert check_annotation(program, cand, "cand.dfy") == []


def test_program_own_ghost_var_may_be_kept():
    program = sub(SUM, "  var i := 0;\n", "  var i := 0;\n  ghost var g := 0;\n")
    program = sub(program, BODY_END, BODY_END + "    g := g + 1;\n")
    assert check_annotation(program, program, "cand.dfy") == []


# ------------------------------------------------------------------------------------------------ rejected

REJECTED = {
    "changed expression": (sub(SUM, "s := s + i;", "s := s + 1;"), "QED-E201"),
    "changed ensures": (sub(SUM, "ensures s == n * (n + 1) / 2", "ensures s >= 0"), "QED-E201"),
    "extra requires": (sub(SUM, "  ensures", "  requires n < 10\n  ensures"), "QED-E201"),
    "extra statement": (sub(SUM, BODY_END, BODY_END + "    s := s + 0;\n"), "QED-E201"),
    "reordered statements": (SUM.replace("    i := i + 1;\n    s := s + i;\n", "    s := s + i;\n    i := i + 1;\n"),
                             "QED-E201"),
    "loop guard changed": (sub(SUM, "while i < n", "while i < n && true"), "QED-E201"),
    "new method": (SUM + "\nmethod Extra() {}\n", "QED-E201"),
    "new ghost method": (SUM + "\nghost method Extra() {}\n", "QED-E201"),
    "new class": (SUM + "\nclass K {}\n", "QED-E201"),
    "new const": (SUM + "\nconst K := 1\n", "QED-E201"),
    "modifies added to method header": (sub(SUM, "  ensures", "  modifies {}\n  ensures"), "QED-E201"),
    "hidden loop body": ((FIX / "sum_cheat.dfy").read_text(), "QED-E201"),
    "invariant true then code": (sub(SUM, "  while i < n\n  {", "  while i < n invariant true { s := 5; } "
                                     "while false invariant true\n  {"), "QED-E201"),
    "assert then code": (sub(SUM, BODY_END, BODY_END + "    assert true; s := 5;\n"), "QED-E201"),
    "assert hides an assignment in a let": (sub(SUM, BODY_END, BODY_END + "    assert var t := (s := 5); true;\n"),
                                            "QED-E202"),
    "ghost var calls a method": (sub(SUM, BODY_END, BODY_END + "    ghost var t := M();\n") +
                                 "method M() returns (r: int) { r := 1; }\n", "QED-E202"),
    "ghost var allocates": (sub(SUM, BODY_END, BODY_END + "    ghost var t := new int[3];\n"), "QED-E202"),
    "ghost var shadows a program variable": (sub(SUM, BODY_END, "    ghost var s := 0;\n" + BODY_END), "QED-E203"),
    "new function shadows a program name": (
        "function G(): int { 1 }\nclass K {\n  function G(): int { 2 }\n  method M() returns (r: int) "
        "ensures r == G() { r := G(); }\n}\n", "QED-E203"),
    "assert prefix inside an operand": (sub(SUM, "s := s + i;", "s := s * assert true; i + 0;"), "QED-E201"),
    "forall without ensures is code": (sub(ARR, "    a[i] := v;\n", "    a[i] := v;\n    forall k | 0 <= k < i "
                                           "{ a[k] := v; }\n"), "QED-E201"),
    "body of a function changed": (sub(ARR, "s[0] + Sum", "s[0] + 0 * Sum"), "QED-E201"),
    "lemma call of a name that is also a method": (
        sub(SUM, BODY_END, BODY_END + "    K.Go();\n") + "lemma Go() {}\nclass K { static method Go() {} }\n",
        "QED-E201"),
    "if statement in an invariant position": (sub(SUM, LOOP, LOOP + "    invariant true\n    if true { s := 1; }\n"),
                                              "QED-E201"),
    "unreadable candidate": (SUM + "\n}\n", "QED-E200"),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected(name):
    cand, rule = REJECTED[name]
    program = ARR if cand.startswith("method Fill") else SUM
    if name == "new function shadows a program name":
        program = "function G(): int { 1 }\nclass K {\n  method M() returns (r: int) ensures r == G() " \
                  "{ r := G(); }\n}\n"
    found = rules(program, cand)
    assert rule in found, (name, found)


def test_decreases_match_cannot_hide_a_loop_body():
    # an unbraced `match` in a loop clause: Dafny ends it at the `{`; qedgen must not read the block as part of it
    program = "datatype D = A | B\nmethod M(d: D) returns (x: int) {\n  x := 0;\n  while x < 1\n  {\n" \
              "    x := x + 1;\n  }\n}\n"
    cand = program.replace("  while x < 1\n", "  while x < 1\n    decreases match d case A => 1 - x case B => 1 - x"
                           " { x := 1; } while false\n")
    assert "QED-E201" in rules(program, cand)


def test_set_display_after_comparison_cannot_hide_a_loop_body():
    # `s > {}` then `{ ... }`: qedgen is not sure whether `{}` ends the invariant, so it keeps it
    program = "method M() {\n  var i := 0;\n  var s: set<int> := {};\n  while i < 0 {} {\n    i := i + 1;\n  }\n}\n"
    cand = program.replace("while i < 0 {} {", "while i < 0 invariant s > {} {")
    assert "QED-E201" in rules(program, cand)


def test_forall_ensures_ending_in_a_type_is_not_stripped():
    program = ARR
    cand = sub(ARR, "    a[i] := v;\n", "    a[i] := v;\n    forall k | 0 <= k < i ensures k as int is int { }\n")
    assert check_annotation(program, cand, "c.dfy") == []  # `int` surely ends the expression
    cand = sub(ARR, "    a[i] := v;\n", "    a[i] := v;\n    forall k | 0 <= k < i ensures [k] is seq<int> {} "
               "{ a[0] := v; }\n")
    assert "QED-E201" in rules(program, cand)


@pytest.mark.parametrize("hint", [
    "invariant forall k | 0 <= k < |[i]| :: k >= 0",
    "invariant |set k | 0 <= k < i :: k| <= i",
    "invariant i in multiset{i}",
    "invariant (set k | k in {1, 2}) == {1, 2}",
    "invariant match i case 0 => true case _ => i > 0",
    "invariant (match i { case 0 => true case _ => i > 0 })",
    "invariant var m := n; i <= m;",
    "decreases n - i, 0",
    "modifies {}",
])
def test_loop_clauses_dafnybench_style(hint):
    assert check_annotation(SUM, sub(SUM, LOOP, LOOP + "    " + hint + "\n"), "c.dfy") == []


@pytest.mark.parametrize("statement", [
    "assert forall k :: 0 <= k < i ==> k < n;",
    "assert s >= 0 by { calc { s; >= 0; } }",
    "assert i > 0 ==> var t := i - 1; t >= 0;",
    "forall k | 0 <= k < i ensures k < n { }",
    "ghost var seen: set<int> := {};",
    "ghost var m :| m == i;",
])
def test_statements_dafnybench_style(statement):
    assert check_annotation(SUM, sub(SUM, BODY_END, BODY_END + "    " + statement + "\n"), "c.dfy") == []


@pytest.mark.parametrize("statement, rule", [
    ("ghost var t := (s := 1);", "QED-E202"),
    ("assert true; print s;", "QED-E201"),
    ("assert (while true {});", "QED-E202"),
    ("reveal s := 1;", "QED-E201"),
    ("calc == { s; } s := 1;", "QED-E201"),
    ("forall k | 0 <= k < i { }", "QED-E201"),
    ("ghost var t := 1; s := t;", "QED-E201"),
    ("assert true by { } s := 0;", "QED-E201"),
])
def test_code_next_to_or_inside_hints_is_rejected(statement, rule):
    assert rule in rules(SUM, sub(SUM, BODY_END, BODY_END + "    " + statement + "\n"))


def test_message_names_place_expected_and_found_and_teaches():
    cand = sub(SUM, "s := s + i;", "s := s + 1;")
    (v,) = check_annotation(SUM, cand, "cand.dfy")
    assert v.rule == "QED-E201" and v.file == "cand.dfy" and v.line == 9 and v.member == "SumTo"
    assert "`i`" in v.message and "`1`" in v.message
    assert "keep every token of the given program" in v.message.lower()
    assert "loop invariants" in v.message


def test_e202_message_names_the_code():
    cand = sub(SUM, BODY_END, BODY_END + "    assert var t := (s := 5); true;\n")
    v = [x for x in check_annotation(SUM, cand, "cand.dfy") if x.rule == "QED-E202"][0]
    assert ":=" in v.message and v.line == 10


def test_unreadable_program_is_bad_input():
    with pytest.raises(BadInput):
        check_annotation(SUM + "\n}\n", SUM, "cand.dfy")


def test_rule_table_is_documented():
    import backends.dafny.annotate as m

    for rule, title in RULES_ANNOTATE.items():
        assert rule in m.__doc__ and title
    assert set(RULES_ANNOTATE) == {"QED-E200", "QED-E201", "QED-E202", "QED-E203"}


def test_fixture_is_an_annotation_of_the_example():
    program = (REPO / "specs" / "examples" / "sum_nohints.dfy").read_text()
    assert check_annotation(program, (FIX / "sum_annotated.dfy").read_text(), "c.dfy") == []
    assert [v.rule for v in check_annotation(program, (FIX / "sum_cheat.dfy").read_text(), "c.dfy")] == ["QED-E201"]


@pytest.mark.dafny
def test_end_to_end_with_real_dafny(dafny_backend, write):
    program_text = (REPO / "specs" / "examples" / "sum_nohints.dfy").read_text()
    program = write("sum_nohints.dfy", program_text)
    good = write("sum_annotated.dfy", (FIX / "sum_annotated.dfy").read_text())
    assert check_annotation(program_text, good.read_text(), good.name) == []
    assert check_integrity(good.read_text(), good.name).ok
    assert check(dafny_backend, good).verdict == "verified"
    # the cheat verifies too: only the guard tells it apart
    cheat = write("sum_cheat.dfy", (FIX / "sum_cheat.dfy").read_text())
    assert check(dafny_backend, cheat).verdict == "verified"
    assert [v.rule for v in check_annotation(program_text, cheat.read_text(), cheat.name)] == ["QED-E201"]
    # and the program itself, without hints, does not verify
    assert check(dafny_backend, program).verdict != "verified"


@pytest.mark.dafny
def test_backend_runs_the_guard_in_annotate_mode(dafny_backend, write):
    program = write("sum_nohints.dfy", (REPO / "specs" / "examples" / "sum_nohints.dfy").read_text())
    good = write("sum_annotated.dfy", (FIX / "sum_annotated.dfy").read_text())
    cheat = write("sum_cheat.dfy", (FIX / "sum_cheat.dfy").read_text())
    r = check(dafny_backend, good, program=program)
    assert r.verdict == "verified", r
    r = check(dafny_backend, cheat, program=program)
    assert r.verdict != "verified" and any(v.rule == "QED-E201" for v in r.integrity), r


DAFNYBENCH = REPO.parent / "shared" / "benchmarks" / "DafnyBench" / "DafnyBench" / "dataset"


@pytest.mark.skipif(not DAFNYBENCH.is_dir(), reason=f"needs DafnyBench at {DAFNYBENCH}")
def test_dafnybench_ground_truths_are_annotations_of_their_hints_removed_programs():
    accepted, rejected = 0, []
    for gt in sorted((DAFNYBENCH / "ground_truth").glob("*.dfy")):
        nh = DAFNYBENCH / "hints_removed" / f"{gt.stem}_no_hints.dfy"
        if not nh.exists():
            continue
        try:
            v = check_annotation(nh.read_text(errors="replace"), gt.read_text(errors="replace"), gt.name)
        except BadInput:  # the hint remover left an unreadable program (Dafny does not parse it either)
            continue
        if v:
            rejected.append(gt.name)
        else:
            accepted += 1
    # measured: 725 accepted, 30 rejected (28 programs Dafny itself rejects: leftovers of multi-line hints; 2 whose
    # hint remover deleted a function body, a real change of code)
    assert accepted >= 700 and len(rejected) <= 40, rejected
