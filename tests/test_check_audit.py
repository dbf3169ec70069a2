"""`qed check --audit`: on a temporary repository with a vacuous contract (`requires false`) and a strong one,
the vacuous one is a finding (JSON, SARIF with its own rule id, JUnit failure, human) that fails the gate,
the strong one is none, and an `[[allow]]` entry approves the finding (listed, the gate passes)."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from tests.test_check import _git, _validate_sarif, qed

CONFIG = """\
include = ["src/*.dfy"]
[[contracts]]
files = "src/*.dfy"
spec = "spec/{name}"
"""

ALLOW = """\
[[allow]]
path = "spec/never.dfy"
rule = "QED-A-vacuous_precondition"
reason = "kept for the demo"
approved_by = "someone@example.org"
"""

STRONG = "method Abs(x: int) returns (y: int)\n  ensures y >= 0 && (y == x || y == -x)\n"
VACUOUS = "method Never(x: int) returns (y: int)\n  requires false\n  ensures y == x\n"


def _with_body(contract: str, body: str) -> str:
    return contract + "{\n  " + body + "\n}\n"


@pytest.fixture
def repo(tmp_path, dafny_install, monkeypatch):
    r = tmp_path / "repo"
    (r / "src").mkdir(parents=True)
    (r / "spec").mkdir()
    (r / "qed.toml").write_text(CONFIG)
    (r / "spec/abs.dfy").write_text(STRONG)
    (r / "src/abs.dfy").write_text(_with_body(STRONG, "if x < 0 { y := -x; } else { y := x; }"))
    (r / "spec/never.dfy").write_text(VACUOUS)
    (r / "src/never.dfy").write_text(_with_body(VACUOUS, "y := x;"))
    _git(r, "init", "-q", "-b", "main")
    monkeypatch.setenv("QED_CACHE_DIR", str(tmp_path / "cache"))
    return r


@pytest.mark.dafny
def test_audit_finds_the_vacuous_contract_in_every_format_and_the_allow_list_approves_it(repo, tmp_path):
    p = qed(repo, "check", "--audit", "--audit-mutants", "2", "--format", "json")
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert {r["file"]: r["verdict"] for r in doc["results"]} == {"src/abs.dfy": "verified",
                                                                  "src/never.dfy": "verified"}
    by = {a["file"]: a for a in doc["audit"]}
    assert by["src/abs.dfy"]["audited"] and by["src/abs.dfy"]["findings"] == []
    [f] = by["src/never.dfy"]["findings"]
    assert (f["kind"], f["rule"], f["file"], f["line"], f["member"]) == (
        "vacuous_precondition", "QED-A-vacuous_precondition", "spec/never.dfy", 2, "Never")
    assert not doc["gate"]["passed"] and doc["summary"]["audit_findings"] == 1

    out = tmp_path / "r.sarif"
    p = qed(repo, "check", "--audit", "--audit-mutants", "2", "--format", "sarif", "--output", str(out))
    assert p.returncode == 1 and "1 audit finding(s); gate FAILED" in p.stdout
    sarif = json.loads(out.read_text())
    _validate_sarif(sarif)
    [res] = [r for r in sarif["runs"][0]["results"] if r["ruleId"].startswith("QED-A-")]
    assert res["ruleId"] == "QED-A-vacuous_precondition" and res["level"] == "error" and "suppressions" not in res
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("spec/never.dfy")
    rule = next(r for r in sarif["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "QED-A-vacuous_precondition")
    assert "no input satisfies the precondition" in rule["fullDescription"]["text"]

    p = qed(repo, "check", "--audit", "--audit-mutants", "2", "--format", "junit")
    suite = next(s for s in ET.fromstring(p.stdout) if s.get("name") == "contract audit")
    assert [x.get("type") for x in suite.iter("failure")] == ["vacuous_precondition"]

    with open(repo / "qed.toml", "a") as fh:
        fh.write(ALLOW)
    p = qed(repo, "check", "--audit", "--audit-mutants", "2")
    assert p.returncode == 0, p.stdout
    assert "vacuous_precondition [QED-A-vacuous_precondition]" in p.stdout and "approved by someone@example.org" in p.stdout
    assert "gate: passed" in p.stdout


@pytest.mark.dafny
def test_a_file_that_does_not_verify_is_not_audited_and_says_why(repo):
    (repo / "src/abs.dfy").write_text(_with_body(STRONG, "y := x;"))
    p = qed(repo, "check", "src/abs.dfy", "--audit", "--format", "json")
    doc = json.loads(p.stdout)
    [a] = doc["audit"]
    assert not a["audited"] and "must verify" in a["note"] and a["findings"] == []


def test_a_backend_without_the_audit_capability_gives_a_note_not_a_pass(tmp_path):
    """No Dafny needed: the backend says it cannot audit; the entry is a note, no finding, nothing passes."""
    from verifier.check import _Target
    from verifier.check_audit import audit_targets
    from verifier.models import FileResult
    from verifier.project import load_project

    (tmp_path / "qed.toml").write_text(CONFIG)
    project = load_project(None, start=tmp_path)

    class NoAudit:
        def supports(self, cap) -> bool:
            return False

    t = _Target(tmp_path / "src/abs.dfy", "src/abs.dfy", "toy", ("spec", tmp_path / "spec/abs.dfy"))
    verified = FileResult.model_validate({"file": "src/abs.dfy", "verdict": "verified"})
    [event] = audit_targets(project, [t], {"src/abs.dfy": verified}, {"toy": NoAudit()}, 8, True)
    assert not event.audited and event.findings == []
    assert "cannot audit a contract" in event.note and event.contract == "spec/abs.dfy"
