"""Finding Lean (QED_LEAN / QED_LAKE / QED_LEAN_REPL, PATH, elan's folders), `qed toolchain status` for Lean, and
`qed toolchain install lean` through a fake elan (tests/fakes/fake_elan.py, NOT elan): success, a failed
download, a half install cleaned away, a wrong version, and options that do not apply."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from tests.lean_support import make_bin
from toolchains.lean import find_program, find_project, locate_lean
from verifier.cli import main
from verifier.errors import ToolchainError


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    for var in ("QED_LEAN", "QED_LAKE", "QED_LEAN_REPL", "ELAN_HOME", "FAKE_ELAN_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("QED_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_discovery_order(clean_env, monkeypatch):
    tmp = clean_env
    env = dict(os.environ)
    assert find_program("lean", env) is None
    with pytest.raises(ToolchainError, match="qed toolchain install lean"):
        locate_lean(env)
    elan_bin = make_bin(tmp / "home" / ".elan" / "bin", ("lean", "lake"))
    assert find_program("lean", env).how == "elan (~/.elan/bin)"
    monkeypatch.setenv("ELAN_HOME", str(tmp / "elanhome"))
    make_bin(tmp / "elanhome" / "bin", ("lean",))
    assert find_program("lean", dict(os.environ)).how == "elan ($ELAN_HOME/bin)"
    path_bin = make_bin(tmp / "pathbin", ("lean", "repl"))
    monkeypatch.setenv("PATH", str(path_bin))
    env = dict(os.environ)
    assert find_program("lean", env).how == "PATH" and find_program("repl", env).path == path_bin / "repl"
    monkeypatch.setenv("QED_LEAN", str(elan_bin / "lean"))
    found = locate_lean(dict(os.environ))
    assert found.how == "QED_LEAN" and found.version == "4.24.0" and found.repl is not None
    monkeypatch.setenv("QED_LEAN", str(tmp / "nope"))
    with pytest.raises(ToolchainError, match="QED_LEAN=.*not an executable"):
        locate_lean(dict(os.environ))
    monkeypatch.delenv("QED_LEAN")
    assert find_program("repl", dict(os.environ)).how == "PATH"
    monkeypatch.setenv("QED_LEAN_REPL", str(tmp / "nope"))
    assert "QED_LEAN_REPL" in locate_lean(dict(os.environ)).notes[0]  # lean works; the REPL note says why not


def test_find_project_reads_the_toolchain_and_mathlib(tmp_path):
    root = tmp_path / "p"
    (root / "Sub").mkdir(parents=True)
    (root / "lakefile.toml").write_text('name = "p"\n[[require]]\nname = "mathlib"\n')
    (root / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    project = find_project(root / "Sub" / "A.lean")
    assert project.root == root.resolve() and project.toolchain == "leanprover/lean4:v4.24.0" and project.mathlib
    assert find_project(tmp_path / "elsewhere.lean") is None


def test_status_row(clean_env, monkeypatch):
    tmp = clean_env
    bin_dir = make_bin(tmp / "bin")
    monkeypatch.setenv("QED_LEAN", str(bin_dir / "lean"))
    monkeypatch.setenv("PATH", str(bin_dir))
    project = tmp / "proj"
    project.mkdir()
    (project / "lakefile.lean").write_text("package p\nrequire mathlib from git \"x\"\n")
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    monkeypatch.chdir(project)
    r = CliRunner().invoke(main, ["toolchain", "status", "--json"])
    assert r.exit_code == 0
    row = {t["name"]: t for t in json.loads(r.output)["toolchains"]}["lean"]
    assert row["ok"] and row["supported"] and row["version"] == "4.24.0" and row["how"] == "QED_LEAN"
    assert f"lake: {bin_dir / 'lake'} (PATH)" in row["note"] and f"repl: {bin_dir / 'repl'} (PATH)" in row["note"]
    assert "lean-toolchain leanprover/lean4:v4.24.0, Mathlib yes" in row["note"]
    r = CliRunner().invoke(main, ["toolchain", "status", "--require", "lean"])
    assert r.exit_code == 0 and "lean" in r.output
    monkeypatch.delenv("QED_LEAN")
    monkeypatch.setenv("PATH", str(tmp / "empty"))
    r = CliRunner().invoke(main, ["toolchain", "status", "--require", "lean"])
    assert r.exit_code == 3 and "qed toolchain install lean" in r.output


@pytest.fixture
def elan(clean_env, monkeypatch):
    tmp = clean_env
    bin_dir = make_bin(tmp / "elanbin", ("elan",))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("ELAN_HOME", str(tmp / "elanhome"))
    return tmp / "elanhome"


def install(*extra: str):
    return CliRunner().invoke(main, ["toolchain", "install", "lean", *extra])


def test_install_through_elan(elan):
    r = install()
    assert r.exit_code == 0, r.output
    assert "lean 4.24.0" in r.output and str(elan / "bin" / "lean") in r.output
    assert (elan / "settings.toml").read_text() == 'default_toolchain = "leanprover/lean4:v4.24.0"\n'
    r = install()  # already there: nothing to do
    assert r.exit_code == 0 and "already there" in r.output


@pytest.mark.parametrize("mode", ["fail", "partial"])
def test_a_failed_install_leaves_nothing_behind(elan, monkeypatch, mode):
    monkeypatch.setenv("FAKE_ELAN_MODE", mode)
    r = install()
    assert r.exit_code == 3 and "elan could not install leanprover/lean4:v4.24.0" in r.output
    toolchains = elan / "toolchains"
    assert not toolchains.exists() or not any(toolchains.iterdir())
    assert not (elan / "bin" / "lean").exists()


def test_a_wrong_version_after_install_is_reported(elan, monkeypatch):
    monkeypatch.setenv("FAKE_ELAN_MODE", "wrong-version")
    r = install()
    assert r.exit_code == 3 and "says 4.9.0" in r.output


def test_install_options_that_do_not_apply(elan, tmp_path):
    for extra in (["--from", str(tmp_path / "x.zip")], ["--sha256", "0" * 64], ["--dest", str(tmp_path / "d")]):
        r = install(*extra)
        assert r.exit_code == 2 and "elan" in r.output


def test_install_without_elan_names_the_fix(clean_env):
    r = install()
    assert r.exit_code == 3 and "elan-init.sh" in r.output
