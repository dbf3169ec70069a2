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


_MODULES_AT_EXIT = ("import atexit, sys\n"
                    "atexit.register(lambda: print('LOADED', 'click' in sys.modules, 'pydantic' in sys.modules, "
                    "file=sys.stderr))\n"
                    "sys.argv = ['qed', *sys.argv[1:]]\n"
                    "from verifier.launch import main\nmain()\n")


def _qed(*args, env=None):
    return subprocess.run([sys.executable, "-c", _MODULES_AT_EXIT, *args], capture_output=True, text=True,
                          timeout=120, env=env)


def _no_times(text: str) -> str:
    import re

    return re.sub(r'in \d+\.\d s|"duration_s": [0-9.]+', "T", text)


@pytest.mark.dafny
def test_a_repeated_check_is_answered_before_anything_heavy_loads(tmp_path, dafny_install, cache_dir):
    import json
    import os

    spec = tmp_path / "abs.spec.dfy"
    spec.write_text((Path(__file__).parent.parent / "specs" / "examples" / "abs.spec.dfy").read_text())
    good = tmp_path / "abs.dfy"
    good.write_text((Path(__file__).parent.parent / "specs" / "examples" / "abs.dfy").read_text())
    cheat = tmp_path / "cheat.dfy"
    cheat.write_text((Path(__file__).parent.parent / "specs" / "examples" / "abs_cheat.dfy").read_text())
    env = dict(os.environ)
    first = _qed("verify", "--spec", str(spec), str(good), str(cheat), env=env)
    again = _qed("verify", "--spec", str(spec), str(good), str(cheat), env=env)
    assert first.returncode == again.returncode == 1
    assert "LOADED True True" in first.stderr and "LOADED False False" in again.stderr  # the fast path
    assert _no_times(again.stdout) == _no_times(first.stdout.replace("(dafny proved 1/1 members)",
                                                                    "(dafny proved 1/1 members; cached)"))
    j1 = json.loads(_qed("verify", "--json", "--spec", str(spec), str(good), str(cheat), "--timeout", "300",
                         env=env).stdout)
    j2 = json.loads(subprocess.run([sys.executable, "-m", "verifier", "verify", "--json", "--spec", str(spec),
                                    str(good), str(cheat), "--audit"], capture_output=True, text=True,
                                   timeout=120).stdout)  # a backend option: the normal path answers
    for doc in (j1, j2):
        for r in doc["results"]:
            r["duration_s"] = 0
        doc["summary"]["duration_s"] = 0
    assert j1 == j2 and [r["verdict"] for r in j1["results"]] == ["verified", "rejected"]
    # an edited file, or --no-cache, is never answered from the cache
    good.write_text(good.read_text() + "\n// edited\n")
    edited = _qed("verify", "--spec", str(spec), str(good), env=env)
    assert edited.returncode == 0 and "LOADED True True" in edited.stderr and "cached" not in edited.stdout
    fresh = _qed("verify", "--no-cache", str(cheat), env=env)
    assert "LOADED True True" in fresh.stderr and "cached" not in fresh.stdout


@pytest.mark.dafny
def test_the_fast_exit_still_cleans_up_and_reports(tmp_path, dafny_install):
    """`qed verify` skips the interpreter's teardown at the end, never the cleanup: the snapshot folders are
    gone, the output is complete and the exit code is the verdict's."""
    import os

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    bad = tmp_path / "bad.dfy"
    bad.write_text("method M() ensures false {}\n")
    env = {**os.environ, "TMPDIR": str(tmp)}
    r = subprocess.run([*QED, "verify", "--no-cache", str(bad)], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 1 and r.stdout.rstrip().endswith("with dafny 4.11.0 (z3 4.12.1) in " +
                                                            r.stdout.rstrip().rsplit(" in ", 1)[1])
    assert "bad.dfy: failed" in r.stdout
    assert [p.name for p in tmp.iterdir() if p.name.startswith("qed-")] == []  # (.NET leaves its own folder)
