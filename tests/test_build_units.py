"""qed build pieces that need no Dafny: signatures, types, clause rewriting, name mangling, package names."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.dafny.pybuild.contracts import combine, example_helpers, helpers_for, rewrite_old
from backends.dafny.pybuild.genpy import mangle, module_file, py_name, sanitize
from backends.dafny.pybuild.interface import read_interface
from backends.dafny.pybuild.resolve import pyhint, resolve

SRC = """
datatype Shape = Rect(width: int, height: int) | Circle(real)
type Digit = d: int | 0 <= d < 10
type Row = seq<Digit>
newtype Byte = b: int | 0 <= b < 256
const Limit: int := 7

method DivMod(a: nat, b: int) returns (q: int, r: int)
  requires b > 0
  ensures a == q * b + r
{ q := a / b; r := a % b; }

method Inc(a: array<int>, ghost g: int)
  modifies a
  ensures forall i :: 0 <= i < a.Length ==> a[i] == old(a[i]) + 1
  ensures old(a.Length) == a.Length
{ assume false; }

function Pick<T(==)>(s: seq<T>, m: map<T, (int, bool)>): T requires |s| > 0 { s[0] }
ghost function Secret(x: int): int { x }
lemma L() {}
class C { }

module Outer {
  module Inner {
    function F(x: Byte, r: Row): (y: int) ensures y >= 0 { 0 }
  }
}
"""


def test_interface_reads_signatures_and_clauses():
    api = read_interface(SRC)
    names = [m.qualified for m in api.members]
    assert names == ["DivMod", "Inc", "Pick", "Outer.Inner.F"]
    dm = api.members[0]
    assert [(p.name, p.type) for p in dm.params] == [("a", ("nat",)), ("b", ("int",))]
    assert [p.name for p in dm.outs] == ["q", "r"] and dm.requires == ["b > 0"]
    inc = api.members[1]
    assert inc.modifies == ["a"] and inc.params[1].ghost
    pick = api.members[2]
    assert pick.type_params == ["T"] and pick.tparams_text == "<T(==)>" and not pick.result_named
    assert pick.params[1].type == ("map", ("T",), ("tuple", ("int",), ("bool",)))
    f = api.members[3]
    assert f.module == ("Outer", "Inner") and f.result_named and f.outs[0].name == "y"
    assert [c.name for c in api.datatypes[0].ctors] == ["Rect", "Circle"]
    assert api.datatypes[0].ctors[1].fields[0].name == "#0"
    assert {t.name: t.kind for t in api.types} == {"Digit": "subset", "Row": "synonym", "Byte": "newtype"}
    assert [c.name for c in api.consts] == ["Limit"]
    assert any("class C" in s for s in api.skipped)


def test_types_resolve_to_canonical_forms():
    api = read_interface(SRC)
    f = api.members[3]
    assert resolve(f.params[0].type, api, f.module) == ("sub", "Byte", ("int",))
    assert resolve(f.params[1].type, api, f.module) == ("seq", ("sub", "Digit", ("int",)))
    assert resolve(("Shape",), api, ()) == ("dt", "Shape")
    assert resolve(("seq", ("char",)), api, ()) == ("seq", ("char",))
    assert resolve(("bv8",), api, ()) == ("bv", 8)
    assert resolve(("int", ), api, (), frozenset()) == ("int",)
    assert resolve(("T",), api, (), frozenset({"T"})) == ("tvar", "T")
    assert resolve(("int", ), api, ())[0] == "int"
    assert resolve(("->", ("int",), ("int",)), api, ())[0] == "unsupported"
    assert pyhint(("map", ("seq", ("char",)), ("multiset", ("int",)))) == "dict[str, Counter[int]]"


def test_old_is_rewritten_to_snapshots():
    snaps = {"a": "qedold_a"}
    assert rewrite_old("a[i] == old(a[i]) + 1", snaps) == "a [ i ] == (qedold_a [ i ]) + 1"
    assert rewrite_old("old(a.Length) == a.Length", snaps) == "(|qedold_a|) == a . Length"
    assert rewrite_old("old(x) == y", snaps) == "(x) == y"
    assert rewrite_old("multiset(a[..]) == multiset(old(a[..]))", snaps).endswith("(qedold_a [ .. ]) )")
    assert rewrite_old("old(F(a))", snaps) is None
    assert rewrite_old("unchanged(a) || a.Length > 0", snaps) == "(a[..] == qedold_a) || a . Length > 0"
    assert rewrite_old("unchanged(b)", snaps) is None
    assert rewrite_old("y > 0", snaps) == "y > 0"


def test_helpers_are_written_into_their_modules():
    api = read_interface(SRC)
    hs = helpers_for(api, api.members)
    names = [h.name for h in hs]
    assert names[:2] == ["QedPre_DivMod_1", "QedPost_DivMod_1"]
    inc_post = [h for h in hs if h.owner == "Inc"]
    assert "qedold_a: seq<int>" in inc_post[0].text and "reads *" in inc_post[0].text
    assert "g:" not in inc_post[0].text  # ghost parameters are not compiled
    assert "QedPre_Pick_1<T(==)>(s: seq<T>" in next(h.text for h in hs if h.owner == "Pick")
    assert {h.name for h in hs if h.purpose == "is"} == {"QedIs_Digit", "QedIs_Byte"}
    comb = combine(SRC, api, hs)
    inner_f = next(h for h in hs if h.name == "QedPost_F_1")
    start = next(s[0] for s in comb.spans if s[2] is inner_f)
    lines = comb.text.splitlines()
    assert lines[start - 1].startswith("predicate QedPost_F_1(x: Byte, r: Row, y: int)")
    # inserted before the closing braces of Outer.Inner, after F
    assert comb.text.index("function F(") < comb.text.index("QedPost_F_1") < comb.text.rindex("}")
    assert comb.text.count("QedPre_DivMod_1") == 1


def test_untyped_array_gets_no_snapshot():
    src = "method R(a: array)\n  modifies a\n  ensures a.Length == old(a.Length)\n  ensures a.Length >= 0\n{ }\n"
    api = read_interface(src)
    assert resolve(api.members[0].params[0].type, api, ()) == ("array", ("any",))
    post = [h for h in helpers_for(api, api.members) if h.purpose == "post"]
    assert not post[0].ok and "element type" in post[0].reason
    assert post[1].ok and "qedold" not in post[1].text


def test_old_of_a_modified_2d_array_is_not_evaluable():
    src = ("method M(a: array2<int>)\n  modifies a\n  ensures forall i, j :: 0 <= i < a.Length0 && 0 <= j < a.Length1"
           " ==> a[i, j] == old(a[i, j]) + 1\n  ensures a.Length0 == old(a.Length0)\n{ assume false; }\n")
    api = read_interface(src)
    post = [h for h in helpers_for(api, api.members) if h.purpose == "post"]
    assert not post[0].ok and not post[1].ok


def test_examples_become_methods():
    api = read_interface(SRC)
    ex = example_helpers(api, [("DivMod(7, 2)", "(3, 1)"), ("Outer.Inner.F(1, [])", "0")])
    assert "var qedr1, qedr2 := DivMod(7, 2);" in ex[0].text and "(qedr1, qedr2) == ((3, 1))" in ex[0].text
    assert "var qedr1 := Outer.Inner.F(1, []);" in ex[1].text


@pytest.mark.parametrize("dafny,python", [
    ("my_fun", "my__fun"), ("sum", "sum_"), ("Foo'", "Foo_k"), ("Is?", "Is_q"), ("#0", "h0_"), ("lambda", "lambda_"),
    ("self", "self"), ("default", "default"), ("Main", "Main"),
])
def test_name_mangling_matches_dafny(dafny, python):
    assert py_name(dafny) == python


def test_module_files():
    assert module_file(()) == "module_"
    assert module_file(("A", "B")) == "A_B"
    assert sanitize("My_Mod") == "My__Mod" and mangle("_x") == "x_"


def test_package_names():
    from verifier.errors import BadInput
    from verifier.pypackage import package_name

    assert package_name(Path("task_id_101.dfy"), None) == "task_id_101"
    assert package_name(Path("2-sum.dfy"), None) == "p_2_sum"
    assert package_name(Path("random.dfy"), None) == "random_dfy"
    assert package_name(Path("x.dfy"), "mine") == "mine"
    with pytest.raises(BadInput):
        package_name(Path("x.dfy"), "json")
    with pytest.raises(BadInput):
        package_name(Path("x.dfy"), "not-valid")
