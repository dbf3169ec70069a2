"""The Dafny integrity guard: every door closed, honest candidates untouched.

Each adversarial candidate below is the honest one with one change; the test names the door it tries. The
`dafny`-marked tests run the real Dafny 4.11 on some of them to show that Dafny alone would accept the cheat,
so the guard is what stops it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.dafny.integrity import (
    ALLOWED_ATTRIBUTES,
    PERF_ATTRIBUTES,
    RULES,
    IntegrityReport,
    check_integrity,
    contract_of,
)
from verifier.errors import BadInput
from verifier.procs import run

DAFNY = Path("/work/shared/toolchains/dafny/dafny")

SPEC = """\
module Lib {
  predicate Sorted(s: seq<int>) {
    forall i, j :: 0 <= i < j < |s| ==> s[i] <= s[j]
  }
}
import opened Lib

datatype Color = Red | Green

const Limit: nat := 100

function Sum(s: seq<int>): int {
  if |s| == 0 then 0 else s[0] + Sum(s[1..])
}

lemma {:axiom} SumBound(s: seq<int>)
  ensures Sum(s) <= |s| * 1000

lemma SumAppend(a: seq<int>, b: seq<int>)
  ensures Sum(a + b) == Sum(a) + Sum(b)

method Max(a: array<int>) returns (m: int)
  requires a.Length > 0
  ensures forall i :: 0 <= i < a.Length ==> a[i] <= m
  ensures exists i :: 0 <= i < a.Length && a[i] == m

method SortPair(x: int, y: int) returns (r: seq<int>)
  ensures Sorted(r)
  ensures multiset(r) == multiset{x, y}

class Counter {
  var n: nat
  constructor ()
    ensures n == 0
  method Inc()
    modifies this
    ensures n == old(n) + 1
}
"""

HONEST = """\
module Lib {
  predicate Sorted(s: seq<int>) {
    forall i, j :: 0 <= i < j < |s| ==> s[i] <= s[j]
  }
}
import opened Lib

datatype Color = Red | Green

const Limit: nat := 100

function Sum(s: seq<int>): int {
  if |s| == 0 then 0 else s[0] + Sum(s[1..])
}

lemma {:axiom} SumBound(s: seq<int>)
  ensures Sum(s) <= |s| * 1000

lemma {:induction a} SumAppend(a: seq<int>, b: seq<int>)
  ensures Sum(a + b) == Sum(a) + Sum(b)
{
  if |a| == 0 {
    assert a + b == b;
  } else {
    assert (a + b)[1..] == a[1..] + b;
    SumAppend(a[1..], b);
  }
}

method Max(a: array<int>) returns (m: int)
  requires a.Length > 0
  ensures forall i :: 0 <= i < a.Length ==> a[i] <= m
  ensures exists i :: 0 <= i < a.Length && a[i] == m
{
  m := a[0];
  var k := 1;
  while k < a.Length
    invariant 1 <= k <= a.Length
    invariant forall i :: 0 <= i < k ==> a[i] <= m
    invariant exists i :: 0 <= i < k && a[i] == m
    decreases a.Length - k
  {
    if a[k] > m { m := a[k]; }
    k := k + 1;
  }
}

method SortPair(x: int, y: int) returns (r: seq<int>)
  ensures Sorted(r)
  ensures multiset(r) == multiset{x, y}
{
  if x <= y { r := [x, y]; } else { r := [y, x]; }
}

class Counter {
  var n: nat
  constructor ()
    ensures n == 0
  {
    n := 0;
  }
  method Inc()
    modifies this
    ensures n == old(n) + 1
  {
    n := n + 1;
  }
}
"""

MAX_BODY = """\
  m := a[0];
  var k := 1;"""
SORTPAIR_BODY = "  if x <= y { r := [x, y]; } else { r := [y, x]; }"


def variant(old: str, new: str, base: str = HONEST) -> str:
    assert base.count(old) == 1, f"ambiguous or missing: {old!r}"
    return base.replace(old, new)


def check(candidate: str, spec: str | None = SPEC) -> IntegrityReport:
    return check_integrity(candidate, "cand.dfy", spec, "spec.dfy" if spec is not None else None)


def rules(report: IntegrityReport) -> set[str]:
    return {v.rule for v in report.violations}


def assert_only(report: IntegrityReport, *expected: str) -> None:
    got = rules(report)
    assert got == set(expected), [f"{v.rule} line {v.line}: {v.message}" for v in report.violations]


# ----------------------------------------------------------------------------------------------- honest

def test_honest_candidate_passes() -> None:
    r = check(HONEST)
    assert r.ok, [v.message for v in r.violations]
    assert any("SumBound" in a.what for a in r.assumptions)


def test_spec_against_itself_reports_only_missing_bodies() -> None:
    assert_only(check(SPEC), "QED-E107")


def test_whitespace_and_comments_do_not_matter() -> None:
    cand = variant("  requires a.Length > 0\n  ensures forall i :: 0 <= i < a.Length ==> a[i] <= m",
                   "  requires a.Length>0 // must be non-empty\n  ensures /* max */ forall i::0<=i<a.Length==>a[i]<=m")
    cand = variant("  if |s| == 0 then 0 else s[0] + Sum(s[1..])",
                   "  if |s|==0 then 0\n  else s[0]+Sum(s[1..])  // recursion", cand)
    assert check(cand).ok


def test_added_decreases_helper_lemma_and_perf_attributes_are_fine() -> None:
    cand = variant("method SortPair(x: int, y: int) returns (r: seq<int>)",
                   "@IsolateAssertions @ResourceLimit(\"1e6\")\nmethod {:vcs_split_on_every_assert} {:timeLimit 20} "
                   "{:rlimit 1000} SortPair(x: int, y: int) returns (r: seq<int>)")
    cand = variant("  ensures multiset(r) == multiset{x, y}\n{",
                   "  ensures multiset(r) == multiset{x, y}\n  decreases x\n{", cand)
    cand += """
lemma {:induction false} Helper(n: nat)
  ensures n + 0 == n
  decreases n
{
  assert {:split_here} true;
  assert {:focus} n >= 0;
  assert forall k {:trigger k + 1} :: k + 1 > k;
  assert exists w {:nowarn} :: w > n;  // {:nowarn}: the missing-trigger warning becomes an info message
}

ghost function {:fuel 3} Double(x: int): int { 2 * x }
"""
    assert check(cand).ok, [v.message for v in check(cand).violations]


def test_strings_and_comments_may_mention_escapes() -> None:
    cand = variant(SORTPAIR_BODY, SORTPAIR_BODY + '\n  print "assume {:axiom} false; expect";\n'
                   '  // assume false; {:verify false} decreases *\n  /* include "x.dfy" */')
    assert check(cand).ok


def test_reordering_requires_and_ensures_across_kinds_is_fine() -> None:
    cand = variant("  requires a.Length > 0\n  ensures forall i :: 0 <= i < a.Length ==> a[i] <= m\n",
                   "  ensures forall i :: 0 <= i < a.Length ==> a[i] <= m\n  requires a.Length > 0\n")
    assert check(cand).ok


def test_spec_trusted_assume_in_fixed_body_is_an_assumption() -> None:
    spec = "lemma Given(x: int)\n  ensures x < x + 1\n{\n  assume {:axiom} false;\n}\n" \
           "method M(x: int) returns (y: int) ensures y > x\n"
    cand = "lemma Given(x: int)\n  ensures x < x + 1\n{\n  assume {:axiom}   false;  // given\n}\n" \
           "method M(x: int) returns (y: int) ensures y > x { Given(x); y := x + 1; }\n"
    r = check(cand, spec)
    assert r.ok, [v.message for v in r.violations]
    assert len(r.assumptions) >= 1 and all(a.file == "spec.dfy" for a in r.assumptions)
    assert any("assume" in a.what and a.member == "Given" for a in r.assumptions)


def test_spec_trusted_decreases_star_allows_nonterminating_loops_in_that_member() -> None:
    spec = "method Serve(x: int)\n  decreases *\n"
    cand = "method Serve(x: int)\n  decreases *\n{\n  while true decreases * { }\n}\n"
    r = check(cand, spec)
    assert r.ok, [v.message for v in r.violations]
    assert any("decreases *" in a.what for a in r.assumptions)
    helper = cand + "method Other() decreases * { while true decreases * { } }\n"
    assert_only(check(helper, spec), "QED-E106")


def test_non_static_trait_members_may_stay_bodiless() -> None:
    spec = "trait Shape { function Area(): nat  method Scale(k: nat) }\n"
    assert check(spec, spec).ok


def test_bodiless_function_obligation_implemented() -> None:
    spec = "function F(x: int): int\n  ensures F(x) > x\n"
    assert check("function F(x: int): int\n  ensures F(x) > x\n{ x + 1 }\n", spec).ok


def test_verify_true_is_harmless() -> None:
    assert check(variant("method Max(", "method {:verify true} Max(")).ok


def test_labelled_old_is_not_an_attribute() -> None:
    cand = variant("    n := n + 1;", "    label L:\n    n := n + 1;\n    assert old@L(n) + 1 == n;")
    assert check(cand).ok


# -------------------------------------------------------------------------------------- escapes (E1xx)

@pytest.mark.parametrize("code,rule", [
    ("assume m >= 0;", "QED-E101"),
    ("assume {:axiom} false;", "QED-E101"),
    ("var z: int :| assume z > 0;", "QED-E101"),
    ("ghost var w := assume true; 5;", "QED-E101"),
    ("expect m == a[0];", "QED-E102"),
    ("expect m == a[0], \"message\";", "QED-E102"),
    ("assert {:only} m == a[0];", "QED-E104"),
    ("assert {:start_checking_here} true;", "QED-E104"),
    ("ghost var {:assumption} b: bool;", "QED-E104"),
    ("assert {:nonsense} true;", "QED-E112"),
    ("while m < 0 invariant m < 0", "QED-E108"),
    ("for t := 0 to 3 invariant true", "QED-E108"),
    ("forall q: int ensures q > q + 1", "QED-E108"),
    ("while m < 0 decreases * { m := m - 1; }", "QED-E106"),
    ("var x\u0430 := 1;", "QED-E113"),
])
def test_escape_in_a_body_is_caught(code: str, rule: str) -> None:
    r = check(variant(MAX_BODY, MAX_BODY + "\n  " + code))
    assert rule in rules(r), [v.message for v in r.violations]
    v = next(v for v in r.violations if v.rule == rule)
    assert v.member == "Max" and v.file == "cand.dfy" and v.line and v.column


def test_expect_in_update_with_failure_is_caught() -> None:
    cand = HONEST + "\nmethod Parse(s: string) returns (r: Result<int, string>) { var x :- expect Get(s); }\n"
    assert "QED-E102" in rules(check(cand))


@pytest.mark.parametrize("attr,rule", [
    ("{:axiom}", "QED-E103"),
    ("@Axiom", "QED-E103"),
    ("@ Axiom", "QED-E103"),
    ("{: axiom}", "QED-E103"),
    ("{:verify false}", "QED-E104"),
    ("@Verify(false)", "QED-E104"),
    ("{:only}", "QED-E104"),
    ("@VerifyOnly", "QED-E104"),
    ("{:selective_checking}", "QED-E104"),
    ("{:termination false}", "QED-E104"),
    ("@AssumeCrossModuleTermination", "QED-E104"),
    ("{:extern}", "QED-E105"),
    ("{:extern \"Foo\"}", "QED-E105"),
    ("{:synthesize}", "QED-E105"),
    ("{:options \"--allow-axioms\"}", "QED-E111"),
    ("@Options(\"--function-syntax:3\")", "QED-E111"),
    ("{:autoReq}", "QED-E112"),
    ("{:id \"x\"}", "QED-E112"),
    ("@Foo", "QED-E112"),
])
def test_forbidden_attribute_on_a_new_helper(attr: str, rule: str) -> None:
    placed = f"{attr}\nlemma Helper()" if attr.startswith("@") else f"lemma {attr} Helper()"
    cand = HONEST + f"\n{placed}\n  ensures true\n{{}}\n"
    r = check(cand)
    assert rule in rules(r), [v.message for v in r.violations]
    name = attr.replace("@ ", "@").replace("{: ", "{:").split()[0].strip("{:@}\"").split("(")[0]
    assert any(name in v.message for v in r.violations if v.rule == rule)


def test_axiom_added_to_an_obligation() -> None:
    cand = variant("method Max(", "method {:axiom} Max(")
    assert "QED-E103" in rules(check(cand))


def test_bodiless_helper_lemma_is_caught() -> None:
    r = check(HONEST + "\nlemma Cheat()\n  ensures false\n")
    assert_only(r, "QED-E107")
    assert r.violations[0].member == "Cheat"


def test_bodiless_static_trait_member_is_caught() -> None:
    r = check(HONEST + "\ntrait T { static lemma Cheat() ensures false }\n")
    assert_only(r, "QED-E107")


def test_obligation_left_bodiless_is_caught() -> None:
    cand = variant("lemma {:induction a} SumAppend(a: seq<int>, b: seq<int>)\n"
                   "  ensures Sum(a + b) == Sum(a) + Sum(b)\n{\n  if |a| == 0 {\n    assert a + b == b;\n"
                   "  } else {\n    assert (a + b)[1..] == a[1..] + b;\n    SumAppend(a[1..], b);\n  }\n}\n",
                   "lemma SumAppend(a: seq<int>, b: seq<int>)\n  ensures Sum(a + b) == Sum(a) + Sum(b)\n")
    r = check(cand)
    assert_only(r, "QED-E107")
    assert "implement" in r.violations[0].message


def test_axiom_added_to_a_fixed_function() -> None:
    assert "QED-E103" in rules(check(variant("function Sum(", "function {:axiom} Sum(")))


def test_by_method_added_to_a_fixed_function() -> None:
    cand = variant("  if |s| == 0 then 0 else s[0] + Sum(s[1..])\n}",
                   "  if |s| == 0 then 0 else s[0] + Sum(s[1..])\n} by method { assume false; return 0; }")
    assert {"QED-E007", "QED-E101"} <= rules(check(cand))


def test_second_declaration_of_a_spec_member_is_caught() -> None:
    # e.g. an honest copy that Dafny never sees (preprocessor) next to the one it checks
    cand = HONEST + "\nmethod SortPair(x: int, y: int) returns (r: seq<int>)\n  requires false\n{ }\n"
    assert "QED-E010" in rules(check(cand))


def test_bodiless_iterator_is_caught() -> None:
    assert "QED-E107" in rules(check(HONEST + "\niterator Gen(n: nat) yields (x: nat) yield ensures x < n\n"))


def test_include_is_caught() -> None:
    assert "QED-E109" in rules(check('include "cheat.dfy"\n' + HONEST))


def test_refines_not_in_spec_is_caught() -> None:
    cand = HONEST + "\nabstract module A { }\nmodule B refines A { }\n"
    assert "QED-E110" in rules(check(cand))


def test_autocontracts_only_when_the_spec_has_it() -> None:
    cand = HONEST + "\nclass {:autocontracts} Box { var x: int predicate Valid() { true } }\n"
    r = check(cand)
    assert "QED-E112" in rules(r) and "contracts" in r.violations[0].message
    spec = "class {:autocontracts} Box {\n  var x: int\n  predicate Valid() { true }\n  method Set(v: int)\n}\n"
    cand = "class {:autocontracts} Box {\n  var x: int\n  predicate Valid() { true }\n" \
           "  method Set(v: int) { x := v; }\n}\n"
    r = check(cand, spec)
    assert r.ok, [v.message for v in r.violations]


def test_homoglyph_name_is_caught() -> None:
    cand = HONEST + "\npredicate S\u043erted(s: seq<int>) { true }\n"
    assert "QED-E113" in rules(check(cand))


def test_lone_carriage_return_comment_trick_is_caught() -> None:
    cand = variant(MAX_BODY, MAX_BODY + "\n  // nothing to see\rassume {:axiom} false;")
    assert "QED-E101" in rules(check(cand))


def test_preprocessor_comment_trick_is_caught() -> None:
    cand = variant(SORTPAIR_BODY, "  r := [x, y];\n#if NEVER\n/*\n#endif\n  assume {:axiom} Sorted(r);\n"
                   "#if NEVER\n*/\n#endif")
    r = check(cand)
    assert {"QED-E101", "QED-E114"} <= rules(r)
    assert next(v for v in r.violations if v.rule == "QED-E101").line == 56


def test_no_spec_means_nothing_is_trusted() -> None:
    src = "lemma Given()\n  ensures false\n{\n  assume {:axiom} false;\n}\nlemma {:axiom} Ax() ensures false\n"
    r = check(src, None)
    assert {"QED-E101", "QED-E103", "QED-E107"} <= rules(r)
    assert r.assumptions == []
    assert check(HONEST, None).violations and rules(check(HONEST, None)) == {"QED-E103", "QED-E107"}


def test_no_spec_clean_file_passes() -> None:
    assert check("method Id(x: int) returns (y: int) ensures y == x { y := x; }\n", None).ok


# ------------------------------------------------------------------------------------- structure (E0xx)

def test_missing_member() -> None:
    cand = variant("method SortPair(x: int, y: int) returns (r: seq<int>)\n  ensures Sorted(r)\n"
                   "  ensures multiset(r) == multiset{x, y}\n{\n" + SORTPAIR_BODY + "\n}\n", "")
    r = check(cand)
    assert_only(r, "QED-E001")
    assert r.violations[0].member == "SortPair"


def test_moved_member() -> None:
    cand = variant("method SortPair(x: int, y: int) returns (r: seq<int>)", "module Inner {\nimport opened Lib\n"
                   "method SortPair(x: int, y: int) returns (r: seq<int>)")
    cand = variant(SORTPAIR_BODY + "\n}\n", SORTPAIR_BODY + "\n}\n}\n", cand)
    r = check(cand)
    assert_only(r, "QED-E002")
    assert "Inner.SortPair" in r.violations[0].message


def test_renamed_member() -> None:
    assert "QED-E001" in rules(check(variant("method SortPair(", "method SortTwo(")))


@pytest.mark.parametrize("old,new", [
    ("method Max(", "ghost method Max("),
    ("lemma {:induction a} SumAppend(", "method {:induction a} SumAppend("),
    ("  method Inc()", "  static method Inc()"),
    ("function Sum(", "ghost function Sum("),
    ("function Sum(", "opaque function Sum("),
])
def test_kind_or_modifier_changed(old: str, new: str) -> None:
    assert "QED-E003" in rules(check(variant(old, new)))


@pytest.mark.parametrize("old,new", [
    ("method Max(a: array<int>) returns (m: int)", "method Max(a: array<nat>) returns (m: int)"),
    ("method Max(a: array<int>) returns (m: int)", "method Max(a: array<int>) returns (m: int, n: int)"),
    ("method SortPair(x: int, y: int)", "method SortPair(y: int, x: int)"),
    ("method SortPair(x: int, y: int)", "method SortPair<T>(x: int, y: int)"),
])
def test_signature_changed(old: str, new: str) -> None:
    assert "QED-E004" in rules(check(variant(old, new)))


@pytest.mark.parametrize("old,new,word", [
    ("  requires a.Length > 0\n", "", "lost"),
    ("  ensures Sorted(r)\n", "", "lost"),
    ("  ensures Sorted(r)\n", "  ensures Sorted(r) || true\n", "differs"),
    ("  ensures Sorted(r)\n", "  requires false\n  ensures Sorted(r)\n", "does not"),
    ("  ensures Sorted(r)\n", "  requires x <= y\n  ensures Sorted(r)\n", "does not"),
    ("    modifies this\n", "    modifies this, this\n", "differs"),
    ("  constructor ()\n    ensures n == 0\n", "  constructor ()\n    ensures n >= 0\n", "differs"),
    ("  ensures exists i :: 0 <= i < a.Length && a[i] == m\n",
     "  ensures exists i :: 0 <= i < a.Length && m == a[i]\n", "differs"),
])
def test_clause_changed(old: str, new: str, word: str) -> None:
    r = check(variant(old, new))
    assert "QED-E005" in rules(r)
    assert any(word in v.message for v in r.violations if v.rule == "QED-E005")


def test_reads_added_to_a_function_obligation() -> None:
    spec = "function F(x: int): int\n"
    assert "QED-E005" in rules(check("function F(x: int): int reads {} { x }\n", spec))


def test_spec_decreases_must_be_kept() -> None:
    spec = "function F(n: nat): nat\n  decreases n\n"
    assert check("function F(n: nat): nat decreases n { if n == 0 then 0 else F(n - 1) }\n", spec).ok
    r = check("function F(n: nat): nat decreases n + 1 { if n == 0 then 0 else F(n - 1) }\n", spec)
    assert "QED-E005" in rules(r)


def test_attribute_removed_or_contract_changing_added() -> None:
    spec = "lemma {:induction false} L(n: nat)\n  ensures n >= 0\n"
    assert "QED-E006" in rules(check("lemma L(n: nat) ensures n >= 0 { }\n", spec))
    assert "QED-E006" in rules(check(variant("predicate Sorted(", "predicate {:opaque} Sorted(")))


def test_fixed_body_changed() -> None:
    r = check(variant("    forall i, j :: 0 <= i < j < |s| ==> s[i] <= s[j]\n", "    true\n"))
    assert_only(r, "QED-E007")
    assert r.violations[0].member == "Lib.Sorted"


def test_fixed_body_removed() -> None:
    cand = variant(" {\n  if |s| == 0 then 0 else s[0] + Sum(s[1..])\n}", "")
    assert {"QED-E007", "QED-E107"} <= rules(check(cand))


def test_axiom_given_a_body_or_stripped() -> None:
    assert "QED-E008" in rules(check(variant("  ensures Sum(s) <= |s| * 1000\n",
                                             "  ensures Sum(s) <= |s| * 1000\n{ }\n")))
    r = check(variant("lemma {:axiom} SumBound(", "lemma SumBound("))
    assert_only(r, "QED-E006")


@pytest.mark.parametrize("old,new", [
    ("datatype Color = Red | Green", "datatype Color = Red | Green | Blue"),
    ("const Limit: nat := 100", "const Limit: nat := 1000"),
    ("  var n: nat", "  var n: int"),
    ("import opened Lib", "import Lib"),
    ("class Counter {", "class Counter extends object {"),
    ("module Lib {", "module {:extern} Lib {"),
])
def test_declaration_changed(old: str, new: str) -> None:
    assert "QED-E009" in rules(check(variant(old, new)))


def test_shadowing_an_imported_name_is_caught() -> None:
    cand = HONEST + "\npredicate Sorted(s: seq<int>) { true }\n"
    r = check(cand)
    assert_only(r, "QED-E010")
    assert "Rename" in r.violations[0].message


def test_shadowing_inside_a_spec_class_is_caught() -> None:
    spec = "predicate Pos(x: int) { x > 0 }\nclass C {\n  method M() returns (y: int)\n    ensures Pos(y)\n}\n"
    cand = "predicate Pos(x: int) { x > 0 }\nclass C {\n  predicate Pos(x: int) { true }\n" \
           "  method M() returns (y: int)\n    ensures Pos(y)\n  { y := 0; }\n}\n"
    assert_only(check(cand, spec), "QED-E010")


def test_new_names_unrelated_to_the_spec_are_fine() -> None:
    assert check(HONEST + "\nmodule Extra { predicate Positive(x: int) { x > 0 } }\n").ok


def test_malformed_spec_is_bad_input() -> None:
    with pytest.raises(BadInput):
        contract_of("method M( {", "bad.dfy")


def test_unreadable_candidate_is_reported() -> None:
    r = check(HONEST + "\n) garbage (\n")
    assert "QED-E000" in rules(r)


# ------------------------------------------------------------------------------------------ contract / API

def test_contract_of_parts() -> None:
    c = contract_of(SPEC, "spec.dfy")
    assert {d.qualified for d in c.obligations} == {"SumAppend", "Max", "SortPair", "Counter._ctor", "Counter.Inc"}
    assert {d.qualified for d in c.fixed} == {"Lib.Sorted", "Sum"}
    assert {d.qualified for d in c.axioms} == {"SumBound"}
    assert {"Sorted", "Sum", "Limit"} <= c.identifiers
    assert [a.member for a in c.assumptions] == ["SumBound"]


def test_rule_table_is_documented() -> None:
    import backends.dafny.integrity as integrity

    for rule in RULES:
        assert f"| {rule} |" in integrity.__doc__
    assert PERF_ATTRIBUTES <= ALLOWED_ATTRIBUTES


def test_messages_teach_the_fix() -> None:
    r = check(variant(MAX_BODY, MAX_BODY + "\n  assume m >= 0;"))
    msg = r.violations[0].message
    assert "`assume` at line" in msg and "in `Max`" in msg and "assert" in msg


def test_findings_name_the_innermost_member_on_every_line() -> None:
    """Each finding names the member it is in (the innermost, the latest to start on a shared line), from a
    per-line table (the guard's speed on hostile inputs is measured by benchmarks/hostile_inputs.py)."""
    from backends.dafny.syntax import outline

    src = ("class C {\n"
           "  method A() { assume false; }\n"
           "  method B()\n"
           "  {\n"
           "    assume false;\n"
           "  } method D() { assume false; }\n"
           "}\n"
           "method E() { assume false; }\n")
    out = outline(src)
    assert [out.member_at(n) for n in range(0, 10)] == [None, None, "C.A", "C.B", "C.B", "C.B", "C.D", None, "E",
                                                        None]
    found = [(v.line, v.member) for v in check(src).violations if v.rule == "QED-E101"]
    assert found == [(2, "C.A"), (5, "C.B"), (6, "C.D"), (8, "E")]


# -------------------------------------------------------------------------------- Dafny accepts the cheats

needs_dafny = pytest.mark.skipif(not DAFNY.exists(), reason=f"real Dafny not found at {DAFNY}")


def dafny_verify(tmp_path: Path, src: str, name: str = "cand.dfy") -> tuple[int | None, str]:
    f = tmp_path / name
    f.write_text(src, encoding="utf-8", newline="")
    res = run([DAFNY, "verify", "--allow-warnings", "--show-snippets:false", f], timeout=180, cwd=tmp_path)
    return res.returncode, res.stdout + res.stderr


CHEATS = {
    "requires false added": (
        variant("  ensures Sorted(r)\n", "  requires false\n  ensures Sorted(r)\n"), "QED-E005"),
    "fixed predicate body weakened": (
        variant(SORTPAIR_BODY, "  r := [x, y];",
                variant("    forall i, j :: 0 <= i < j < |s| ==> s[i] <= s[j]\n", "    true\n")), "QED-E007"),
    "shadowing an opened import": (
        variant(SORTPAIR_BODY, "  r := [x, y];", HONEST + "\npredicate Sorted(s: seq<int>) { true }\n"),
        "QED-E010"),
    "assume hidden after a lone CR": (
        variant(SORTPAIR_BODY, "  r := [x, y];  // ok\rassume {:axiom} Sorted(r);"), "QED-E101"),
    "expect": (variant(SORTPAIR_BODY, "  r := [x, y];\n  expect Sorted(r);"), "QED-E102"),
    "assume hidden by the preprocessor in a comment": (
        variant(SORTPAIR_BODY, "  r := [x, y];\n#if NEVER\n/*\n#endif\n  assume {:axiom} Sorted(r);\n"
                "#if NEVER\n*/\n#endif"), "QED-E101"),
    "bodiless @Axiom helper": (
        variant(SORTPAIR_BODY, "  r := [x, y];\n  Cheat();", HONEST + "\n@Axiom\nlemma Cheat() ensures false\n"),
        "QED-E103"),
    "verify false": (variant("method SortPair(", "method {:verify false} SortPair(",
                             variant(SORTPAIR_BODY, "  r := [];")), "QED-E104"),
    "decreases * added": (
        variant(SORTPAIR_BODY, "  while true decreases * { }",
                variant("  ensures multiset(r) == multiset{x, y}\n{", "  ensures multiset(r) == multiset{x, y}\n"
                        "  decreases *\n{")), "QED-E106"),
    "obligation left bodiless": (
        variant("{\n  if |a| == 0 {\n    assert a + b == b;\n  } else {\n    assert (a + b)[1..] == a[1..] + b;\n"
                "    SumAppend(a[1..], b);\n  }\n}\n", ""), "QED-E107"),
    "bodiless loop": (  # the loop havocs r, then assumes its invariant and the negated guard
        variant(SORTPAIR_BODY, "  r := [x, y];\n  while !Sorted(r)\n    invariant multiset(r) == multiset{x, y}"),
        "QED-E108"),
    "ensures removed": (variant(SORTPAIR_BODY, "  r := [x, y];", variant("  ensures Sorted(r)\n", "")),
                        "QED-E005"),
}


@needs_dafny
@pytest.mark.dafny
def test_honest_candidate_verifies_with_dafny(tmp_path: Path) -> None:
    code, out = dafny_verify(tmp_path, HONEST)
    assert code == 0, out


@needs_dafny
@pytest.mark.dafny
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CHEATS))
def test_dafny_accepts_the_cheat_but_the_guard_does_not(tmp_path: Path, name: str) -> None:
    src, rule = CHEATS[name]
    assert rule in rules(check(src)), [v.message for v in check(src).violations]
    code, out = dafny_verify(tmp_path, src)
    assert code == 0, f"Dafny rejected the cheat {name!r}, so it does not prove the guard's point:\n{out}"


# ------------------------------------------------------------------------------------ DafnyBench campaigns

DAFNYBENCH = Path("/work/shared/benchmarks/DafnyBench/DafnyBench/dataset/ground_truth")
needs_bench = pytest.mark.skipif(not DAFNYBENCH.is_dir(), reason=f"DafnyBench ground truths not found at {DAFNYBENCH}")


@needs_bench
@pytest.mark.slow
def test_dafnybench_reflowed_copy_matches_its_spec() -> None:
    """A ground truth used as its own spec, re-spaced and commented, breaks no structural rule."""
    from backends.dafny.syntax import tokenize

    for f in sorted(DAFNYBENCH.glob("*.dfy"))[::3]:
        src = f.read_text(encoding="utf-8", errors="replace")
        parts = [("\n /* reflow */ " if k % 7 == 0 and t.kind == "ident" else "  ") + t.text
                 for k, t in enumerate(tokenize(src))]
        r = check_integrity("".join(parts), "c.dfy", src, "s.dfy")
        assert rules(r) <= {"QED-E107"}, (f.name, [v.message for v in r.violations][:3])


@needs_bench
@pytest.mark.slow
def test_dafnybench_mutations_are_all_caught() -> None:
    """Dropping or changing a requires/ensures clause, or injecting an assume, is always caught."""
    import random

    from backends.dafny.syntax import outline

    rnd = random.Random(7)
    for f in sorted(DAFNYBENCH.glob("*.dfy"))[1::3]:
        src = f.read_text(encoding="utf-8", errors="replace")
        o = outline(src)
        clauses = [c for d in o.walk() if d.is_callable for c in d.clauses if c.keyword in ("requires", "ensures")]
        if clauses:
            c = rnd.choice(clauses)
            dropped = src[:o.tokens[c.start].offset] + src[o.tokens[c.end - 1].end:]
            assert "QED-E005" in rules(check_integrity(dropped, "c.dfy", src, "s.dfy")), f.name
            t = o.tokens[c.end - 1]
            tweaked = src[:t.offset] + (f"({t.text})" if t.kind != "op" else t.text + " true") + src[t.end:]
            assert rules(check_integrity(tweaked, "c.dfy", src, "s.dfy")) & {"QED-E005", "QED-E000"}, f.name
        bodies = [d for d in o.walk() if d.kind in ("method", "lemma") and d.body]
        if bodies:
            b = o.tokens[rnd.choice(bodies).body[0]]
            injected = src[:b.end] + " assume {:axiom} false; " + src[b.end:]
            assert "QED-E101" in rules(check_integrity(injected, "c.dfy", src, "s.dfy")), f.name


def test_autocontracts_is_fine_without_a_spec_but_not_added_to_one():
    src = "class {:autocontracts} C { var x: int predicate Valid() { x >= 0 } constructor() { x := 0; } }\n"
    assert check_integrity(src, "c.dfy").violations == []
    spec = "class C { var x: int predicate Valid() { x >= 0 } constructor() { x := 0; } }\n"
    rules = [v.rule for v in check_integrity(src, "c.dfy", spec, "s.dfy").violations]
    assert "QED-E112" in rules or "QED-E009" in rules


# ------------------------------------------------------------------ honest idioms the guard must not refuse

HONEST_PAIRS = Path(__file__).parent / "fixtures" / "dafny" / "honest"


def honest_pairs() -> list[str]:
    return sorted(p.name.removesuffix(".spec.dfy") for p in HONEST_PAIRS.glob("*.spec.dfy"))


@pytest.mark.parametrize("name", honest_pairs())
def test_honest_idioms_pass_the_guard(name: str) -> None:
    """Traits with implementing classes, helper classes with their own `Valid()`, iterators, braceless `match`
    in clauses, verbatim strings with `#` lines, helper modules (each pair verifies with Dafny: see
    test_dafny_backend)."""
    spec = (HONEST_PAIRS / f"{name}.spec.dfy").read_text(encoding="utf-8")
    cand = (HONEST_PAIRS / f"{name}.dfy").read_text(encoding="utf-8")
    r = check_integrity(cand, f"{name}.dfy", spec, f"{name}.spec.dfy")
    assert r.ok, [f"{v.rule} line {v.line}: {v.message}" for v in r.violations]


def test_a_module_level_name_spelled_like_a_parameter_is_fine() -> None:
    # a parameter shadows every name in an expression: `a` in the clause keeps meaning the parameter
    spec = "method Max(a: int, b: int) returns (m: int)\n  ensures m >= a && m >= b\n"
    cand = "const a := 0\nmethod Max(a: int, b: int) returns (m: int)\n  ensures m >= a && m >= b\n" \
           "{ m := if a > b then a else b; }\n"
    assert check(cand, spec).ok


# ------------------------------------------------------------------------ E010: what a contract name means

_B = "module B {\n  predicate P(x: int) { x > 0 }\n}\n"
_OPENED_SPEC = _B + "module A {\n  import opened B\n  method M(x: int) returns (y: int)\n    ensures P(y)\n}\n"
_OPENED = _B + "module A {\n  import opened B\n  method M(x: int) returns (y: int)\n    ensures P(y)\n  { y := 0; }\n}\n"
_ALIAS_SPEC = _OPENED_SPEC.replace("import opened B", "import X = B").replace("ensures P(y)", "ensures X.P(y)")
_ALIAS = _OPENED.replace("import opened B", "import X = B").replace("ensures P(y)", "ensures X.P(y)")
_NESTED_SPEC = _B + ("module A {\n  module C {\n    import B\n    method M(x: int) returns (y: int)\n"
                     "      ensures B.P(y)\n  }\n}\n")
_NESTED = _NESTED_SPEC.replace("      ensures B.P(y)\n", "      ensures B.P(y)\n    { y := 0; }\n")
_WEAK_B = "module A.B {\n  predicate P(x: int) { true }\n}\n"
_POS_SPEC = ("module Lib {\n  type Pos = x: int | x > 0 witness 1\n}\nmodule A {\n  import opened Lib\n"
             "  method Make() returns (p: Pos)\n}\n")
_POS = _POS_SPEC.replace("  method Make() returns (p: Pos)\n",
                         "  type Pos = int\n  method Make() returns (p: Pos)\n  { p := 0; }\n")
_REFINES_SPEC = ("abstract module AM {\n  predicate P(x: int) { x > 0 }\n  method M(x: int) returns (y: int)\n"
                 "    ensures P(y)\n}\nmodule Impl refines AM {\n  method M(x: int) returns (y: int)\n"
                 "    ensures P(y)\n}\n")
_TRAIT_SPEC = ("predicate Pos(x: int) { x > 0 }\ntrait T {\n  function Get(): int\n}\nclass C extends T {\n"
               "  constructor ()\n  function Get(): int\n  method M() returns (y: int)\n    ensures Pos(y)\n}\n")
_TRAIT = ("predicate Pos(x: int) { x > 0 }\ntrait T {\n  function Get(): int\n  predicate Pos(x: int) { true }\n}\n"
          "class C extends T {\n  constructor () { }\n  function Get(): int { 1 }\n  method M() returns (y: int)\n"
          "    ensures Pos(y)\n  { y := 0; }\n}\n")
_LIB_SPEC = ("module Lib {\n  function F(): int { 1 }\n}\nmodule A {\n  import Lib\n  method M() returns (y: int)\n"
             "    ensures y == Lib.F()\n}\n")
_LIB = _LIB_SPEC.replace("    ensures y == Lib.F()\n", "    ensures y == Lib.F()\n  { y := Lib.F(); }\n")

#: Each cheat verifies with Dafny 4.11 where marked (see the test below); each changes what a contract name means.
SCOPE_ATTACKS = {
    # `module A.B` is a child of A: `import opened B` inside A now finds it before the top-level B
    "dotted module redirects an opened import": (_OPENED_SPEC, _OPENED + _WEAK_B, True),
    "dotted module redirects an aliased import": (_ALIAS_SPEC, _ALIAS + _WEAK_B, True),
    "dotted module redirects an import in a nested module": (_NESTED_SPEC, _NESTED + _WEAK_B, True),
    "dotted module declares the parent of another": (_NESTED_SPEC, _NESTED + "module A.B.Z {\n}\n", False),
    "nested module under the imported name": (
        _OPENED_SPEC, _OPENED.replace("  import opened B\n", "  import opened B\n  module B { predicate P(x: int) "
                                      "{ true } }\n"), False),
    "local declaration shadows an opened import": (
        _OPENED_SPEC, _OPENED.replace("  import opened B\n", "  import opened B\n  predicate P(x: int) { true }\n"),
        True),
    "type synonym shadows an opened type": (_POS_SPEC, _POS, True),
    "second opened import brings the same name": (
        _OPENED_SPEC, _OPENED.replace("  import opened B\n", "  import opened B\n  import opened Evil\n")
        + "module Evil {\n  predicate P(x: int) { true }\n}\n", False),
    "refining module declares a name the refined contract uses": (
        _REFINES_SPEC, _REFINES_SPEC.replace("module Impl refines AM {\n", "module Impl refines AM {\n  predicate "
                                             "P(x: int) { true }\n"), False),
    "constructor named like a contract function": (
        "predicate Foo(x: int) { x > 0 }\nmethod M(x: int) returns (y: int)\n  ensures Foo(y)\n",
        ("predicate Foo(x: int) { x > 0 }\ndatatype D = Foo(int) | Bar\nmethod M(x: int) returns (y: int)\n"
         "  ensures Foo(y)\n{ y := 1; }\n"), False),
    "trait member seen from an extending class": (_TRAIT_SPEC, _TRAIT, True),
    "export set added to a spec module": (
        _LIB_SPEC, _LIB.replace("  function F(): int { 1 }\n", "  export provides F\n  function F(): int { 1 }\n"),
        False),
    "import alias redirects a module name": (
        _LIB_SPEC, _LIB.replace("  import Lib\n", "  import Lib\n  import Lib = Evil\n")
        + "module Evil {\n  function F(): int { 2 }\n}\n", False),
    "second module of the same name": (_LIB_SPEC, _LIB + "module Lib {\n  function F(): int { 2 }\n}\n", False),
    "type named like a parameter still captures a type use": (
        "type T2 = int\nmethod M(T: int, x: T2) returns (y: int)\n  ensures y == T\n",
        "type T2 = int\nmethod M(T: int, x: T2) returns (y: int)\n  ensures y == T\n{ y := T; }\ntype T = bool\n",
        False),
}


@pytest.mark.parametrize("name", sorted(SCOPE_ATTACKS))
def test_scope_attacks_are_rejected(name: str) -> None:
    spec, cand, _ = SCOPE_ATTACKS[name]
    r = check(cand, spec)
    assert "QED-E010" in rules(r), [v.message for v in r.violations]
    v = next(v for v in r.violations if v.rule == "QED-E010")
    assert "contract" in v.message and ("Rename" in v.message or "Remove" in v.message or "import" in v.message)


def test_the_dotted_redirect_names_the_module_and_the_use() -> None:
    r = check(_OPENED + _WEAK_B, _OPENED_SPEC)
    assert_only(r, "QED-E010")
    assert any("module `A.B`" in v.message and "`B` (line 5)" in v.message for v in r.violations)


def test_a_new_member_in_a_spec_class_is_judged_by_the_class_scope() -> None:
    # the spec's clauses inside `C` say `Pos`: a member `Pos` of C would capture them; one of another class not
    spec = "predicate Pos(x: int) { x > 0 }\nclass C {\n  method M() returns (y: int)\n    ensures Pos(y)\n}\n"
    inside = "predicate Pos(x: int) { x > 0 }\nclass C {\n  predicate Pos(x: int) { true }\n" \
             "  method M() returns (y: int)\n    ensures Pos(y)\n  { y := 0; }\n}\n"
    other = "predicate Pos(x: int) { x > 0 }\nclass C {\n  method M() returns (y: int)\n    ensures Pos(y)\n" \
            "  { y := 1; }\n}\nclass D {\n  predicate Pos(x: int) { true }\n}\n"
    assert_only(check(inside, spec), "QED-E010")
    assert check(other, spec).ok


@needs_dafny
@pytest.mark.dafny
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(n for n, (_, _, real) in SCOPE_ATTACKS.items() if real))
def test_dafny_accepts_the_scope_attack_but_the_guard_does_not(tmp_path: Path, name: str) -> None:
    spec, cand, _ = SCOPE_ATTACKS[name]
    assert "QED-E010" in rules(check(cand, spec))
    code, out = dafny_verify(tmp_path, cand)
    assert code == 0 and "0 errors" in out, f"Dafny rejected {name!r}, so it proves nothing:\n{out}"


# ----------------------------------------------------------------------------- braceless `match` in clauses

_GET_SPEC = "datatype Opt = None | Some(v: int)\nmethod Get(o: Opt, d: int) returns (r: int)\n" \
            "  ensures match o case None => r == d case Some(v) => r == v\n"


def test_braceless_match_clause_keeps_its_body() -> None:
    cand = _GET_SPEC + "{\n  match o\n  case None => r := d;\n  case Some(v) => r := v;\n}\n"
    assert check(cand, _GET_SPEC).ok


def test_braceless_match_body_is_still_scanned() -> None:
    cand = _GET_SPEC + "{\n  r := 0;\n  assume false;\n}\n"
    r = check(cand, _GET_SPEC)
    assert_only(r, "QED-E101")
    assert r.violations[0].member == "Get"


def test_braceless_match_case_changed_is_caught() -> None:
    cand = _GET_SPEC.replace("Some(v) => r == v", "Some(v) => true") + "{\n  r := d;\n}\n"
    assert_only(check(cand, _GET_SPEC), "QED-E005")


def test_stray_case_is_refused_not_guessed() -> None:
    cand = _GET_SPEC.replace("ensures match o case None => r == d", "ensures r == d") + "{\n  r := d;\n}\n"
    assert "QED-E000" in rules(check(cand, _GET_SPEC))


# ------------------------------------------------------------------------------------- `#` lines (E114)

def test_hash_lines_that_are_no_directive_are_fine() -> None:
    spec = "method Banner() returns (s: string)\n  ensures |s| > 0\n"
    cand = spec + '{\n  s := @"\n# Title\n#include <notes>\n#!/bin/sh\n";\n}\n'
    assert check(cand, spec).ok


def test_directive_inside_a_verbatim_string_is_still_caught() -> None:
    # Dafny's preprocessor acts on it there too: the string Dafny checks lacks these lines (see the Dafny test)
    spec = "method Banner() returns (s: string)\n  ensures |s| > 0\n"
    cand = spec + '{\n  s := @"\n#if DEBUG\nverbose\n#endif\nend";\n}\n'
    r = check(cand, spec)
    assert_only(r, "QED-E114")
    assert "inside a string" in r.violations[0].message and "\\n" in r.violations[0].message


def test_directive_hidden_by_an_invisible_character_is_caught() -> None:
    cand = variant(SORTPAIR_BODY, "  r := [x, y];\n\u00ad#if X\n  assume {:axiom} Sorted(r);\n#endif")
    assert "QED-E114" in rules(check(cand))


@needs_dafny
@pytest.mark.dafny
def test_dafny_preprocesses_directives_inside_verbatim_strings(tmp_path: Path) -> None:
    """Why E114 still counts in strings: Dafny 4.11 drops the `#if`..`#endif` lines from the string itself."""
    src = 'method M() {\n  var s := @"a\n#if X\nb\n#endif\nc";\n  assert |s| == 6;\n}\n'
    code, out = dafny_verify(tmp_path, src)
    assert code == 0 and "1 verified, 0 errors" in out, out


# ------------------------------------------------ the second opinion (QED-A001) and incomplete contracts

def _run(*diags: tuple[str, int, str], file: str = "/w/spec.dfy", severity: str = "warning"):
    from backends.dafny.outcome import VerifierRun
    from verifier.models import Diagnostic

    return VerifierRun(command=["dafny"], exit_code=0, duration_s=0.1, diagnostics=[
        Diagnostic(severity=severity, kind="warning" if severity == "warning" else "resolution", message=m,
                   file=f, line=line) for f, line, m in diags])


_TRAIT_AUDIT = "Area: Compiled declaration has no body and has an ensures clause. Possible mitigation: " \
               "Provide a body or add `{:axiom}`."
_SPEC_FOR_AUDIT = "trait Shape {\n  function Area(): nat\n    ensures Area() >= 0\n}\n" \
                  "method M(x: int) returns (y: int)\n  ensures y > x\n"


def _texts(cand: str):
    from backends.dafny.texts import Texts

    return Texts(file=Path("/w/cand.dfy"), shown="cand.dfy", source=cand, spec=Path("/w/spec.dfy"),
                 spec_source=_SPEC_FOR_AUDIT)


def test_a_finding_of_the_contract_is_matched_by_member_and_message_not_line() -> None:
    from backends.dafny.verdict import _attach, _audit_findings, given_findings

    cand = "// moved down\n\n" + _SPEC_FOR_AUDIT.replace("  ensures y > x\n", "  ensures y > x\n{ y := x + 1; }\n")
    given = given_findings(_texts(cand), _run(("/w/spec.dfy", 2, _TRAIT_AUDIT)))
    assert given == {("Shape.Area", _TRAIT_AUDIT): 1}
    found = _attach(_run(("/w/cand.dfy", 4, _TRAIT_AUDIT)).diagnostics, Path("/w/cand.dfy"), "cand.dfy", cand)
    assert _audit_findings(found, [], [], given) == []
    # the same finding twice in the candidate: one is the contract's, the other the candidate's
    twice = found + [found[0].model_copy(update={"line": 9})]
    assert [v.rule for v in _audit_findings(twice, [], [], given)] == ["QED-A001"]


def test_a_finding_about_an_obligation_is_never_excused() -> None:
    """The spec's bodiless `M` has its own audit finding; the candidate's (M left unimplemented) still counts."""
    from backends.dafny.verdict import given_findings

    own = "M: Compiled declaration has no body and has an ensures clause. Possible mitigation: Provide a body " \
          "or add `{:axiom}`."
    assert given_findings(_texts(_SPEC_FOR_AUDIT), _run(("/w/spec.dfy", 5, own))) == {}


def test_an_unfinished_audit_of_the_contract_excuses_nothing() -> None:
    from backends.dafny.verdict import given_findings

    run = _run(("/w/spec.dfy", 2, _TRAIT_AUDIT))
    run.timed_out = True
    assert given_findings(_texts(_SPEC_FOR_AUDIT), run) == {}
    assert given_findings(_texts(_SPEC_FOR_AUDIT), None) == {}


@pytest.mark.parametrize("message,name", [
    ("unresolved identifier: Helper", "Helper"),
    (("Type or type parameter is not declared in this scope: MyType (did you forget to qualify a name or declare "
      "a module import 'opened'?) (note that names in outer modules are not visible in contained modules)"),
     "MyType"),
    ("module NoSuch does not exist", "NoSuch"),
    ("member 'g' does not exist in class 'C'", "C.g"),
    ("constructor Zed does not exist in datatype D", "D.Zed"),
])
def test_incomplete_contract_names_what_it_never_defines(message: str, name: str) -> None:
    from backends.dafny.verdict import check_spec

    run = _run(("/w/spec.dfy", 3, message), severity="error")
    run.exit_code = 2
    with pytest.raises(BadInput) as e:
        check_spec(run, Path("/w/spec.dfy"))
    assert f"`{name}` (line 3)" in str(e.value) and "does not stand alone" in str(e.value)


def test_other_resolution_errors_keep_the_type_check_message() -> None:
    from backends.dafny.verdict import check_spec

    run = _run(("/w/spec.dfy", 1, "type int does not have a member y"), severity="error")
    run.exit_code = 2
    with pytest.raises(BadInput, match="spec does not type-check"):
        check_spec(run, Path("/w/spec.dfy"))
