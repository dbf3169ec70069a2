"""`qed check`'s configuration (qed.toml / [tool.qed]) and its report formats, without a verifier: the issue's
config form works exactly, bad configs are exit 2 naming the field and the fix, globs and contract placeholders
resolve as documented, SARIF validates against the official schema and JUnit parses back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from verifier.errors import BadInput
from verifier.project import load_project, matches

ISSUE_FORM = """\
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


def test_the_issues_config_form_loads_exactly(tmp_path):
    (tmp_path / "qed.toml").write_text(ISSUE_FORM)
    sub = tmp_path / "src" / "deep"
    sub.mkdir(parents=True)
    project = load_project(start=sub)  # found from a subfolder
    assert project.root == tmp_path.resolve()
    assert project.contract_for("src/abs.dfy", (".dfy",)) == ("spec", tmp_path.resolve() / "spec" / "abs.dfy")
    assert project.contract_for("src/deep/abs.dfy", (".dfy",)) is None  # `*` stays in one folder
    a = project.allowed("src/legacy.dfy", "QED-E101")
    assert a is not None and a.approved_by == "someone@example.org" and a.reason == "vendored code, proof pending"
    assert project.allowed("src/legacy.dfy", "QED-E103") is None and project.allowed("src/abs.dfy", "QED-E101") is None


def test_pyproject_tool_qed_and_placeholders_and_limits(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.qed]\ninclude = ["**/*.dfy"]\n'
        '[[tool.qed.contracts]]\nfiles = "impl/**/*.dfy"\nspec = "contracts/{dir}/{stem}.spec.dfy"\n'
        '[tool.qed.limits]\ntimeout_s = 100\nresource_limit = 1000000\n'
        '[[tool.qed.overrides]]\nfiles = "impl/slow/*.dfy"\nresource_limit = 9000000\n')
    project = load_project(start=tmp_path)
    assert project.source.name == "pyproject.toml"
    kind, path = project.contract_for("impl/a/b.dfy", (".dfy",))
    assert path == tmp_path.resolve() / "contracts/impl/a/b.spec.dfy"
    assert project.limits_for("impl/slow/x.dfy").resource_limit == 9000000
    assert project.limits_for("impl/slow/x.dfy").timeout_s == 100
    assert project.limits_for("impl/fast/x.dfy").resource_limit == 1000000


@pytest.mark.parametrize("text, field, fix", [
    ('include = []', "`include`", "correct that field"),
    ('inclde = ["a"]', "unknown field `inclde`", "fields: include, exclude"),
    ('include = ["a"]\n[[allow]]\npath = "x"\nrule = "R"\nreason = "r"\n', "`allow[0].approved_by` is missing",
     "add `approved_by = ...`"),
    ('include = ["a"]\n[[contracts]]\nfiles = "x"\nspec = "{nam}"\n', "`contracts[0]`: unknown placeholder {nam}",
     "correct that field"),
    ('include = ["a"]\n[[contracts]]\nfiles = "x"\n', "give exactly one of `spec` and `annotates`", "correct"),
    ('include = ["a"]\n[limits]\ntimeout = 3\n', "unknown field `limits.timeout`", "timeout_s"),
    ('include = ["../up/*.dfy"]', "without `..`", "correct that field"),
    ('include = [', "not valid TOML", "fix the syntax"),
])
def test_a_bad_config_is_exit_2_naming_the_field_and_the_fix(tmp_path, text, field, fix):
    (tmp_path / "qed.toml").write_text(text)
    with pytest.raises(BadInput) as e:
        load_project(start=tmp_path)
    assert field in str(e.value) and fix in str(e.value) and e.value.exit_code == 2
    p = subprocess.run([sys.executable, "-m", "verifier", "check"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.startswith("qed: error: ") and p.stderr.count("\n") == 1
    assert field in p.stderr


def test_no_config_and_an_empty_selection_are_bad_input(tmp_path):
    p = subprocess.run([sys.executable, "-m", "verifier", "check"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 2 and "no qed.toml" in p.stderr and "--config" in p.stderr
    (tmp_path / "qed.toml").write_text('include = ["src/*.dfy"]\n')
    p = subprocess.run([sys.executable, "-m", "verifier", "check"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 2 and "selects no file" in p.stderr
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.dfy").write_text("method M() {}\n")
    (tmp_path / "qed.toml").write_text('include = ["src/*.dfy"]\n[[contracts]]\nfiles = "src/*.dfy"\nspec = "s/{name}"\n')
    p = subprocess.run([sys.executable, "-m", "verifier", "check"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 2 and "the contract of src/a.dfy" in p.stderr and "does not exist" in p.stderr


def test_changed_since_outside_git_or_with_an_unknown_ref_is_bad_input(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.dfy").write_text("method M() {}\n")
    (tmp_path / "qed.toml").write_text('include = ["src/*.dfy"]\n')
    p = subprocess.run([sys.executable, "-m", "verifier", "check", "--changed-since", "main"], cwd=tmp_path,
                       capture_output=True, text=True, env={**__import__("os").environ, "GIT_CEILING_DIRECTORIES":
                                                            str(tmp_path.parent)})
    assert p.returncode == 2 and "not inside a git repository" in p.stderr
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    p = subprocess.run([sys.executable, "-m", "verifier", "check", "--changed-since", "no-such-ref"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert p.returncode == 2 and "no-such-ref" in p.stderr and "fetch-depth: 0" in p.stderr


def test_globs():
    assert matches("src/**/*.dfy", "src/a.dfy") and matches("src/**/*.dfy", "src/x/y/a.dfy")
    assert not matches("src/*.dfy", "src/x/a.dfy") and matches("src/?.dfy", "src/a.dfy")
    assert matches("**/legacy.dfy", "legacy.dfy") and matches("**/legacy.dfy", "a/b/legacy.dfy")
    assert matches("./src/a.dfy", "src/a.dfy") and not matches("src/a.dfy", "src/a.dfyx")


# --- report formats on a synthetic report --------------------------------------------------------------------

DOC = {
    "schema_version": 2, "config": "/r/qed.toml", "base": {"ref": "main", "commit": "a" * 40}, "exit_code": 1,
    "summary": {"files": 2, "verified": 1, "failed": 1, "timeout": 0, "error": 0, "rejected": 0, "duration_s": 1.5,
                "skipped": 1, "selected": 3, "contracts_changed": 1, "contracts_weakened": 1,
                "contracts_undecided": 0},
    "results": [
        {"file": "src/a.dfy", "verdict": "failed", "integrity": [], "assumptions": [], "duration_s": 1.0,
         "members": [{"name": "M", "outcome": "failed"}, {"name": "F", "outcome": "verified"}],
         "diagnostics": [{"severity": "error", "kind": "postcondition", "message": "a postcondition could not be "
                          "proved", "file": "src/a.dfy", "line": 4, "column": 1, "end_line": 4, "end_column": 2,
                          "member": "M", "related": [{"file": "src/a.dfy", "line": 2, "column": 11,
                                                      "message": "this is the postcondition"}]},
                         {"severity": "warning", "kind": "warning", "message": "style", "file": "src/a.dfy",
                          "line": 1, "warning_class": "style", "related": []}]},
        {"file": "src/b.dfy", "verdict": "verified", "integrity": [], "assumptions": [], "duration_s": 0.5,
         "members": [{"name": "N", "outcome": "verified"}], "diagnostics": []},
    ],
    "skipped": [{"file": "src/c.dfy", "reason": "unchanged since main, not in the cache"}],
    "approved": [],
    "contract_review": [{"file": "spec/b.dfy", "role": "spec", "status": "weakened", "used_by": ["src/b.dfy"],
                         "members": [{"name": "N", "change": "changed", "kind": "method", "line": 3, "added": [],
                                      "removed": [{"keyword": "ensures", "text": "r > 0", "line": 4}],
                                      "signature_changed": False, "definition_changed": False}],
                         "findings": [{"member": "N", "status": "weakened", "how": "form", "what": "removed_ensures",
                                       "message": "`ensures r > 0` was removed from N", "line": 3,
                                       "rule": "QED-C001", "approved": None}], "note": None}],
    "gate": {"passed": False, "fail_on_weakened_contract": True, "reasons": ["src/a.dfy: failed"]},
}


def test_sarif_of_a_synthetic_report_is_valid_and_clickable(tmp_path):
    jsonschema = pytest.importorskip("jsonschema", reason="pip install -e '.[test]' installs jsonschema")
    from verifier.check_render import render_sarif, to_uri

    root = tmp_path / "repo" / "proj"
    root.mkdir(parents=True)
    text = render_sarif(DOC, lambda f: to_uri(f, root, tmp_path / "repo"), {})
    sarif = json.loads(text)
    schema = json.loads((Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json").read_text())
    assert not list(jsonschema.Draft4Validator(schema).iter_errors(sarif))
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["verify/postcondition", "QED-C001"]  # the style warning is left out
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 4, "startColumn": 1, "endLine": 4, "endColumn": 2}
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "proj/src/a.dfy"
    assert results[0]["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert results[1]["level"] == "error"
    ids = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert [results[i]["ruleIndex"] for i in range(2)] == [ids.index("verify/postcondition"), ids.index("QED-C001")]


def test_junit_of_a_synthetic_report_parses_back():
    from verifier.check_render import render_junit

    root = ET.fromstring(render_junit(DOC))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("5", "2", "1")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    cases = {c.get("name"): c for c in suites["src/a.dfy"].iter("testcase")}
    assert cases["M"].find("failure").get("message").startswith("src/a.dfy:4: a postcondition")
    assert cases["F"].find("failure") is None
    assert suites["skipped"].find("testcase/skipped") is not None
    [review] = suites["contract review"].iter("testcase")
    assert review.find("failure").get("type") == "contract weakened"


def test_human_report_shows_the_review_and_the_gate():
    from verifier.check_render import render_human

    text = render_human(DOC)
    assert "contract changed: spec/b.dfy (contract of src/b.dfy): weakened" in text
    assert "    - ensures r > 0" in text and "gate: FAILED" in text and "src/c.dfy: skipped" in text


def test_the_pre_commit_hook_and_the_action_call_qed_check_with_real_options():
    import yaml

    from tests.conftest import REPO

    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "qed-check" and hook["pass_filenames"] is True
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    script = next(s["run"] for s in action["runs"]["steps"] if s.get("id") == "check")
    help_text = subprocess.run([sys.executable, "-m", "verifier", "check", "--help"], capture_output=True,
                               text=True).stdout
    import re

    flags = set(re.findall(r"--[a-z][a-z-]+", hook["entry"] + "\n" + script))
    assert flags >= {"--changed-since", "--fail-on-weakened-contract", "--format", "--output", "--workers"}
    assert all(f in help_text for f in flags), flags
    assert any("upload-sarif" in str(s.get("uses", "")) for s in action["runs"]["steps"])


def test_qed_check_runs_a_third_party_backend_without_review_capabilities(tmp_path):
    """The core names no language: a backend with neither contract review nor dependencies still gets a gate,
    and a changed file it cannot review is reported as undecided, never as a pass."""

    from tests.conftest import with_toy_backend

    jsonschema = pytest.importorskip("jsonschema", reason="pip install -e '.[test]' installs jsonschema")
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    for name, text in {"a.toy": "prove a: 1 + 1 == 2\n", "b.toy": "prove b: 2 * 2 == 4\n",
                       "c.toy": "prove c: True\n"}.items():
        (repo / "src" / name).write_text(text)
    (repo / "qed.toml").write_text('include = ["src/*.toy"]\n')
    env = {**with_toy_backend(), "QED_CACHE_DIR": str(tmp_path / "cache")}
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=t@e.org", "-c", "user.name=t", "commit", "-qm", "b"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    def qed(*args):
        return subprocess.run([sys.executable, "-m", "verifier", "check", *args], cwd=repo, capture_output=True,
                              text=True, env=env, timeout=120)

    p = qed("--workers", "2", "--format", "json")
    doc = json.loads(p.stdout)
    assert p.returncode == 0 and [r["verdict"] for r in doc["results"]] == ["verified"] * 3, p.stderr
    (repo / "src" / "b.toy").write_text("prove b: 2 * 2 == 5\n")
    p = qed("--changed-since", "HEAD", "--format", "json")
    doc = json.loads(p.stdout)
    assert p.returncode == 1 and [(r["file"], r["verdict"]) for r in doc["results"]] == [("src/b.toy", "failed")]
    assert sorted(s["file"] for s in doc["skipped"]) == ["src/a.toy", "src/c.toy"]  # no cache in this backend
    [event] = doc["contract_review"]
    assert event["status"] == "undecided" and "cannot review contracts" in event["note"]
    p = qed("--changed-since", "HEAD", "--format", "sarif", "--fail-on-weakened-contract")
    sarif = json.loads(p.stdout)
    schema = json.loads((Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json").read_text())
    assert not list(jsonschema.Draft4Validator(schema).iter_errors(sarif))
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"QED-C002"}


def test_the_check_report_schema_accepts_a_real_report(tmp_path):
    """`qed schema --check` describes what `qed check --format json` prints (here: a toy-backend run)."""
    jsonschema = pytest.importorskip("jsonschema", reason="pip install -e '.[test]' installs jsonschema")
    from tests.conftest import with_toy_backend

    (tmp_path / "a.toy").write_text("prove a: True\n")
    (tmp_path / "qed.toml").write_text('include = ["*.toy"]\n')
    env = {**with_toy_backend(), "QED_CACHE_DIR": str(tmp_path / "cache")}
    p = subprocess.run([sys.executable, "-m", "verifier", "check", "--format", "json"], cwd=tmp_path,
                       capture_output=True, text=True, env=env)
    s = subprocess.run([sys.executable, "-m", "verifier", "schema", "--check"], capture_output=True, text=True)
    doc, schema = json.loads(p.stdout), json.loads(s.stdout)
    assert p.returncode == 0 and not list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    assert {"contract_review", "skipped", "approved", "gate", "results", "summary"} <= set(schema["properties"])
