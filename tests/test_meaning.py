"""Annotate mode's meaning check (`backends/dafny/meaning.py`): Dafny's own reading of the program and of the
candidate compared, so that hints that change what the program's code means are rejected.

The first part needs no Dafny (views built by hand); the attack and honest suites run the real Dafny 4.11
(`dafny translate py`, about a second per text; the programs' views are cached for the whole module)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from backends.dafny.annotate import RULES_ANNOTATE, check_annotation
from backends.dafny.meaning import MEANING_NAMESPACE, View, compare, compiled_units, py_name, start_meaning_check
from verifier.cache import Store
from verifier.errors import BadInput

FIX = Path(__file__).parent / "fixtures" / "annotate"


# ------------------------------------------------------------------------------------ without Dafny

def _py(tmp_path: Path, files: dict[str, str]) -> Path:
    out = tmp_path / "out-py"
    for name, text in files.items():
        p = out / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    return out


MODULE = """
import module_ as module_
import _dafny as _dafny

class default__:
    def  __init__(self):
        pass

    @staticmethod
    def Inc():
        r: int = int(0)
        d_0_x_: int
        d_0_x_ = 255
        r = (d_0_x_) + (1)
        return r
"""


def _view(tmp_path: Path, text: str, resolved: str = "method Inc() returns (r: int) { }\n", name="a") -> View:
    units, names = compiled_units(_py(tmp_path / name, {"module_.py": text, "_dafny/__init__.py": "x = 1\n"}))
    return View("compiled", units=units, names=sorted(names), resolved=resolved)


SRC = "method Inc() returns (r: int)\n{\n  var x := 255;\n  r := x + 1;\n}\n"


def test_units_split_per_definition_and_ignore_positions_and_runtime(tmp_path):
    units, names = compiled_units(_py(tmp_path, {"module_.py": MODULE, "_dafny/__init__.py": "def f(): pass\n"}))
    assert set(units) == {"module_.py::", "module_.py::default__", "module_.py::default__.__init__",
                          "module_.py::default__.Inc"}
    assert "d_0_x_" in names and "f" not in names  # the runtime is not the program
    moved = MODULE.replace("    @staticmethod\n    def Inc", "\n\n\n    @staticmethod\n    def Inc")
    assert compiled_units(_py(tmp_path / "b", {"module_.py": moved}))[0] == units  # lines do not count


def test_changed_definition_is_e204_with_both_lines(tmp_path):
    p = _view(tmp_path, MODULE)
    c = _view(tmp_path, MODULE.replace("r = (d_0_x_) + (1)", "r = ((d_0_x_) + (1)) & ((1 << 8) - 1)"), name="b")
    (v,) = compare(p, c, "c.dfy", "p.dfy", SRC)
    assert v.rule == "QED-E204" and v.member == "Inc" and v.line == 1 and v.family == "frozen_code"
    assert "`r = d_0_x_ + 1`" in v.message and "(1 << 8) - 1" in v.message
    assert "fresh names" in v.message  # what to do


def test_missing_definition_is_e204(tmp_path):
    p = _view(tmp_path, MODULE + "\n    @staticmethod\n    def Other():\n        return 1\n")
    c = _view(tmp_path, MODULE, name="b")
    assert [v.rule for v in compare(p, c, "c.dfy", "p.dfy", SRC)] == ["QED-E204"]


def test_new_helper_is_allowed_unless_the_program_names_it(tmp_path):
    p = _view(tmp_path, MODULE)
    helper = MODULE + "\n    @staticmethod\n    def Tri(k):\n        return k * (k + 1) // 2\n"
    assert compare(p, _view(tmp_path, helper, name="b"), "c.dfy", "p.dfy", SRC) == []
    named = MODULE + "\n    @staticmethod\n    def d_0_x_():\n        return 1\n"  # a name P's code uses
    assert [v.rule for v in compare(p, _view(tmp_path, named, name="c"), "c.dfy", "p.dfy", SRC)] == ["QED-E205"]
    dunder = MODULE + "\n    def __eq__(self, other):\n        return True\n"  # called without being named
    assert [v.rule for v in compare(p, _view(tmp_path, dunder, name="d"), "c.dfy", "p.dfy", SRC)] == ["QED-E205"]


def test_resolved_reading_is_compared_by_the_annotate_rules(tmp_path):
    p = _view(tmp_path, MODULE, resolved="method Inc() returns (r: int) { var x: int := 255; r := x + 1; }\n")
    c = _view(tmp_path, MODULE, name="b", resolved="lemma Hint(b: bv8) { }\nmethod Inc() returns (r: int) "
                                                   "{ var x: bv8 := 255; Hint(x); r := x + 1; }\n")
    (v,) = compare(p, c, "c.dfy", "p.dfy", SRC)
    assert v.rule == "QED-E206" and v.member == "Inc" and "`int`" in v.message and "`bv8`" in v.message
    honest = "method Inc() returns (r: int) { var x: int := 255; assert x > 0; r := x + 1; }\n"
    assert compare(p, _view(tmp_path, MODULE, name="c", resolved=honest), "c.dfy", "p.dfy", SRC) == []


def test_undecidable_cases_reject(tmp_path):
    p = _view(tmp_path, MODULE)
    for c in (View("timeout", detail="Dafny did not finish translating within 60 s"),
              View("crashed", detail="dafny translate exited with status 134"),
              View("unresolved", errors=["line 3: unresolved identifier: y"])):
        (v,) = compare(p, c, "c.dfy", "p.dfy", SRC)
        assert v.rule == "QED-E208" and (c.detail or c.errors[0]) in v.message
    (v,) = compare(View("timeout", detail="no time"), p, "c.dfy", "p.dfy", SRC)
    assert v.rule == "QED-E208" and "given program" in v.message
    uncompilable = View("uncompilable", resolved=p.resolved, errors=["line 1: Function F has no body"])
    assert [v.rule for v in compare(p, uncompilable, "c.dfy", "p.dfy", SRC)] == ["QED-E207"]
    with pytest.raises(BadInput, match="does not resolve"):
        compare(View("unresolved", errors=["line 1: x"]), p, "c.dfy", "p.dfy", SRC)


def test_fallback_without_compiled_view_compares_the_resolved_reading(tmp_path):
    resolved = "method {:extern} Ext() returns (r: int)\nmethod Inc() returns (r: int) { var x: int := 255; }\n"
    p = View("uncompilable", resolved=resolved)
    assert compare(p, View("uncompilable", resolved=resolved), "c.dfy", "p.dfy", SRC) == []
    assert compare(p, View("compiled", resolved=resolved), "c.dfy", "p.dfy", SRC) == []
    typed = resolved.replace("var x: int", "var x: bv8")
    assert [v.rule for v in compare(p, View("uncompilable", resolved=typed), "c.dfy", "p.dfy", SRC)] == ["QED-E206"]


def test_nat_and_int_are_one_type_only_in_variable_declarations(tmp_path):
    def res(body: str) -> View:
        return View("uncompilable", resolved="method M(b: int) returns (r: int) {\n" + body + "\n}\n")

    def rules(p: str, c: str) -> list[str]:
        return [v.rule for v in compare(res(p), res(c), "c.dfy", "p.dfy", SRC)]

    assert rules("  var m: nat := b;", "  var m: int := b;") == []  # an invariant `m - 1 >= 0` made it int
    assert rules("  ghost var s: set<nat> := {};", "  ghost var s: set<int> := {};") == []
    assert rules("  var s: set<nat> := set n: nat | n < b :: n;",  # the domain of a comprehension counts
                 "  var s: set<int> := set n: int | n < b :: n;") == ["QED-E206"]
    assert rules("  var y: nat :| y < 5;", "  var y: int :| y < 5;") == ["QED-E206"]  # so does a choice's
    assert rules("  var y: bv8 := 5;", "  var y: int := 5;") == ["QED-E206"]


def test_a_refinement_may_prove_what_its_parent_assumed():
    """The program inherits `assume Valid();` from its parent module; the candidate's refinement `assert ...;`
    proves it (Dafny prints `assert Valid();` there). The resolved view compares meaning, not proof obligations:
    accepted. A candidate that drops the inherited obligation, or changes it, is still refused."""
    def res(body: str) -> View:
        return View("uncompilable", resolved="class C {\n  constructor Init() {\n    new;\n" + body + "\n  }\n}\n")

    def rules(p: str, c: str) -> list[str]:
        return [v.rule for v in compare(res(p), res(c), "c.dfy", "p.dfy", SRC)]

    assert rules("    assume Valid();", "    assert Valid();") == []
    assert rules("    assume Valid();", "    assume Valid();") == []
    assert rules("    assume Valid();", "") == ["QED-E206"]
    assert rules("    assume Valid();", "    assert Other();") == ["QED-E206"]


def test_positions_in_halt_messages_do_not_count(tmp_path):
    halt = MODULE.replace("        return r\n", "        raise _dafny.HaltException('qed.dfy(9,2): ' + 'fail')\n")
    p = _view(tmp_path, halt)
    moved = _view(tmp_path, halt.replace("qed.dfy(9,2)", "qed.dfy(14,2)"), name="b")
    assert compare(p, moved, "c.dfy", "p.dfy", SRC) == []
    other = _view(tmp_path, halt.replace("'fail'", "'other'"), name="c")
    assert [v.rule for v in compare(p, other, "c.dfy", "p.dfy", SRC)] == ["QED-E204"]


def test_unreadable_resolved_print_of_the_candidate_rejects(tmp_path):
    p = _view(tmp_path, MODULE)
    broken = _view(tmp_path, MODULE, name="b", resolved="method Inc() returns (r: int) { }\n}\n")
    assert [v.rule for v in compare(p, broken, "c.dfy", "p.dfy", SRC)] == ["QED-E208"]


def test_view_round_trips_through_the_cache_format(tmp_path):
    v = _view(tmp_path, MODULE)
    back = View.from_json(v.to_json())
    assert back.units == v.units and back.names == v.names and back.resolved == v.resolved and back.cached


@pytest.mark.parametrize("dafny, python", [("Inc", "Inc"), ("my_fun", "my__fun"), ("print", "print_"),
                                           ("x'", "x_k"), ("_x", "x__")])
def test_python_names(dafny, python):
    assert py_name(dafny) == python


def test_rule_rows_are_in_the_annotate_table():
    import backends.dafny.annotate as m

    for rule in ("QED-E204", "QED-E205", "QED-E206", "QED-E207", "QED-E208"):
        assert rule in RULES_ANNOTATE and rule in m.__doc__


# --------------------------------------------------------------------------------------- with Dafny

@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    """One cache for the module: each program is translated once, however many candidates use it."""
    return Store(tmp_path_factory.mktemp("meaning-cache"))


def _run(install, store, tmp_path: Path, program: str, candidate: str, timeout: float = 120):
    p, c = tmp_path / "program.dfy", tmp_path / "candidate.dfy"
    p.write_text(program)
    c.write_text(candidate)
    return start_meaning_check(install, p, program, c, candidate, timeout=timeout, store=store).result()


def full_check(install, store, tmp_path, program: str, candidate: str) -> tuple[list[str], list[str]]:
    """(token guard's rules, meaning check's rules) for one pair."""
    token = [v.rule for v in check_annotation(program, candidate, "candidate.dfy")]
    meaning = [v.rule for v in _run(install, store, tmp_path, program, candidate)]
    return token, meaning


BV = "method Inc() returns (r: int)\n{\n  var x := 255;\n  r := (x + 1) as int;\n}\n"
HINT = "lemma Hint(b: bv8) {}\n"


def bv(stmt: str, decls: str = HINT) -> str:
    return decls + BV.replace("  r := ", f"  {stmt}\n  r := ")


SHADOW = """class Cell {
  var v: int
  method Set(b: bool) returns (r: int)
    modifies this
  {
    var x := 0;
    if b {
      x := 1;
      v := 5;
    }
    r := x;
    var i := 0;
    while i < 3
    {
      x := x + i;
      i := i + 1;
    }
    if b {
      r := r + 1;
    }
  }
}
"""

CALLS = """class Counter {
  var n: int
  constructor() ensures n == 0 { n := 0; }
  method Bump() returns (r: int) modifies this ensures n == old(n) + 1 { n := n + 1; r := n; }
}
iterator Gen() yields (x: int) { x := 1; yield; }
lemma Go() {}
class K { static method Go() {} }
method Use(c: Counter) returns (k: int)
  modifies c
{
  var it := new Gen();
  k := c.n;
}
"""

#: name -> (program, candidate, which check must reject: "meaning", "token" or "both")
ATTACKS = {
    # type inference: the program's own untyped locals get another type
    "bv8 through a lemma call": (BV, bv("Hint(x);"), "meaning"),
    "bv8 through an assert": (BV, bv("assert x == 255 as bv8;", ""), "meaning"),
    "bv8 through a ghost variable's type": (BV, bv("ghost var y: bv8 := x;", ""), "meaning"),
    "bv8 through a let in an assert": (BV, bv("assert var y: bv8 := x; y == y;", ""), "meaning"),
    "bv8 through a function in an assert": (BV, bv("assert F(x);", "predicate F(b: bv8) { true }\n"), "meaning"),
    "bv16 through a lemma with type arguments": (
        BV, bv("Hint<int>(x, 0);", "lemma Hint<T>(b: bv16, t: T) {}\n"), "meaning"),
    "a newtype through a lemma call": ("newtype Small = x | 0 <= x < 1000\n" + BV, "newtype Small = x | 0 <= x < "
                                       "1000\n" + bv("Hint(x);", "lemma Hint(s: Small) {}\n"), "meaning"),
    "ORDINAL through a lemma call": (BV, bv("Hint(x);", "lemma Hint(o: ORDINAL) {}\n"), "meaning"),
    "a real newtype through a lemma call": (
        "method Half() returns (r: real)\n{\n  var x := 1.5;\n  r := x;\n}\n",
        "newtype Pos = r: real | r > 0.0 witness 1.0\nlemma Hint(p: Pos) {}\n"
        "method Half() returns (r: real)\n{\n  var x := 1.5;\n  Hint(x);\n  r := x as real;\n}\n", "both"),
    "a sequence's element type": (
        "method S() returns (r: int)\n{\n  var s := [];\n  s := s + [255];\n  r := (s[0] + 1) as int;\n}\n",
        "lemma Hint(s: seq<bv8>) {}\nmethod S() returns (r: int)\n{\n  var s := [];\n  Hint(s);\n"
        "  s := s + [255];\n  r := (s[0] + 1) as int;\n}\n", "meaning"),
    "a let in a ghost function (contract)": ((FIX / "ghost_let.program.dfy").read_text(),
                                             (FIX / "ghost_let.candidate.dfy").read_text(), "meaning"),
    "a bound variable through an invariant": (
        "method Q(n: int) returns (r: int)\n{\n  var x := 200;\n  var i := 0;\n  while i < n\n  {\n"
        "    i := i + 1;\n  }\n  r := (x + x) as int;\n}\n",
        "predicate Small(b: bv8) { true }\nmethod Q(n: int) returns (r: int)\n{\n  var x := 200;\n  var i := 0;\n"
        "  while i < n\n    invariant Small(x)\n  {\n    i := i + 1;\n  }\n  r := (x + x) as int;\n}\n", "meaning"),
    # shadowing: the program's own assignments go to a ghost variable
    "shadow a local in a nested block": (SHADOW, SHADOW.replace("      x := 1;\n", "      ghost var x := 0;\n"
                                                                "      x := 1;\n"), "both"),
    "shadow a field": (SHADOW, SHADOW.replace("      v := 5;\n", "      ghost var v: int;\n      v := 5;\n"), "both"),
    "shadow an out-parameter": (SHADOW, SHADOW.replace("      r := r + 1;\n", "      ghost var r := 0;\n"
                                                       "      r := r + 1;\n"), "both"),
    "shadow a local in a loop body": (SHADOW, SHADOW.replace("      x := x + i;\n", "      ghost var x := 0;\n"
                                                             "      x := x + i;\n"), "both"),
    # calls of compiled code from hints
    "ghost variable initialised by a method call": (
        CALLS, CALLS.replace("  k := c.n;\n", "  ghost var z := c.Bump();\n  k := c.n;\n"), "both"),
    "an iterator's MoveNext in a ghost initialiser": (
        CALLS, CALLS.replace("  k := c.n;\n", "  ghost var more := it.MoveNext();\n  k := c.n;\n"), "both"),
    "a lemma call that is a static method call": (
        CALLS, CALLS.replace("  k := c.n;\n", "  K.Go();\n  k := c.n;\n"), "both"),
}


@pytest.mark.dafny
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_rejected(name, dafny_install, store, tmp_path):
    program, candidate, by = ATTACKS[name]
    token, meaning = full_check(dafny_install, store, tmp_path, program, candidate)
    if by in ("meaning", "both"):
        assert any(r in ("QED-E204", "QED-E205", "QED-E206", "QED-E207") for r in meaning), (token, meaning)
    if by == "meaning":
        assert token == [], token  # the token guard alone would have accepted it
    if by in ("token", "both"):
        assert token, meaning


SUM = (FIX.parent.parent.parent / "specs" / "examples" / "sum_nohints.dfy").read_text()

HONEST_PROGRAM = """method Max(a: array<int>) returns (m: int)
  requires a.Length > 0
  ensures forall k :: 0 <= k < a.Length ==> a[k] <= m
{
  m := a[0];
  var i := 1;
  while i < a.Length
  {
    if a[i] > m {
      m := a[i];
    }
    i := i + 1;
  }
}
"""

HONEST = {
    "a compiled helper function in an invariant": (
        "function Big(a: array<int>, n: int, m: int): bool reads a requires 0 <= n <= a.Length "
        "{ forall k :: 0 <= k < n ==> a[k] <= m }\n" + HONEST_PROGRAM.replace(
            "  while i < a.Length\n", "  while i < a.Length\n    invariant 1 <= i <= a.Length\n"
            "    invariant Big(a, i, m)\n")),
    "a ghost predicate, ghost variables with fresh names, calc and forall-ensures": (
        "ghost predicate UpTo(a: array<int>, n: int, m: int) reads a { forall k :: 0 <= k < n && k < a.Length "
        "==> a[k] <= m }\n" + HONEST_PROGRAM.replace(
            "  while i < a.Length\n", "  ghost var start := m;\n  while i < a.Length\n"
            "    invariant 1 <= i <= a.Length\n    invariant UpTo(a, i, m)\n").replace(
            "    i := i + 1;\n", "    ghost var seen := i;\n    calc { seen; == i; }\n"
            "    forall k | 0 <= k < i ensures a[k] <= m { }\n    i := i + 1;\n")),
    "a lemma call with explicit type arguments, a conversion in the hint, attributes": (
        "lemma {:induction false} Same<T>(x: T) ensures x == x {}\nlemma Byte(b: bv8) {}\n" + HONEST_PROGRAM.replace(
            "method Max", "method {:isolate_assertions} {:resource_limit 10000000} Max").replace(
            "  while i < a.Length\n", "  Same<int>(i);\n  Byte((i % 256) as bv8);\n  while i < a.Length\n"
            "    invariant 1 <= i <= a.Length\n    invariant forall k :: 0 <= k < i ==> a[k] <= m\n").replace(
            "    i := i + 1;\n", "    assert {:split_here} L: m >= a[i];\n    i := i + 1;\n")),
    "the summation example": (FIX / "sum_annotated.dfy").read_text(),
}


@pytest.mark.dafny
@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_annotation_is_accepted(name, dafny_install, store, tmp_path):
    candidate = HONEST[name]
    program = SUM if name == "the summation example" else HONEST_PROGRAM
    token, meaning = full_check(dafny_install, store, tmp_path, program, candidate)
    assert token == [] and meaning == [], (token, meaning)


@pytest.mark.dafny
def test_honest_hints_in_a_program_that_cannot_be_compiled_use_the_fallback(dafny_install, store, tmp_path):
    program = "method Ext() returns (r: int)\n\n" + BV  # no body: Dafny cannot compile it
    candidate = "lemma Pos(k: int) requires k > 0 ensures k >= 1 {}\n" + program.replace(
        "  r := ", "  assert x > 0;\n  Pos(x);\n  ghost var y := x;\n  r := ")
    views = start_meaning_check(dafny_install, *_files(tmp_path, program, candidate), timeout=120, store=store)
    assert views.result() == []
    assert views._program.view().status == "uncompilable"  # the fallback was really used
    attack = HINT + program.replace("  r := ", "  Hint(x);\n  r := ")
    found = [v.rule for v in _run(dafny_install, store, tmp_path, program, attack)]
    assert found == ["QED-E206"], found


def _files(tmp_path: Path, program: str, candidate: str) -> tuple[Path, str, Path, str]:
    p, c = tmp_path / "program.dfy", tmp_path / "candidate.dfy"
    p.write_text(program)
    c.write_text(candidate)
    return p, program, c, candidate


@pytest.mark.dafny
def test_fixtures_verify_yet_are_rejected(dafny_backend, dafny_install, store, tmp_path):
    """The two headline attacks are real lies: Dafny verifies each candidate, the program not; only the meaning
    check tells (the ghost-let one only through the resolved reading: its compiled code is identical)."""
    from tests.conftest import check

    for stem, rule in (("bv8_lemma_call", "QED-E204"), ("ghost_let", "QED-E206")):
        program, candidate = FIX / f"{stem}.program.dfy", FIX / f"{stem}.candidate.dfy"
        assert check(dafny_backend, candidate).verdict == "verified"
        assert check_annotation(program.read_text(), candidate.read_text(), candidate.name) == []
        pending = start_meaning_check(dafny_install, program, program.read_text(), candidate,
                                      candidate.read_text(), timeout=120, store=store)
        assert [v.rule for v in pending.result()] == [rule], stem


@pytest.mark.dafny
def test_candidate_that_no_longer_compiles_is_e207(dafny_install, store, tmp_path):
    candidate = "function Opaque(x: int): int\n" + BV.replace("  r := ", "  assert Opaque(x) == Opaque(x);\n  r := ")
    found = _run(dafny_install, store, tmp_path, BV, candidate)
    assert [v.rule for v in found] == ["QED-E207"] and "no body" in found[0].message


@pytest.mark.dafny
def test_unresolved_candidate_and_program(dafny_install, store, tmp_path):
    found = _run(dafny_install, store, tmp_path, BV, BV.replace("  r := ", "  assert y > 0;\n  r := "))
    assert [v.rule for v in found] == ["QED-E208"] and "unresolved identifier" in found[0].message
    with pytest.raises(BadInput, match="does not resolve"):
        _run(dafny_install, store, tmp_path, BV.replace("255", "z"), BV)



@pytest.mark.dafny
def test_a_program_dafny_does_not_resolve_is_bad_input_even_when_the_guard_refuses_the_answer(dafny_backend, write):
    """A hint remover that cut a statement in half leaves a program Dafny does not resolve; its ground truth then
    differs in code tokens too. The task is broken, not the answer: bad input naming the program, not QED-E201."""
    from tests.conftest import check

    broken = BV.replace("  r := (x + 1) as int;\n", "  r := (x + 1)\n    as int + ;\n")
    with pytest.raises(BadInput, match="program .*broken.dfy does not resolve"):
        check(dafny_backend, write("answer.dfy", BV), program=write("broken.dfy", broken))

@pytest.mark.dafny
def test_program_view_is_cached_and_candidate_pays_alone(dafny_install, cache_dir, tmp_path):
    own = Store(cache_dir)
    first = start_meaning_check(dafny_install, *_files(tmp_path, BV, bv("Hint(x);")), timeout=120, store=own)
    assert [v.rule for v in first.result()] == ["QED-E204"]
    assert list((cache_dir / MEANING_NAMESPACE).rglob("*.json"))
    second = start_meaning_check(dafny_install, *_files(tmp_path, BV, bv("assert x > 0;", "")), timeout=120,
                                 store=own)
    assert second._program._running is None  # no Dafny process for the program this time
    assert second.result() == []


@pytest.mark.dafny
def test_timeout_rejects_and_cancel_kills(dafny_install, tmp_path):
    found = start_meaning_check(dafny_install, *_files(tmp_path, BV, BV), timeout=0.05, store=None).result()
    assert {v.rule for v in found} == {"QED-E208"} and "--timeout" in found[0].message
    pending = start_meaning_check(dafny_install, *_files(tmp_path, BV, bv("Hint(x);")), timeout=120, store=None)
    procs = [pending._program._running.proc, pending._candidate._running.proc]  # noqa: SLF001
    pending.cancel()
    assert all(p.poll() is not None for p in procs)
