r"""An exact Dafny 4.x tokenizer (with Dafny's line preprocessor).

`tokenize(src)` follows the scanner of Dafny 4.11 (`Dafny.atg`, Coco/R), checked against the real binary:

* comments: `//` to the end of the line, where a lone CR also ends a line (Coco turns a CR that is not followed
  by LF into an end of line: Dafny verifies `// c<CR>assume false;` *with* the assume); `/* */` nest, and an
  unterminated `/*` runs to the end of the file (checked: Dafny 4.11 ignores everything after it);
* identifiers are ASCII letters, digits, `_`, `?`, `'` (`x'`, `a'b`, `Cons?`, `'T`); a literal `'a'` is a char,
  and the longest match wins, as in Coco (`'ab'` is an identifier). Any other character outside strings,
  chars and comments is an `invalid` token: Dafny 4.11 rejects it (no Unicode identifiers or operators);
* numbers: `1_000`, `0xFF`, `1.5`, `.5`, `1e-3`, `1.5e3`; after a `.` only digits (`t.1.0` is two selections);
* strings `"..\".."` and verbatim `@"..""..."` (may span lines), chars `'a'`, `'\n'`, `'\U{1F600}'`, `'\u0041'`;
* `{:` (attribute start) is one token; `@` is its own token (attribute `@Name(..)`, or a label `old@L`);
* multi-character operators by longest match; `!in` only when not followed by an identifier character.

Before scanning, Dafny runs a line-based preprocessor (`SourcePreprocessor.ProcessDirectives`): `#if X` ...
`#endif` blocks (X undefined) are blanked, even inside strings and comments (it never looks at tokens; checked:
Dafny 4.11 shortens a verbatim string that holds an `#if`/`#endif` pair). `lex` applies the same `preprocess` and
reports the directives it found. A line that starts with `#` but is none of `#if`, `#elsif`, `#else`, `#endif`
(`# Title`, `#include <x>`) is ordinary text for Dafny and is not a directive.

Lines are 1-based and count LF, CRLF and lone CR; columns are 1-based code points.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

# --------------------------------------------------------------------------------------------------- tokens

IDENT, KEYWORD, NUMBER, STRING, CHAR, OP, ATTR_OPEN, INVALID = (
    "ident", "keyword", "number", "string", "char", "op", "attr_open", "invalid")

#: Words the Dafny 4.11 scanner reserves (tested: `var w := 1;` fails to parse for each of these).
KEYWORDS = frozenset("""
abstract allocated as assert assume bool break by calc case char class codatatype colemma const constructor continue
copredicate datatype decreases else ensures exists expect export extends false for forall fresh function ghost if
imap import in include inductive int invariant is iset iterator label lemma map match method modifies modify module
multiset nameonly nat new newtype null object object? old opaque opened ORDINAL predicate print provides reads real
refines requires return returns reveals seq set static string then this trait true twostate type unchanged var while
witness yield yields
""".split())
#: Words with a meaning only in some places; they may also be identifiers (`least`, `greatest`, `older`, ...).
CONTEXTUAL = frozenset({"least", "greatest", "older", "reveal", "hide", "to", "downto"})

_ARRAY_OR_BV = re.compile(r"array(?:[2-9]\d*|1\d+)?\??|bv(?:0|[1-9]\d*)")
_TICK_RUN = re.compile(r"'[A-Za-z0-9_?']*")
_CHAR = re.compile(
    r"'(?:[^'\\\r\n]|\\['\"\\0nrt]|\\u[0-9A-Fa-f]{4}|\\U\{[0-9A-Fa-f](?:_?[0-9A-Fa-f])*\})'")
_HEX = re.compile(r"0x[0-9A-Fa-f](?:_?[0-9A-Fa-f])*")
_DIGITS = re.compile(r"\d(?:_?\d)*")
_NUMBER = re.compile(r"\d(?:_?\d)*(?:\.\d(?:_?\d)*)?(?:e-?\d(?:_?\d)*)?")
_DOT_NUMBER = re.compile(r"\.\d(?:_?\d)*(?:e-?\d(?:_?\d)*)?")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_MASTER = re.compile(r"""
 (?P<ws>[ \t\r\n]+)
|(?P<lc>//[^\n\r]*)
|(?P<bc>/\*)
|(?P<id>[A-Za-z_?][A-Za-z0-9_?']*)
|(?P<tick>')
|(?P<num>[0-9])
|(?P<str>"(?:[^"\\\r\n]|\\[^\r\n])*")
|(?P<vstr>@"(?:[^"]|"")*")
|(?P<attr>\{:)
|(?P<dotnum>\.[0-9])
|(?P<op>!in(?![A-Za-z0-9_?'])|\.\.\.|\.\.|::|:=|:\||:-|<==>|==>|<==|==|=>|!=|!!|<=|>=|&&|\|\||-->|->|~>
        |[-+*/%^&|!<>=.,;:()\[\]{}`\#@])
|(?P<bad>.)
""", re.X | re.S)


class Token(NamedTuple):
    """One token. `offset`/`end` index `src` (code points); `line`/`col` are 1-based."""

    kind: str
    text: str
    line: int
    col: int
    offset: int
    end: int

    def __repr__(self) -> str:
        return f"Token({self.kind},{self.text!r},{self.line}:{self.col})"


@dataclass(frozen=True, slots=True)
class Comment:
    text: str
    line: int
    col: int
    offset: int
    end: int


@dataclass
class Lexed:
    tokens: list[Token]
    comments: list[Comment]
    line_starts: list[int]
    directives: list["Directive"] = field(default_factory=list)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a code-point offset."""
        i = bisect.bisect_right(self.line_starts, offset) - 1
        return i + 1, offset - self.line_starts[i] + 1


def _line_starts(src: str) -> list[int]:
    return [0] + [m.end() for m in _NEWLINE.finditer(src)]


def _block_comment_end(src: str, pos: int) -> int:
    """End offset of the nested comment opened at `pos`; an unclosed comment runs to the end of the file."""
    level, i = 1, pos + 2
    while True:
        close = src.find("*/", i)
        if close < 0:
            return len(src)
        opening = src.find("/*", i)
        if 0 <= opening < close:
            level, i = level + 1, opening + 2
        else:
            level, i = level - 1, close + 2
            if level == 0:
                return i


_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")


@dataclass(frozen=True, slots=True)
class Directive:
    """A line Dafny's preprocessor may act on: `#if`, `#elsif`, `#else`, `#endif`, also when invisible
    characters that a culture-sensitive comparison skips are mixed in (so that no directive hides from the
    guard). `inside` says whether the raw text has the line inside a `string` or a `comment` (None: code)."""

    line: int
    text: str
    inside: str | None = None


#: `char.IsWhiteSpace` in .NET: what `string.Trim()` removes in Dafny's preprocessor.
_DOTNET_WS = "\t\n\v\f\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + \
    "\u2028\u2029\u202f\u205f\u3000"


#: Letters that Unicode marks default-ignorable (the other ignorables are in categories `_IGNORABLE_CATEGORIES`).
_IGNORABLE_LETTERS = frozenset("\u115f\u1160\u17b4\u17b5\u3164\uffa0")
_IGNORABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Me", "Mn"})


def _visible(text: str) -> str:
    return "".join(ch for ch in text if not (ch.isspace() or ch in _DOTNET_WS or ch in _IGNORABLE_LETTERS
                                             or unicodedata.category(ch) in _IGNORABLE_CATEGORIES))


def _may_be_directive(body: str) -> bool:
    """A superset of the lines Dafny's preprocessor acts on: `Trim().StartsWith("#if")` (or `"#elsif"`) or
    `Trim() == "#else"` (or `"#endif"`). `StartsWith` is culture-sensitive in .NET, which may skip invisible
    characters or fold compatibility forms, so both are dropped before comparing."""
    if "#" not in body and "\uff03" not in body and "\ufe5f" not in body:
        return False
    t = _visible(unicodedata.normalize("NFKC", _visible(body)))
    return t.startswith(("#if", "#elsif")) or t in ("#else", "#endif")


def _if_includes(arg: str) -> bool:
    """Dafny's `IfdefConditionSaysToInclude` with no symbols defined: `#if X` excludes, `#if !X` includes."""
    sense = True
    while arg.startswith("!"):
        sense, arg = not sense, arg[1:].lstrip()
    return not sense


def preprocess(src: str) -> tuple[str, list[Directive]]:
    """Apply Dafny's line-based preprocessor (`SourcePreprocessor.ProcessDirectives`, no symbols defined).

    Dafny blanks every directive line and every line of an excluded `#if` branch *before* the scanner runs, even
    inside strings and comments, so `#if X` / `/*` / `#endif` / code / `#if X` / `*/` / `#endif` shows the code to
    Dafny while a naive reader sees a comment. We blank the same lines (with spaces, so that offsets and columns of
    the other lines are unchanged) and return the directives found. Never raises.
    """
    if "#" not in src:
        return src, []
    out: list[str] = []
    found: list[Directive] = []
    states: list[list[bool]] = []  # [has_seen_else, may_still_include_another_alternative] per open #if
    cutoff = -1  # -1: including; n >= 0: ignoring because of the #if at nesting level n
    stopped = False
    for number, m in enumerate(_LINE.finditer(src), start=1):
        body, nl = m.group(1), m.group(2)
        if not body and not nl:
            break
        t = (body.lstrip("\ufeff") if number == 1 else body).strip(_DOTNET_WS)
        blank = " " * len(body) + nl
        if stopped:
            out.append(blank)
            continue
        if not t.startswith("#"):
            if _may_be_directive(body):
                found.append(Directive(number, body.strip()))
            out.append(body + nl if cutoff == -1 else blank)
            continue
        if t.startswith("#if"):
            state = [False, False]
            if cutoff == -1 and not _if_includes(t[3:].lstrip()):
                cutoff = len(states)
                state[1] = True
            states.append(state)
        elif t.startswith("#elsif"):
            if not states or states[-1][0]:
                stopped = True  # Dafny writes "#MalformedInput" and drops the rest of the file
            elif cutoff == -1:
                cutoff = len(states) - 1
            elif states[-1][1] and _if_includes(t[6:].lstrip()):
                cutoff, states[-1][1] = -1, False
        elif t == "#else":
            if not states or states[-1][0]:
                stopped = True
            else:
                states[-1][0] = True
                if cutoff == -1:
                    cutoff = len(states) - 1
                elif states[-1][1]:
                    cutoff, states[-1][1] = -1, False
        elif t == "#endif":
            if not states:
                stopped = True
            else:
                states.pop()
                if cutoff == len(states):
                    cutoff = -1
        else:  # another line starting with `#`: ordinary text for Dafny (reported if it may be a directive)
            if _may_be_directive(body):
                found.append(Directive(number, t))
            out.append(body + nl if cutoff == -1 else blank)
            continue
        found.append(Directive(number, t))
        out.append(blank)
    return "".join(out), found


def lex(src: str) -> Lexed:
    """Tokens and comments of `src` as Dafny scans them (after its preprocessor), with the line table.

    Offsets, lines and columns refer to `src` (blanked lines keep their length). Never raises."""
    scanned, directives = preprocess(src)
    lexed = _scan(scanned)
    lexed.directives = _placed(src, directives) if directives else []
    return lexed


def _placed(src: str, directives: list[Directive]) -> list[Directive]:
    """The directives, each with where the raw text (read without the preprocessor) has it: in a string, a
    comment or code. Only for messages: what Dafny reads is the preprocessed text."""
    raw = _scan(src)
    spans = sorted([(t.offset, t.end, "string") for t in raw.tokens if t.kind == STRING]
                   + [(c.offset, c.end, "comment") for c in raw.comments])
    out = []
    for d in directives:
        start = raw.line_starts[d.line - 1] if d.line - 1 < len(raw.line_starts) else len(src)
        i = bisect.bisect_right(spans, (start, len(src) + 1, "")) - 1
        inside = spans[i][2] if i >= 0 and spans[i][0] < start < spans[i][1] else None
        out.append(Directive(d.line, d.text, inside))
    return out


def _scan(src: str) -> Lexed:
    starts = _line_starts(src)
    toks: list[Token] = []
    comments: list[Comment] = []
    append = toks.append
    n = len(src)
    pos = 1 if src.startswith("\ufeff") else 0
    match = _MASTER.match
    bis = bisect.bisect_right

    while pos < n:
        m = match(src, pos)
        g = m.lastgroup
        end = m.end()
        if g == "ws":
            pos = end
            continue
        if g == "id":
            word = m.group()
            kind = KEYWORD if word in KEYWORDS or (word[0] in "ab" and _ARRAY_OR_BV.fullmatch(word)) else IDENT
        elif g == "op":
            kind = OP
        elif g == "lc" or g == "bc":
            if g == "bc":
                end = _block_comment_end(src, pos)
            li = bis(starts, pos) - 1
            comments.append(Comment(src[pos:end], li + 1, pos - starts[li] + 1, pos, end))
            pos = end
            continue
        elif g == "num":
            after_dot = bool(toks) and toks[-1].text == "." and toks[-1].end == pos
            end = ((_HEX.match(src, pos) or _DIGITS.match(src, pos)) if after_dot else
                   (_HEX.match(src, pos) or _NUMBER.match(src, pos))).end()
            kind = NUMBER
        elif g == "tick":
            run = _TICK_RUN.match(src, pos).group()
            ident_len = 2 if len(run) == 3 and run[2] == "'" else len(run)
            cm = _CHAR.match(src, pos)
            char_len = cm.end() - pos if cm else 0
            if char_len >= ident_len:
                kind, end = CHAR, pos + char_len
            else:
                kind, end = IDENT, pos + ident_len
        elif g == "str" or g == "vstr":
            kind = STRING
        elif g == "attr":
            kind = ATTR_OPEN
        elif g == "dotnum":
            prev = toks[-1] if toks else None
            if prev is None or (prev.kind in (OP, ATTR_OPEN) and prev.text not in (")", "]", "}", ".")):
                kind, end = NUMBER, _DOT_NUMBER.match(src, pos).end()
            else:
                kind, end = OP, pos + 1
        else:  # "bad": a character Dafny does not accept here, or an unterminated string
            kind = INVALID
        li = bis(starts, pos) - 1
        append(Token(kind, src[pos:end], li + 1, pos - starts[li] + 1, pos, end))
        pos = end
    return Lexed(toks, comments, starts)


def tokenize(src: str) -> list[Token]:
    """The tokens of `src` (comments and whitespace dropped)."""
    return lex(src).tokens


def texts(tokens: Sequence[Token]) -> tuple[str, ...]:
    """The token texts: what two token sequences are compared on (whitespace/comment-insensitive)."""
    return tuple(t.text for t in tokens)


def render(tokens: Sequence[Token], limit: int = 160) -> str:
    """A short one-line rendering of `tokens` for messages: one space where the source had any gap."""
    parts: list[str] = []
    prev: Token | None = None
    for t in tokens:
        if prev is not None and t.offset > prev.end:
            parts.append(" ")
        parts.append(t.text.replace("\n", " ").replace("\r", " "))
        prev = t
    out = "".join(parts)
    return out if len(out) <= limit else out[: limit - 1] + "…"
