"""`qed bench --audit-specs` on a `local` folder of task files: a strong contract (determined by its tests), a
weak one (weaker than its own tests, with the witness), and a task without tests (not audited, with the reason);
audit.json, the report.md table and the printed counts agree."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

EX = REPO / "specs" / "examples"

NO_TESTS = """\
id: abs_untested
language: dafny
description: Return the absolute value of x.
spec: abs.spec.dfy
"""


@pytest.mark.dafny
def test_audit_specs_writes_audit_json_and_the_table(tmp_path, dafny_install, monkeypatch):
    data = tmp_path / "tasks"
    data.mkdir()
    for name in ("abs.yaml", "abs.spec.dfy", "abs.dfy", "abs_weak.yaml", "abs_weak.spec.dfy", "abs_weak.dfy"):
        shutil.copy(EX / name, data / name)
    (data / "abs_untested.yaml").write_text(NO_TESTS)
    run = tmp_path / "run"
    p = subprocess.run([sys.executable, "-m", "verifier", "bench", "--dataset", "local", "--data", str(data),
                        "--audit-specs", "--out", str(run)], capture_output=True, text=True, timeout=900,
                       env={**__import__("os").environ, "QED_CACHE_DIR": str(tmp_path / "cache")})
    assert p.returncode == 0, p.stderr
    doc = json.loads((run / "audit.json").read_text())
    by = {t["id"]: t for t in doc["tasks"]}
    assert by["abs_weak"]["class"] == "weaker" and by["abs_weak"]["findings"] == {"example_not_determined": 2}
    assert "also admits" in by["abs_weak"]["details"][0]
    assert by["abs"]["class"] == "determined" and by["abs"]["findings"] == {}
    assert by["abs_untested"]["status"] == "not_audited" and "no examples" in by["abs_untested"]["reason"]
    c = doc["counts"]["local"]
    assert (c["tasks"], c["audited"], c["weaker"], c["determined"], c["not_audited"]) == (3, 2, 1, 1, 1)
    md = (run / "report.md").read_text()
    assert "| local | 3 | 2 | 0 | 0 | 1 | 0 | 1 | 1 | 0 |" in md
    assert "local/abs_weak" in md and "local/abs_untested: not_audited" in md
    assert "local: 3 tasks, 2 audited: 0 vacuous, 0 contradicted, 1 weaker than own tests" in p.stdout
