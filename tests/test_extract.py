"""Extracting the candidate program from an LLM completion (verifier/extract.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifier.extract import Extracted, ExtractionError
from verifier.extract import extract_code as _extract_code


def extract_code(text, language="dafny"):
    return _extract_code(text, language)

PROG = "method Max(a: int, b: int) returns (m: int)\n  ensures m >= a && m >= b\n{\n  m := if a > b then a else b;\n}\n"
PROG2 = "function Double(x: int): int { 2 * x }\n"


def ok(result) -> Extracted:
    assert isinstance(result, Extracted), result
    assert result.code.endswith("\n")
    assert "```" not in result.code.splitlines()[0]
    return result


def err(result, kind: str) -> ExtractionError:
    assert isinstance(result, ExtractionError), result
    assert result.kind == kind
    assert "\n" not in result.message and result.message
    return result


# --- one block ---------------------------------------------------------------------------------

def test_prose_and_one_dafny_block():
    r = ok(extract_code(f"Here is the solution:\n\n```dafny\n{PROG}```\n\nThis works because of the ensures."))
    assert r.code == PROG
    assert r.block_index == 0
    assert r.notes == ()


@pytest.mark.parametrize("tag", ["dafny", "dfy", "Dafny", "DAFNY", "dafny title=max.dfy", "  dafny  "])
def test_dafny_tags(tag):
    r = ok(extract_code(f"```{tag}\n{PROG}```\n"))
    assert r.code == PROG and r.notes == ()


def test_trailing_newline_added():
    r = ok(extract_code("```dafny\nmethod M() {}\n```"))
    assert r.code == "method M() {}\n"


def test_code_kept_exactly_including_blank_lines_and_indentation():
    body = "\n  // leading blank line kept\nmodule A {\n    method M() {}\n}\n\n"
    r = ok(extract_code(f"```dafny\n{body}```"))
    assert r.code == body


# --- several blocks ----------------------------------------------------------------------------

def test_several_blocks_takes_last_tagged():
    text = f"First try:\n```dafny\n{PROG2}```\nBetter:\n```dafny\n{PROG}```\nUsage:\n```bash\ndafny verify max.dfy\n```\n"
    r = ok(extract_code(text))
    assert r.code == PROG
    assert r.block_index == 1
    assert any("3 code blocks" in n for n in r.notes)


def test_tagged_beats_later_lookalike():
    text = f"```dafny\n{PROG}```\n\n```\n{PROG2}```\n"
    r = ok(extract_code(text))
    assert r.code == PROG and r.block_index == 0


def test_last_lookalike_when_none_tagged():
    text = f"```\n{PROG2}```\n```text\nnot code at all\n```\n```csharp\n{PROG}```\n"
    r = ok(extract_code(text))
    assert r.code == PROG and r.block_index == 2
    assert any("none tagged dafny" in n for n in r.notes)


# --- wrong or missing tags ---------------------------------------------------------------------

@pytest.mark.parametrize("tag", ["csharp", "java", "text", "python", "cs"])
def test_wrong_tag_with_dafny_code(tag):
    r = ok(extract_code(f"Solution:\n```{tag}\n{PROG}```"))
    assert r.code == PROG and r.block_index == 0
    assert any(f"tagged {tag}" in n for n in r.notes)


def test_no_tag():
    r = ok(extract_code(f"```\n{PROG}```"))
    assert r.code == PROG
    assert any("untagged" in n for n in r.notes)


@pytest.mark.parametrize("decl", [
    "lemma {:induction false} L(n: nat) ensures n >= 0 {}",
    "ghost predicate P(x: int) { x > 0 }",
    "datatype Tree = Leaf | Node(l: Tree, r: Tree)",
    "class C {\n}",
    "module M {\n}",
    "function method F(x: int): int { x }",
    "twostate lemma L() {}",
    "const N := 5",
])
def test_untagged_lookalike_declarations(decl):
    r = ok(extract_code(f"```\n{decl}\n```"))
    assert r.code == decl + "\n"


def test_wrong_tag_foreign_code_is_no_code():
    e = err(extract_code("```python\ndef f(x):\n    return x\n```\n"), "no_code")
    assert "python" in e.message and "```dafny" in e.message


def test_block_of_prose_is_not_code():
    text = "```\nThe method should return the maximum of a and b.\n```"
    err(extract_code(text), "no_code")


# --- fence syntax ------------------------------------------------------------------------------

def test_tilde_fences():
    r = ok(extract_code(f"~~~dafny\n{PROG}~~~\n"))
    assert r.code == PROG


def test_tilde_fence_not_closed_by_backticks():
    body = "method M() {}\n```\n// still inside\n"
    r = ok(extract_code(f"~~~dafny\n{body}~~~"))
    assert r.code == body


def test_four_backtick_fence_containing_three():
    body = "// example of a fence in a comment:\n// ```\nmethod M() {}\n```\n"
    r = ok(extract_code(f"````dafny\n{body}````\n"))
    assert r.code == body


def test_longer_closer_closes():
    r = ok(extract_code(f"```dafny\n{PROG}`````\n"))
    assert r.code == PROG


def test_indented_fences_strip_fence_indent_only():
    text = "1. Here:\n\n   ```dafny\n   method M()\n   {\n     assert true;\n   }\n   ```\n"
    r = ok(extract_code(text))
    assert r.code == "method M()\n{\n  assert true;\n}\n"


def test_four_space_indent_is_not_a_fence():
    text = "    ```dafny\n    method M() {}\n    ```\n"
    # 4+ spaces: not a fence (CommonMark indented code); the bare text starts with ``` so it is no code
    err(extract_code(text), "no_code")


def test_crlf():
    text = f"Here:\r\n```dafny\r\n{PROG.replace(chr(10), chr(13) + chr(10))}```\r\nDone.\r\n"
    r = ok(extract_code(text))
    assert r.code == PROG
    assert "\r" not in r.code


def test_bom_stripped():
    r = ok(extract_code(f"\ufeff```dafny\n{PROG}```"))
    assert r.code == PROG
    r = ok(extract_code(f"\ufeff{PROG}"))
    assert r.code == PROG


def test_inline_triple_backticks_not_a_fence():
    err(extract_code("Use ```dafny method M() {}``` please."), "no_code")


# --- truncation --------------------------------------------------------------------------------

def test_truncated_only_block():
    e = err(extract_code("Here is the program:\n```dafny\nmethod M(x: int)\n  ensures"), "truncated")
    assert "cut off" in e.message and "shorter" in e.message


def test_truncated_untagged_block():
    err(extract_code("```\nsome partial text"), "truncated")


def test_truncated_after_complete_block_takes_earlier():
    text = f"```dafny\n{PROG}```\nAnd a refined version:\n```dafny\nmethod Max(a: int"
    r = ok(extract_code(text))
    assert r.code == PROG and r.block_index == 0
    assert any("not closed" in n for n in r.notes)


def test_truncated_foreign_block_is_ignored():
    text = f"```dafny\n{PROG}```\nRun it with:\n```bash\ndafny verify"
    r = ok(extract_code(text))
    assert r.code == PROG
    err(extract_code("```python\nprint(1"), "no_code")


def test_unclosed_empty_fence_is_not_truncation():
    err(extract_code("Sure:\n```dafny\n"), "no_code")


# --- no fences ---------------------------------------------------------------------------------

def test_pure_prose_is_no_code():
    e = err(extract_code("I cannot solve this problem, sorry."), "no_code")
    assert "```dafny" in e.message


def test_prose_with_keyword_not_code():
    err(extract_code("The method should return x."), "no_code")
    err(extract_code("method should return x when the input is positive."), "no_code")
    err(extract_code("function that returns the maximum"), "no_code")


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t\n", "\ufeff", "\r\n"])
def test_empty(text):
    err(extract_code(text), "empty")


def test_bare_code_without_fences():
    r = ok(extract_code(f"\n\n{PROG}\n\n"))
    assert r.code == PROG and r.block_index == -1
    assert any("no code fence" in n for n in r.notes)


def test_bare_code_after_leading_comments():
    text = "// Max of two ints.\n/* A block comment. With sentences. */\n" + PROG
    r = ok(extract_code(text))
    assert r.code == text


def test_bare_code_with_include_preamble():
    text = 'include "lib.dfy"\n\n' + PROG
    assert ok(extract_code(text)).code == text


def test_prose_then_bare_code_is_no_code():
    err(extract_code("Here is the solution to the problem:\n\n" + PROG), "no_code")


def test_bare_code_then_prose_is_no_code():
    err(extract_code(PROG + "\nThis method returns the larger of the two values.\n"), "no_code")


# --- other languages ---------------------------------------------------------------------------

LEAN = "theorem add_zero' (n : Nat) : n + 0 = n := by\n  simp\n"
FSTAR = "module Max\n\nlet max (a b : int) : int = if a > b then a else b\n"


@pytest.mark.parametrize("tag", ["lean", "lean4", "Lean4"])
def test_lean_tags(tag):
    r = ok(extract_code(f"Proof:\n```{tag}\n{LEAN}```", language="lean"))
    assert r.code == LEAN


@pytest.mark.parametrize("tag", ["fstar", "fst", "f*", "F*"])
def test_fstar_tags(tag):
    r = ok(extract_code(f"```{tag}\n{FSTAR}```", language="fstar"))
    assert r.code == FSTAR


def test_language_tag_must_match():
    text = f"```dafny\n{PROG}```\n```lean\n{LEAN}```\n"
    assert ok(extract_code(text, "dafny")).code == PROG
    assert ok(extract_code(text, "lean")).code == LEAN


def test_lean_untagged_lookalike_and_bare():
    r = ok(extract_code(f"```\n{LEAN}```", "lean"))
    assert r.code == LEAN
    text = "import Mathlib\n\n-- A lemma. It is easy.\n" + LEAN
    assert ok(extract_code(text, "lean")).block_index == -1
    err(extract_code("The theorem states that n + 0 = n.", "lean"), "no_code")


def test_fstar_bare_and_prose():
    assert ok(extract_code(FSTAR, "fstar")).block_index == -1
    err(extract_code("let me explain how this works", "fstar"), "no_code")


def test_language_aliases_and_unknown():
    assert ok(extract_code(f"```lean\n{LEAN}```", "lean4")).code == LEAN
    assert ok(extract_code(f"```fst\n{FSTAR}```", "F*")).code == FSTAR
    with pytest.raises(ValueError):
        extract_code("x", "coq")


# --- robustness --------------------------------------------------------------------------------

FENCE_BITS = st.sampled_from(["```", "~~~", "````", "   ```", "    ```", "```dafny", "~~~lean", "```f*",
                              "\n", "\r\n", "\r", "\ufeff", "method M() {}", "lemma L()", "theorem t : x",
                              "let x = 1", "module M", "/*", "*/", "(*", "/-", "//", "--", "The method is",
                              " ", "\t", "{:attr}", "`", "~"])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.lists(st.one_of(FENCE_BITS, st.text(max_size=5))).map("".join)),
       st.sampled_from(["dafny", "lean", "fstar"]))
def test_never_raises(text, language):
    r = extract_code(text, language)
    assert isinstance(r, (Extracted, ExtractionError))
    if isinstance(r, Extracted):
        assert r.code.endswith("\n") and r.code.strip()
        assert r.block_index >= -1
        assert "\r" not in r.code
    else:
        assert r.kind in {"empty", "no_code", "truncated"}
        assert "\n" not in r.message


def test_non_string_input_does_not_raise():
    assert isinstance(extract_code(None), ExtractionError)  # type: ignore[arg-type]
    assert isinstance(extract_code(b"```dafny\nmethod M() {}\n```"), Extracted)  # type: ignore[arg-type]


def test_large_input_is_fast():
    import time

    text = ("The method is (" * 20000) + "\n" + ("/*" * 20000) + ("```x\n" * 5000)
    t = time.perf_counter()
    extract_code(text)
    assert time.perf_counter() - t < 5
