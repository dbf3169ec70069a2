"""Parsing recorded Dafny 4.11 output (tests/fixtures/dafny/*, recorded with the real binary)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.dafny.messages import classify_error, classify_warning, format_message, member_of_log_name
from backends.dafny.output import parse_json_output, parse_log, parse_text_output

FIX = Path(__file__).parent / "fixtures" / "dafny"

# line -> kind, for kinds.dfy (one deliberate failure per line)
KINDS = {
    2: "precondition", 3: "postcondition", 10: "assertion", 11: "decreases", 13: "frame", 15: "reads",
    16: "index_out_of_range", 17: "division_by_zero", 18: "subset_type", 19: "null_dereference",
    20: "definite_assignment",
}


def _read(name: str) -> str:
    return (FIX / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("parse,name", [(parse_json_output, "kinds.json-output.txt"),
                                         (parse_text_output, "kinds.text.txt")])
def test_every_error_kind_is_recognised(parse, name):
    out = parse(_read(name))
    by_line: dict[int, set[str]] = {}
    for d in out.diagnostics:
        assert d.severity == "error"
        by_line.setdefault(d.line, set()).add(d.kind)
    for line, kind in KINDS.items():
        assert kind in by_line[line], (line, by_line.get(line))
    assert by_line[7] == {"invariant_entry", "invariant_maintained"}
    assert any("finished with 0 verified, 13 errors" in s for s in out.status)


def test_json_positions_are_one_based_with_exclusive_end():
    out = parse_json_output(_read("kinds.json-output.txt"))
    pre = next(d for d in out.diagnostics if d.kind == "precondition")
    # `method CallPre() { Pre(0); }`: Dafny points at the `(` after Pre: 0-based character 22 -> column 23
    assert (pre.line, pre.column, pre.end_line, pre.end_column) == (2, 23, 2, 24)
    assert pre.source == "Verifier"
    [rel] = pre.related
    assert (rel.line, rel.column) == (1, 31) and "precondition that could not be proved" in rel.message


def test_text_and_json_agree_on_positions():
    j = parse_json_output(_read("kinds.json-output.txt")).diagnostics
    t = parse_text_output(_read("kinds.text.txt")).diagnostics
    assert [(d.line, d.column, d.kind) for d in j] == [(d.line, d.column, d.kind) for d in t]
    assert [len(d.related) for d in j] == [len(d.related) for d in t]


def test_text_parser_skips_snippets():
    t = parse_text_output(_read("kinds.snippets.txt")).diagnostics
    assert len(t) == 13 and all(d.message for d in t)


def test_resolution_placeholders_are_filled():
    out = parse_json_output(_read("resolve.json-output.txt"))
    msgs = [d.message for d in out.diagnostics]
    assert "unresolved identifier: z" in msgs
    assert "RHS (of type int) not assignable to LHS (of type bool)" in msgs
    assert {d.kind for d in out.diagnostics} == {"resolution"}


def test_parse_error_has_error_id_and_kind():
    out = parse_json_output(_read("parse.json-output.txt"))
    [d] = out.diagnostics
    assert d.kind == "parse" and d.error_id
    t = parse_text_output(_read("parse.text.txt")).diagnostics
    assert [x.kind for x in t] == ["parse"]


def test_warnings_are_classified():
    out = parse_json_output(_read("warn.json-output.txt"))
    classes = {d.line: d.warning_class for d in out.diagnostics}
    assert all(d.severity == "warning" for d in out.diagnostics)
    assert classes[2] == "style"  # deprecated semicolon
    assert classes[7] == "escape"  # assume without {:axiom}
    assert classes[8] == "escape"  # bodyless lemma with ensures
    assert classes[9] == "escape"  # {:verify false}
    assert classes[10] == "escape"  # extern with contract
    assert classes[11] == "trigger"


def test_timeout_diagnostic_and_member_log():
    out = parse_json_output(_read("slow.json-output.txt"))
    [d] = [d for d in out.diagnostics if d.severity == "error"]
    assert d.kind == "timeout" and d.line == 2
    members = {m.name: m.outcome for m in parse_log(FIX / "slow.log.json")}
    assert members == {"Fine": "verified", "Hard2": "timeout"}


def test_member_log_merges_tasks_and_qualifies_names():
    members = {m.name: m for m in parse_log(FIX / "kinds.log.json")}
    assert members["C.Frame"].outcome == "failed"
    assert members["Dec"].outcome == "failed"
    assert all(m.duration_s is not None for m in members.values())


def test_missing_log_is_empty(tmp_path):
    assert parse_log(tmp_path / "nope.json") == []


@pytest.mark.parametrize("msg,kind", [
    ("A postcondition might not hold on this return path.", "postcondition"),
    ("This loop invariant might not hold on entry.", "invariant_entry"),
    ("This loop invariant might not be maintained by the loop.", "invariant_maintained"),
    ("A precondition for this call might not hold.", "precondition"),
    ("assertion might not hold", "assertion"),
    ("assertion could not be proved", "assertion"),
    ("cannot prove termination; try supplying a decreases clause", "decreases"),
    ("Verification out of resource (Foo)", "resource_limit"),
    ("Verification of 'Foo' timed out after 30 seconds.", "timeout"),
])
def test_old_and_new_wordings(msg, kind):
    assert classify_error(msg, "Verifier") == kind


def test_helpers():
    assert format_message("{1} then {0} then {5}", ["a", "b"]) == "b then a then {5}"
    assert member_of_log_name("M.C.Foo (well-formedness)") == ("M.C.Foo", "well-formedness")
    assert classify_warning("something entirely new") == "other"


def test_json_output_only_where_the_version_has_it(tmp_path):
    from types import SimpleNamespace

    from backends.dafny.runner import DafnyOptions, DafnyRunner, has_json_output

    assert has_json_output("4.11.0") and has_json_output("4.10.1") and not has_json_output("4.9.1")
    old = DafnyRunner(SimpleNamespace(path="dafny", version="4.8.0", extra_args=()), store=None)
    argv = old.command(tmp_path / "f.dfy", None, DafnyOptions())
    assert "--json-output" not in argv and argv[:2] == ["dafny", "verify"]


def test_legacy_json_diagnostics_form():
    """The 2025-05 first form of --json-output carried `message` with a severity prefix, no format string."""
    line = ('{"type":"diagnostic","value":{"location":{"filename":"d.dfy","range":{"start":{"line":17,'
            '"character":16}}},"severity":1,"message":"Error: a precondition for this call could not be proved",'
            '"source":"Verifier","relatedInformation":[]}}')
    [d] = parse_json_output(line).diagnostics
    assert (d.kind, d.line, d.column, d.message) == ("precondition", 17, 17,
                                                     "a precondition for this call could not be proved")
