"""Prompt rendering and repair feedback (no Dafny needed: FileResults are built by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.errors import BadInput
from verifier.models import Diagnostic, FileResult, IntegrityViolation, RelatedLocation
from verifier.prompting import (
    BUNDLED_PROMPTS,
    FeedbackItem,
    GenerateContext,
    Guidance,
    PromptLimits,
    PromptRenderer,
    RepairContext,
    bound_feedback,
    source_excerpt,
)
from verifier.prompting import feedback_from as _feedback_from
from verifier.tasks import Task, load_task

EXAMPLES = Path(__file__).resolve().parent.parent / "specs" / "examples"
GUIDANCE = Guidance.load(BUNDLED_PROMPTS / "dafny" / "guidance.yaml")


def feedback_from(result, source, limits=None):
    return _feedback_from(result, source, GUIDANCE, limits)

SUM = """\
method SumTo(n: nat) returns (s: nat)
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


def _task(**kw) -> Task:
    return Task(id="sum", language="dafny", description="Sum of 1..n, proved equal to n(n+1)/2.", **kw)


def _diag(kind: str, line: int | None, message: str, column: int | None = None, **kw) -> Diagnostic:
    return Diagnostic(severity="error", kind=kind, message=message, file="sum.dfy", line=line, column=column,
                      member="SumTo", source="Verifier", **kw)


def _content(msgs) -> str:
    return "\n".join(m.content for m in msgs)


def _postcondition_result() -> FileResult:
    d = _diag("postcondition", 12, "a postcondition could not be proved on this return path", column=1,
              related=[RelatedLocation(file="sum.dfy", line=2, column=11,
                                       message="this is the postcondition that could not be proved")])
    return FileResult(file="sum.dfy", verdict="failed", diagnostics=[d])


def test_postcondition_repair_prompt():
    items = feedback_from(_postcondition_result(), SUM)
    assert len(items) == 1
    item = items[0]
    assert item.where == "line 12, in `SumTo`"
    assert item.kind == "postcondition"
    assert item.related and "`ensures s == n * (n + 1) / 2`" in item.related[0]
    assert "12 | }" in item.source_excerpt and "10 |     s := s + i;" in item.source_excerpt
    assert item.source_excerpt.splitlines()[-1].endswith("| ^")

    msgs = PromptRenderer(language="dafny").repair(RepairContext(task=_task(), candidate=SUM, feedback=items, round=2))
    assert [m.role for m in msgs] == ["system", "user"]
    text = msgs[-1].content
    assert "`ensures s == n * (n + 1) / 2`" in text  # the failing clause, quoted from the candidate
    assert "12 | }" in text  # numbered source line
    assert GUIDANCE.for_kind("postcondition") in text
    assert SUM.strip() in text  # the previous candidate, whole
    assert "repair round 2" in text
    assert "assume" in text  # the rules are restated


def test_excerpt_marker_under_column():
    ex = source_excerpt(SUM, 7, 5)
    lines = ex.splitlines()
    at = lines.index("7 |     invariant i <= n")
    assert lines[at + 1] == "  |     ^"
    assert lines[0].startswith("5 |") and lines[-1].startswith("9 |")
    assert source_excerpt(SUM, 10, 5).splitlines()[0] == " 8 |   {"  # numbers right-aligned
    assert source_excerpt(SUM, None) is None and source_excerpt(SUM, 99) is None


def test_invariant_entry_and_maintained_get_different_guidance():
    res = FileResult(file="sum.dfy", verdict="failed", diagnostics=[
        _diag("invariant_entry", 7, "this loop invariant could not be proved on entry"),
        _diag("invariant_maintained", 7, "this invariant could not be proved to be maintained by the loop"),
    ])
    entry, kept = feedback_from(res, SUM)
    assert entry.guidance != kept.guidance
    assert "before the first iteration" in entry.guidance
    assert "iteration can break it" in kept.guidance
    kinds = ["precondition", "postcondition", "invariant_entry", "invariant_maintained", "decreases", "frame",
             "reads", "index_out_of_range", "division_by_zero", "timeout", "resource_limit", "parse", "resolution"]
    advice = [GUIDANCE.for_kind(k) for k in kinds] + [GUIDANCE.for_violation("escape"),
                                                 GUIDANCE.for_violation("contract")]
    assert len(set(advice)) == len(advice)  # each distinct


def test_integrity_violation_in_plain_words():
    cheat = SUM.replace("    s := s + i;\n", "    s := s + i;\n    assume s == i * (i + 1) / 2;\n")
    v = IntegrityViolation(rule="QED-E101", family="escape", file="sum.dfy", line=11, column=5, member="SumTo",
                           message="`assume` at line 11 escapes proof: the verifier takes it as true without "
                                   "checking. Replace it with an `assert` you can prove.")
    res = FileResult(file="sum.dfy", verdict="rejected", integrity=[v], diagnostics=[
        _diag("assertion", 4, "assertion might not hold"),
        Diagnostic(severity="warning", kind="warning", message="assume statement has no {:axiom} annotation",
                   file="sum.dfy", line=11, column=5, warning_class="escape"),  # covered by the violation
        Diagnostic(severity="warning", kind="warning", message="this forall has no trigger", file="sum.dfy",
                   line=3, warning_class="trigger"),
        Diagnostic(severity="warning", kind="warning", message="{:verify false} used", file="sum.dfy",
                   line=1, warning_class="escape"),
    ])
    items = feedback_from(res, cheat)
    assert [i.kind for i in items] == ["assertion", "integrity", "escape_warning"]  # errors, violations, escapes
    text = PromptRenderer(language="dafny").repair(RepairContext(task=_task(), candidate=cheat, feedback=items))[-1].content
    assert "integrity violation" in text
    assert "The integrity guard rejects the program (rule QED-E101): `assume` at line 11 escapes proof" in text
    assert "assume s == i * (i + 1) / 2;" in text
    assert "trigger" not in text
    assert "{:verify false} used" in text


def test_huge_verifier_output_is_bounded():
    long_line = "  s := " + " + ".join(["i"] * 400) + ";\n"
    candidate = SUM + "".join(long_line for _ in range(100))  # over the candidate limit too
    diags = [_diag("assertion", 1 + k % 110, ("assertion might not hold " * 200) + str(k), column=3,
                   related=[RelatedLocation(file="sum.dfy", line=13, message="x" * 5000)] * 10)
             for k in range(500)]
    res = FileResult(file="sum.dfy", verdict="failed", diagnostics=diags)
    items = feedback_from(res, candidate)
    assert len(items) == 500
    limits = PromptLimits()
    renderer = PromptRenderer(language="dafny")
    bounded = renderer.bound(RepairContext(task=_task(), candidate=candidate, feedback=items))
    assert len(bounded.feedback) <= limits.max_items
    assert bounded.omitted == 500 - len(bounded.feedback)
    assert bounded.candidate_elided and len(bounded.candidate) <= limits.candidate_chars + 200
    text = renderer.repair(RepairContext(task=_task(), candidate=candidate, feedback=items))[-1].content
    assert f"... and {bounded.omitted} more problems (fix these first)" in text
    assert "characters elided" in text
    assert len(text) < limits.feedback_chars + limits.candidate_chars + 3000

    # the feedback part alone stays within its budget
    small = renderer.repair(RepairContext(task=_task(), candidate="method M() {}\n", feedback=items))[-1].content
    part = small[small.index("## Problems found"):small.index("## What to do")]
    assert len(part) <= limits.feedback_chars


def test_tight_budget_keeps_priority_and_first_item():
    items = [FeedbackItem(where=f"line {k}", kind="assertion", message="m" * 500, guidance="g") for k in range(5)]
    kept, dropped = bound_feedback(items, PromptLimits(feedback_chars=1000))
    assert [i.where for i in kept] == ["line 0"] and dropped == 4
    kept, _ = bound_feedback(items, PromptLimits(feedback_chars=300))
    assert len(kept) == 1 and kept[0].size() + 150 <= 300
    kept, dropped = bound_feedback(items, PromptLimits(max_items=3))
    assert len(kept) == 3 and dropped == 2
    assert kept[0].guidance == "g" and kept[1].guidance == "(same advice as problem 1)"


def test_extraction_error_feedback_renders():
    ctx = RepairContext(task=_task(), candidate=None, round=3,
                        extraction_error="Your answer has no ```dafny code block. Put the whole program in one.")
    text = PromptRenderer(language="dafny").repair(ctx)[-1].content
    assert "no usable program" in text
    assert "Your answer has no ```dafny code block" in text
    assert "Your previous program" not in text


@pytest.mark.parametrize("name", ["abs", "sum", "clamp"])
def test_generate_prompts_for_examples(name):
    task = load_task(EXAMPLES / f"{name}.yaml")
    ctx = GenerateContext.for_task(task)
    renderer = PromptRenderer(language="dafny")
    if name == "clamp":
        assert ctx.mode == "from_description"
        text = _content(renderer.write_contract(ctx))
        assert "Write only the contract" in text
        assert "Name the method Clamp" in text  # notes
        with pytest.raises(BadInput):
            renderer.generate(ctx)
        # once the contract is accepted, it is implemented
        contract = "method Clamp(x: int, lo: int, hi: int) returns (r: int)\n  requires lo <= hi\n"
        text = _content(renderer.generate(GenerateContext.for_task(task, contract_text=contract)))
        assert "requires lo <= hi" in text
    else:
        text = _content(renderer.generate(ctx))
        source = (EXAMPLES / ("abs.spec.dfy" if name == "abs" else "sum_nohints.dfy")).read_text()
        assert source.strip() in text
        assert ctx.mode == ("implement" if name == "abs" else "annotate")
    assert task.description.split()[0] in text
    for rule in ("assume", "{:axiom}", "{:verify false}", "expect", "decreases *", "include", "```dafny"):
        assert rule in text, rule
    for ex in task.examples:
        assert ex.call in text and ex.expect in text


def test_custom_prompts_dir_overrides(tmp_path):
    (tmp_path / "dafny").mkdir()
    (tmp_path / "dafny" / "system.j2").write_text("CUSTOM SYSTEM for {{ language }}\n")
    (tmp_path / "dafny" / "generate.j2").write_text("CUSTOM {{ ctx.task.id }} / {{ ctx.mode }}\n")
    task = load_task(EXAMPLES / "abs.yaml")
    msgs = PromptRenderer(prompts_dir=tmp_path, language="dafny").generate(GenerateContext.for_task(task))
    assert msgs[0].content == "CUSTOM SYSTEM for dafny\n"
    assert msgs[1].content == "CUSTOM abs / implement\n"


def test_missing_template_is_bad_input(tmp_path):
    (tmp_path / "dafny").mkdir()
    with pytest.raises(BadInput) as e:
        PromptRenderer(prompts_dir=tmp_path, language="dafny").system()
    assert "system.j2" in str(e.value) and e.value.fix
    with pytest.raises(BadInput):
        PromptRenderer(prompts_dir=tmp_path / "nowhere", language="dafny")
    with pytest.raises(BadInput) as e:
        PromptRenderer(prompts_dir=tmp_path, language="lean").system()  # the folder has no lean templates
    assert "lean" in str(e.value)


def test_strict_undefined_is_bad_input(tmp_path):
    (tmp_path / "dafny").mkdir()
    (tmp_path / "dafny" / "system.j2").write_text("sys\n")
    (tmp_path / "dafny" / "generate.j2").write_text("{{ ctx.task.no_such_field }}\n")
    (tmp_path / "dafny" / "repair.j2").write_text("{% if %}\n")
    renderer = PromptRenderer(prompts_dir=tmp_path, language="dafny")
    task = load_task(EXAMPLES / "abs.yaml")
    with pytest.raises(BadInput) as e:
        renderer.generate(GenerateContext.for_task(task))
    assert "generate.j2" in str(e.value) and "no_such_field" in str(e.value)
    with pytest.raises(BadInput) as e:
        renderer.repair(RepairContext(task=task, candidate="x"))
    assert "repair.j2" in str(e.value)


def test_bundled_templates_exist():
    for name in ("system.j2", "generate.j2", "write_contract.j2", "repair.j2"):
        assert (BUNDLED_PROMPTS / "dafny" / name).is_file()
