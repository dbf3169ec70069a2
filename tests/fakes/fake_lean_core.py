"""The pretend elaborator behind the fake `lean`, REPL and `lake` used by the tests. NOT Lean: it was written for
the tests from the documented formats (../shared/docs/toolchains.md §2: `SerialMessage` JSON lines, the REPL's
framing and answers, `#print axioms` wording) and decides what to say from simple rules and directives:

* declarations `theorem|lemma|def|abbrev|instance|opaque|axiom NAME` (with `@[...]` and modifiers; `namespace X`
  ... `end X` qualifies names); a declaration runs to the next line that starts a command at column 0;
* axioms a declaration uses: `sorry` -> `sorryAx` (and a `hasSorry` warning on its name), `native_decide` ->
  `Lean.ofReduceBool` (with `FAKE_LEAN_NATIVE=old`) or `NAME._native.native_decide.ax_1_1` (the default, as
  since lean4 #12217), `simp` -> `propext`, `omega` -> `propext, Classical.choice, Quot.sound`, an `axiom NAME`
  -> NAME, the tactic `stop` (`repeat sorry`) -> `sorryAx` as `sorry` does; plus everything the declarations it mentions use (transitively);
* `#print axioms [_root_.]NAME` -> an information message on its line: `'NAME' depends on axioms: [...]` or
  `'NAME' does not depend on any axioms` (`unknown constant` error for a name never declared);
* `#eval IO.println "text"` -> an information message `text`; `#check e` -> an information message;
  `set_option pp.all true in #check @NAME` -> `@NAME <its signature text, whitespace normalised>` (a stand-in for
  the elaborated statement; `--! type NAME TEXT` makes it TEXT instead, to stand for an elaboration that differs
  although the text does not);
* `import M`: `Init`, `Std`, `Lean` always resolve; `Mathlib...` only when `LEAN_PATH` is set (as `lake env`
  does), else the error `unknown module prefix 'Mathlib'`;
* directives in `--!` comments: `--! error TEXT` / `--! warning TEXT` (a message on that line; `\\n` in TEXT is a
  newline; a leading `[kind] ` sets the message kind), `--! crash` (a torn JSON line, then SIGABRT),
  `--! stackoverflow` (Lean's stack-overflow line on stderr, then SIGABRT), `--! hang`, `--! memory` (400 MB, then
  hang), `--! huge MB` (that many
  MB of information messages), `--! garbage` (a line that is not JSON), `--! old` (no `kind`/`isSilent`/
  `keepFullRange` fields, as old Lean versions), `--! unknown-fields` (extra fields a later Lean might add).

`FAKE_LEAN_SORRY_WORDING=old` gives `declaration uses 'sorry'` (before v4.28); the default is the backquoted
form. The sorry detection of qed must not depend on either.
"""

from __future__ import annotations

import os
import re

DECL = re.compile(r"^(?P<indent>[ \t]*)(?:@\[[^\]]*\][ \t]*)?(?:(?:private|protected|noncomputable|partial|unsafe)[ \t]+)*"
                  r"(?P<kind>theorem|lemma|def|abbrev|instance|opaque|axiom)[ \t]+(?P<name>[\w.'«»!?]+)")
COMMAND = re.compile(r"^(?:@\[|theorem|lemma|def|abbrev|instance|opaque|axiom|namespace|section|end|open|#|import|"
                     r"structure|inductive|class|example|set_option|variable|private|protected|noncomputable|partial)")
AXIOMS = {"simp": ["propext"], "omega": ["propext", "Classical.choice", "Quot.sound"]}


def code_of(line: str) -> str:
    """The line without its `--` comment (strings are not special here: the fixtures avoid `--` in strings)."""
    return line.split("--", 1)[0]


def directives(text: str) -> list[tuple[int, str]]:
    return [(n, m.group(1).strip()) for n, line in enumerate(text.split("\n"), 1)
            for m in [re.search(r"--!\s*(.*)$", line)] if m]


def strip_block_comments(text: str) -> str:
    """Blank `/- ... -/` (keeping line breaks, so lines do not move)."""
    return re.sub(r"/-.*?-/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


class Elab:
    """What the fake elaborator makes of a text (`first_line` is the line number of its first line)."""

    def __init__(self, text: str, *, first_line: int = 1, known: dict | None = None, lean_path: bool = False):
        self.text = text
        self.messages: list[dict] = []  # {"line","col","end","severity","data","kind"}
        self.sorries: list[dict] = []
        self.decls: dict[str, dict] = dict(known or {})
        self.lean_path = lean_path
        self._run(first_line)

    def msg(self, line: int, col: int, severity: str, data: str, kind: str = "[anonymous]", end: int | None = None):
        self.messages.append({"line": line, "col": col, "end": end if end is not None else col + 1,
                              "severity": severity, "data": data, "kind": kind})

    def _run(self, first: int) -> None:
        lines = strip_block_comments(self.text).split("\n")
        namespaces: list[str] = []
        current: dict | None = None
        for i, raw in enumerate(lines):
            n = first + i
            code = code_of(raw)
            m = DECL.match(code)
            if m or (code[:1].strip() and COMMAND.match(code)):
                current = None
            if m:
                name = m.group("name").replace("«", "").replace("»", "")
                full = name[len("_root_."):] if name.startswith("_root_.") else ".".join([*namespaces, name])
                current = {"name": full, "line": n, "col": code.index(m.group("name")), "kind": m.group("kind"),
                           "axioms": set(), "uses": set(), "sorry": False, "native": False,
                           "sig": self._signature(lines, i, m.end())}
                if m.group("kind") == "axiom":
                    current["axioms"].add(full)
                self.decls[full] = current
                code = code[m.end():]
            stripped = code.strip()
            if stripped.startswith("namespace "):
                namespaces += stripped.split()[1].split(".")
            elif stripped.startswith("end ") and namespaces:
                for _ in stripped.split()[1].split("."):
                    namespaces.pop()
            elif stripped.startswith("import "):
                for mod in stripped.split()[1:]:
                    if mod.split(".")[0] not in ("Init", "Std", "Lean") and not (
                            mod.startswith("Mathlib") and self.lean_path):
                        self.msg(n, 0, "error", f"unknown module prefix '{mod.split('.')[0]}'\n\nNo directory "
                                                f"'{mod.split('.')[0]}' or file '{mod}.olean' in the search path")
            elif stripped.startswith("#print axioms"):
                self._print_axioms(n, stripped.split()[2] if len(stripped.split()) > 2 else "")
            elif stripped.startswith("#eval"):
                s = re.search(r'"((?:[^"\\]|\\.)*)"', stripped)
                self.msg(n, 0, "information", (s.group(1) if s else "()").replace("\\n", "\n"))
            elif stripped.startswith("set_option pp.all true in #check @"):
                self._check(n, stripped.split("@", 1)[1].strip())
            elif stripped.startswith("#check"):
                self.msg(n, 0, "information", stripped[len("#check"):].strip() + " : Prop")
            if current is not None:
                for word in re.findall(r"[\w.'!?]+", code):
                    if word in ("sorry", "stop"):  # `stop` is `repeat sorry`
                        if not current["sorry"]:
                            current["sorry"] = True
                            wording = ("declaration uses 'sorry'" if os.environ.get("FAKE_LEAN_SORRY_WORDING") == "old"
                                       else "declaration uses `sorry`")
                            self.msg(current["line"], current["col"], "warning", wording, "hasSorry",
                                     current["col"] + len(current["name"].split(".")[-1]))
                        current["axioms"].add("sorryAx")
                        self.sorries.append({"line": n, "col": code.index("sorry") if "sorry" in code else 0,
                                             "goal": "⊢ " + current["name"]})
                    elif word == "native_decide":
                        current["axioms"].add("Lean.ofReduceBool" if os.environ.get("FAKE_LEAN_NATIVE") == "old"
                                              else f"{current['name']}._native.native_decide.ax_1_1")
                    elif word in AXIOMS:
                        current["axioms"].update(AXIOMS[word])
                    elif word != current["name"].split(".")[-1]:
                        current["uses"].add(word)
        for n, d in directives(self.text):
            n += first - 1
            for sev in ("error", "warning"):
                if d.startswith(sev + " "):
                    body = d[len(sev) + 1:]
                    kind = "[anonymous]"
                    k = re.match(r"\[([^\]]+)\]\s*", body)
                    if k:
                        kind, body = k.group(1), body[k.end():]
                    self.msg(n, 2, sev, body.replace("\\n", "\n"), kind)

    @staticmethod
    def _signature(lines: list[str], i: int, start: int) -> str:
        """The declaration's text from after its name to its `:=` (or the end of the declaration)."""
        parts = [code_of(lines[i])[start:]]
        j = i + 1
        while ":=" not in " ".join(parts) and j < len(lines) and not COMMAND.match(code_of(lines[j])):
            parts.append(code_of(lines[j]))
            j += 1
        return " ".join(" ".join(parts).split(":=", 1)[0].split())

    def _check(self, n: int, name: str) -> None:
        """`set_option pp.all true in #check @X`: `@X : <its signature>` (`--! type X TEXT` overrides it, to
        stand for an elaboration that differs where the text does not)."""
        plain = name[len("_root_."):] if name.startswith("_root_.") else name
        plain = plain.replace("«", "").replace("»", "")
        if plain not in self.decls:
            self.msg(n, 0, "error", f"unknown constant '{plain}'", "lean.unknownIdentifier._namedError")
            return
        override = [d.split(None, 2)[2] for _, d in directives(self.text) if d.startswith(f"type {plain} ")]
        self.msg(n, 0, "information", f"@{plain} {override[-1] if override else self.decls[plain].get('sig', '')}")

    def axioms_of(self, name: str, seen: set | None = None) -> set:
        seen = set() if seen is None else seen
        d = self.decls.get(name)
        if d is None or name in seen:
            return set()
        seen.add(name)
        out = set(d["axioms"])
        for word in d["uses"]:
            for cand in (word, *[k for k in self.decls if k.endswith("." + word)]):
                if cand in self.decls:
                    out |= self.axioms_of(cand, seen)
        return out

    def _print_axioms(self, n: int, name: str) -> None:
        plain = name[len("_root_."):] if name.startswith("_root_.") else name
        plain = plain.replace("«", "").replace("»", "")
        if plain not in self.decls:
            self.msg(n, 14, "error", f"unknown constant '{plain}'", "lean.unknownIdentifier._namedError")
            return
        axioms = sorted(self.axioms_of(plain))
        if axioms:
            self.msg(n, 0, "information", f"'{plain}' depends on axioms: [{', '.join(axioms)}]")
        else:
            self.msg(n, 0, "information", f"'{plain}' does not depend on any axioms")
