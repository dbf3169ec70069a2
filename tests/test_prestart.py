"""`qed verify FILE` starts the verifier before the command line and models load, and adopts that run only
when it is exactly the one the normal path would start (checked with the toy backend, which logs its runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import with_toy_backend
from verifier import prestart

QED = [sys.executable, "-m", "verifier"]


@pytest.mark.parametrize("args, files", [
    (["a.dfy"], ["a.dfy"]),
    (["--no-cache", "--json", "a.dfy", "b.dfy", "--timeout", "5"], ["a.dfy", "b.dfy"]),
    (["--member", "M", "--member", "N", "a.dfy"], ["a.dfy"]),
])
def test_plain_arguments_are_read(args, files):
    got = prestart._parse(args)
    assert got is not None and got[0] == files


@pytest.mark.parametrize("args", [
    [], ["--help"], ["--audit", "a.dfy"], ["--timeout", "soon", "a.dfy"], ["--spec", "s", "--annotates", "p", "a"],
    ["--spec", "s", "--spec", "t", "a.dfy"], ["--toy-strict", "a.toy"], ["a.dfy", "--timeout"],
])
def test_anything_unusual_means_no_early_start(args):
    assert prestart._parse(args) is None


def _runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_the_early_run_is_adopted_not_repeated(tmp_path):
    f = tmp_path / "a.toy"
    f.write_text("prove a: 1 < 2\n")
    log = tmp_path / "runs.log"
    env = with_toy_backend({**__import__("os").environ, "QED_TOY_LOG": str(log)})
    r = subprocess.run([*QED, "verify", "--no-cache", str(f)], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and "a.toy: verified" in r.stdout
    assert _runs(log) == [str(f)]  # one run: the early one


def test_a_different_request_discards_the_early_run(tmp_path):
    """Two files: the second is checked normally; a `--spec` of another language is refused (exit 2) and the
    early run of the first file is killed, never reported."""
    a, b = tmp_path / "a.toy", tmp_path / "b.toy"
    a.write_text("prove a: True\n")
    b.write_text("prove b: False\n")
    log = tmp_path / "runs.log"
    env = with_toy_backend({**__import__("os").environ, "QED_TOY_LOG": str(log)})
    r = subprocess.run([*QED, "verify", str(a), str(b)], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1 and "a.toy: verified" in r.stdout and "b.toy: failed" in r.stdout
    assert sorted(_runs(log)) == sorted([str(a), str(b)])
    spec = tmp_path / "s.dfy"
    spec.write_text("method M()\n")
    r = subprocess.run([*QED, "verify", "--spec", str(spec), str(a)], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 2 and "is a Toy file but --spec" in r.stderr and "verified" not in r.stdout


_EARLY = ("import sys; from verifier import prestart; prestart.start(['--no-cache', sys.argv[1]]); "
          "print(prestart._early is not None and prestart._early.pending is not None, 'click' in sys.modules, "
          "'pydantic' in sys.modules); prestart.discard()")


def test_the_verifier_starts_before_the_command_line_is_loaded(tmp_path):
    f = tmp_path / "a.toy"
    f.write_text("prove a: True\n")
    r = subprocess.run([sys.executable, "-c", _EARLY, str(f)], capture_output=True, text=True,
                       env=with_toy_backend(), timeout=60)
    assert r.stdout.split()[:2] == ["True", "False"], r.stdout + r.stderr


@pytest.mark.dafny
def test_dafny_starts_before_click_and_pydantic_load(tmp_path, dafny_install):
    f = tmp_path / "a.dfy"
    f.write_text("method M() {}\n")
    r = subprocess.run([sys.executable, "-c", _EARLY, str(f)], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["True", "False", "False"], r.stdout + r.stderr
