"""A lexer for F* source, faithful to F*'s own where it matters for the integrity guard.

It follows `FStarC.Parser.LexFStar` (read in `src/ml/bare/FStarC_Parser_LexFStar.ml`): block comments `(* *)`
nest, and an unterminated one runs to the end of the file (F* then stops reading too); `//` comments end at
`\\r`, `\\n`, U+2028 or U+2029, except that `// IN F*:` is not a comment (F* reads the rest of the line as code);
an operator run stops before `//`; strings take backslash escapes (a backslash-newline continues the string);
`'c'` is a character literal and `'a` a type variable; ``` ``any text`` ``` is one identifier; `#set-options`,
`#push-options`, `#reset-options`, `#pop-options`, `#restart-solver`, `#show-options` and
`#print-effects-graph` are pragma tokens; `#lang-NAME` and ```` ```NAME ... ``` ```` hand text to a language
extension (kind `blob`: the guard cannot read what is in them); `%splice` and `%splice_t` are their own tokens.

Comments and whitespace never reach the guard, so everything it compares or scans is whitespace- and
comment-insensitive. Lines and columns are 1-based.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Token", "tokenize", "qualified"]

_NEWLINES = "\r\n\u2028\u2029"
_PRAGMAS = ("#set-options", "#reset-options", "#push-options", "#pop-options", "#restart-solver",
            "#show-options", "#print-effects-graph")
_OP_CHARS = set("!$%&*+-.<>=?^|~:@#\\/")
_ESCAPE = r"\\(?:[\\\"'bfntrv0]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4})"
_CHAR = re.compile(r"'(?:" + _ESCAPE + r"|[^\\'\r\n])'B?")
_TVAR = re.compile(r"'[^\W\d][\w']*")
_IDENT = re.compile(r"[^\W\d][\w']*")
_NUMBER = re.compile(r"(?:0[xX][0-9A-Fa-f]+|0[oO][0-7]+|0[bB][01]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)[\w']*")
_MULTI = ("[@@@", "[@@", "[@", "(|", "|)", "[|", "|]", "{|", "|}", "{:pattern", "{:well-founded", "%[", "!{",
          ".[|", ".(|", ".[", ".(", "()", "`%", "`#", "`@", "seq![")


@dataclass(frozen=True)
class Token:
    """One token: `kind` is ident (lower-case start or `_`), name (upper-case start), tvar, string, char, number,
    op, punct, pragma, blob, splice; `text` is the exact source text (a string's is its contents)."""

    kind: str
    text: str
    line: int
    col: int
    offset: int

    @property
    def is_word(self) -> bool:
        return self.kind in ("ident", "name")


def _line_col(src: str, starts: list[int], offset: int) -> tuple[int, int]:
    import bisect

    i = bisect.bisect_right(starts, offset) - 1
    return i + 1, offset - starts[i] + 1


def _line_starts(src: str) -> list[int]:
    starts = [0]
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\r" and i + 1 < n and src[i + 1] == "\n":
            starts.append(i + 2)
            i += 2
            continue
        if c in _NEWLINES:
            starts.append(i + 1)
        i += 1
    return starts


def tokenize(src: str) -> list[Token]:
    """The tokens of `src` (comments and whitespace dropped). Never raises: what F* would reject as a lexical
    error becomes an `op` token of the offending character, so the guard still sees everything around it."""
    starts = _line_starts(src)
    out: list[Token] = []
    i, n = 0, len(src)

    def add(kind: str, text: str, at: int) -> None:
        line, col = _line_col(src, starts, at)
        out.append(Token(kind, text, line, col, at))

    while i < n:
        c = src[i]
        if c.isspace() or c == "\ufeff":
            i += 1
            continue
        if src.startswith("(*", i):
            i = _skip_comment(src, i)
            continue
        if src.startswith("//", i):
            if src.startswith("// IN F*:", i):
                i += len("// IN F*:")
                continue
            while i < n and src[i] not in _NEWLINES:
                i += 1
            continue
        if c == '"':
            j, text = _string(src, i)
            add("string", text, i)
            i = j
            continue
        if src.startswith("```", i):
            m = _IDENT.match(src, i + 3)
            end = src.find("```", i + 3)
            j = n if end < 0 else end + 3
            add("blob", "```" + (m.group(0) if m else ""), i)
            i = j
            continue
        if src.startswith("``", i):
            end = src.find("``", i + 2)
            line_end = min([k for k in (src.find(ch, i + 2) for ch in _NEWLINES) if k >= 0] or [n])
            if end > i + 2 and end < line_end:
                add("ident", src[i + 2:end], i)
                i = end + 2
                continue
        if c == "#":
            m = re.compile(r"#lang-[^\W\d][\w']*").match(src, i)
            if m:
                add("blob", m.group(0), i)
                break  # F* hands the rest of the file to the extension
            p = next((p for p in _PRAGMAS if src.startswith(p, i)), None)
            if p is not None:
                add("pragma", p, i)
                i += len(p)
                continue
        if src.startswith("%splice", i):
            p = "%splice_t" if src.startswith("%splice_t", i) else "%splice"
            add("splice", p, i)
            i += len(p)
            continue
        if c == "'":
            m = _CHAR.match(src, i) or None
            if m:
                add("char", m.group(0), i)
                i = m.end()
                continue
            m = _TVAR.match(src, i)
            if m:
                add("tvar", m.group(0), i)
                i = m.end()
                continue
        m = _IDENT.match(src, i)
        if m:
            word = m.group(0)
            add("name" if word[0].isupper() else "ident", word, i)
            i = m.end()
            continue
        if c.isdigit():
            m = _NUMBER.match(src, i)
            add("number", m.group(0), i)
            i = m.end()
            continue
        multi = next((p for p in _MULTI if src.startswith(p, i)), None)
        if multi is not None:
            add("punct", multi, i)
            i += len(multi)
            continue
        if c in _OP_CHARS:
            j = i
            while j < n and src[j] in _OP_CHARS and not src.startswith("//", j):
                j += 1
            if j == i:  # a lone "/" starting "//" is handled above; be safe
                j = i + 1
            add("op", src[i:j], i)
            i = j
            continue
        add("punct", c, i)
        i += 1
    return out


def _skip_comment(src: str, i: int) -> int:
    """The offset after the block comment opening at `i` (nested; the end of the file if unterminated)."""
    depth, n = 0, len(src)
    while i < n:
        if src.startswith("(*", i):
            depth += 1
            i += 2
        elif src.startswith("*)", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _string(src: str, i: int) -> tuple[int, str]:
    """(offset after the string opening at `i`, its contents with escapes kept as written)."""
    j, n = i + 1, len(src)
    buf = []
    while j < n:
        c = src[j]
        if c == "\\" and j + 1 < n:
            buf.append(src[j:j + 2])
            j += 2
            continue
        if c == '"':
            return j + 1, "".join(buf)
        buf.append(c)
        j += 1
    return n, "".join(buf)


def qualified(tokens: list[Token], k: int) -> tuple[str, int]:
    """The dotted name starting at token `k` (`FStar.Tactics.admit`) and the index after it."""
    parts = [tokens[k].text]
    j = k + 1
    while (j + 1 < len(tokens) and tokens[j].kind == "op" and tokens[j].text == "."
           and tokens[j + 1].is_word and tokens[j].offset == tokens[j - 1].offset + len(tokens[j - 1].text)):
        parts.append(tokens[j + 1].text)
        j += 2
    return ".".join(parts), j
