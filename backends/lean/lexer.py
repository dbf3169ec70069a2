r"""A Lean 4 tokenizer for the integrity guard: comments and strings are recognised as Lean's scanner does, so
that what the guard calls code is what Lean calls code.

* comments: `--` to the end of the line; `/- ... -/` nest (`/--` doc and `/-!` module comments are comments
  too); an unterminated `/-` runs to the end of the file (Lean then reports an error, so nothing verifies);
* strings `"..."` with escapes (`\"`, `\\`, `\n`, `\x41`, `\u{...}`, a `\` line continuation), raw strings
  `r"..."`, `r#"..."#`, and interpolated strings `s!"..{e}.."` (`s!`, `f!`, `m!`, `throwError`'s `m!`): the
  braces hold code, which may hold strings of its own;
* char literals `'a'`, `'\n'`, `'\''`, `'\x41'`; a prime after an identifier character belongs to the
  identifier (`x'`, `h₁'`);
* identifiers: letters (Unicode letters, Greek other than `λ`, `Π`, `Σ`, letter-like symbols), `_`, digits,
  `'`, `!`, `?` and subscripts after the first character; `«...»` quotes any text into one part; parts joined
  by `.` without spaces are one dotted identifier (`Nat.add_comm`, `h.symm`, `x.1`);
* `@[` (an attribute list) is one token; name literals `` `foo `` and ``` ``foo ``` are one token;
* operators by longest match (`:=`, `=>`, `<;>`, `->`, ...); any other non-space character is its own token.

Lines are 1-based, columns 0-based code points (Lean's convention); only LF ends a line (a CR before it is
whitespace).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

IDENT, KEYWORD, NUMBER, STRING, CHAR, OP, ATTR_OPEN, NAME_LIT = (
    "ident", "keyword", "number", "string", "char", "op", "attr_open", "name_literal")

#: Lean 4 keywords that can never be identifiers (the ones the guard and the outline need).
KEYWORDS = frozenset("""
theorem lemma def abbrev instance example structure class inductive coinductive axiom opaque namespace section end
open export variable universe set_option attribute mutual import macro macro_rules syntax elab elab_rules notation
infix infixl infixr prefix postfix declare_syntax_cat initialize builtin_initialize deriving run_cmd run_elab run_meta
private protected noncomputable partial unsafe nonrec scoped local where fun by do let have show from at in if then
else match with calc termination_by decreasing_by include omit module sorry admit extends renaming hiding
""".split())

_MULTI_OPS = sorted("""
:= => -> <- <-> <;> .. ... :: || && == != <= >= ++ |> <| |>. ^^^ >>= >> <$> <*> <|> >=> ∘ ≠ ≤ ≥ ⁻¹ <;> %[ ▸ ⦃ ⦄
""".split(), key=len, reverse=True)
_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉ₐₑₒₓₔₕₖₗₘₙₚₛₜᵢᵣᵤᵥⱼᵦᵧᵨᵩᵪ"
_NUMBER = re.compile(r"0[xX][0-9A-Fa-f_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?")


def _letter_like(c: str) -> bool:
    """Lean's `isLetterLike`: ASCII letters, Greek (except λ Π Σ), Coptic, letter-like symbols, sub/superscript
    letters; we also take any other Unicode letter (Lean rejects the rest anyway)."""
    if c.isascii():
        return c.isalpha()
    if c in "λΠΣ":
        return False
    if "\u0370" <= c <= "\u03ff" or "\u1f00" <= c <= "\u1ffe" or "\u2100" <= c <= "\u214f" or "\u1d49c" <= c <= "\u1d59f":
        return True
    return unicodedata.category(c).startswith("L")


def _ident_start(c: str) -> bool:
    return c == "_" or _letter_like(c)


def _ident_rest(c: str) -> bool:
    return _ident_start(c) or c.isdigit() or c in "'!?" or c in _SUBSCRIPTS


@dataclass(frozen=True)
class Token:
    """One token: `kind`, its exact `text`, where it starts (1-based line, 0-based column) and its offset."""

    kind: str
    text: str
    line: int
    col: int
    offset: int
    line_start: bool = False  # first token on its line

    @property
    def norm(self) -> str:
        """The token as compared by the guard (spelling variants Lean treats alike are one form)."""
        return _NORMAL.get(self.text, self.text)


#: ASCII and Unicode spellings that Lean parses alike (so a candidate may write either).
_NORMAL = {"->": "→", "<->": "↔", "↦": "=>", "λ": "fun", "forall": "∀", "exists": "∃", "<-": "←", "lemma": "theorem"}


class LexError(ValueError):
    """The text cannot be tokenised (an unterminated string or char)."""

    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.line = line


class _Scanner:
    def __init__(self, src: str):
        self.src, self.i, self.n = src, 0, len(src)
        self.line, self.line_begin = 1, 0
        self.tokens: list[Token] = []
        self.last_line = 0
        self.comments: list[tuple[int, int, str]] = []  # (line, end line, text) of every comment

    def col(self, i: int) -> int:
        return i - self.line_begin

    def advance_to(self, j: int) -> None:
        """Move to offset `j`, counting the newlines passed."""
        seg = self.src[self.i:j]
        k = seg.rfind("\n")
        if k >= 0:
            self.line += seg.count("\n")
            self.line_begin = self.i + k + 1
        self.i = j

    def emit(self, kind: str, start: int, line: int, col: int) -> None:
        text = self.src[start:self.i]
        first = line != self.last_line
        self.last_line = line
        self.tokens.append(Token(kind, text, line, col, start, first))

    def skip_block_comment(self) -> None:
        start, line = self.i, self.line
        depth, j = 0, self.i
        while j < self.n:
            if self.src.startswith("/-", j):
                depth += 1
                j += 2
            elif self.src.startswith("-/", j):
                depth -= 1
                j += 2
                if depth == 0:
                    break
            else:
                j += 1
        self.advance_to(j)
        self.comments.append((line, self.line, self.src[start:j]))

    def string_end(self, j: int) -> int:
        """Offset after the closing quote of the string whose opening quote is at `j - 1`."""
        while j < self.n:
            c = self.src[j]
            if c == "\\":
                j += 2
                continue
            if c == '"':
                return j + 1
            j += 1
        raise LexError("unterminated string", self.line)

    def interpolated_end(self, j: int) -> int:
        """Like `string_end`, but `{...}` holds code (with strings of its own)."""
        depth = 0
        while j < self.n:
            c = self.src[j]
            if c == "\\" and depth == 0:
                j += 2
                continue
            if c == '"':
                if depth == 0:
                    return j + 1
                j = self.string_end(j + 1)
                continue
            if c == "{":
                depth += 1
            elif c == "}" and depth:
                depth -= 1
            j += 1
        raise LexError("unterminated string", self.line)

    def run(self) -> list[Token]:
        src = self.src
        while self.i < self.n:
            c = src[self.i]
            if c in " \t\r\n\f\v":
                j = self.i
                while j < self.n and src[j] in " \t\r\n\f\v":
                    j += 1
                self.advance_to(j)
                continue
            if src.startswith("--", self.i):
                j = src.find("\n", self.i)
                j = self.n if j < 0 else j
                self.comments.append((self.line, self.line, src[self.i:j]))
                self.advance_to(j)
                continue
            if src.startswith("/-", self.i):
                self.skip_block_comment()
                continue
            start, line, col = self.i, self.line, self.col(self.i)
            if c == '"':
                self.advance_to(self.string_end(self.i + 1))
                self.emit(STRING, start, line, col)
                continue
            m = re.match(r"r(#*)\"", src[self.i:self.i + 64])
            if m:
                close = '"' + m.group(1)
                j = src.find(close, self.i + len(m.group(0)))
                if j < 0:
                    raise LexError("unterminated raw string", line)
                self.advance_to(j + len(close))
                self.emit(STRING, start, line, col)
                continue
            if c in "smf" and src.startswith('!"', self.i + 1) and not (
                    self.i > 0 and _ident_rest(src[self.i - 1])):
                self.advance_to(self.interpolated_end(self.i + 3))
                self.emit(STRING, start, line, col)
                continue
            if c == "'":
                m = re.match(r"'(?:\\(?:x[0-9A-Fa-f]{2}|u\{?[0-9A-Fa-f]{1,6}\}?|.)|[^\\'\n])'", src[self.i:self.i + 16])
                if m:
                    self.advance_to(self.i + len(m.group(0)))
                    self.emit(CHAR, start, line, col)
                    continue
                self.advance_to(self.i + 1)
                self.emit(OP, start, line, col)
                continue
            if src.startswith("@[", self.i):
                self.advance_to(self.i + 2)
                self.emit(ATTR_OPEN, start, line, col)
                continue
            if c == "`":
                j = self.i + 1
                if j < self.n and src[j] == "`":
                    j += 1
                k = self._ident_end(j)
                if k > j:
                    self.advance_to(k)
                    self.emit(NAME_LIT, start, line, col)
                    continue
                self.advance_to(self.i + 1)
                self.emit(OP, start, line, col)
                continue
            if _ident_start(c) or c == "«":
                self.advance_to(self._ident_end(self.i))
                word = src[start:self.i]
                self.emit(KEYWORD if word in KEYWORDS else IDENT, start, line, col)
                continue
            if c == "#" and self.i + 1 < self.n and _ident_start(src[self.i + 1]):
                # `#eval`, `#print`, `#check`, `#exit`, `#guard_msgs`...: one command token
                j = self.i + 1
                while j < self.n and _ident_rest(src[j]):
                    j += 1
                self.advance_to(j)
                self.emit(KEYWORD, start, line, col)
                continue
            m = _NUMBER.match(src, self.i)
            if m and c.isdigit():
                self.advance_to(m.end())
                self.emit(NUMBER, start, line, col)
                continue
            for op in _MULTI_OPS:
                if src.startswith(op, self.i):
                    self.advance_to(self.i + len(op))
                    break
            else:
                self.advance_to(self.i + 1)
            self.emit(OP, start, line, col)
        return self.tokens

    def _ident_end(self, j: int) -> int:
        """End of the (dotted) identifier starting at `j` (== j when there is none)."""
        src, n = self.src, self.n
        start = j
        while j < n:
            if src[j] == "«":
                k = src.find("»", j + 1)
                if k < 0:
                    raise LexError("unterminated «", self.line)
                j = k + 1
            elif _ident_start(src[j]):
                j += 1
                while j < n and _ident_rest(src[j]):
                    j += 1
            elif j > start and src[j].isdigit():  # `x.1` (a projection)
                while j < n and src[j].isdigit():
                    j += 1
            else:
                break
            if j + 1 < n and src[j] == "." and (_ident_start(src[j + 1]) or src[j + 1] == "«" or src[j + 1].isdigit()):
                j += 1
                continue
            break
        return j


def tokenize(src: str) -> list[Token]:
    """The tokens of `src` (comments and whitespace dropped). Raises `LexError` on an unterminated literal."""
    return _Scanner(src).run()


def scan(src: str) -> tuple[list[Token], list[tuple[int, int, str]]]:
    """The tokens and the comments `(line, end_line, text)` of `src`."""
    s = _Scanner(src)
    return s.run(), s.comments
