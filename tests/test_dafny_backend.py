"""The Dafny backend against the real Dafny 4.11: verdicts, diagnostics, members, cache, time-outs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from backends.base import CheckRequest
from backends.dafny.runner import DafnyOptions
from tests.conftest import check
from verifier.errors import BadInput, ToolchainError

pytestmark = pytest.mark.dafny

GOOD = """
method Max(a: int, b: int) returns (m: int)
  ensures m >= a && m >= b
  ensures m == a || m == b
{
  if a > b { m := a; } else { m := b; }
}
"""

BROKEN = """
method Pre(x: int) requires x > 0 {}
method Caller() { Pre(0); }
method Sum(n: nat) returns (s: nat)
  ensures s == n * (n + 1) / 2
{
  s := 0;
  var i := 0;
  while i < n
    invariant i <= n
  {
    i := i + 1;
    s := s + i;
  }
}
"""

HARD = """
lemma Hard2(a: int, b: int, c: int)
  requires a*a*a + b*b*b == c*c*c && a > 0 && b > 0 && c > 0
  ensures false
{
}
"""


def test_correct_program_is_verified(dafny_backend, write):
    r = check(dafny_backend, write("max.dfy", GOOD))
    assert r.verdict == "verified", r
    assert r.exit_code == 0 and not r.integrity and not [d for d in r.diagnostics if d.severity == "error"]
    assert [(m.name, m.outcome) for m in r.members] == [("Max", "verified")]
    assert r.toolchain.version.startswith("4.11") and r.toolchain.solver == "z3 4.12.1"
    assert r.command[1] == "verify" and "--json-output" in r.command


def test_broken_program_fails_with_located_kinds(dafny_backend, write):
    f = write("broken.dfy", BROKEN)
    r = check(dafny_backend, f, display_name="broken.dfy")
    assert r.verdict == "failed"
    errors = [d for d in r.diagnostics if d.severity == "error"]
    pre = next(d for d in errors if d.kind == "precondition")
    assert (pre.file, pre.line, pre.member) == ("broken.dfy", 3, "Caller")
    assert pre.related and pre.related[0].line == 2 and pre.related[0].file == "broken.dfy"
    post = next(d for d in errors if d.kind == "postcondition")
    assert post.member == "Sum" and post.related[0].line == 5
    # Members without proof obligations (Pre's empty body) have no entry
    assert {m.name: m.outcome for m in r.members} == {"Caller": "failed", "Sum": "failed"}


def test_parse_and_resolution_errors_are_errors(dafny_backend, write):
    r = check(dafny_backend, write("p.dfy", "method M() { var x := ; }\n"))
    assert r.verdict == "error" and r.diagnostics[0].kind == "parse" and r.diagnostics[0].line == 1
    r = check(dafny_backend, write("r.dfy", "method M() returns (b: bool) { b := 1; }\n"))
    assert r.verdict == "error"
    assert [d.kind for d in r.diagnostics] == ["resolution"]
    assert "{" not in r.diagnostics[0].message  # placeholders filled


def test_solver_time_limit_is_a_timeout_verdict(dafny_backend, write):
    r = check(dafny_backend, write("hard.dfy", HARD), options=DafnyOptions(time_limit_s=1))
    assert r.verdict == "timeout"
    assert r.diagnostics[0].kind == "timeout" and r.members[0].outcome == "timeout"


def test_wall_clock_limit_kills_the_verifier(dafny_backend, write):
    r = check(dafny_backend, write("hard.dfy", HARD), timeout=1.5, options=DafnyOptions(time_limit_s=0))
    assert r.verdict == "timeout" and r.exit_code is None and "wall-clock" in r.note
    assert r.duration_s < 30


def test_style_warnings_do_not_fail_a_proof(dafny_backend, write):
    src = "method M(x: int) returns (y: int)\n  requires x > 0;\n  ensures y == x\n{\n  y := x;\n}\n"
    r = check(dafny_backend, write("style.dfy", src))
    assert r.verdict == "verified"
    [w] = r.diagnostics
    assert w.severity == "warning" and w.warning_class == "style"


def test_escape_warning_rejects_even_when_dafny_accepts(dafny_backend, write):
    src = "method M(x: int) returns (y: int)\n  ensures y > x\n{\n  y := x;\n  assume y > x;\n}\n"
    r = check(dafny_backend, write("cheat.dfy", src))
    assert r.exit_code == 0  # Dafny itself accepts it (with a warning)
    assert r.verdict == "rejected"
    assert any(v.line == 5 for v in r.integrity)


def test_result_cache(dafny_backend, write):
    f = write("max.dfy", GOOD)
    first = check(dafny_backend, f)
    again = check(dafny_backend, f)
    assert not first.cached and again.cached and again.verdict == first.verdict
    assert again.diagnostics == first.diagnostics and again.members == first.members
    f.write_text(GOOD.replace("m == a || m == b", "m == a"), encoding="utf-8")
    changed = check(dafny_backend, f)
    assert not changed.cached and changed.verdict == "failed"


def test_cache_key_covers_includes(dafny_backend, write):
    write("lib.dfy", "function Two(): int { 2 }\n")
    main = write("main.dfy", 'include "lib.dfy"\nmethod M() { assert Two() == 2; }\n')
    r1 = check(dafny_backend, main)
    write("lib.dfy", "function Two(): int { 3 }\n")
    r2 = check(dafny_backend, main)
    assert not r2.cached and r2.diagnostics != r1.diagnostics
    assert any(d.severity == "error" for d in r2.diagnostics)


def test_cached_result_moves_with_the_file(dafny_backend, write):
    check(dafny_backend, write("a/broken.dfy", BROKEN), display_name="a/broken.dfy")
    r = check(dafny_backend, write("b/broken.dfy", BROKEN), display_name="b/broken.dfy")
    assert r.cached and all(d.file == "b/broken.dfy" for d in r.diagnostics)


def test_member_filter_scopes_the_run(dafny_backend, write):
    f = write("both.dfy", GOOD + BROKEN)
    r = check(dafny_backend, f, options=DafnyOptions(filter_symbols=("Max",)))
    assert r.scope == ["Max"] and r.verdict == "verified"
    assert [m.name for m in r.members] == ["Max"]
    r = check(dafny_backend, f, options=DafnyOptions(filter_symbols=("Sum",)))
    assert r.verdict == "failed" and [m.name for m in r.members] == ["Sum"]


def test_missing_solver_is_a_toolchain_error(dafny_install, write, cache_dir):
    from backends.dafny import PLUGIN

    broken = dataclasses.replace(dafny_install, extra_args=("--solver-path", "/nonexistent/z3"))
    with pytest.raises(ToolchainError) as e:
        check(PLUGIN.create(PLUGIN.config(toolchain=broken, use_cache=False)), write("max.dfy", GOOD))
    assert e.value.exit_code == 3 and "Z3" in str(e.value)


def test_bad_inputs(dafny_backend, write, tmp_path):
    with pytest.raises(BadInput):
        check(dafny_backend, tmp_path / "missing.dfy")
    bad = tmp_path / "latin1.dfy"
    bad.write_bytes("// caf\xe9\n".encode("latin-1"))
    with pytest.raises(BadInput, match="UTF-8"):
        check(dafny_backend, bad)
    spec = write("spec.dfy", "method M() returns (b: bool) ensures b == 1\n")
    with pytest.raises(BadInput, match="spec does not type-check"):
        check(dafny_backend, write("c.dfy", "method M() returns (b: bool) ensures b == 1 { }\n"), spec)


def test_bodiless_function_of_an_empty_type_is_rejected(dafny_backend, write):
    """Dafny 4.11 accepts this proof of `false` without a warning: a bodiless function is not harmless."""
    src = ("type Empty = x: int | false witness *\nfunction F(): Empty\n"
           "lemma Bad() ensures false { var e := F(); assert e in {}; }\n")
    r = check(dafny_backend, write("empty.dfy", src))
    assert r.exit_code == 0 and not r.diagnostics  # Dafny alone: verified, no warning at all
    assert r.verdict == "rejected"
    assert [v.rule for v in r.integrity] == ["QED-E107"] and r.integrity[0].line == 2


def test_verifier_checks_the_exact_text_the_guard_read(dafny_backend, write):
    """The file is snapshotted when the check starts: rewriting it meanwhile changes nothing."""
    f = write("max.dfy", GOOD)
    pending = dafny_backend.begin(CheckRequest(file=f))
    f.write_text("method Max() ensures false { assume false; }\n", encoding="utf-8")
    r = pending.finish()
    assert r.verdict == "verified" and [m.name for m in r.members] == ["Max"]


def test_crlf_and_lone_cr_files(dafny_backend, tmp_path):
    crlf = tmp_path / "crlf.dfy"
    crlf.write_bytes(GOOD.replace("\n", "\r\n").encode())
    assert check(dafny_backend, crlf).verdict == "verified"
    # A lone CR ends a `//` comment for Dafny: the `assume` after it is real code, and it is caught.
    cr = tmp_path / "cr.dfy"
    cr.write_bytes(b"method M() ensures false {\n  // note\rassume false;\n}\n")
    r = check(dafny_backend, cr)
    assert r.verdict == "rejected" and any(v.rule == "QED-E101" for v in r.integrity)


def test_dafny_escape_warning_does_not_repeat_a_guard_finding(dafny_backend, write):
    """Dafny warns on the `ensures` line of a bodiless method; the guard reports the method itself. One finding."""
    src = "method R(x: int) returns (y: int)\n  ensures y > x\nmethod M() { var y := R(1); assert y > 1; }\n"
    r = check(dafny_backend, write("bodiless.dfy", src))
    assert r.verdict == "rejected"
    assert [(v.rule, v.member) for v in r.integrity] == [("QED-E107", "R")]
    assert any(d.warning_class == "escape" and d.line == 2 for d in r.diagnostics)  # still listed as a warning


def test_cached_outcomes_are_judged_by_the_current_classifier(dafny_backend, write, monkeypatch):
    """The cache keeps what Dafny said; what a warning means is decided anew whenever qed's code changed (whole
    results are keyed by the code's fingerprint: here the classifier changes in memory, and the fingerprint
    with it)."""
    from backends.dafny import messages
    from verifier import cache

    src = "method M(x: int) returns (y: int)\n  requires x > 0;\n  ensures y == x\n{\n  y := x;\n}\n"
    f = write("style.dfy", src)
    assert check(dafny_backend, f).diagnostics[0].warning_class == "style"
    same = check(dafny_backend, f)
    assert same.cached and same.diagnostics[0].warning_class == "style"
    monkeypatch.setattr(messages, "_STYLE_WARNINGS", messages.re.compile(r"(?!x)x"))
    monkeypatch.setattr(cache, "code_fingerprint", lambda *roots: "another version of qed")
    again = check(dafny_backend, f)
    assert again.cached and again.diagnostics[0].warning_class == "other"


def test_code_fingerprint_sees_every_root_file_or_folder(tmp_path):
    """A root may be a folder (its `.py` files, `__pycache__` skipped) or one module (the Dafny backend's results
    are keyed by `backends/base.py` too): editing either gives another fingerprint; bytecode does not."""
    from verifier import cache

    pkg, module = tmp_path / "pkg", tmp_path / "base.py"
    (pkg / "sub" / "__pycache__").mkdir(parents=True)
    (pkg / "sub" / "a.py").write_text("A = 1\n")
    module.write_text("B = 1\n")

    def fingerprint() -> str:
        cache._FINGERPRINTS.clear()
        cache._BY_ARGS.clear()
        return cache.code_fingerprint(pkg, module)

    first = fingerprint()
    (pkg / "sub" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert fingerprint() == first
    module.write_text("B = 22\n")
    second = fingerprint()
    assert second != first
    (pkg / "sub" / "a.py").write_text("A = 22\n")
    assert fingerprint() != second


# ----------------------------------------------------------- what the contract itself causes is not blamed

HONEST_PAIRS = Path(__file__).parent / "fixtures" / "dafny" / "honest"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.name.removesuffix(".spec.dfy") for p in HONEST_PAIRS.glob("*.spec.dfy")))
def test_honest_idioms_are_verified(dafny_backend, name):
    """Each honest pair of the fixtures verifies against its contract, `dafny audit` included."""
    r = check(dafny_backend, HONEST_PAIRS / f"{name}.dfy", HONEST_PAIRS / f"{name}.spec.dfy")
    assert r.verdict == "verified", [(v.rule, v.message) for v in r.integrity] + [
        d.message for d in r.diagnostics if d.severity == "error"]


@pytest.mark.parametrize("name", ["trait_spec_class", "iterator"])
def test_audit_findings_of_the_contract_are_not_the_candidates(dafny_backend, name):
    """A spec trait's abstract members and a spec iterator's generated members are `dafny audit` findings of
    the contract itself; the candidate that implements it is not blamed for them."""
    r = check(dafny_backend, HONEST_PAIRS / f"{name}.dfy", HONEST_PAIRS / f"{name}.spec.dfy")
    assert r.verdict == "verified" and r.integrity == [], [v.message for v in r.integrity]


def test_audit_findings_the_candidate_adds_still_count(dafny_backend, write):
    """A finding the contract does not have is the candidate's: here a trait of its own whose bodiless lemma
    ensures `false` (the guard lets non-static trait members be bodiless; the second opinion does not)."""
    spec = HONEST_PAIRS / "trait_spec_class.spec.dfy"
    cand = (HONEST_PAIRS / "trait_spec_class.dfy").read_text() + "\ntrait Sneaky {\n  lemma Cheat()\n" \
                                                                 "    ensures false\n}\n"
    r = check(dafny_backend, write("sneaky.dfy", cand), spec)
    assert r.verdict == "rejected"
    assert [(v.rule, v.member) for v in r.integrity] == [("QED-A001", "Sneaky.Cheat")]


def test_the_contracts_audit_is_cached(dafny_backend):
    spec = HONEST_PAIRS / "trait_spec_class.spec.dfy"
    check(dafny_backend, HONEST_PAIRS / "trait_spec_class.dfy", spec)
    again = dafny_backend.runner.audit(spec, spec.read_text(encoding="utf-8"), 60).result()
    assert again.cached and any("Legs:" in d.message for d in again.diagnostics)


ANNOTATE_PROGRAM = """trait Shape {
  function Area(): nat
    ensures Area() >= 0
}

method Sum(n: nat) returns (s: nat)
  ensures s == n * (n + 1) / 2
{
  s := 0;
  var i := 0;
  while i < n
  {
    i := i + 1;
    s := s + i;
  }
}
"""


def test_audit_findings_of_the_program_to_annotate_are_not_the_candidates(dafny_backend, write):
    program = write("program.dfy", ANNOTATE_PROGRAM)
    cand = write("annotated.dfy", ANNOTATE_PROGRAM.replace(
        "  while i < n\n", "  while i < n\n    invariant i <= n && s == i * (i + 1) / 2\n"))
    r = check(dafny_backend, cand, program=program)
    assert r.verdict == "verified", [(v.rule, v.message) for v in r.integrity]



def test_the_programs_audit_runs_only_when_the_candidate_has_a_finding(dafny_backend, write, monkeypatch):
    """`dafny audit` of the program to annotate is asked for only once the candidate's own audit has a finding:
    a candidate without one costs no Dafny process for it; one with a finding is still judged against it."""
    audited: list[str] = []
    real = dafny_backend.runner.audit

    def spy(file, *args, **kwargs):
        audited.append(Path(file).name)
        return real(file, *args, **kwargs)

    monkeypatch.setattr(dafny_backend.runner, "audit", spy)
    plain = ANNOTATE_PROGRAM.split("\n\n", 1)[1]  # no trait: nothing for `dafny audit` to report
    hint = ("  while i < n\n", "  while i < n\n    invariant i <= n && s == i * (i + 1) / 2\n")
    r = check(dafny_backend, write("plain_annotated.dfy", plain.replace(*hint)),
              program=write("plain_program.dfy", plain))
    assert r.verdict == "verified" and audited == ["plain_annotated.dfy"]
    audited.clear()
    r = check(dafny_backend, write("trait_annotated.dfy", ANNOTATE_PROGRAM.replace(*hint)),
              program=write("trait_program.dfy", ANNOTATE_PROGRAM))
    assert r.verdict == "verified", [(v.rule, v.message) for v in r.integrity]
    assert audited == ["trait_annotated.dfy", "trait_program.dfy"]

# --------------------------------------------------------------------------- contracts that do not stand alone

INCOMPLETE_SPEC = """predicate ValidInput(s: seq<int>)
{
  |s| > 0 && IsGood(s[0])
}

method Solve(s: seq<int>) returns (r: int)
  requires ValidInput(s)
  ensures r == CountGood(s)
"""


def test_a_contract_that_uses_undefined_functions_is_named_incomplete(dafny_backend, write):
    spec = write("task.spec.dfy", INCOMPLETE_SPEC)
    cand = write("solution.dfy", "predicate IsGood(x: int) { true }\nfunction CountGood(s: seq<int>): int { 0 }\n"
                 + INCOMPLETE_SPEC + "{\n  r := CountGood(s);\n}\n")
    with pytest.raises(BadInput) as e:
        check(dafny_backend, cand, spec)
    msg = str(e.value)
    assert e.value.exit_code == 2 and "does not stand alone" in msg and "contract is incomplete" in msg
    assert "`IsGood` (line 3)" in msg and "`CountGood` (line 8)" in msg and "type-check" not in msg


def test_dafny_runs_without_dynamic_pgo_unless_the_user_says_otherwise(monkeypatch):
    """Every Dafny process qed starts skips .NET's dynamic PGO (a start-up cost with no gain in a seconds-long
    process), and keeps its debugger pipes off; a user's own `DOTNET_TieredPGO` is kept."""
    from backends.dafny.runner import dafny_env

    monkeypatch.delenv("DOTNET_TieredPGO", raising=False)
    env = dafny_env()
    assert env["DOTNET_TieredPGO"] == "0" and env["DOTNET_EnableDiagnostics"] == "0"
    monkeypatch.setenv("DOTNET_TieredPGO", "1")
    assert dafny_env()["DOTNET_TieredPGO"] == "1"
