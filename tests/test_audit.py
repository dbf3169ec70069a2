"""`qed audit`: findings a user can trust (each proved by the verifier), undecided cases reported as such, the
mutation operators, equivalent mutants not reported, the JSON document and its schema, exit codes, and the
capability through the backend protocol (a backend that does not declare it is named, plainly)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backends.audit_protocol import (
    BehaviourRun,
    ContractAuditor,
    ContractMember,
    ContractQueries,
    ExampleCheck,
    Mutant,
    MutantCheck,
)
from backends.base import Capability
from backends.dafny.audit.calls import array_hints, generated_inputs, other_values, parse_call
from backends.dafny.audit.mutate import mutants
from backends.dafny.audit.queries import counterexample_value
from tests.conftest import REPO
from verifier.audit import AuditReport, audit_contract, audit_schema, exit_code, render_audit
from verifier.cli import main
from verifier.errors import BadInput

EX = REPO / "specs" / "examples"


# --- mutation operators (no verifier) ----------------------------------------------------------------------

PROGRAM = """method F(a: array<int>, n: int, b: bool) returns (r: int)
  requires n <= a.Length
  ensures r >= 0
{
  r := 0;
  var i := 0;
  while i < n
    invariant 0 <= i <= n
  {
    assert i < a.Length;
    if a[i] > 2 && b {
      r := r + a[i] * 2;
    } else {
      r := r - 1;
    }
    i := i + 1;
  }
  for j := 0 to n
    invariant r >= -100
  {
    r := if j == 1 then r else r + 1;
  }
}
"""


def _by_op(limit: int = 200) -> dict[str, list[Mutant]]:
    out: dict[str, list[Mutant]] = {}
    for m in mutants(PROGRAM, ["F"], limit):
        out.setdefault(m.operator, []).append(m)
    return out


def _changed_line(m: Mutant) -> tuple[str, str]:
    minus = [ln[1:].strip() for ln in m.diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln[1:].strip() for ln in m.diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    return " ".join(minus), " ".join(plus)


def test_each_mutation_operator_makes_its_change():
    ops = _by_op()
    assert set(ops) == {"arithmetic", "comparison", "logical", "constant", "off_by_one", "swap_branches",
                        "drop_statement"}
    changes = {op: [_changed_line(m) for m in ms] for op, ms in ops.items()}
    assert ("r := r + a[i] * 2;", "r := r - a[i] * 2;") in changes["arithmetic"]
    assert ("r := r + a[i] * 2;", "r := r + a[i] + 2;") in changes["arithmetic"]
    assert ("while i < n", "while i <= n") in changes["comparison"]
    assert ("if a[i] > 2 && b {", "if a[i] > 2 || b {") in changes["logical"]
    assert ("if a[i] > 2 && b {", "if a[i] > 3 && b {") in changes["constant"]
    assert ("while i < n", "while i < (n - 1)") in changes["off_by_one"]
    assert ("for j := 0 to n", "for j := 0 to (n + 1)") in changes["off_by_one"]
    swapped = [m for m in ops["swap_branches"] if "blocks swapped" in m.description][0]
    assert swapped.source.count("r := r - 1;\n    } else {\n      r := r + a[i] * 2;") == 1
    assert any("then r else" in a and "if !(j == 1) then" in b for a, b in changes["swap_branches"])
    assert ("i := i + 1;", "") in changes["drop_statement"]
    for m in ops["drop_statement"]:
        assert "var" not in _changed_line(m)[0]  # declarations are never dropped


def test_mutants_never_touch_proof_and_carry_a_diff_and_a_line():
    for m in mutants(PROGRAM, ["F"], 200):
        before, after = _changed_line(m)
        assert "invariant" not in before and "assert" not in before and "requires" not in before
        assert m.diff.startswith("--- a/impl.dfy") and m.source != PROGRAM
        assert PROGRAM.splitlines()[m.line - 1].strip() in before or m.operator == "swap_branches"


def test_code_after_an_assert_by_block_or_a_calc_is_mutated_the_proof_is_not():
    """`assert P by { ... }` and `calc { ... }` end at their closing brace (no `;`): the statement after them is
    code to mutate; the proof itself is never touched."""
    src = """method G(x: int) returns (r: int)
  ensures r == x + 1
{
  assert x + 0 == x by { assert forall k {:trigger k + 0} :: k + 0 == k; }
  r := x + 1;
  calc { x * 1; == x; }
  r := r - 0;
  var f := (i requires i >= 0 => i + 2);
  r := r + 0;
}
"""
    changed = [_changed_line(m) for m in mutants(src, ["G"], 200)]
    assert any("r := x + 1;" in before for before, _ in changed)
    assert any("r := r - 0;" in before for before, _ in changed)
    assert any("r := r + 0;" in before for before, _ in changed)  # a lambda's `requires` ends with the lambda
    assert not any("assert" in before or "calc" in before for before, _ in changed)


def test_mutants_are_spread_over_operators_and_limited_per_member():
    few = mutants(PROGRAM, ["F"], 7)
    assert len(few) == 7 and len({m.operator for m in few}) == 7
    assert mutants(PROGRAM, ["NoSuchMember"], 7) == []


# --- calls, values, counterexamples -------------------------------------------------------------------------


def test_example_calls_hoist_allocations_and_add_hints():
    c = parse_call("MaxArray(new int[3][4, 9, 2], x + 1)")
    assert c.callee == "MaxArray" and c.args == ["qeda1", "x + 1"]
    assert c.setup[0] == "var qeda1 := new int[3][4, 9, 2];"
    assert c.setup[1] == "assert qeda1.Length == 3 && qeda1[0] == (4) && qeda1[1] == (9) && qeda1[2] == (2);"
    assert parse_call("M.Foo([1, 2], \"a,b\")").args == ["[1, 2]", "\"a,b\""]
    assert parse_call("3 + 4") is None and parse_call("F(1) + 1") is None
    assert array_hints("v", "new int[] [1, 2]") == ["assert v.Length == 2 && v[0] == (1) && v[1] == (2);"]
    typed = parse_call('F([[1], [1, 2]], "ab", [])', ["seq<seq<int>>", "string", "seq<int>"])
    assert typed.args == ["qeda1", "qeda2", "[]"]  # an empty display stays (its type comes from the call)
    assert typed.setup == ["var qeda1: seq<seq<int>> := [[1], [1, 2]];",
                           "assert |qeda1| == 2 && qeda1[0] == ([1]) && qeda1[1] == ([1, 2]);",
                           'var qeda2: string := "ab";', "assert |qeda2| == 2 && qeda2[0] == ('a') && qeda2[1] == ('b');"]


def test_other_values_differ_from_the_expected_one():
    assert other_values(("int",), "3")[:2] == ["4", "2"]
    assert all(int(v) >= 0 for v in other_values(("nat",), "0"))
    assert other_values(("bool",), "true") == ["false"]
    assert "[1, 2]" in other_values(("seq", ("int",)), "[1, 2, 3]")
    assert '""' in other_values(("seq", ("char",)), '"ab"')
    assert "(4, 5)" in other_values(("tuple", ("int",), ("int",)), "(3, 5)")
    rows = generated_inputs([("a", ("array", ("int",))), ("k", ("int",))])
    assert rows and all(r[0].startswith("new int[") for r in rows) and len(rows) <= 12
    assert generated_inputs([("t", ("T",))]) == []


def test_counterexample_value_is_read_from_dafnys_message():
    msg = ("assertion might not hold\nRelated counterexample:\nWARNING: ...\nf.dfy(4,21): initial state:\n"
           "assume true;\nf.dfy(5,18):\nassume 4 == qedr1;\n")
    assert counterexample_value(msg)[0] == "4"
    assert counterexample_value("assertion might not hold")[0] is None


# --- the core, with a scripted auditor (no verifier) ---------------------------------------------------------


class ScriptedAuditor(ContractAuditor):
    def __init__(self, queries, outputs=None, verified=()):
        self.queries, self.outputs, self.verified = queries, outputs or {}, set(verified)

    def query_contract(self, request):
        return self.queries

    def implementation_problems(self, contract, impl, timeout=600.0):
        return []

    def mutants(self, contract, impl, members, limit):
        return [Mutant("F", k, "constant", 5, f"`0` -> `{k}`", f"src {k}", f"--- a\n+++ b\n-x\n+y{k}\n")
                for k in (1, 2, 3)][:limit]

    def check_mutant(self, source, contract, work, session=None, timeout=600.0):
        k = int(source.split()[-1])
        return MutantCheck(k in self.verified, "batch", batch_s=1.0)

    def run_variants(self, member, variants, inputs, timeout=600.0):
        return BehaviourRun(list(inputs), {k: self.outputs.get(k, ["1", "2"]) for k in variants})


class ScriptedBackend:
    language = type("L", (), {"title": "Scripted"})()

    def __init__(self, auditor):
        self.auditor = auditor

    def require(self, cap, needed_for):
        assert cap == Capability.contract_audit

    def supports(self, cap):
        return cap == Capability.contract_audit

    def contract_auditor(self):
        return self.auditor


def _check(k, status, **kw):
    from backends.audit_protocol import AuditExample

    return ExampleCheck(AuditExample(k, f"F({k})", str(k)), "F", status, "detail", line=3, **kw)


def _queries(*checks, precondition="satisfiable"):
    return ContractQueries([ContractMember("F", "method", 3, precondition, requires_line=4, requires=["x > 0"],
                                           examples=list(checks), inputs=["F(7)"])])


def test_findings_follow_what_the_verifier_proved_and_undecided_is_no_finding(tmp_path):
    spec = tmp_path / "c.dfy"
    spec.write_text("x")
    q = _queries(_check(1, "determined"), _check(2, "allowed", witness="9", witness_source="tried"),
                 _check(3, "rejected"), _check(4, "contradicted"), _check(5, "undecided", counterexample="cex"),
                 precondition="vacuous")
    rep = audit_contract(spec, [("F(1)", "1")], backend=ScriptedBackend(ScriptedAuditor(q)))
    kinds = [f.kind for f in rep.findings]
    assert kinds == ["vacuous_precondition", "example_not_determined", "example_contradicts", "example_contradicts"]
    s = rep.members[0].summary
    assert (s.examples.determined, s.examples.allowed, s.examples.contradicted, s.examples.undecided) == (1, 1, 2, 1)
    assert s.undecided_examples[0]["status"] == "undecided" and s.undecided_examples[0]["counterexample"] == "cex"
    weak = rep.findings[1]
    assert weak.evidence["witness"] == "9" and "also admits `9`" in weak.message and weak.line == 3
    assert rep.findings[2].evidence["reason"] == "rejected_input"
    assert rep.findings[0].line == 4 and rep.findings[0].evidence["requires"] == ["x > 0"]
    assert exit_code(rep) == 1
    assert "undecided: example 5" in render_audit(rep)

    undecided = ScriptedBackend(ScriptedAuditor(_queries(_check(1, "undecided"))))
    only_undecided = audit_contract(spec, [], backend=undecided)
    assert only_undecided.findings == [] and exit_code(only_undecided) == 0


def test_equivalent_mutants_are_not_findings_and_survivors_carry_diff_and_input(tmp_path):
    spec, impl = tmp_path / "c.dfy", tmp_path / "i.dfy"
    spec.write_text("x")
    impl.write_text("y")
    auditor = ScriptedAuditor(_queries(_check(1, "determined")), verified={2, 3},
                              outputs={"original": ["1", "2"], "m2": ["1", "2"], "m3": ["1", "5"]})
    rep = audit_contract(spec, [("F(1)", "1")], impl=impl, mutants=3, backend=ScriptedBackend(auditor),
                         session="cli")
    mu = rep.members[0].summary.mutants
    assert (mu.tried, mu.killed, mu.surviving, mu.equivalent) == (3, 1, 1, 1)
    [f] = rep.findings
    assert f.kind == "surviving_mutant" and f.evidence["mutant"] == 3 and f.evidence["input"] == "F(7)"
    assert f.evidence["original_output"] == "2" and f.evidence["mutant_output"] == "5"
    assert "+y3" in f.evidence["diff"] and "+y3" in render_audit(rep)


def test_json_document_is_exactly_members_and_matches_the_published_schema(tmp_path):
    spec = tmp_path / "c.dfy"
    spec.write_text("x")
    rep = audit_contract(spec, [], backend=ScriptedBackend(ScriptedAuditor(_queries(_check(1, "allowed",
                                                                                          witness="2")))))
    doc = rep.model_dump(mode="json")
    assert list(doc) == ["members"]
    assert list(doc["members"][0]) == ["name", "findings", "summary"]
    assert list(doc["members"][0]["findings"][0]) == ["kind", "message", "line", "evidence"]
    published = json.loads((REPO / "verifier" / "schemas" / "audit-report.schema.json").read_text())
    assert published == audit_schema()
    AuditReport.model_validate(doc)
    r = CliRunner().invoke(main, ["schema", "--audit"])
    assert r.exit_code == 0 and json.loads(r.output) == audit_schema()


# --- the capability and bad input -----------------------------------------------------------------------------


def test_a_backend_without_the_capability_is_named_plainly(tmp_path):
    spec = tmp_path / "c.toy"
    spec.write_text("prove x: true\n")
    r = CliRunner().invoke(main, ["audit", "--spec", str(spec)])
    assert r.exit_code == 2
    assert "the Toy backend has no contract audit capability, which `qed audit` (a contract audit) needs" in r.output
    from backends import registry

    for name in ("lean", "fstar"):
        assert Capability.contract_audit not in registry.plugins()[name].capabilities
    for name, text in (("lean", "theorem x : True := trivial\n"), ("fstar", "val x : int\n")):
        plugin = registry.plugins()[name]
        f = tmp_path / f"c{plugin.language.suffix}"
        f.write_text(text)
        r = CliRunner().invoke(main, ["audit", "--spec", str(f)])
        assert r.exit_code in (2, 3) and plugin.language.title in r.output  # 3: a build without that backend
        if plugin.available:
            assert r.exit_code == 2 and "has no contract audit capability" in r.output


def test_bad_input_exits_2_with_one_line(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["audit"])
    assert r.exit_code == 2 and "no contract given" in r.output
    r = runner.invoke(main, ["audit", str(EX / "clamp.yaml")])
    assert r.exit_code == 2 and "gives no contract" in r.output
    bad = tmp_path / "ex.yaml"
    bad.write_text("- {call: 'Abs(1)'}\n")
    r = runner.invoke(main, ["audit", "--spec", str(EX / "abs_weak.spec.dfy"), "--examples", str(bad)])
    assert r.exit_code == 2 and "example 1" in r.output
    with pytest.raises(BadInput, match="does not exist"):
        audit_contract(tmp_path / "missing.dfy")


# --- with the real Dafny -------------------------------------------------------------------------------------

CONTRACTS = """function AbsSpec(x: int): int { if x < 0 then -x else x }

method Strong(x: int) returns (y: int)
  ensures y == AbsSpec(x)

method Weak(x: int) returns (y: int)
  ensures y >= 0

method Vacuous(x: int) returns (y: int)
  requires x > 0 && x < 0
  ensures y == x

method Contra(x: int) returns (y: int)
  requires x != 5
  ensures y == x + 1

method NoOutput(x: int) returns (y: int)
  ensures y > x && y < x

function Ack(m: nat, n: nat): nat
  decreases m, n
{
  if m == 0 then n + 1 else if n == 0 then Ack(m - 1, 1) else Ack(m - 1, Ack(m, n - 1))
}

method Deep(m: nat, n: nat) returns (r: nat)
  ensures r == Ack(m, n)

method MaxArray(a: array<int>) returns (m: int)
  requires a.Length > 0
  ensures forall i :: 0 <= i < a.Length ==> a[i] <= m
  ensures exists i :: 0 <= i < a.Length && a[i] == m
"""

EXAMPLES = [("Strong(-3)", "3"), ("Weak(-3)", "3"), ("Vacuous(1)", "1"), ("Contra(2)", "2"), ("Contra(5)", "6"),
            ("NoOutput(1)", "1"), ("Deep(3, 3)", "61"), ("MaxArray(new int[3][4, 9, 2])", "9")]


@pytest.mark.dafny
def test_strong_weak_contradictory_vacuous_and_undecided_contracts(tmp_path, dafny_backend):
    spec = tmp_path / "contracts.dfy"
    spec.write_text(CONTRACTS)
    rep = audit_contract(spec, EXAMPLES, backend=dafny_backend)
    by = {m.name: m for m in rep.members}
    assert by["Strong"].findings == [] and by["Strong"].summary.examples.determined == 1
    [weak] = by["Weak"].findings
    assert weak.kind == "example_not_determined" and weak.evidence["witness"] not in ("3", None)
    assert {f.kind for f in by["Vacuous"].findings} == {"vacuous_precondition", "example_contradicts"}
    assert by["Vacuous"].summary.precondition == "vacuous"
    reasons = sorted(f.evidence["reason"] for f in by["Contra"].findings)
    assert reasons == ["forbidden_output", "rejected_input"]
    assert by["Contra"].summary.precondition == "satisfiable"
    [none] = by["NoOutput"].findings
    assert none.evidence["reason"] == "no_output"
    assert by["Deep"].findings == [] and by["Deep"].summary.examples.undecided == 1  # never a guess
    assert by["Deep"].summary.undecided_examples[0]["status"] == "undecided"
    assert by["MaxArray"].findings == [] and by["MaxArray"].summary.examples.determined == 1
    assert exit_code(rep) == 1


@pytest.mark.dafny
def test_weak_contract_mutants_equivalent_ones_not_reported(dafny_backend):
    rep = audit_contract(EX / "abs_weak.spec.dfy", [("Abs(-3)", "3")], impl=EX / "abs_weak.dfy", mutants=8,
                         backend=dafny_backend, session="cli")
    [m] = rep.members
    mu = m.summary.mutants
    assert mu.tried >= 6 and mu.equivalent >= 1 and mu.surviving == 0
    assert [f.kind for f in m.findings] == ["example_not_determined"]


@pytest.mark.dafny
def test_surviving_mutants_show_the_diff_and_the_input(dafny_backend):
    r = CliRunner().invoke(main, ["audit", str(EX / "sum_weak.yaml"), "--mutants", "12", "--json",
                                  "--session", "warm"])
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    [m] = doc["members"]
    survivors = [f for f in m["findings"] if f["kind"] == "surviving_mutant"]
    assert survivors and m["summary"]["mutants"]["surviving"] == len(survivors)
    ev = survivors[0]["evidence"]
    assert ev["diff"].startswith("--- a/sum_weak.dfy") and ev["input"].startswith("SumUpTo(")
    assert ev["original_output"] != ev["mutant_output"]
    assert any(f["kind"] == "example_not_determined" for f in m["findings"])


# --- qed synth: a written contract is audited against the task's examples ------------------------------------

CLAMP_WEAK = """method Clamp(x: int, lo: int, hi: int) returns (r: int)
  requires lo <= hi
  ensures lo <= r <= hi
"""
CLAMP_STRONG = CLAMP_WEAK + """  ensures x < lo ==> r == lo
  ensures x > hi ==> r == hi
  ensures lo <= x <= hi ==> r == x
"""


@pytest.mark.dafny
def test_synth_sends_audit_findings_back_to_the_model_before_acceptance(tmp_path, dafny_backend):
    from verifier.providers import ScriptedProvider
    from verifier.synth import synthesize
    from verifier.tasks import load_task

    impl = CLAMP_STRONG + "{\n  if x < lo { r := lo; } else if x > hi { r := hi; } else { r := x; }\n}\n"
    provider = ScriptedProvider([f"```dafny\n{c}```" for c in (CLAMP_WEAK, CLAMP_STRONG, impl)])
    seen = []
    res = synthesize(load_task(EX / "clamp.yaml"), provider, model="m", rounds=3, out_dir=tmp_path,
                     backend=dafny_backend, accept=lambda p: seen.append(p.read_text(encoding="utf-8")) or True)
    assert [(a.phase, a.outcome) for a in res.attempts] == [
        ("contract", "contract_audit"), ("contract", "contract_ok"), ("implement", "verified")]
    assert seen == [CLAMP_STRONG]  # the user is asked only about the contract the audit passed
    retry = provider.requests[1].messages[-1].content
    assert "audit: example_not_determined" in retry and "Clamp(5, 0, 3)" in retry
    events = [json.loads(ln) for ln in (Path(res.out_dir) / "transcript.jsonl").read_text().splitlines()]
    audits = [e for e in events if e.get("event") == "contract_audit"]
    assert [e["round"] for e in audits] == [1, 2]
    assert audits[0]["report"]["members"][0]["findings"] and not audits[1]["report"]["members"][0]["findings"]
