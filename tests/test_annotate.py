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


def test_programs_own_claims_stay():
    # What the program states is part of it: a candidate may not drop or change its lemmas, asserts, invariants
    program = sub(SUM, LOOP, LOOP + "    invariant i <= n\n").replace(BODY_END, BODY_END + "    assert s >= 0;\n")
    program = "lemma Old() ensures true {}\n" + program
    assert sorted(rules(program, SUM)) == ["QED-E209", "QED-E210", "QED-E210"]  # the candidate dropped them
    changed = sub(program, "invariant i <= n", "invariant 0 <= i <= n")
    assert rules(program, changed) == ["QED-E210"]  # or changed one
    kept = sub(program, "    invariant i <= n\n", "    invariant 0 <= i\n    invariant i <= n\n    decreases n - i\n")
    kept = sub(kept, "    assert s >= 0;\n", "    assert s >= i;\n    assert s >= 0 by { assert s >= i; }\n")
    assert check_annotation(program, kept, "cand.dfy") == []  # adding around them is fine


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
    assert set(RULES_ANNOTATE) == {f"QED-E2{k:02d}" for k in range(11)}


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
    # measured: 717 accepted, 38 rejected (35 programs Dafny itself rejects: leftovers of multi-line hints, 7 of
    # them inside lemmas; 3 whose hint remover deleted a function body or joined a loop guard with an invariant's
    # second line, a real change of code)
    assert accepted >= 710 and len(rejected) <= 45, rejected


# --------------------------------------------------------------- the program's own lemmas and proof statements

LEMMA_PROGRAM = """lemma Tri(k: nat)
  requires k >= 0
  ensures k * (k + 1) / 2 >= 0
{
  var t := k * (k + 1);
  assert t >= 0;
}

method SumTo(n: nat) returns (s: nat)
  ensures s == n * (n + 1) / 2
{
  s := 0;
  var i := 0;
  while i < n
    invariant 0 <= i <= n
  {
    i := i + 1;
    s := s + i;
    assert s >= i;
    Tri(i);
  }
  assert s >= 0;
}
"""

#: name -> (candidate, rule): deleting, weakening, moving or re-stating what the program states
CLAIM_ATTACKS = {
    "lemma deleted": (sub(LEMMA_PROGRAM, LEMMA_PROGRAM.split("method")[0], "lemma Tri(k: nat) {}\n\n").replace(
        "lemma Tri(k: nat) {}\n\n", ""), "QED-E209"),
    "lemma ensures weakened": (sub(LEMMA_PROGRAM, "ensures k * (k + 1) / 2 >= 0", "ensures true"), "QED-E209"),
    "lemma ensures dropped": (sub(LEMMA_PROGRAM, "  ensures k * (k + 1) / 2 >= 0\n", ""), "QED-E209"),
    "lemma requires added": (sub(LEMMA_PROGRAM, "  requires k >= 0\n", "  requires k >= 0\n  requires k > 5\n"),
                             "QED-E209"),
    "lemma requires strengthened in place": (sub(LEMMA_PROGRAM, "requires k >= 0", "requires k >= 1"), "QED-E209"),
    "lemma renamed with its calls": (LEMMA_PROGRAM.replace("Tri", "Tri2"), "QED-E209"),
    "lemma moved into a module": (sub(LEMMA_PROGRAM, LEMMA_PROGRAM.split("method")[0], "").replace(
        "Tri(i);", "M.Tri(i);") + "module M {\n" + LEMMA_PROGRAM.split("method")[0] + "}\n", "QED-E209"),
    "lemma re-stated as a new lemma of the same name": (
        sub(LEMMA_PROGRAM, LEMMA_PROGRAM.split("method")[0], "lemma Tri(k: nat) ensures true {}\n\n"), "QED-E209"),
    "lemma made a twostate lemma": (sub(LEMMA_PROGRAM, "lemma Tri", "twostate lemma Tri"), "QED-E209"),
    "lemma body statement deleted": (sub(LEMMA_PROGRAM, "  var t := k * (k + 1);\n", ""), "QED-E209"),
    "lemma body assert deleted": (sub(LEMMA_PROGRAM, "  assert t >= 0;\n", ""), "QED-E210"),
    "lemma body assert weakened": (sub(LEMMA_PROGRAM, "assert t >= 0;", "assert t >= 0 || true;"), "QED-E210"),
    "assert deleted": (sub(LEMMA_PROGRAM, "    assert s >= i;\n", ""), "QED-E210"),
    "assert weakened": (sub(LEMMA_PROGRAM, "assert s >= i;", "assert s >= i || s < i;"), "QED-E210"),
    "assert weakened by an implication": (sub(LEMMA_PROGRAM, "assert s >= 0;", "assert false ==> s >= 0;"),
                                          "QED-E210"),
    "assert moved to another statement": (sub(sub(LEMMA_PROGRAM, "    assert s >= i;\n", ""), "    i := i + 1;\n",
                                              "    assert s >= i;\n    i := i + 1;\n"), "QED-E210"),
    "assert moved after the loop": (sub(sub(LEMMA_PROGRAM, "    assert s >= i;\n", ""), "  assert s >= 0;\n",
                                        "  assert s >= 0;\n  assert s >= i;\n"), "QED-E210"),
    "assert moved into a forall body": (sub(LEMMA_PROGRAM, "    assert s >= i;\n",
                                            "    forall k | 0 <= k < 0 ensures true { assert s >= i; }\n"),
                                        "QED-E210"),
    "assert moved into another assert's proof": (sub(LEMMA_PROGRAM, "    assert s >= i;\n",
                                                     "    assert true by { assert s >= i; }\n"), "QED-E210"),
    "assert re-stated with a label": (sub(LEMMA_PROGRAM, "assert s >= 0;", "assert L: s >= 0;"), "QED-E210"),
    "asserts swapped": (sub(LEMMA_PROGRAM, "    assert s >= i;\n    Tri(i);\n", "    Tri(i);\n    assert s >= i;\n"),
                        "QED-E210"),
    "lemma call deleted": (sub(LEMMA_PROGRAM, "    Tri(i);\n", ""), "QED-E210"),
    "invariant deleted": (sub(LEMMA_PROGRAM, "    invariant 0 <= i <= n\n", ""), "QED-E210"),
    "invariant weakened": (sub(LEMMA_PROGRAM, "invariant 0 <= i <= n", "invariant 0 <= i"), "QED-E210"),
    "assert turned into an assume": (sub(LEMMA_PROGRAM, "assert s >= 0;", "assume s >= 0;"), "QED-E201"),
}


@pytest.mark.parametrize("name", sorted(CLAIM_ATTACKS))
def test_programs_own_claims_cannot_be_deleted_weakened_moved_or_restated(name):
    cand, rule = CLAIM_ATTACKS[name]
    found = rules(LEMMA_PROGRAM, cand)
    assert rule in found, (name, found)


CLAIM_HONEST = {
    "unchanged": LEMMA_PROGRAM,
    "hints around the program's asserts": sub(sub(LEMMA_PROGRAM, "    assert s >= i;\n",
                                                  "    assert s > 0;\n    assert s >= i;\n    assert i > 0;\n"),
                                              "  assert s >= 0;\n", "  assert s >= 0;\n  assert i == n;\n"),
    "a proof added to an assert, and a performance attribute": sub(
        LEMMA_PROGRAM, "assert s >= i;", "assert {:split_here} s >= i by { assert i >= 0; }"),
    "invariants added before and after": sub(LEMMA_PROGRAM, "    invariant 0 <= i <= n\n",
                                             "    invariant i >= 0\n    invariant 0 <= i <= n\n"
                                             "    invariant s == i * (i + 1) / 2\n    decreases n - i\n"),
    "the lemma's body gains hints": sub(LEMMA_PROGRAM, "  assert t >= 0;\n", "  assert k >= 0;\n  assert t >= 0;\n"
                                        "  calc { t; == k * (k + 1); }\n"),
    "a decreases and a performance attribute on the lemma": sub(sub(
        LEMMA_PROGRAM, "lemma Tri(k: nat)\n", "lemma {:induction false} {:isolate_assertions} Tri(k: nat)\n"),
        "  ensures k * (k + 1) / 2 >= 0\n", "  ensures k * (k + 1) / 2 >= 0\n  decreases k\n"),
    "a new lemma beside the program's": "lemma Other(j: int) ensures j == j {}\n" + sub(
        LEMMA_PROGRAM, "    Tri(i);\n", "    Tri(i);\n    Other(i);\n"),
    "the lemma moved within the module": LEMMA_PROGRAM.split("method")[0].join(
        ["", ""]) if False else "method" + LEMMA_PROGRAM.split("method", 1)[1] + "\n" + LEMMA_PROGRAM.split("method")[0],
}


@pytest.mark.parametrize("name", sorted(CLAIM_HONEST))
def test_programs_own_claims_may_gain_hints(name):
    assert check_annotation(LEMMA_PROGRAM, CLAIM_HONEST[name], "cand.dfy") == []


def test_calc_and_forall_proofs_of_the_program_may_gain_hints_but_not_change_their_claim():
    program = sub(SUM, BODY_END, BODY_END + "    calc == { s; { } s + 0; }\n    forall k | 0 <= k < i ensures k < n { }\n")
    richer = sub(program, "{ } s + 0;", "{ assert s >= 0; } s + 0;").replace("ensures k < n { }",
                                                                            "ensures k < n { assert k < i; }")
    assert check_annotation(program, richer, "c.dfy") == []
    assert rules(program, sub(program, "s + 0;", "s + 0 + 0;")) == ["QED-E210"]  # a step of the calc changed
    assert rules(program, sub(program, "ensures k < n", "ensures k <= n")) == ["QED-E210"]


def test_error_message_for_a_missing_assert_names_it_and_says_what_to_do():
    (v,) = check_annotation(LEMMA_PROGRAM, sub(LEMMA_PROGRAM, "    assert s >= i;\n", ""), "cand.dfy")
    assert v.rule == "QED-E210" and v.member == "SumTo" and v.line == 19
    assert "`assert s >= i;`" in v.message and "program line 19" in v.message and "keep each at its place" in v.message


def test_error_message_for_a_weakened_lemma_names_it():
    (v,) = check_annotation(LEMMA_PROGRAM, sub(LEMMA_PROGRAM, "ensures k * (k + 1) / 2 >= 0", "ensures true"), "c.dfy")
    assert v.rule == "QED-E209" and v.member == "Tri" and "`Tri`" in v.message and "header or a clause" in v.message


# ------------------------------------------------------------------------- shadowing and names, more strictly

@pytest.mark.parametrize("candidate", [
    sub(SUM, BODY_END, "    if true { ghost var i := 0; }\n" + BODY_END),  # a loop variable, in a nested block
    sub(SUM, BODY_END, "    ghost var n := 0;\n" + BODY_END),  # a parameter
    "function G(): int { 1 }\n" + sub(SUM, BODY_END, "    ghost var G := 0;\n" + BODY_END),  # a function's
    sub(SUM, BODY_END, "    ghost var a, s := 1, 2;\n" + BODY_END),  # the second of several
])
def test_ghost_variable_may_not_reuse_any_program_name(candidate):
    program = "function G(): int { 1 }\n" + SUM if candidate.startswith("function") else SUM
    assert "QED-E203" in rules(program, candidate)


def test_ghost_variable_may_not_shadow_the_programs_own_ghost_variable():
    program = sub(SUM, "  var i := 0;\n", "  var i := 0;\n  ghost var g := 0;\n")
    program = sub(program, BODY_END, BODY_END + "    g := g + 1;\n")
    shadow = sub(program, "    g := g + 1;\n", "    ghost var g := 5;\n    g := g + 1;\n")
    assert "QED-E203" in rules(program, shadow)
    assert "QED-E210" in rules(program, sub(program, "  ghost var g := 0;\n", ""))  # nor drop it


@pytest.mark.parametrize("statement, rule", [
    ("ghost var more := it.MoveNext();", "QED-E202"),  # an iterator's compiled method, called from a hint
    ("ghost var t := Make(k := 1);", "QED-E202"),  # named arguments do not hide a method call
    ("assert F(k := 1) == 1;", None),  # a named argument of a function: no assignment
    ("assert (s := 1) == 1;", "QED-E202"),
])
def test_calls_and_named_arguments_in_hints(statement, rule):
    decls = "method Make(k: int) returns (r: int) { r := k; }\nfunction F(k: int): int { k }\n"
    found = rules(decls + SUM, decls + sub(SUM, BODY_END, BODY_END + "    " + statement + "\n"))
    assert (rule in found) if rule else found == [], found


# ------------------------------------------------------------------ verification-performance attributes

@pytest.mark.parametrize("attrs", ["{:isolate_assertions}", "{:vcs_split_on_every_assert}",
                                   "{:resource_limit 1000000}", '{:resource_limit "10e6"}',
                                   "{:isolate_assertions} {:timeLimit 20}", "{:fuel F, 2}"])
def test_performance_attributes_on_program_members_are_hints(attrs):
    assert check_annotation(SUM, sub(SUM, "method SumTo", f"method {attrs} SumTo"), "c.dfy") == []
    program = ARR
    assert check_annotation(program, sub(ARR, "function Sum", f"function {attrs} Sum"), "c.dfy") == []


def test_at_attribute_and_removing_the_programs_own_performance_attribute():
    assert check_annotation(SUM, "@IsolateAssertions\n" + SUM, "c.dfy") == []
    with_attr = sub(SUM, "method SumTo", "method {:vcs_split_on_every_assert} SumTo")
    assert check_annotation(with_attr, SUM, "c.dfy") == []


@pytest.mark.parametrize("attrs", ["{:extern}", "{:verify false}", "{:axiom}", "{:print}", "{:test}"])
def test_other_attributes_on_program_members_are_changes(attrs):
    assert "QED-E201" in rules(SUM, sub(SUM, "method SumTo", f"method {attrs} SumTo"))


# ------------------------------------------------------------------------------------------ parsing tricks

@pytest.mark.parametrize("candidate", [
    sub(SUM, BODY_END, BODY_END + '    assert "/*" != "*/"; s := 0;\n'),  # comment markers inside strings
    sub(SUM, BODY_END, BODY_END + "    assert s >= 0; /* } */ s := 0;\n"),  # a brace in a comment
    sub(SUM, BODY_END, BODY_END + "    assert s >= 0 // ;\n    ; s := 0;\n"),  # a `;` in a line comment
    sub(SUM, BODY_END, BODY_END + "    assert {:split_here} s >= 0; s := s;\n"),
    sub(SUM, BODY_END, BODY_END + "    assert s >= 0;;\n"),  # an empty statement is code too
    sub(SUM, LOOP, LOOP + "    invariant i <= n {} while false\n"),  # a second loop after an invariant
    sub(SUM, BODY_END, BODY_END + "    calc { s; } { s := 0; }\n"),  # a block after a calc
    sub(SUM, BODY_END, BODY_END + "    ghost var t := 0 by { s := 0; }\n"),
])
def test_parsing_tricks_are_rejected(candidate):
    assert rules(SUM, candidate), candidate
