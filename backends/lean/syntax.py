"""The command structure of a Lean 4 file, as the integrity guard needs it: each top-level command with its
kind, name (qualified by the enclosing namespaces), modifiers, attributes, signature and body, compared on
tokens (`lexer.Token.norm`), never on raw text.

Lean commands are not delimited; a command starts at a token that only a command can start with (`theorem`,
`def`, `namespace`, `#print`, `@[` ...) at bracket depth 0. `open` and `set_option` are also tactics (`open Foo
in simp`), so they start a command only as the first token of a line outside a `by` block's indentation
(column 0). A declaration is `[@[attrs]] [modifiers] kind name signature (:= body | | arms | where ...)`; the
signature is everything up to the first `:=`, `|` (at the start of a line) or `where` at depth 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lexer import ATTR_OPEN, KEYWORD, Token, tokenize

DECL_KINDS = frozenset({"theorem", "lemma", "def", "abbrev", "instance", "example", "structure", "class",
                        "inductive", "coinductive", "axiom", "opaque"})
MODIFIERS = frozenset({"private", "protected", "noncomputable", "partial", "unsafe", "nonrec", "scoped", "local"})
#: commands that are never part of a term or a tactic block
_ALWAYS_COMMANDS = DECL_KINDS | frozenset({
    "namespace", "section", "end", "export", "variable", "universe", "attribute", "mutual", "import", "macro",
    "macro_rules", "syntax", "elab", "elab_rules", "notation", "infix", "infixl", "infixr", "prefix", "postfix",
    "declare_syntax_cat", "initialize", "builtin_initialize", "run_cmd", "run_elab", "run_meta", "include", "omit",
    "module"}) | MODIFIERS
#: commands that are also tactics or term-level forms: a command only at the start of a line, at column 0
_LINE_COMMANDS = frozenset({"open", "set_option", "deriving"})
#: names whose declarations have a value the kernel checks (probed with `#print axioms`)
VALUE_KINDS = frozenset({"theorem", "lemma", "def", "abbrev", "instance", "opaque"})
_OPEN = {"(": ")", "[": "]", "{": "}", "⟨": "⟩", "⦃": "⦄", "@[": "]", "%[": "]"}


@dataclass
class Command:
    """One top-level command."""

    tokens: list[Token]
    kind: str  # a declaration kind ("theorem", "def", ...), or the command's first keyword ("open", "#eval", ...)
    name: str | None = None  # as written (None: anonymous, e.g. `example`, an unnamed `instance`)
    full_name: str | None = None  # qualified by the enclosing namespaces
    modifiers: tuple[str, ...] = ()
    attributes: list[Token] = field(default_factory=list)
    signature: list[Token] = field(default_factory=list)
    body: list[Token] = field(default_factory=list)  # from the `:=` / `|` / `where` on
    namespace: str = ""

    @property
    def line(self) -> int:
        return self.tokens[0].line if self.tokens else 0

    @property
    def end_line(self) -> int:
        return self.tokens[-1].line if self.tokens else 0

    @property
    def is_decl(self) -> bool:
        return self.kind in DECL_KINDS

    @property
    def keyword(self) -> Token | None:
        """The token of the declaration keyword (`theorem`, `def`...)."""
        return next((t for t in self.tokens if t.text == self.kind), None)

    @property
    def to_fill(self) -> bool:
        """A `sorry` body (`:= sorry`, `:= by sorry`): a contract's obligation."""
        return is_sorry_body(self.body)

    def norm(self, part: list[Token]) -> tuple[str, ...]:
        return tuple(t.norm for t in part)


def is_sorry_body(body: list[Token]) -> bool:
    texts = [t.text for t in body]
    return texts in (
        [":=", "sorry"], [":=", "by", "sorry"], [":=", "(", "sorry", ")"], [":=", "by", "exact", "sorry"])


def _starts_command(tok: Token, prev: Token | None, depth: int) -> bool:
    if depth:
        return False
    if tok.kind == ATTR_OPEN:
        return tok.line_start
    if tok.kind != KEYWORD:
        return False
    text = tok.text
    if text.startswith("#"):
        return True
    if text in _ALWAYS_COMMANDS:
        if text == "instance" and prev is not None and prev.text == "deriving":
            return False
        if text == "inductive" and prev is not None and prev.text == "class":
            return False
        return True
    if text in _LINE_COMMANDS:
        return tok.line_start and tok.col == 0
    return False


def _split(tokens: list[Token]) -> list[list[Token]]:
    """Cut the token stream into commands (see the module docstring)."""
    chunks: list[list[Token]] = []
    closers: list[str] = []
    current: list[Token] = []
    prefix_only = False  # the current command is so far only attributes and modifiers
    prev: Token | None = None
    for tok in tokens:
        starts = _starts_command(tok, prev, len(closers))
        if starts and prefix_only and (tok.kind == ATTR_OPEN or tok.text in DECL_KINDS or tok.text in MODIFIERS):
            starts = False  # `@[simp] private theorem foo`: one command
        if starts and current:
            chunks.append(current)
            current = []
        if starts:
            prefix_only = tok.kind == ATTR_OPEN or tok.text in MODIFIERS
        elif prefix_only and not closers and tok.kind == KEYWORD and tok.text in DECL_KINDS:
            prefix_only = False
        current.append(tok)
        if tok.text in _OPEN:
            closers.append(_OPEN[tok.text])
        elif closers and tok.text == closers[-1]:
            closers.pop()
        elif tok.text in closers:
            # unbalanced: close up to the matching opener, so one stray bracket cannot swallow the file
            while closers and closers.pop() != tok.text:
                pass
        prev = tok
    if current:
        chunks.append(current)
    return chunks


def _parse(tokens: list[Token], namespace: str) -> Command:
    i = 0
    attrs: list[Token] = []
    while i < len(tokens) and tokens[i].kind == ATTR_OPEN:
        depth = 0
        while i < len(tokens):
            t = tokens[i]
            attrs.append(t)
            if t.text in _OPEN:
                depth += 1
            elif t.text in (")", "]", "}", "⟩", "⦄"):
                depth -= 1
            i += 1
            if depth == 0:
                break
    mods: list[str] = []
    while i < len(tokens) and tokens[i].kind == KEYWORD and tokens[i].text in MODIFIERS:
        mods.append(tokens[i].text)
        i += 1
    if i >= len(tokens):
        return Command(tokens, kind="@[" if attrs else (mods[0] if mods else "?"), attributes=attrs,
                       modifiers=tuple(mods))
    head = tokens[i]
    kind = head.text
    if kind == "class" and i + 1 < len(tokens) and tokens[i + 1].text == "inductive":
        i += 1
        kind = "inductive"
    cmd = Command(tokens, kind=kind, modifiers=tuple(mods), attributes=attrs, namespace=namespace)
    if kind not in DECL_KINDS:
        cmd.signature = tokens[i + 1:]
        return cmd
    j = i + 1
    if kind not in ("example",) and j < len(tokens) and tokens[j].kind != KEYWORD and tokens[j].text not in (
            "(", "[", "{", "⦃", ":", ":=", "|", "⟨") and tokens[j].kind in ("ident",):
        cmd.name = tokens[j].text
        j += 1
    if cmd.name is not None:
        plain = cmd.name.replace("«", "").replace("»", "")
        if plain.startswith("_root_."):
            cmd.full_name = plain[len("_root_."):]
        else:
            cmd.full_name = f"{namespace}.{plain}" if namespace else plain
    depth = 0
    k = j
    while k < len(tokens):
        t = tokens[k]
        if t.text in _OPEN:
            depth += 1
        elif t.text in (")", "]", "}", "⟩", "⦄"):
            depth = max(0, depth - 1)
        elif depth == 0 and (t.text in (":=", "where") or (t.text == "|" and t.line_start)):
            break
        k += 1
    cmd.signature = tokens[j:k]
    cmd.body = tokens[k:]
    return cmd


@dataclass
class Outline:
    """Every command of a file, in order, with the namespace each one is in."""

    commands: list[Command]

    def decls(self) -> list[Command]:
        return [c for c in self.commands if c.is_decl]

    def by_name(self) -> dict[str, list[Command]]:
        out: dict[str, list[Command]] = {}
        for c in self.decls():
            if c.full_name:
                out.setdefault(c.full_name, []).append(c)
        return out

    def imports(self) -> list[tuple[str, ...]]:
        return [tuple(t.norm for t in c.tokens) for c in self.commands if c.kind == "import"]

    def member_at(self, line: int) -> str | None:
        """The declaration (qualified name) that holds `line`, if any."""
        for c in self.decls():
            if c.line <= line <= c.end_line:
                return c.full_name or c.kind
        return None


def outline(src: str) -> Outline:
    """The commands of `src` (raises `lexer.LexError` on an unterminated literal)."""
    return outline_of(tokenize(src))


def outline_of(tokens: list[Token]) -> Outline:
    commands: list[Command] = []
    scopes: list[tuple[str, str]] = []  # (kind, name) of open namespaces/sections
    for chunk in _split(tokens):
        namespace = ".".join(n for k, n in scopes if k == "namespace" and n)
        cmd = _parse(chunk, namespace)
        if cmd.kind == "namespace" and cmd.signature:
            for part in cmd.signature[0].text.split("."):
                scopes.append(("namespace", part))
        elif cmd.kind == "section" or (cmd.kind == "noncomputable" and cmd.signature[:1] and
                                       cmd.signature[0].text == "section"):
            scopes.append(("section", cmd.signature[0].text if cmd.kind == "section" and cmd.signature else ""))
        elif cmd.kind == "end":
            name = cmd.signature[0].text if cmd.signature and cmd.signature[0].kind == "ident" else ""
            parts = name.split(".") if name else [""]
            for _ in parts:
                if scopes:
                    scopes.pop()
        commands.append(cmd)
    return Outline(commands)


def header_split(src: str) -> tuple[str, str, int]:
    """(import header, rest, number of lines of the header): the `import` commands at the top of `src`, as the
    REPL wants them (imports are allowed only in a command without `env`). The rest keeps its line numbers
    when the header's line count is added back."""
    last = None
    for t in tokenize(src):
        if t.kind == KEYWORD and t.text == "import":
            last = t
        elif last is None or t.line != last.line:
            if last is not None and t.kind == "ident" and _after_import(src, t, last):
                last = t
                continue
            break
    if last is None:
        return "", src, 0
    lines = src.split("\n")
    return "\n".join(lines[:last.line]) + "\n", "\n".join(lines[last.line:]), last.line


def _after_import(src: str, t: Token, last: Token) -> bool:
    """`import A\n  B`: a module name on the next line still belongs to the import (rare, but legal)."""
    return t.line == last.line + 1 and t.col > 0
