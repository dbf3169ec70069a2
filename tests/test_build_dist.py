"""qed build's output as a Python distribution: pyproject.toml, the wheel, `pip install` into fresh venvs, the
types (mypy --strict, pyright strict) of the package and of clients, and qed synth's build step.

Needs Dafny 4.11. One fixture (typed.dfy: datatypes across modules, a generic datatype, names that shadow
`list`, `str`, `Counter`, `Fraction`, `Any`) is built once for the module; venvs are made without pip and
filled by this Python's pip (`pip --python`), offline (`--no-index`).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from functools import lru_cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import FIXTURES, REPO

BUILD = FIXTURES / "build"
pytestmark = pytest.mark.dafny

GOOD_CLIENT = '''\
from fractions import Fraction

import typed
from typed.Geo import Box, Circle, Rect, Shape


def describe(s: Shape) -> str:
    match s:
        case Rect(w, h):
            return f"rect {w}x{h}"
        case Circle(radius=r):
            return f"circle {r}"
        case _:
            return "?"


box: Box[int] = typed.Use.Pack(3)
tags: set[str] = box.tags
shapes: list[Shape] = [Rect(2, 3), typed.Geo.Shape.Circle(Fraction(1, 2))]
biggest: Fraction = typed.Largest(shapes)
cells = [1, 2, 3]
typed.Fill(cells, 7)
q: list[int] = typed.list([1, 2])
print(describe(typed.Use.Scaled(Rect(1, 2), 3)), box.item + 1, sorted(tags), biggest, cells, q,
      typed.Flip(typed.Red()), typed.Total(typed.Named("ab", [1, 2])))
try:
    typed.Use.Scaled(Rect(1, 2), -1)
except typed.ContractViolation as e:
    print("refused:", e)
'''
GOOD_OUTPUT = ("rect 3x6 4 ['new'] 6 [7, 7, 7] [1, 2, 0] Blue() 5\n"
               "refused: Use.Scaled: parameter k: -1 is not a nat (nat requires 0 <= x)\n")
BAD_CLIENT = '''\
import typed

typed.Use.Pack("3")
name: int = typed.Named("ab", [1]).str
typed.Geo.Rect(width=1, height="2")
typed.Flip(typed.Geo.Rect(1, 2))
'''
BAD_LINES = [3, 4, 5, 6]  # every line of BAD_CLIENT after the import is wrong


# ------------------------------------------------------------------------------------------ type checkers


@lru_cache(maxsize=None)
def _checker(module: str) -> tuple[list[str] | None, str]:
    """(argv prefix, "") for a type checker installed with the test extras, or (None, why it cannot run)."""
    if importlib.util.find_spec(module) is None:
        return None, f"{module} is not installed (pip install -e '.[test]')"
    argv = [sys.executable, "-m", module]
    try:  # pyright's PyPI wrapper fetches its npm package on the first run
        res = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"{module} cannot start: {e}"
    if res.returncode != 0:
        tail = (res.stderr.strip() or res.stdout.strip()).splitlines()[-1:] or ["(no message)"]
        return None, f"{module} cannot run here: {tail[0]}"
    return argv, ""


def checker(module: str) -> list[str]:
    """The argv prefix of `mypy` or `pyright`, or a skip that says why it cannot run."""
    argv, why = _checker(module)
    if argv is None:
        pytest.skip(why)
    return argv


def mypy(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*checker("mypy"), "--cache-dir", str(cache), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def pyright(*args: str, cwd: Path) -> dict:
    """pyright's JSON report (`summary.filesAnalyzed`, `generalDiagnostics`)."""
    res = subprocess.run([*checker("pyright"), "--outputjson", *args], cwd=cwd, capture_output=True, text=True,
                         timeout=600)
    try:
        return json.loads(res.stdout)
    except ValueError:
        raise AssertionError(f"pyright printed no report (exit {res.returncode}): {res.stdout}{res.stderr}") from None


def mypy_error_lines(output: str, file: str) -> list[int]:
    """Line numbers of the errors mypy reports for `file` (`bad.py:3: error: ...`)."""
    return sorted({int(ln.split(":")[1]) for ln in output.splitlines() if ln.startswith(f"{file}:") and
                   ": error:" in ln})


def pyright_errors(report: dict, file: str | None = None) -> list[tuple[int, str]]:
    """(line, message) of pyright's errors, for `file` (a file name) or for all files."""
    return sorted((d["range"]["start"]["line"] + 1, d["message"]) for d in report["generalDiagnostics"]
                  if d["severity"] == "error" and (file is None or Path(d["file"]).name == file))


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def env(tmp_path_factory, dafny_install):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QED_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield tmp_path_factory


@pytest.fixture(scope="module")
def project(env):
    """typed.dfy built once by `qed build --wheel --json`: (folder, JSON document)."""
    from verifier.cli import main

    out = env.mktemp("project") / "typed"
    r = CliRunner().invoke(main, ["build", str(BUILD / "typed.dfy"), "--out", str(out), "--wheel", "--json"])
    assert r.exit_code == 0, r.output
    return out, json.loads(r.output)


def _venv(path: Path) -> Path:
    """A fresh venv without pip (fast); packages go in with this Python's pip (`pip --python`)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=300)
    return path / "bin" / "python"


def _pip_install(python: Path, *what: str) -> None:
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
                          *what], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.fixture(scope="module")
def installed(env, project):
    """A fresh venv into which `pip install --no-index DIR` built and installed the project (offline)."""
    out, _ = project
    python = _venv(env.mktemp("venv") / "v")
    _pip_install(python, str(out))
    return python


# ------------------------------------------------------------------------------------------ the project


def test_the_folder_is_a_project_with_provenance(project):
    out, doc = project
    sha = hashlib.sha256((BUILD / "typed.dfy").read_bytes()).hexdigest()
    meta = tomllib.loads((out / "pyproject.toml").read_text(encoding="utf-8"))
    p, q = meta["project"], meta["tool"]["qedgen"]
    assert (p["name"], p["version"]) == ("typed", f"0.0.0+sha256.{sha[:12]}")
    assert p["requires-python"] == ">=3.11" and p["dependencies"] == [] and p["readme"] == "README.md"
    assert "Typing :: Typed" in p["classifiers"] and p["optional-dependencies"]["test"]
    assert meta["build-system"] == {"requires": [], "build-backend": "qed_build_backend", "backend-path": ["."]}
    assert q["artifact"] == "typed.dfy" and q["artifact-sha256"] == sha and q["verified"] is True
    assert q["dafny"].startswith("4.11") and q["solver"].startswith("z3 ") and q["package"] == "typed"
    for rel in ("typed/py.typed", "qed_build_backend.py", "test_typed.py", "README.md"):
        assert (out / rel).is_file(), rel
    assert {"pyproject.toml", "qed_build_backend.py", "typed/py.typed"} <= set(doc["build"]["files"])
    assert doc["dist"] == {"name": "typed", "version": p["version"], "pyproject": str(out / "pyproject.toml"),
                           "wheel": str(out / "dist" / f"typed-{p['version']}-py3-none-any.whl")}
    assert "pip install ." in (out / "README.md").read_text(encoding="utf-8")


def test_signatures_are_annotated(project):
    """Real annotations (PEP 484) that `typing.get_type_hints` resolves, across modules and through shadowing."""
    out, _ = project
    code = "import typing, typed; print(repr(typing.get_type_hints(typed.Use.Pack)))"
    res = subprocess.run([sys.executable, "-c", code], cwd=out, capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "{'x': <class 'int'>, 'return': typed.Geo.Box[int]}", res.stderr
    src = (out / "typed" / "__init__.py").read_text(encoding="utf-8")
    assert "def Largest(shapes: _builtins.list[_m_Geo.Shape]) -> _fractions.Fraction:" in src  # `list` is taken
    assert "def Fill(a: _builtins.list[int], v: int) -> None:" in src
    assert "    str: _builtins.str\n    list: _builtins.list[int]\n" in src
    geo = (out / "typed" / "Geo" / "__init__.py").read_text(encoding="utf-8")
    assert "class Box(_qed.DatatypeValue, Generic[_T_co]):" in geo and "    item: _T_co\n    tags: set[str]" in geo
    assert "def Area(s: Shape) -> Fraction:" in geo


def test_wheel_is_well_formed_and_the_same_from_every_frontend(project, tmp_path):
    out, doc = project
    wheel = Path(doc["dist"]["wheel"])
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        info = f"typed-{doc['dist']['version']}.dist-info"
        assert names[-3:] == [f"{info}/METADATA", f"{info}/WHEEL", f"{info}/RECORD"]
        assert "typed/py.typed" in names and "typed/_dafny_gen/_dafny/__init__.py" in names
        assert not any("__pycache__" in n or n.startswith("test_") for n in names)
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        rows = list(csv.reader(io.StringIO(zf.read(f"{info}/RECORD").decode())))
        assert [r[0] for r in rows] == names
        for name, digest, size in rows[:-1]:
            data = zf.read(name)
            expect = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (f"sha256={expect}", len(data)), name
        metadata = zf.read(f"{info}/METADATA").decode()
        assert "Name: typed\n" in metadata and "Requires-Python: >=3.11\n" in metadata
        assert 'Requires-Dist: hypothesis>=6.90; extra == "test"' in metadata
        assert "Description-Content-Type: text/markdown\n\n# typed\n" in metadata
        assert b"Tag: py3-none-any\n" in zf.read(f"{info}/WHEEL")
    # pip's own PEP 517 build (isolated, offline: the backend needs nothing) gives the same bytes
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index", "-w",
                          str(tmp_path / "pip"), str(out)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "pip" / wheel.name).read_bytes() == wheel.read_bytes()
    # what `python -m build` does: the sdist, then the wheel from the unpacked sdist
    frontend = ("import sys, qed_build_backend as b; "
                "print(getattr(b, sys.argv[1])(sys.argv[2]))")
    sd = subprocess.run([sys.executable, "-c", frontend, "build_sdist", str(tmp_path)], cwd=out, capture_output=True,
                        text=True, timeout=120, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert sd.returncode == 0, sd.stderr
    with tarfile.open(tmp_path / sd.stdout.strip()) as tar:
        members = tar.getnames()
        tar.extractall(tmp_path / "unpacked", filter="data")
    root = tmp_path / "unpacked" / f"typed-{doc['dist']['version']}"
    assert {f"{root.name}/{f}" for f in ("PKG-INFO", "pyproject.toml", "README.md", "qed_build_backend.py",
                                         "test_typed.py", "typed/py.typed")} <= set(members)
    (tmp_path / "from-sdist").mkdir()
    wh = subprocess.run([sys.executable, "-c", frontend, "build_wheel", str(tmp_path / "from-sdist")], cwd=root,
                        capture_output=True, text=True, timeout=120)
    assert wh.returncode == 0, wh.stderr
    assert (tmp_path / "from-sdist" / wheel.name).read_bytes() == wheel.read_bytes()


def test_python_m_build(project, tmp_path):
    """`python -m build DIR` (the PyPA frontend, when it is installed)."""
    if importlib.util.find_spec("build") is None:
        pytest.skip("the `build` frontend is not installed (pip install build); the PEP 517 hooks it calls are "
                    "tested in test_wheel_is_well_formed_and_the_same_from_every_frontend")
    out, doc = project
    res = subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path), str(out)], capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / Path(doc["dist"]["wheel"]).name).read_bytes() == Path(doc["dist"]["wheel"]).read_bytes()


# ------------------------------------------------------------------------------------------ installed


def test_pip_install_then_import_call_and_match(installed, project, tmp_path):
    client = tmp_path / "client.py"
    client.write_text(GOOD_CLIENT, encoding="utf-8")
    res = subprocess.run([str(installed), str(client)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout == GOOD_OUTPUT
    where = subprocess.run([str(installed), "-c", "import typed; print(typed.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120).stdout
    assert "site-packages" in where


def test_the_wheel_installs(env, project, tmp_path):
    _, doc = project
    python = _venv(tmp_path / "v")
    _pip_install(python, doc["dist"]["wheel"])
    code = "import typed, typed.Geo as g; print(typed.Use.Pack(2), g.Area(g.Rect(2, 5)))"
    res = subprocess.run([str(python), "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.stdout == "Box(item=2, tags={'new'}) 10\n", res.stderr


# ------------------------------------------------------------------------------------------ types


def test_package_is_clean_under_mypy_strict_and_pyright_strict(project, tmp_path):
    out, _ = project
    explicit = mypy("--strict", "typed", cwd=out, cache=tmp_path / "mypy")  # as the issue asks: --strict
    assert explicit.returncode == 0 and "Success: no issues found" in explicit.stdout, explicit.stdout
    configured = mypy(cwd=out, cache=tmp_path / "mypy")  # the project's [tool.mypy]: strict, files = typed
    assert configured.returncode == 0 and "Success: no issues found in 11 source files" in configured.stdout, \
        configured.stdout
    report = pyright(cwd=out)  # the project's [tool.pyright]: strict, Dafny's translation ignored
    assert report["summary"]["filesAnalyzed"] == 11 and pyright_errors(report) == [], report
    assert not report["generalDiagnostics"], report  # no warnings either


def test_clients_are_checked_against_the_installed_package(installed, tmp_path):
    """py.typed at work: an installed package's annotations reach mypy and pyright (a correct client is clean,
    a wrong one is flagged line by line; a `str` for an `int` first)."""
    (tmp_path / "good.py").write_text(GOOD_CLIENT, encoding="utf-8")
    (tmp_path / "bad.py").write_text(BAD_CLIENT, encoding="utf-8")
    py = str(installed)
    good = mypy("--strict", "--python-executable", py, "good.py", cwd=tmp_path, cache=tmp_path / "c")
    assert good.returncode == 0, good.stdout
    bad = mypy("--strict", "--python-executable", py, "bad.py", cwd=tmp_path, cache=tmp_path / "c")
    assert mypy_error_lines(bad.stdout, "bad.py") == BAD_LINES, bad.stdout
    assert 'bad.py:3: error: Argument 1 to "Pack" has incompatible type "str"; expected "int"' in bad.stdout
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "strict"}), encoding="utf-8")
    report = pyright("--pythonpath", py, "good.py", "bad.py", cwd=tmp_path)
    assert report["summary"]["filesAnalyzed"] == 2 and pyright_errors(report, "good.py") == [], report
    errors = pyright_errors(report, "bad.py")
    assert sorted({line for line, _ in errors}) == BAD_LINES, errors
    assert errors[0][0] == 3 and 'parameter "x" of type "int"' in errors[0][1], errors


# ------------------------------------------------------------------------------------------ CLI, synth


def test_cli_version_and_wheel(env):
    from verifier.cli import main

    out = env.mktemp("abs_dist")
    r = CliRunner().invoke(main, ["build", str(REPO / "specs" / "examples" / "abs.dfy"), "--out", str(out),
                                  "--version", "1.2.0", "--wheel"])
    assert r.exit_code == 0, r.output
    assert f"project: {out / 'pyproject.toml'} (abs 1.2.0; pip install {out})" in r.output
    assert f"wheel: {out / 'dist' / 'abs-1.2.0-py3-none-any.whl'}" in r.output
    assert tomllib.loads((out / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"] == "1.2.0"
    with zipfile.ZipFile(out / "dist" / "abs-1.2.0-py3-none-any.whl") as zf:
        assert "Version: 1.2.0\n" in zf.read("abs-1.2.0.dist-info/METADATA").decode()
        assert "def Abs(x: int) -> int:" in zf.read("abs/__init__.py").decode()


def test_synth_build_step_writes_the_same_distribution(env, dafny_install, tmp_path):
    """`qed synth`'s build step (cli_synth._build) on a verified run: RUN_DIR/python is the same kind of
    project, and its wheel builds."""
    from types import SimpleNamespace

    from backends import registry
    from verifier.cli_build import _build_wheel
    from verifier.cli_synth import _build
    from verifier.runstore import RunDir
    from verifier.tasks import load_task

    ex = REPO / "specs" / "examples"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "artifact.dfy").write_bytes((ex / "abs.dfy").read_bytes())
    task = load_task(ex / "abs.yaml")
    res = SimpleNamespace(out_dir=str(run_dir), artifact=str(run_dir / "artifact.dfy"), contract=None)
    with registry.create_backend("dafny") as backend:
        package_dir = _build(backend, task, res)
    assert package_dir == str(run_dir / "python" / "abs")
    project = run_dir / "python"
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["name"] == "abs" and meta["tool"]["qedgen"]["contract"] == "abs.spec.dfy"
    assert (project / "abs" / "py.typed").is_file()
    assert "def Abs(x: int) -> int:" in (project / "abs" / "__init__.py").read_text(encoding="utf-8")
    assert _build_wheel(project, 120).name == f"abs-{meta['project']['version']}-py3-none-any.whl"
    built = [e for e in RunDir(run_dir).events() if e["event"] == "build"]
    assert built[-1]["ok"] and built[-1]["project"] == str(project)
