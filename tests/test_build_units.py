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


def test_an_allocation_in_an_example_becomes_a_variable_first():
    """Dafny allows no `new` inside an expression: `var r := M(new int[3][4, 9, 2]);` does not compile."""
    api = read_interface("method MaxArray(a: array<int>) returns (m: int)\n  requires a.Length > 0\n{ m := a[0]; }\n")
    (ex,) = example_helpers(api, [("MaxArray(new int[3][4, 9, 2])", "9")])
    assert "  var qeda1 := new int[3][4, 9, 2];\n  var qedr1 := MaxArray(qeda1);\n" in ex.text


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


# ------------------------------------------------------------------------------------------ annotations


def _spelling(taken=(), module=()):
    from backends.dafny.pybuild.pytypes import DatatypeRef, Spelling

    refs = {"Shape": DatatypeRef((), "Shape", 0), "Opt": DatatypeRef((), "Opt", 1),
            "Geo.Point": DatatypeRef(("Geo",), "Point", 0)}
    return Spelling("pkg", module, frozenset(taken), refs)


@pytest.mark.parametrize("t,hint", [
    (("int",), "int"), (("nat",), "int"), (("bv", 8), "int"), (("ordinal",), "int"), (("bool",), "bool"),
    (("char",), "str"), (("seq", ("char",)), "str"), (("real",), "Fraction"),
    (("seq", ("int",)), "list[int]"), (("array", ("real",)), "list[Fraction]"),
    (("array2", ("int",)), "list[list[int]]"),
    (("set", ("seq", ("int",))), "set[tuple[int, ...]]"),  # set elements are hashable: tuples, frozensets
    (("set", ("set", ("int",))), "set[frozenset[int]]"),
    (("map", ("seq", ("char",)), ("set", ("int",))), "dict[str, set[int]]"),
    (("multiset", ("seq", ("bool",))), "Counter[tuple[bool, ...]]"),
    (("tuple", ("int",), ("bool",)), "tuple[int, bool]"), (("tuple",), "tuple[()]"),
    (("dt", "Shape"), "Shape"), (("dt", "Opt", ("seq", ("int",))), "Opt[list[int]]"), (("dt", "Opt"), "Opt[Any]"),
    (("dt", "Geo.Point"), "_m_Geo.Point"), (("dt", "Gone"), "Any"),
    (("sub", "Digit", ("int",)), "int"), (("tvar", "T"), "Any"), (("any",), "Any"),
])
def test_annotations_of_canonical_types(t, hint):
    from backends.dafny.pybuild.pytypes import annotation

    assert annotation(t, _spelling()) == hint


def test_annotations_avoid_names_the_module_shadows():
    from backends.dafny.pybuild.pytypes import annotation, returns

    sp = _spelling(taken={"list", "Counter", "Fraction", "Any"}, module=("Geo",))
    assert annotation(("multiset", ("seq", ("real",))), sp) == "_collections.Counter[tuple[_fractions.Fraction, ...]]"
    assert returns([("seq", ("int",)), ("tvar", "T")], sp) == "tuple[_builtins.list[int], _typing.Any]"
    assert annotation(("dt", "Geo.Point"), sp) == "Point" and annotation(("dt", "Shape"), sp) == "_m_root.Shape"
    assert annotation(("tvar", "T"), sp, {"T": "_T_co"}) == "_T_co"
    assert sp.imports() == ["import builtins as _builtins", "import collections as _collections",
                            "import fractions as _fractions", "import pkg as _m_root", "import typing as _typing"]
    plain = _spelling()
    annotation(("map", ("real",), ("multiset", ("int",))), plain)
    assert plain.imports() == ["from collections import Counter", "from fractions import Fraction"]


# ------------------------------------------------------------------------------------------ the project files


def _provenance(**kw):
    from backends.dafny.pybuild.dist import Provenance

    base = dict(artifact="abs.dfy", artifact_sha256="ab" * 32, contract="abs.spec.dfy", contract_sha256="cd" * 32,
                verified=True, verdict="verified by `qed verify`", dafny="4.11.0", solver="z3 4.12.1", qedgen="0.1.0")
    return Provenance(**{**base, **kw})


def test_versions_from_the_artifact_hash_are_normalized():
    from backends.dafny.pybuild.dist import default_version

    assert default_version("7D6614940158" + "0" * 52) == "0.0.0+sha256.7d6614940158"
    assert default_version("000123456789" + "f" * 52) == "0.0.0+sha256.123456789"  # PEP 440 drops the zeros


def test_pyproject_parses_and_escapes():
    import tomllib

    from backends.dafny.pybuild.dist import pyproject, toml_str

    weird = 'a "quoted" \\ back\tslash\x7f\x01 é 😀'
    assert tomllib.loads(f"x = {toml_str(weird)}")["x"] == weird
    doc = tomllib.loads(pyproject(pkg="abs", version="1.0", test_file="test_abs.py",
                                  provenance=_provenance(artifact='we"ird.dfy')))
    assert doc["project"]["name"] == "abs" and doc["project"]["version"] == "1.0"
    assert doc["project"]["description"] == 'Typed Python API of the verified Dafny program we"ird.dfy'
    q = doc["tool"]["qedgen"]
    assert (q["artifact-sha256"], q["contract-sha256"], q["dafny"], q["tests"]) == ("ab" * 32, "cd" * 32, "4.11.0",
                                                                                    ["test_abs.py"])
    assert doc["tool"]["mypy"]["overrides"][0] == {"module": ["abs._dafny_gen", "abs._dafny_gen.*"],
                                                   "ignore_errors": True}
    assert doc["tool"]["pyright"]["ignore"] == ["abs/_dafny_gen"]
    bare = tomllib.loads(pyproject(pkg="p", version="1.0", test_file="t.py",
                                   provenance=_provenance(contract=None, contract_sha256=None, solver=None)))
    assert "contract" not in bare["tool"]["qedgen"] and "solver" not in bare["tool"]["qedgen"]


@pytest.fixture
def tiny_project(tmp_path, monkeypatch):
    """A project as qed build lays it out, without Dafny: pyproject, backend, README, tests, a package."""
    from backends.dafny.pybuild.dist import backend_source, pyproject

    (tmp_path / "pyproject.toml").write_text(pyproject(pkg="tiny", version="1.0", test_file="test_tiny.py",
                                                       provenance=_provenance()), encoding="utf-8")
    (tmp_path / "qed_build_backend.py").write_text(backend_source(), encoding="utf-8")
    (tmp_path / "README.md").write_text("# tiny\n\nHello.\n", encoding="utf-8")
    (tmp_path / "test_tiny.py").write_text("def test_x():\n    pass\n", encoding="utf-8")
    for rel, text in (("tiny/__init__.py", "X: int = 1\n"), ("tiny/py.typed", ""), ("tiny/sub/m.py", "Y = 2\n"),
                      ("tiny/__pycache__/m.cpython-311.pyc", "junk")):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # PEP 517 hooks run in the project folder
    return tmp_path


def test_backend_writes_deterministic_wheels_and_sdists(tiny_project, tmp_path_factory):
    import tarfile
    import zipfile

    from backends.dafny.pybuild import pep517

    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    name = pep517.build_wheel(str(a))
    assert name == "tiny-1.0-py3-none-any.whl" and pep517.build_wheel(str(b)) == name
    assert (a / name).read_bytes() == (b / name).read_bytes()
    with zipfile.ZipFile(a / name) as zf:
        assert zf.namelist() == ["tiny/__init__.py", "tiny/py.typed", "tiny/sub/m.py", "tiny-1.0.dist-info/METADATA",
                                 "tiny-1.0.dist-info/WHEEL", "tiny-1.0.dist-info/RECORD"]
        meta = zf.read("tiny-1.0.dist-info/METADATA").decode()
    assert meta.startswith("Metadata-Version: 2.1\nName: tiny\nVersion: 1.0\n") and meta.endswith("\n# tiny\n\nHello.\n")
    sdist = pep517.build_sdist(str(a))
    assert sdist == "tiny-1.0.tar.gz" and pep517.build_sdist(str(b)) == sdist
    assert (a / sdist).read_bytes() == (b / sdist).read_bytes()
    with tarfile.open(a / sdist) as tar:
        assert tar.getnames() == [f"tiny-1.0/{f}" for f in ("PKG-INFO", "README.md", "pyproject.toml",
                                                            "qed_build_backend.py", "test_tiny.py", "tiny/__init__.py",
                                                            "tiny/py.typed", "tiny/sub/m.py")]
        assert {m.mtime for m in tar.getmembers()} == {0}
    editable = pep517.build_editable(str(a))
    with zipfile.ZipFile(a / editable) as zf:
        assert zf.read("tiny.pth").decode() == str(tiny_project.resolve()) + "\n"


def test_backend_refuses_metadata_it_cannot_honour(tiny_project, tmp_path):
    from backends.dafny.pybuild import pep517

    text = (tiny_project / "pyproject.toml").read_text(encoding="utf-8")
    (tiny_project / "pyproject.toml").write_text(text.replace("dependencies = []", 'dependencies = []\nlicense = "MIT"'),
                                                 encoding="utf-8")
    with pytest.raises(pep517.BuildError, match=r"\[project\] license is not supported"):
        pep517.build_wheel(str(tmp_path))


def test_cli_version_is_checked_before_anything_is_built(tmp_path):
    from click.testing import CliRunner

    from verifier.cli import main

    r = CliRunner().invoke(main, ["build", str(tmp_path / "missing.dfy"), "--out", str(tmp_path / "o"),
                                  "--version", "v1.0"])
    assert r.exit_code == 2 and "not a PEP 440 version" in r.output and not (tmp_path / "o").exists()


def test_cli_sets_the_version_line(tmp_path):
    import tomllib

    from backends.dafny.pybuild.dist import pyproject
    from verifier.cli_build import _set_version

    p = tmp_path / "pyproject.toml"
    p.write_text(pyproject(pkg="abs", version="0.0.0+sha256.abc", test_file="t.py", provenance=_provenance()),
                 encoding="utf-8")
    _set_version(p, "2.0.1rc1")
    doc = tomllib.loads(p.read_text(encoding="utf-8"))
    assert doc["project"]["version"] == "2.0.1rc1" and doc["tool"]["qedgen"]["qedgen"] == "0.1.0"
