"""qed build: real verified programs built into packages and called from Python (needs Dafny 4.11)."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import FIXTURES, REPO

BUILD = FIXTURES / "build"
pytestmark = pytest.mark.dafny


@pytest.fixture(scope="module")
def env(tmp_path_factory, dafny_install):
    """An empty verifier cache shared by this module's builds."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QED_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield tmp_path_factory


def _load(out: Path, pkg: str):
    """Import a freshly built package (dropping any earlier one of the same name)."""
    for name in [m for m in sys.modules if m == pkg or m.startswith(pkg + ".")]:
        del sys.modules[name]
    sys.path.insert(0, str(out))
    try:
        importlib.invalidate_caches()
        return importlib.import_module(pkg)
    finally:
        sys.path.remove(str(out))


def build_package(artifact: Path, out: Path, **kw):
    """`qed build` through the registry's Dafny backend (its python_build capability)."""
    from backends import registry
    from backends.base import PythonBuildRequest

    with registry.create_backend("dafny") as backend:
        return backend.build_python(PythonBuildRequest(artifact=artifact, out_dir=out, **kw))


def _build(env, fixture: str, **kw):
    out = env.mktemp(fixture)
    res = build_package(BUILD / f"{fixture}.dfy", out, **kw)
    return res, _load(out, res.package)


@pytest.fixture(scope="module")
def kinds(env):
    return _build(env, "kinds")


@pytest.fixture(scope="module")
def multi(env):
    return _build(env, "multi")


@pytest.fixture(scope="module")
def ghosts(env):
    return _build(env, "ghosts")


# ------------------------------------------------------------------------------------------ values


def test_ints_nats_bools_chars_strings_reals(kinds):
    _, k = kinds
    assert k.DivMod(17, 5) == (3, 2)
    assert k.IsEven(4) is True and k.IsEven(-3) is False
    assert k.Negate(False) is True
    assert k.NextChar("a") == "b"
    assert k.Shout("grüß 😀") == "grüß 😀!"
    assert k.Half(Fraction(3, 4)) == Fraction(3, 8) and type(k.Half(1)) is Fraction
    assert k.DigitSum(4, 9) == 13
    assert k.Wrap(255) == 0 and k.Wrap(7) == 8


def test_collections_tuples_and_out_params(kinds):
    _, k = kinds
    assert k.Sum([1, 2, 3]) == 6
    assert k.Union({1, 2}, {2, 5}) == {1, 2, 5}
    assert k.Lookup({"a": 1, "é": 2}, "é") == 2
    assert k.Count(Counter("banana"), "a") == 3
    bag = k.AddToBag(Counter({7: 2}), 7)
    assert bag == Counter({7: 3}) and isinstance(bag, Counter)
    assert k.Stats([1, 2, 4]) == (3, 7, Fraction(7, 3))
    assert k.Swap(k.Pair(1, True)) == (True, 1)
    assert k.Put({"a": 1}, "ü", 2) == {"a": 1, "ü": 2}
    assert k.Unwrap(k.Wrapper(5)) == 5  # a one-field datatype stays a class (no wrapper erasure)


def test_arrays_read_modified_returned(kinds):
    _, k = kinds
    a = [3, 9, -2]
    assert k.MaxOf(a) == 9 and a == [3, 9, -2]
    b = [1, -2, 5]
    same = b
    assert k.DoubleAll(b) is None
    assert same is b and b == [2, -4, 10]
    assert k.Range(4) == [0, 1, 2, 3]
    with pytest.raises(k.ContractTypeError, match="pass a list"):
        k.DoubleAll((1, 2))


def test_datatypes_are_plain_classes(kinds):
    import dataclasses

    _, k = kinds
    r = k.Rect(2, 3)
    assert dataclasses.is_dataclass(r) and k.Rect.__match_args__ == ("width", "height")
    match k.Insert(k.Leaf(), 4):
        case k.Node(k.Leaf(), value, right=k.Leaf()):
            assert value == 4
        case other:
            pytest.fail(f"no match: {other}")
    assert r == k.Rect(width=2, height=3) and r != k.Rect(3, 2) and hash(r) == hash(k.Rect(2, 3))
    assert (r.width, r.height) == (2, 3) and repr(r) == "Rect(width=2, height=3)"
    assert isinstance(r, k.Shape) and k.Shape.Circle is k.Circle
    assert k.Area(r) == 6 and k.Area(k.Circle(Fraction(1, 2))) == Fraction(3, 4)
    t = k.Insert(k.Insert(k.Leaf(), 5), 2)
    assert t == k.Node(k.Node(k.Leaf(), 2, k.Leaf()), 5, k.Leaf())
    assert type(t).__module__ == k.__name__ and type(t.left) is k.Node
    assert k.Size(t) == 2
    assert k.Pair(1, True)._0 == 1
    with pytest.raises(AttributeError):
        r.width = 5
    with pytest.raises(TypeError):
        k.Rect(1)


# ------------------------------------------------------------------------------------------ boundary


def test_failed_preconditions_never_reach_compiled_code(kinds, monkeypatch):
    res, k = kinds
    gen = importlib.import_module(f"{res.package}._dafny_gen.module_")
    monkeypatch.setattr(gen.default__, "DivMod", lambda *a: pytest.fail("compiled code was called"))
    with pytest.raises(k.ContractViolation) as e:
        k.DivMod(7, 0)
    assert "requires b > 0" in str(e.value) and e.value.clause == "b > 0" and isinstance(e.value, ValueError)
    with pytest.raises(k.ContractViolation, match="not a nat"):
        k.DivMod(-1, 2)
    with pytest.raises(TypeError, match="expected"):
        k.DivMod("7", 2)
    with pytest.raises(k.ContractViolation):
        k.DivMod(True, 2)  # a bool is not an int here


def test_subset_types_and_other_clauses(kinds):
    _, k = kinds
    with pytest.raises(k.ContractViolation, match="requires k in m"):
        k.Lookup({"a": 1}, "b")
    with pytest.raises(k.ContractViolation, match="c < 'z'"):
        k.NextChar("z")
    with pytest.raises(k.ContractViolation, match="Digit"):
        k.DigitSum(10, 1)
    with pytest.raises(k.ContractViolation, match="Byte"):
        k.Wrap(256)
    with pytest.raises(k.ContractViolation, match="a.Length > 0"):
        k.MaxOf([])
    with pytest.raises(k.ContractTypeError):
        k.Area(k.Leaf())
    with pytest.raises(k.ContractTypeError, match="one-character"):
        k.NextChar("ab")


def test_docstrings_carry_the_contract(kinds, ghosts):
    _, k = kinds
    doc = k.MaxOf.__doc__
    assert "requires a.Length > 0" in doc and "ensures exists i :: 0 <= i < a.Length && a[i] == m" in doc
    assert "method MaxOf(a: array<int>) returns (m: int)" in doc
    res, g = ghosts
    assert "not checked at run time" in g.Scale.__doc__
    scale = next(m for m in res.members if m.dafny_name == "Scale")
    assert scale.checked_requires == ["Positive(x)"]
    assert [c for c, _ in scale.unchecked_requires] == ["Secret(x) < 1000"]
    assert [c for c, _ in scale.ensures_not_evaluable] == ["y == Secret(x)"]
    assert g.Scale(3) == 6
    with pytest.raises(g.ContractViolation, match="Positive"):
        g.Scale(0)


# ------------------------------------------------------------------------------------------ modules, Main


def test_modules_and_main_prints_like_dafny_run(multi, dafny_install, capfd, tmp_path):
    from verifier import procs

    _, m = multi
    assert m.Geometry.Manhattan(m.Geometry.Point(0, 0), m.Geometry.Point(-2, 3)) == 5
    assert m.Geometry.Shapes.Perimeter(1, 2) == 6
    assert m.Text.Repeat("ab", 2) == "abab"
    with pytest.raises(m.ContractViolation):
        m.Text.Repeat("x", -1)
    capfd.readouterr()
    m.Main()
    ours = capfd.readouterr().out
    prog = tmp_path / "multi.dfy"  # dafny run writes multi-py/ beside its input: keep it out of the repo
    prog.write_bytes((BUILD / "multi.dfy").read_bytes())
    run = procs.run([str(dafny_install.path), "run", "--no-verify", "--target", "py", str(prog)],
                    timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    expected = run.stdout.split("\n", 2)[2] if run.stdout.startswith("\n") else run.stdout
    assert ours == expected.replace("\nDafny program verifier did not attempt verification\n", "")
    assert "ä" in ours and "Geometry.Point.Point(1, 2)" in ours


# ------------------------------------------------------------------------------------------ gate, determinism


def test_refuses_unverified_and_writes_nothing(env):
    from verifier.cli import main

    out = env.mktemp("unproved")
    r = CliRunner().invoke(main, ["build", str(BUILD / "unproved.dfy"), "--out", str(out)])
    assert r.exit_code == 1
    assert "not verified" in r.output and "qed verify" in r.output
    assert list(out.iterdir()) == []


def test_spec_gate(env):
    from verifier.cli import main

    ex = REPO / "specs" / "examples"
    out = env.mktemp("abs")
    ok = CliRunner().invoke(main, ["build", str(ex / "abs.dfy"), "--spec", str(ex / "abs.spec.dfy"), "--out", str(out),
                                   "--name", "absolute"])
    assert ok.exit_code == 0, ok.output
    assert _load(out, "absolute").Abs(-4) == 4
    readme = (out / "README.md").read_text()
    assert "abs.spec.dfy" in readme and "sha256" in readme and "Dafny 4.11" in readme
    bad = CliRunner().invoke(main, ["build", str(ex / "abs_cheat.dfy"), "--spec", str(ex / "abs.spec.dfy"),
                                    "--out", str(env.mktemp("cheat"))])
    assert bad.exit_code == 1 and "rejected" in bad.output


def test_deterministic(env, kinds):
    res, _ = kinds
    again = env.mktemp("kinds_again")
    res2 = build_package(BUILD / "kinds.dfy", again)
    first = Path(res.out_dir)
    assert res2.files == res.files
    for rel in res.files:
        assert (first / rel).read_bytes() == (again / rel).read_bytes(), rel


# ------------------------------------------------------------------------------------------ property tests


def test_property_tests_report_per_clause(ghosts):
    from verifier.testrun import run_tests

    res, _ = ghosts
    rep = run_tests(Path(res.test_file), max_examples=30, timeout=120, call_seconds=0.5)
    assert rep.ok, rep
    first = next(m for m in rep.members if m.member == "First")
    assert first.unchecked_requires == ["0 <= k < a.Length"] and first.inconclusive_errors and not first.errors
    fib = next(m for m in rep.members if m.member == "Fib")
    assert fib.slow == 3 and fib.valid > 0  # exponential on most inputs: skipped as slow, not failed
    by = {(m.member, c.clause): c for m in rep.members for c in m.clauses}
    assert by[("Scale", "y > 0")].status == "pass" and by[("Scale", "y > 0")].checked > 0
    assert by[("Scale", "y == Secret(x)")].status == "not_evaluable"
    assert by[("Fill", "old(a.Length) == a.Length")].status == "pass"
    assert by[("Touch", "unchanged(a)")].status == "pass"


def test_property_tests_catch_a_broken_package(env, ghosts):
    """Tamper with the compiled code: the postcondition checks must notice."""
    import shutil

    from verifier.testrun import run_tests

    res, _ = ghosts
    out = env.mktemp("broken")
    shutil.copytree(res.out_dir, out, dirs_exist_ok=True)
    gen = out / res.package / "_dafny_gen" / "module_.py"
    text = gen.read_text()
    assert "(a)[(d_0_i_)] = v" in text
    gen.write_text(text.replace("(a)[(d_0_i_)] = v", "(a)[(d_0_i_)] = (v) + (1)"))
    rep = run_tests(out / Path(res.test_file).name, max_examples=20, timeout=120, call_seconds=0.5)
    assert not rep.ok
    fill = next(m for m in rep.members if m.member == "Fill")
    bad = next(c for c in fill.clauses if c.clause.startswith("forall"))
    assert bad.status == "fail" and "Fill(" in bad.counterexample


def test_cli_test_json_with_task_examples(env, tmp_path):
    from verifier.cli import main

    ex = REPO / "specs" / "examples"
    task = tmp_path / "abs.yaml"
    task.write_text((ex / "abs.yaml").read_text().replace("spec: abs.spec.dfy", f"spec: {ex / 'abs.spec.dfy'}")
                    + "  - call: Abs(-5)\n    expect: \"6\"\n")
    out = env.mktemp("abs_task")
    r = CliRunner().invoke(main, ["build", str(ex / "abs.dfy"), "--out", str(out), "--task", str(task), "--test",
                                  "--json", "--max-examples", "20"])
    assert r.exit_code == 1, r.output  # the made-up third example is wrong
    doc = json.loads(r.output)
    assert [e["status"] for e in doc["tests"]["examples"]] == ["pass", "pass", "fail"]
    assert "Return the absolute value" in _load(out, "abs").Abs.__doc__
    clauses = next(m for m in doc["tests"]["members"] if m["member"] == "Abs")["clauses"]
    assert clauses and all(c["status"] == "pass" for c in clauses)


def test_an_example_that_allocates_an_array_is_evaluated(env):
    """maxarray.yaml's example passes a `new int[3][4, 9, 2]`: it is evaluated (and passes), not skipped."""
    from verifier.cli import main

    ex = REPO / "specs" / "examples"
    out = env.mktemp("maxarray_task")
    r = CliRunner().invoke(main, ["build", str(ex / "maxarray.dfy"), "--spec", str(ex / "maxarray.spec.dfy"),
                                  "--out", str(out), "--task", str(ex / "maxarray.yaml"), "--test", "--json",
                                  "--max-examples", "10"])
    assert r.exit_code == 0, r.output
    assert [e["status"] for e in json.loads(r.output)["tests"]["examples"]] == ["pass"]


@pytest.fixture(scope="module")
def generics(env):
    return _build(env, "generics")


def test_built_packages_are_clean_under_mypy_strict_and_pyright_strict(kinds, multi, generics, ghosts, tmp_path):
    """Every fixture's package type-checks strictly with no configuration: the `# type: ignore` marker on Dafny's
    translation is all it takes (each project's own pyproject.toml config is tested in test_build_dist)."""
    from tests.test_build_dist import mypy, pyright, pyright_errors

    built = [res for res, _ in (kinds, multi, generics, ghosts)]
    path = os.pathsep.join(r.out_dir for r in built)
    packages = [a for r in built for a in ("-p", r.package)]
    n = sum(len(list(Path(r.package_dir).rglob("*.py"))) for r in built)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MYPYPATH", path)
        res = mypy("--strict", *packages, cwd=tmp_path, cache=tmp_path / "mypy")
    assert res.returncode == 0 and f"Success: no issues found in {n} source files" in res.stdout, res.stdout
    # pyright ignores an `include` entry that is not relative to the folder of its configuration
    config = {"typeCheckingMode": "strict", "include": [os.path.relpath(r.package_dir, tmp_path) for r in built],
              "extraPaths": [r.out_dir for r in built]}
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config), encoding="utf-8")
    report = pyright(cwd=tmp_path)
    assert report["summary"]["filesAnalyzed"] == n and not report["generalDiagnostics"], pyright_errors(report)


def test_generics_constants_and_keyword_names(generics, capfd):
    _, g = generics
    assert g.Len(g.Cons("x", g.Cons("y", g.Nil()))) == 2 and g.Len(g.Cons(1, g.Nil())) == 1
    assert g.FromSeq([4, 5]) == g.Cons(4, g.Cons(5, g.Nil()))
    assert g.Find({"a": [1, 2]}, "a") == g.Some([1, 2]) and g.Find({}, "a") == g.None_()
    assert g.Keys({1: {"ab"}, 2: set()}) == {1, 2}
    assert g.Pairs({(1, "a"), (2, "b")}) == 2
    assert g.Copy(list("hé")) == ["h", "é"]
    assert g.Grid(2) == [[0, 1], [1, 2]]
    assert g.Limit == 7 and g.Greeting == "hi"
    capfd.readouterr()
    g.Main(["a", "b"])
    assert capfd.readouterr().out == "2\n"


def test_certificate_hashes_in_readme(env, tmp_path):
    import hashlib

    from verifier.cli import main

    art = tmp_path / "artifact.dfy"
    art.write_bytes((REPO / "specs" / "examples" / "abs.dfy").read_bytes())
    sha = hashlib.sha256(art.read_bytes()).hexdigest()
    (tmp_path / "certificate.json").write_text(json.dumps({"artifact_sha256": sha, "contract_sha256": "c0ffee",
                                                           "toolchain": {"dafny": "4.11.0"}}))
    out = env.mktemp("cert")
    r = CliRunner().invoke(main, ["build", str(art), "--out", str(out), "--name", "certified"])
    assert r.exit_code == 0, r.output
    readme = (out / "README.md").read_text()
    assert f"`artifact_sha256`: `{sha}`" in readme and "`contract_sha256`: `c0ffee`" in readme
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"artifact_sha256": "0" * 64}))
    bad = CliRunner().invoke(main, ["build", str(art), "--out", str(out), "--certificate", str(other)])
    assert bad.exit_code == 2 and "another artifact" in bad.output
