"""The Dafny backend's contract review by form (no verifier needed: `runner=None` leaves changed clauses
undecided): what changed, and which changes weaken a contract."""

from __future__ import annotations

from pathlib import Path

from backends.dafny.review import review

F = Path("c.dfy")
BASE = """\
function Spec(x: int): int { if x < 0 then -x else x }
method Abs(x: int) returns (y: int)
  requires x > -100
  ensures y == Spec(x)
  ensures y >= 0
method Fill(a: array<int>, b: array<int>)
  modifies a
"""


def whats(old: str, new: str, role: str = "spec") -> list[tuple[str, str, str]]:
    r = review(None, old, new, F, role, 60)
    return [(f.member, f.what, f.status) for f in r.findings]


def test_comments_whitespace_and_proof_bodies_are_not_contract_changes():
    assert not review(None, BASE, "// a comment\n" + BASE.replace("  ", "    "), F, "spec", 60).changed
    impl_old = "method M(x: int) returns (y: int) ensures y > x { y := x + 1; }\n"
    impl_new = "method M(x: int) returns (y: int) ensures y > x { y := x + 2; }\n"
    assert not review(None, impl_old, impl_new, F, "file", 60).changed


def test_weakening_by_form():
    assert whats(BASE, BASE.replace("  ensures y >= 0\n", "")) == [("Abs", "removed_ensures", "weakened")]
    assert whats(BASE, BASE.replace("  requires x > -100\n", "  requires x > -100\n  requires x != 3\n")) == [
        ("Abs", "added_requires", "weakened")]
    assert whats(BASE, BASE.replace("  modifies a\n", "  modifies a, b\n")) == [("Fill", "wider_frame", "weakened")]
    assert whats(BASE, BASE.replace("method Fill(a: array<int>, b: array<int>)\n  modifies a\n", "")) == [
        ("Fill", "removed_member", "weakened")]
    assert whats(BASE, BASE.replace("-x else x", "x else x")) == [("Spec", "definition_changed", "undecided")]
    assert whats(BASE, BASE.replace("(x: int) returns (y: int)", "(x: nat) returns (y: int)")) == [
        ("Abs", "signature_changed", "undecided")]


def test_strengthening_is_a_change_without_a_finding():
    r = review(None, BASE, BASE.replace("  ensures y >= 0\n", "  ensures y >= 0\n  ensures y <= 100\n")
               .replace("  requires x > -100\n", ""), F, "spec", 60)
    assert r.changed and r.findings == [] and r.status == "not_weakened"
    [m] = r.members
    assert [c.text for c in m.added] == ["y <= 100"] and [c.text for c in m.removed] == ["x > -100"]


def test_changed_clauses_without_a_verifier_are_undecided_and_new_contracts_are_events():
    assert whats(BASE, BASE.replace("ensures y >= 0", "ensures 0 <= y")) == [("Abs", "changed_ensures", "undecided")]
    r = review(None, None, BASE, F, "spec", 60)
    assert r.changed and r.status == "not_weakened" and {m.change for m in r.members} == {"added"}


def test_a_checked_files_declarations_count_only_when_its_clauses_or_signatures_use_them():
    old = ("const K := 3\ndatatype D = A | B\nmethod M(x: int) returns (y: int) ensures y > 0 { y := K; }\n"
           "method N(d: D) returns (y: int) ensures y == 1 { y := 1; }\n")
    assert not review(None, old, old.replace("K := 3", "K := 4"), F, "file", 60).changed
    assert whats(old, old.replace("A | B", "A | B | C"), "file") == [("D", "declaration_changed", "undecided")]
    assert whats(old, old.replace("K := 3", "K := 4"), "spec") == [("K", "declaration_changed", "undecided")]
