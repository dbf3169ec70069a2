"""Reading what `fstar.exe` prints: JSON lines (the documented format, unknown fields ignored) and the human
formats of older releases, mapped into the shared diagnostics with F* kinds."""

from __future__ import annotations

import json

import pytest

from backends.fstar.output import diagnostic_from_ide, parse_output
from verifier.models import DiagnosticKind, Severity

# the example of tests/error-messages/Asserts.fst.json_output.expected (as documented), plus an unknown field
ASSERTS = {"msg": ["Expected failure:", "Assertion failed", "The SMT solver could not prove the query. Use "
                   "--query_stats for more details."], "level": "Info",
           "range": {"def": {"file_name": "Asserts.fst", "start_pos": {"line": 6, "col": 9},
                             "end_pos": {"line": 6, "col": 17}},
                     "use": {"file_name": "Asserts.fst", "start_pos": {"line": 6, "col": 2},
                             "end_pos": {"line": 6, "col": 8}}},
           "number": 19, "ctx": ["While typechecking the top-level declaration `let test`"], "new_field": [1]}


def err(msgs, number, line=3, col=4, level="Error", file="M.fst"):
    rng = {"file_name": file, "start_pos": {"line": line, "col": col}, "end_pos": {"line": line, "col": col + 3}}
    return json.dumps({"msg": msgs, "level": level, "range": {"def": rng, "use": rng}, "number": number, "ctx": []})


def test_json_issue_fields_map_to_the_shared_model():
    p = parse_output("", json.dumps(ASSERTS) + "\n")
    [d] = p.diagnostics
    assert d.severity == Severity.info and d.file == "Asserts.fst" and (d.line, d.column) == (6, 3)
    assert (d.end_line, d.end_column) == (6, 9) and d.error_id == "Info 19"
    assert "Assertion failed" in d.message and d.related and d.related[0].column == 10


@pytest.mark.parametrize("msgs,number,kind,fstar_kind", [
    (["Assertion failed", "The SMT solver could not prove the query."], 19, DiagnosticKind.assertion,
     "smt-query-failed"),
    (["Could not prove post-condition"], 19, DiagnosticKind.postcondition, "smt-query-failed"),
    (["Subtyping check failed", "Expected type nat"], 19, DiagnosticKind.subset_type, "subtyping-check"),
    (["Could not prove termination of this recursive call"], 19, DiagnosticKind.decreases, "termination"),
    (["The SMT solver could not prove the query.", "Z3 ran out of resources (rlimit)"], 19,
     DiagnosticKind.resource_limit, "smt-rlimit"),
    (["The SMT solver could not prove the query (canceled: timeout)"], 19, DiagnosticKind.timeout, "smt-timeout"),
    (["Identifier not found: [foo]"], 72, DiagnosticKind.resolution, "unknown-identifier"),
    (["Expected expression of type int, got bool"], 189, DiagnosticKind.resolution, "type-error"),
    (["Missing definitions in module Abs: abs"], 230, DiagnosticKind.resolution, "missing-definition"),
    (["Syntax error"], 168, DiagnosticKind.parse, "syntax-error"),
    (["Every use of admit triggers a warning"], 335, DiagnosticKind.other, "escape-report"),
    (["Z3 solver not found. Required version: 4.13.3"], 181, DiagnosticKind.toolchain, "z3"),
])
def test_kinds(msgs, number, kind, fstar_kind):
    [d] = parse_output("", err(msgs, number)).diagnostics
    assert (d.kind, d.source) == (kind, fstar_kind), d


def test_range_null_and_garbage_lines_are_tolerated():
    text = "\n".join([json.dumps({"msg": ["boom"], "level": "Error", "range": None, "number": None, "ctx": []}),
                      "{not json", "1 error was reported (see above)", json.dumps({"level": "Weird"})])
    p = parse_output("", text)
    assert [d.message for d in p.diagnostics] == ["boom"] and p.diagnostics[0].line is None
    assert p.bad_json_lines == 1 and "1 error was reported (see above)" in p.other


def test_the_success_line_is_seen_on_stdout():
    p = parse_output("Verified module: Abs\nAll verification conditions discharged successfully\n", "")
    assert p.success_line and p.diagnostics == []


def test_human_formats_of_older_releases():
    text = ("* Error 19 at Basic.fst(6,38-6,44):\n  - Assertion failed\n  - The SMT solver could not prove the "
            "query.\n  - See also Basic.fst(6,10-6,20)\n\n"
            "* Error 189 at X.fst:3.13-3.16:\n  - Expected expression of type int\n"
            "Steel.fst(228,4-228,6): (Error 16) Unknown assertion failed\n"
            "* Warning 282 at A.fst:1.1-1.2:\n  - Expected Z3 version 4.13.3\n")
    ds = parse_output("", text).diagnostics
    assert [(d.file, d.line, d.column, d.error_id) for d in ds] == [
        ("Basic.fst", 6, 39, "Error 19"), ("X.fst", 3, 13, "Error 189"), ("Steel.fst", 228, 5, "Error 16"),
        ("A.fst", 1, 1, "Warning 282")]
    assert ds[0].kind == DiagnosticKind.assertion and "See also" not in ds[0].message
    assert ds[1].kind == DiagnosticKind.resolution and ds[3].severity == Severity.warning


def test_ide_issues():
    d = diagnostic_from_ide({"level": "error", "number": 19, "message": "Assertion failed",
                             "ranges": [{"fname": "<input>", "beg": [3, 2], "end": [3, 8]}], "zzz": 1},
                            lambda n: "shown.fst")
    assert (d.file, d.line, d.column, d.end_column, d.kind) == ("shown.fst", 3, 3, 9, DiagnosticKind.assertion)
    assert diagnostic_from_ide({"level": "bogus"}, str) is None and diagnostic_from_ide("x", str) is None
