"""Pull the candidate program for one language out of an LLM completion.

`extract_code(text, language)` returns `Extracted` (the code) or `ExtractionError` (a typed reason with a
one-line message for the repair prompt). The input is arbitrary, possibly hostile text; the function
never raises on any string (an unknown `language` is a programming error and raises ValueError).

Rules, in order:

1. Normalisation. A leading BOM is dropped; CRLF and lone CR become LF, so returned code always uses LF.
   Empty or whitespace-only text -> ExtractionError("empty").
2. Fenced blocks (CommonMark-style). An opening fence is a line indented by at most 3 spaces with 3+
   backticks or 3+ tildes, then an optional info string (a backtick fence's info string may not contain
   a backtick, so inline ```x``` is not a fence). The block ends at a line (indented <= 3 spaces) of the
   same fence character, at least as long as the opener, followed only by whitespace. So a ```` fence
   may contain ``` lines. Up to the opener's indentation is removed from each content line (as
   CommonMark does); any further indentation is the code's own and is kept. Fence lines are never part
   of the code. An opener with no closer runs to the end of the text and is "unclosed".
3. Tags. The tag is the first word of the info string, lower-cased (`dafny title=x` -> `dafny`).
   Each language's tags come from its backend's `SourceSyntax.fence_tags` (the registry), e.g. dafny: dafny,
   dfy; lean: lean, lean4; fstar: fstar, fst, fsti, f*.
4. Candidates. A closed, non-blank block is a candidate if it is tagged for the language, or if
   (untagged or wrongly tagged, e.g. ```csharp) it LOOKS like the language: some line is a top-level
   declaration by the language's `SourceSyntax.declaration` pattern, e.g. for dafny `method M(`,
   `lemma {:attr} L(`, `datatype T =`, `class C {`. The keyword must start a line and be followed by
   a name and declaration punctuation, so prose such as "The method should return x." never counts.
5. Choice (deterministic). If any candidate is tagged: the LAST tagged one. Otherwise the LAST
   look-alike. Models often revise, so later beats earlier; no attempt is made to judge fragments.
   A note records how many blocks there were and why the block was taken.
6. Truncation. If the text ends inside an unclosed block that is tagged for the language, untagged, or
   looks like the language: with an earlier candidate, that one is taken (with a note); without,
   ExtractionError("truncated") - the model ran out of tokens. An unclosed block with a blank body or
   a foreign tag and foreign content is ignored.
7. No fences at all. The whole text is taken as code (block_index -1, with a note) when its first
   non-blank, non-comment line is a declaration or preamble line (`include`, `import`, `open`, ...)
   and no line (outside comments) reads like an English sentence. Otherwise
   ExtractionError("no_code"). Text with fences but no candidate is also "no_code"; prose followed by
   bare, unfenced code is "no_code" too (the repair message asks for a fenced block).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backends.base import LanguageSpec

__all__ = ["Extracted", "ExtractionError", "extract_code"]


@dataclass(frozen=True)
class Extracted:
    code: str  # the candidate source (exactly as in the block, LF line ends, trailing newline ensured)
    block_index: int  # which fenced block was chosen (0-based), -1 if the whole text was taken as code
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExtractionError:
    kind: str  # "empty" | "no_code" | "truncated" (and "too_large", from the synthesis loop's size limit)
    message: str  # one line: what was wrong and what the model must do


@dataclass(frozen=True)
class _Syntax:
    """A language's syntax, compiled once."""

    name: str
    tags: frozenset[str]
    decl: re.Pattern[str]
    preamble: re.Pattern[str]
    line_comment: str
    block_start: str
    block_end: str


@functools.lru_cache(maxsize=32)
def _compiled(lang: LanguageSpec) -> _Syntax:
    syn = lang.syntax
    return _Syntax(lang.name, frozenset(t.lower() for t in syn.fence_tags), re.compile(syn.declaration, re.M),
                   re.compile(syn.preamble), re.escape(syn.line_comment) + r"[^\n]*",
                   re.escape(syn.block_comment[0]), re.escape(syn.block_comment[1]))


def _language(language: str | LanguageSpec) -> _Syntax:
    """The syntax of a language given by name, by one of its fence tags, or as a LanguageSpec."""
    if not isinstance(language, str):
        return _compiled(language)
    from backends import registry

    key = language.strip().lower()
    for plugin in registry.plugins().values():
        lang = plugin.language
        if key == lang.name or key in (t.lower() for t in lang.syntax.fence_tags):
            return _compiled(lang)
    raise ValueError(f"unknown language {language!r}: expected one of {', '.join(registry.language_names())}")


# a line that reads like English: capitalised word then 2+ more plain words, optional end punctuation
_PROSE = re.compile(
    r"^[ \t]*(?:[-*+>]|\d{1,3}[.)]|#{1,6})?[ \t]*[A-Z][A-Za-z']*(?:[ \t,;]+[A-Za-z'()-]+){2,}[ \t]*[.:!?]?[ \t]*$"
)

_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")


@dataclass(frozen=True)
class _Block:
    index: int
    tag: str
    body: str
    closed: bool


def _normalize(text: object) -> str:
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return ""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _tag_of(info: str) -> str:
    words = re.split(r"[\s,;{}]+", info.strip())
    first = next((w for w in words if w), "")
    return first.lstrip(".").lower()


def _blocks(text: str) -> list[_Block]:
    lines = text.split("\n")
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m or (m.group(2)[0] == "`" and "`" in m.group(3)):
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3)
        body: list[str] = []
        closed = False
        i += 1
        while i < len(lines):
            c = _CLOSE.match(lines[i])
            if c and c.group(1)[0] == fence[0] and len(c.group(1)) >= len(fence):
                closed = True
                i += 1
                break
            line = lines[i]
            strip = len(line) - len(line.lstrip(" "))
            body.append(line[min(strip, indent):])
            i += 1
        blocks.append(_Block(len(blocks), _tag_of(info), "".join(ln + "\n" for ln in body), closed))
    return blocks


def _looks_like(code: str, syn: _Syntax) -> bool:
    return syn.decl.search(code) is not None


def _strip_comments(text: str, syn: _Syntax) -> str:
    # replace block comments by as many newlines as they span, so line structure survives
    text = re.sub(syn.block_start + r".*?(?:" + syn.block_end + r"|\Z)",
                  lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(syn.line_comment, "", text)


def _is_bare_code(text: str, syn: _Syntax) -> bool:
    lines = [ln for ln in _strip_comments(text, syn).split("\n") if ln.strip()]
    if not lines:
        return False
    first = lines[0]
    if not (syn.decl.match(first) or syn.preamble.match(first)):
        return False
    if any(_PROSE.match(ln) for ln in lines):
        return False
    return _looks_like(text, syn) or any(syn.preamble.match(ln) for ln in lines)


def _with_newline(code: str) -> str:
    return code if code.endswith("\n") else code + "\n"


def _describe(tag: str) -> str:
    return f"tagged {tag}" if tag else "untagged"


def extract_code(text: str, language: str | LanguageSpec) -> Extracted | ExtractionError:
    """The candidate source for `language` (a registered language's name or fence tag, or its LanguageSpec) in
    `text`, or why there is none (see the module docstring)."""
    syn = _language(language)
    lang = syn.name
    fence = f"```{lang}"
    ask = f"answer with the complete program in one {fence} block"

    text = _normalize(text)
    if not text.strip():
        return ExtractionError("empty", f"the response is empty: {ask}")

    blocks = _blocks(text)
    if not blocks:
        if _is_bare_code(text, syn):
            code = re.sub(r"\A(?:[ \t]*\n)+", "", text).rstrip()  # drop blank lines around, keep indentation
            return Extracted(_with_newline(code), -1, ("no code fence; took the whole response as code",))
        return ExtractionError("no_code", f"no {fence} code block in the response: {ask}")

    tags = syn.tags
    live = [b for b in blocks if b.body.strip()]
    tagged = [b for b in live if b.closed and b.tag in tags]
    alike = [b for b in live if b.closed and b.tag not in tags and _looks_like(b.body, syn)]
    unclosed = next((b for b in live if not b.closed), None)
    if unclosed is not None and not (unclosed.tag in tags or not unclosed.tag or _looks_like(unclosed.body, syn)):
        unclosed = None

    n = len(blocks)
    count = f"{n} code block{'s' if n != 1 else ''}"
    notes: list[str] = []
    if tagged:
        chosen = tagged[-1]
        if n > 1:
            notes.append(f"{count}; took the last {lang} block (#{chosen.index})")
    elif alike:
        chosen = alike[-1]
        why = f"{_describe(chosen.tag)}, taken because it looks like {lang}"
        notes.append(f"{count}, none tagged {lang}; took the last that looks like {lang} (#{chosen.index}, {why})"
                     if n > 1 else f"code block {why}")
    elif unclosed is not None:
        return ExtractionError(
            "truncated",
            f"the response was cut off inside a code block (no closing fence): "
            f"answer with a shorter, complete program in one {fence} block",
        )
    else:
        seen = sorted({b.tag or "untagged" for b in blocks})
        return ExtractionError(
            "no_code",
            f"no {lang} code in the response's {count} (tags: {', '.join(seen)}): {ask}",
        )
    if unclosed is not None:
        notes.append(f"fence not closed (output truncated?) in block #{unclosed.index}; "
                     f"took the earlier complete block #{chosen.index}")
    return Extracted(_with_newline(chosen.body), chosen.index, tuple(notes))
