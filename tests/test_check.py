"""`qed check` as a CI gate, on a temporary git repository of verified Dafny files with contracts: a clean run,
a broken proof, a weakened contract, an added `assume`, a changed include, a changed contract file,
`--changed-since` selecting exactly the affected files, SARIF validated against the official schema, JUnit
parsed back; `qed verify --workers`; `qed recheck`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import REPO

EXAMPLES = REPO / "specs" / "examples"
SCHEMA = Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json"

CONFIG = """\
include = ["src/**/*.dfy"]            # files to verify
[[contracts]]
files = "src/*.dfy"                   # these files ...
spec = "spec/{name}"                  # ... are checked against this contract ({name}: file name, {stem}: without suffix)
[[allow]]
path = "src/legacy.dfy"
rule = "QED-E101"
reason = "vendored code, proof pending"
approved_by = "someone@example.org"
"""

SUM_SPEC = """\
function Sum(n: nat): nat { if n == 0 then 0 else n + Sum(n - 1) }

method SumTo(n: nat) returns (s: nat)
  requires n < 1000
  ensures s == Sum(n)
"""

SUM = """\
function Sum(n: nat): nat { if n == 0 then 0 else n + Sum(n - 1) }

method SumTo(n: nat) returns (s: nat)
  requires n < 1000
  ensures s == Sum(n)
{
  s := 0;
  var i := 0;
  while i < n
    invariant 0 <= i <= n
    invariant s == Sum(i)
  {
    i := i + 1;
    s := s + i;
  }
}
"""

HELPERS = "function Double(x: int): int { 2 * x }\n"
USES = """\
include "../../lib/helpers.dfy"

method Quad(x: int) returns (y: int)
  ensures y == 2 * Double(x)
{
  y := Double(x) + Double(x);
}
"""
LEGACY = """\
method Legacy(x: int) returns (y: int)
  ensures y > x
{
  y := x + 1;
  assume y > x;
}
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def project(tmp_path, dafny_install, monkeypatch):
    """A git repository: src/abs.dfy, src/maxarray.dfy, src/sum.dfy (contracts in spec/), src/legacy.dfy (an
    approved `assume`), src/plain/uses.dfy (includes lib/helpers.dfy; its own contract). Committed as `base`."""
    repo = tmp_path / "repo"
    for d in ("src/plain", "spec", "lib"):
        (repo / d).mkdir(parents=True)
    shutil.copy(EXAMPLES / "abs.dfy", repo / "src/abs.dfy")
    shutil.copy(EXAMPLES / "abs.spec.dfy", repo / "spec/abs.dfy")
    shutil.copy(EXAMPLES / "maxarray.dfy", repo / "src/maxarray.dfy")
    shutil.copy(EXAMPLES / "maxarray.spec.dfy", repo / "spec/maxarray.dfy")
    (repo / "src/sum.dfy").write_text(SUM)
    (repo / "spec/sum.dfy").write_text(SUM_SPEC)
    (repo / "src/legacy.dfy").write_text(LEGACY)
    (repo / "spec/legacy.dfy").write_text("method Legacy(x: int) returns (y: int)\n  ensures y > x\n")
    (repo / "lib/helpers.dfy").write_text(HELPERS)
    (repo / "src/plain/uses.dfy").write_text(USES)
    (repo / "qed.toml").write_text(CONFIG)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "tag", "base")
    monkeypatch.setenv("QED_CACHE_DIR", str(tmp_path / "cache"))
    return repo


def qed(repo: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "verifier", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=900)


def qed_json(repo: Path, *args: str) -> tuple[int, dict]:
    p = qed(repo, "check", "--format", "json", *args)
    assert p.stdout.startswith("{"), p.stderr
    return p.returncode, json.loads(p.stdout)


def verdicts(doc: dict) -> dict[str, str]:
    return {r["file"]: r["verdict"] for r in doc["results"]}


# The fixture's config approves only legacy.dfy's `assume`; uses.dfy's `include` (QED-E109) is rejected until a
# test approves it too.

APPROVE_INCLUDE = """
[[allow]]
path = "src/plain/uses.dfy"
rule = "QED-E109"
reason = "lib/ is verified on its own"
approved_by = "lead@example.org"
"""


def _approve_include(repo: Path) -> None:
    with open(repo / "qed.toml", "a") as f:
        f.write(APPROVE_INCLUDE)
    _git(repo, "commit", "-qam", "approve the include")
    _git(repo, "tag", "-f", "base")


@pytest.mark.dafny
def test_clean_run_verifies_every_selected_file_and_lists_the_approvals(project):
    _approve_include(project)
    code, doc = qed_json(project, "--workers", "2")
    assert code == 0, doc["gate"]
    assert verdicts(doc) == {"src/abs.dfy": "verified", "src/legacy.dfy": "verified", "src/maxarray.dfy": "verified",
                             "src/plain/uses.dfy": "verified", "src/sum.dfy": "verified"}
    assert {(a["file"], a["rule"], a["approved_by"]) for a in doc["approved"]} == {
        ("src/legacy.dfy", "QED-E101", "someone@example.org"), ("src/plain/uses.dfy", "QED-E109", "lead@example.org")}
    legacy = next(r for r in doc["results"] if r["file"] == "src/legacy.dfy")
    assert "approved exceptions" in legacy["note"] and legacy["integrity"] == []
    assert doc["gate"]["passed"] and doc["exit_code"] == 0 and doc["schema_version"] == 2
    # a repeated run is answered from the cache
    code, again = qed_json(project)
    assert code == 0 and all(r["cached"] for r in again["results"])
    # the human report says the same
    p = qed(project, "check")
    assert p.returncode == 0 and "gate: passed" in p.stdout and "approved: src/legacy.dfy:5: [QED-E101]" in p.stdout


@pytest.mark.dafny
def test_an_unapproved_include_is_rejected(project):
    code, doc = qed_json(project, "src/plain")
    assert code == 1 and verdicts(doc) == {"src/plain/uses.dfy": "rejected"}
    assert [v["rule"] for v in doc["results"][0]["integrity"]] == ["QED-E109"]


@pytest.mark.dafny
def test_broken_proof_fails_with_a_clickable_sarif_result(project, tmp_path):
    src = project / "src/sum.dfy"
    src.write_text(SUM.replace("    invariant s == Sum(i)\n", ""))
    out = tmp_path / "report.sarif"
    p = qed(project, "check", "src/sum.dfy", "--format", "sarif", "--output", str(out))
    assert p.returncode == 1, p.stderr
    assert "gate FAILED" in p.stdout and str(out) in p.stdout
    sarif = json.loads(out.read_text())
    _validate_sarif(sarif)
    results = sarif["runs"][0]["results"]
    post = [r for r in results if r["ruleId"] == "verify/postcondition"]
    assert post, results
    loc = post[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "src/sum.dfy"  # relative to the repository root
    assert loc["region"]["startLine"] >= 1
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["verify/postcondition"]["help"]["text"]
    assert sarif["runs"][0]["invocations"][0]["exitCode"] == 1


@pytest.mark.dafny
def test_added_assume_is_rejected_and_reported_with_its_rule(project):
    src = project / "src/abs.dfy"
    src.write_text(src.read_text().replace("  if x < 0 {", "  assume x != 7;\n  if x < 0 {"))
    p = qed(project, "check", "src/abs.dfy", "--format", "sarif")
    assert p.returncode == 1
    sarif = json.loads(p.stdout)
    _validate_sarif(sarif)
    hits = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "QED-E101"]
    assert hits and hits[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    rule = next(r for r in sarif["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "QED-E101")
    assert "assume" in rule["help"]["text"] and rule["shortDescription"]["text"] == "assume"
    # the allow-list of legacy.dfy does not cover abs.dfy
    code, doc = qed_json(project, "src/abs.dfy")
    assert verdicts(doc) == {"src/abs.dfy": "rejected"} and not doc["approved"]


@pytest.mark.dafny
def test_weakened_contract_is_a_reviewable_event_and_fails_the_gate_when_asked(project):
    _approve_include(project)
    for f in ("spec/abs.dfy", "src/abs.dfy"):
        path = project / f
        path.write_text(path.read_text().replace("  ensures y >= 0\n", ""))
    code, doc = qed_json(project, "--changed-since", "base")
    assert code == 0  # reported, but not a failure without --fail-on-weakened-contract
    [event] = doc["contract_review"]
    assert event["file"] == "spec/abs.dfy" and event["role"] == "spec" and event["used_by"] == ["src/abs.dfy"]
    assert event["status"] == "weakened"
    [member] = event["members"]
    assert member["name"] == "Abs" and member["removed"] == [{"keyword": "ensures", "text": "y >= 0", "line": 6}]
    [finding] = event["findings"]
    assert (finding["what"], finding["how"], finding["rule"]) == ("removed_ensures", "form", "QED-C001")

    code, doc = qed_json(project, "--changed-since", "base", "--fail-on-weakened-contract")
    assert code == 1 and not doc["gate"]["passed"]
    assert any("contract weakened (QED-C001)" in r for r in doc["gate"]["reasons"])
    p = qed(project, "check", "--changed-since", "base", "--format", "sarif", "--fail-on-weakened-contract")
    sarif = json.loads(p.stdout)
    _validate_sarif(sarif)
    [weak] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "QED-C001"]
    assert weak["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "spec/abs.dfy"

    # an approval in the allow-list lets the gate pass, and the approval is shown
    with open(project / "qed.toml", "a") as f:
        f.write('[[allow]]\npath = "spec/abs.dfy"\nrule = "QED-C001"\nreason = "y >= 0 follows from AbsSpec"\n'
                'approved_by = "reviewer@example.org"\n')
    code, doc = qed_json(project, "--changed-since", "base", "--fail-on-weakened-contract")
    assert code == 0, doc["gate"]
    assert doc["contract_review"][0]["findings"][0]["approved"]["approved_by"] == "reviewer@example.org"


@pytest.mark.dafny
def test_changed_clauses_are_decided_by_the_verifier(project):
    _approve_include(project)
    spec, src = project / "spec/sum.dfy", project / "src/sum.dfy"
    # equivalent: `n < 1000` -> `n <= 999`; stronger promise unchanged
    spec.write_text(SUM_SPEC.replace("requires n < 1000", "requires n <= 999"))
    src.write_text(SUM.replace("requires n < 1000", "requires n <= 999"))
    code, doc = qed_json(project, "--changed-since", "base", "--fail-on-weakened-contract")
    [event] = doc["contract_review"]
    assert event["status"] == "not_weakened" and code == 0, event
    assert [(f["what"], f["how"], f["status"]) for f in event["findings"]] == [
        ("changed_requires", "verifier", "not_weakened")]
    # narrower precondition: the old requires do not imply the new one
    spec.write_text(SUM_SPEC.replace("requires n < 1000", "requires n < 10"))
    src.write_text(SUM.replace("requires n < 1000", "requires n < 10"))
    code, doc = qed_json(project, "--changed-since", "base", "--fail-on-weakened-contract")
    [event] = doc["contract_review"]
    assert code == 1 and event["status"] == "weakened"
    assert [(f["what"], f["how"]) for f in event["findings"]] == [("changed_requires", "verifier")]


@pytest.mark.dafny
def test_two_state_clauses_are_undecided(tmp_path, dafny_backend):
    old = "method Inc(a: array<int>)\n  modifies a\n  ensures forall i :: 0 <= i < a.Length ==> a[i] == old(a[i]) + 1\n"
    new = old.replace("+ 1", "+ 2")
    review = dafny_backend.review_contract(old, new, file=tmp_path / "inc.dfy", role="spec", timeout=120)
    assert review.status == "undecided"
    assert review.findings[0].what == "changed_ensures" and "two-state" in review.findings[0].message
    wider = dafny_backend.review_contract(old, old.replace("modifies a", "modifies a, a"), file=tmp_path / "i.dfy",
                                          role="spec", timeout=120)
    assert wider.status == "not_weakened"  # the same frame, written twice
    other = "method Inc(a: array<int>, b: array<int>)\n  modifies a\n"
    assert dafny_backend.review_contract(other, other.replace("modifies a", "modifies a, b"), file=tmp_path / "j.dfy",
                                         role="spec", timeout=120).findings[0].what == "wider_frame"


@pytest.mark.dafny
def test_changed_since_selects_exactly_the_affected_files(project, tmp_path):
    _approve_include(project)
    # an include, a contract file and one implementation change; a fresh cache so that nothing else is answered
    (project / "lib/helpers.dfy").write_text(HELPERS + "function Triple(x: int): int { 3 * x }\n")
    (project / "spec/maxarray.dfy").write_text((project / "spec/maxarray.dfy").read_text() + "\n// reviewed\n")
    (project / "src/sum.dfy").write_text(SUM.replace("s := s + i;", "s := s + i; // step"))
    env = {"QED_CACHE_DIR": str(tmp_path / "fresh-cache")}
    p = qed(project, "check", "--changed-since", "base", "--format", "json", env=env)
    doc = json.loads(p.stdout)
    assert p.returncode == 0, doc["gate"]
    assert sorted(verdicts(doc)) == ["src/maxarray.dfy", "src/plain/uses.dfy", "src/sum.dfy"]
    assert sorted(s["file"] for s in doc["skipped"]) == ["src/abs.dfy", "src/legacy.dfy"]
    assert doc["summary"]["skipped"] == 2 and doc["base"]["ref"] == "base"
    # the comment-only contract change is not a contract change
    assert doc["contract_review"] == []
    # committed and run again: unchanged since HEAD, all answered from the cache, none skipped
    _git(project, "commit", "-qam", "change")
    p = qed(project, "check", "--changed-since", "HEAD", "--format", "json", env=env)
    doc = json.loads(p.stdout)
    assert sorted(verdicts(doc)) == ["src/maxarray.dfy", "src/plain/uses.dfy", "src/sum.dfy"]
    assert all(r["cached"] for r in doc["results"])
    # PATHS: a staged include (as the pre-commit hook passes it) selects the files that include it
    p = qed(project, "check", "lib/helpers.dfy", "README.md", "--format", "json", env=env)
    assert sorted(verdicts(json.loads(p.stdout))) == ["src/plain/uses.dfy"]


@pytest.mark.dafny
def test_changed_contract_of_a_plain_file_is_reviewed(project):
    _approve_include(project)
    (project / "src/plain/uses.dfy").write_text(USES.replace("  ensures y == 2 * Double(x)\n",
                                                             "  ensures y == 2 * Double(x)\n  ensures y % 2 == 0\n"))
    code, doc = qed_json(project, "--changed-since", "base", "--fail-on-weakened-contract")
    assert code == 0, doc["gate"]
    [event] = doc["contract_review"]
    assert event["file"] == "src/plain/uses.dfy" and event["role"] == "file" and event["status"] == "not_weakened"
    assert event["members"][0]["added"][0]["text"] == "y % 2 == 0"
    # dropping the original clause instead weakens it, by form
    (project / "src/plain/uses.dfy").write_text(USES.replace("  ensures y == 2 * Double(x)\n", ""))
    code, doc = qed_json(project, "--changed-since", "base", "--fail-on-weakened-contract")
    assert code == 1 and doc["contract_review"][0]["findings"][0]["what"] == "removed_ensures"


@pytest.mark.dafny
def test_junit_report_parses_back_with_a_testcase_per_member(project):
    src = project / "src/sum.dfy"
    src.write_text(SUM.replace("    invariant s == Sum(i)\n", ""))
    p = qed(project, "check", "src/sum.dfy", "src/abs.dfy", "--format", "junit")
    assert p.returncode == 1
    root = ET.fromstring(p.stdout)
    assert root.tag == "testsuites" and root.get("failures") == "1"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"src/abs.dfy", "src/sum.dfy"}
    [ok] = suites["src/abs.dfy"].iter("testcase")
    assert ok.get("name") == "Abs" and ok.find("failure") is None
    cases = {c.get("name"): c for c in suites["src/sum.dfy"].iter("testcase")}
    assert cases["Sum"].find("failure") is None  # the function's own obligations hold
    failure = cases["SumTo"].find("failure")
    assert failure is not None and "postcondition" in failure.get("message") and "src/sum.dfy:" in failure.text
    assert int(suites["src/sum.dfy"].get("failures")) == 1


@pytest.mark.dafny
def test_qed_verify_workers_gives_the_same_report(tmp_path, dafny_install, cache_dir):
    files = [str(EXAMPLES / n) for n in ("abs.dfy", "sum.dfy", "count.dfy", "maxarray.dfy")]
    one = subprocess.run([sys.executable, "-m", "verifier", "verify", "--json", "--no-cache", "--workers", "1", *files],
                         capture_output=True, text=True)
    two = subprocess.run([sys.executable, "-m", "verifier", "verify", "--json", "--no-cache", "--workers", "2", *files],
                         capture_output=True, text=True)
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert one.returncode == two.returncode
    assert [(r["file"], r["verdict"]) for r in a["results"]] == [(r["file"], r["verdict"]) for r in b["results"]]


@pytest.mark.dafny
def test_toolchain_pin_mismatch_is_a_toolchain_error(project):
    with open(project / "qed.toml", "a") as f:
        f.write('[toolchains]\ndafny = "3.9"\n')
    p = qed(project, "check")
    assert p.returncode == 3 and "pins dafny 3.9" in p.stderr and "fix:" in p.stderr
    assert p.stderr.count("\n") == 1


@pytest.mark.dafny
def test_recheck_reproduces_a_certificate_and_notices_tampering(tmp_path, dafny_install, cache_dir):
    from verifier.runstore import sha256_file

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(EXAMPLES / "abs.dfy", run / "artifact.dfy")
    cert = {"task": "abs", "task_sha256": "0" * 64, "contract_sha256": sha256_file(EXAMPLES / "abs.spec.dfy"),
            "contract_origin": "given", "artifact_sha256": sha256_file(run / "artifact.dfy"),
            "toolchain": {"name": "dafny", "version": "4.11.0", "path": "/x", "solver": "z3 4.12.1"},
            "verdict": "verified", "assumptions": [], "mode": "implement", "qed_version": "0.1.0"}
    (run / "certificate.json").write_text(json.dumps(cert))
    p = subprocess.run([sys.executable, "-m", "verifier", "recheck", str(run / "certificate.json"), "--contract",
                        str(EXAMPLES / "abs.spec.dfy"), "--json"], capture_output=True, text=True)
    doc = json.loads(p.stdout)
    assert p.returncode == 0 and doc["reproduced"] and doc["result"]["verdict"] == "verified", p.stderr
    assert doc["hashes"]["artifact"]["match"] and doc["hashes"]["contract"]["match"]
    assert doc["toolchain"]["same"] == (doc["toolchain"]["used"]["version"] == "4.11.0")
    # the contract is found by its hash when it sits beside the certificate
    shutil.copy(EXAMPLES / "abs.spec.dfy", run / "contract.dfy")
    p = subprocess.run([sys.executable, "-m", "verifier", "recheck", str(run / "certificate.json")],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "reproduced" in p.stdout and "matches the certificate" in p.stdout
    # a tampered artifact is not the certified one, whatever the verifier says
    (run / "artifact.dfy").write_text((run / "artifact.dfy").read_text() + "\n// changed\n")
    p = subprocess.run([sys.executable, "-m", "verifier", "recheck", str(run / "certificate.json")],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "DIFFERS" in p.stdout and "NOT reproduced" in p.stdout


def _validate_sarif(doc: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="pip install -e '.[test]' installs jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


@pytest.mark.dafny
def test_per_file_limits_reach_the_verifier(project):
    """`[[overrides]]` gives sum.dfy a tiny deterministic resource limit (Dafny's --resource-limit): its proof
    runs out of resources, whatever the machine's speed; the other files keep the defaults."""
    with open(project / "qed.toml", "a") as f:
        f.write('[limits]\ntimeout_s = 300\n[[overrides]]\nfiles = "src/sum.dfy"\nresource_limit = 1\n')
    code, doc = qed_json(project, "src/sum.dfy", "src/abs.dfy")
    by_file = {r["file"]: r for r in doc["results"]}
    assert by_file["src/abs.dfy"]["verdict"] == "verified"
    assert "--resource-limit" not in by_file["src/abs.dfy"]["command"]
    s = by_file["src/sum.dfy"]
    assert code == 1 and s["verdict"] == "timeout" and s["command"][s["command"].index("--resource-limit") + 1] == "1"
