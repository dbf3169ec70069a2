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
from typing import NamedTuple

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


class Token(NamedTuple):
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


_MULTI_RE = "|".join(re.escape(m) for m in sorted(_MULTI, key=len, reverse=True))
_TOKEN = re.compile(
    r"[\s\ufeff]*(?:(?P<end>\Z)"
    r"|(?P<infs>// IN F\*:)"
    r"|(?P<lc>//[^\r\n\u2028\u2029]*)"
    r"|(?P<bc>\(\*)"
    r'|(?P<str>")'
    r"|(?P<blob>```)"
    r"|(?P<bq>``[^`\r\n\u2028\u2029]+``)"
    r"|(?P<lang>#lang-[^\W\d][\w']*)"
    r"|(?P<pragma>" + "|".join(re.escape(p) for p in _PRAGMAS) + r")"
    r"|(?P<splice>%splice_t|%splice)"
    r"|(?P<char>" + _CHAR.pattern + r")"
    r"|(?P<tvar>" + _TVAR.pattern + r")"
    r"|(?P<word>[^\W\d][\w']*)"
    r"|(?P<num>" + _NUMBER.pattern + r")"
    r"|(?P<multi>" + _MULTI_RE + r")"
    r"|(?P<op>(?:[!$%&*+\-.<>=?^|~:@#\\]|/(?!/))+)"
    r"|(?P<other>.))", re.S)
_STRING = re.compile(r'"((?:\\.|[^"\\])*)(?:"|\Z)', re.S)
_COMMENT_MARK = re.compile(r"\(\*|\*\)")


def tokenize(src: str) -> list[Token]:
    """The tokens of `src` (comments and whitespace dropped). Never raises: what F* would reject as a lexical
    error becomes a `punct` token of the offending character, so the guard still sees everything around it."""
    starts = _line_starts(src)
    last = len(starts) - 1
    out: list[Token] = []
    i, n = 0, len(src)
    line = 0  # index into `starts`: tokens come in increasing offsets

    def add(kind: str, text: str, at: int) -> None:
        nonlocal line
        while line < last and starts[line + 1] <= at:
            line += 1
        out.append(Token(kind, text, line + 1, at - starts[line] + 1, at))

    while i < n:
        m = _TOKEN.match(src, i)
        kind = m.lastgroup
        i = m.start(kind)
        if kind == "end":
            break
        if kind in ("infs", "lc"):
            i = m.end()
        elif kind == "bc":
            i = _skip_comment(src, i)
        elif kind == "str":
            sm = _STRING.match(src, i)
            add("string", sm.group(1), i)
            i = sm.end()
        elif kind == "blob":
            w = _IDENT.match(src, i + 3)
            end = src.find("```", i + 3)
            add("blob", "```" + (w.group(0) if w else ""), i)
            i = n if end < 0 else end + 3
        elif kind == "lang":
            add("blob", m.group(kind), i)
            break  # F* hands the rest of the file to the extension
        elif kind == "bq":
            add("ident", m.group(kind)[2:-2], i)
            i = m.end()
        else:
            text = m.group(kind)
            if kind == "word":
                kind = "name" if text[0].isupper() else "ident"
            elif kind == "num":
                kind = "number"
            elif kind in ("multi", "other"):
                kind = "punct"
            add(kind, text, i)
            i = m.end()
    return out


def _skip_comment(src: str, i: int) -> int:
    """The offset after the block comment opening at `i` (nested; the end of the file if unterminated)."""
    depth = 0
    for m in _COMMENT_MARK.finditer(src, i):
        depth += 1 if m.group(0) == "(*" else -1
        if depth == 0:
            return m.end()
    return len(src)


def qualified(tokens: list[Token], k: int) -> tuple[str, int]:
    """The dotted name starting at token `k` (`FStar.Tactics.admit`) and the index after it."""
    parts = [tokens[k].text]
    j = k + 1
    while (j + 1 < len(tokens) and tokens[j].kind == "op" and tokens[j].text == "."
           and tokens[j + 1].is_word and tokens[j].offset == tokens[j - 1].offset + len(tokens[j - 1].text)):
        parts.append(tokens[j + 1].text)
        j += 2
    return ".".join(parts), j
