"""A full disk or a read-only folder: qed says so in one line (exit 5), and what it wrote before stays intact and
readable (atomic files, whole transcript lines), so the run can go on once there is room."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from verifier.errors import StorageError
from verifier.providers import ScriptedProvider
from verifier.synth import SynthConfig, synthesize
from verifier.tasks import load_task


def _mount(where: Path, options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"needs permission to mount a small tmpfs ({r.stderr.strip() or 'mount failed'})")


@pytest.fixture
def small_disk(tmp_path):
    where = tmp_path / "small"
    _mount(where, "size=96k")
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def read_only(tmp_path):
    where = tmp_path / "ro"
    _mount(where, "ro,size=64k")
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def toy_task(tmp_path) -> Path:
    (tmp_path / "t.spec.toy").write_text("prove t: ?\n")
    f = tmp_path / "t.yaml"
    f.write_text("id: t\nlanguage: toy\ndescription: make it true\nspec: t.spec.toy\n")
    return f


def test_a_full_disk_stops_the_run_cleanly_and_keeps_the_record_readable(small_disk, toy_task):
    wrong = "```toy\nprove t: 1 == 2\n# " + "x" * 6000 + "\n```\n"  # each round writes a few KB
    with pytest.raises(StorageError) as e:
        synthesize(load_task(toy_task), ScriptedProvider([wrong] * 40), config=SynthConfig(model="m", rounds=40),
                   out_dir=small_disk, task_file=toy_task)
    assert e.value.exit_code == 5 and "the disk is full" in str(e.value) and "--resume" in str(e.value)
    (run,) = small_disk.iterdir()
    params = json.loads((run / "run.json").read_text())  # written whole or not at all
    assert params["task"] == "t"
    lines = (run / "transcript.jsonl").read_text().splitlines()
    parsed = [json.loads(x) for x in lines[:-1]]  # every line but possibly the last is whole
    assert parsed[0]["event"] == "start" and len(parsed) > 3
    assert not [p for p in run.rglob(".*.tmp-*")]  # no temporary file left behind


def test_a_read_only_out_folder_is_one_line_and_exit_5(read_only, toy_task, tmp_path):
    import sys

    r = subprocess.run([sys.executable, "-m", "verifier", "synth", str(toy_task), "--model", "m", "--offline",
                        "--out", str(read_only / "runs")], capture_output=True, text=True, timeout=60,
                       env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[1] / "toy_backend")})
    assert r.returncode == 5, r.stderr
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1 and "read-only" in line and "fix:" in line


def test_an_unwritable_cache_never_fails_a_check(read_only, tmp_path):
    """The result cache is a convenience: on a read-only folder checks run and answer as usual."""
    import os
    import sys

    f = tmp_path / "a.toy"
    f.write_text("prove a: True\n")
    env = {**os.environ, "QED_CACHE_DIR": str(read_only / "cache"),
           "PYTHONPATH": str(Path(__file__).parents[1] / "toy_backend")}
    r = subprocess.run([sys.executable, "-m", "verifier", "verify", str(f)], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 0 and "verified" in r.stdout, r.stderr
