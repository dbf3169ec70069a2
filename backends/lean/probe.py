"""The kernel check: `#print axioms` on every declaration the contract names, appended to a private copy of the
candidate and answered in the same batch run; and, with a contract, the elaborated statement of each of those
declarations (`set_option pp.all true in #check @X`, appended to the candidate and to the contract alike), so that
a statement whose text is unchanged but whose meaning was changed by its surroundings (an instance, a `variable`,
notation: anything the token rules might miss) does not match the contract's.

Lean answers each `#print axioms X` with an info message (`L4 src/Lean/Elab/Print.lean`):
`'X' depends on axioms: [propext, Classical.choice, Quot.sound]` or `'X' does not depend on any axioms` (newer
versions may quote with backquotes; the list may wrap over lines). User code can print look-alike lines
(`#eval IO.println ...`, which the guard rejects anyway), so an answer counts only when it is an info message
positioned on the very line of its probe, below the candidate's last line. Names are probed as `_root_.X`, so
a namespace the candidate left open, or an `open` that makes `X` ambiguous, cannot redirect the probe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .messages import LeanMessage

_ANSWER = re.compile(r"^\s*['`«]?(?P<name>.+?)['`»]?\s+(?:(?P<none>does not depend on any axioms)|depends on axioms:"
                     r"\s*\[(?P<list>.*)\])\s*$", re.S)
#: marks the probe section of a private copy (a comment, so it changes nothing)
MARK = "-- qed: kernel check (#print axioms), appended by qed to a private copy"


@dataclass(frozen=True)
class Probe:
    """The text appended to a file, and the line of each probe (1-based, in the private copy)."""

    text: str
    lines: dict[str, int]  # qualified name -> line of its `#print axioms`
    type_lines: dict[str, int] = field(default_factory=dict)  # qualified name -> line of its `#check`

    @property
    def all_lines(self) -> set[int]:
        return set(self.lines.values()) | set(self.type_lines.values())


def build(source: str, names: list[str], statements: list[str] = (), *, axioms: bool = True) -> Probe:
    """The probe section to append to `source` (which keeps its own line numbers): `#print axioms` for `names`
    (unless `axioms` is False) and the elaborated statement of each of `statements`."""
    base = source.count("\n") + (0 if source.endswith("\n") or not source else 1)
    parts = ["", "", MARK]
    lines: dict[str, int] = {}
    type_lines: dict[str, int] = {}
    for name in dict.fromkeys(names if axioms else ()):
        parts.append(f"#print axioms _root_.{_quote(name)}")
        lines[name] = base + len(parts) - 1
    for name in dict.fromkeys(statements):
        parts.append(f"set_option pp.all true in #check @_root_.{_quote(name)}")
        type_lines[name] = base + len(parts) - 1
    prefix = "" if source.endswith("\n") or not source else "\n"
    return Probe(text=prefix + "\n".join(parts[1:]) + "\n", lines=lines, type_lines=type_lines)


def _quote(name: str) -> str:
    """A qualified name as Lean reads it (a part that is not a plain identifier goes in «»)."""
    out = []
    for part in name.split("."):
        out.append(part if re.fullmatch(r"[^\W\d][\w'!?₀-₉]*", part) else f"«{part}»")
    return ".".join(out)


def answers(messages: list[LeanMessage], probe: Probe) -> dict[str, list[str] | None]:
    """Each probed name's axioms (None: Lean gave no answer on its line, e.g. the file stopped early, or the
    name is unknown)."""
    by_line = {line: name for name, line in probe.lines.items()}
    out: dict[str, list[str] | None] = {name: None for name in probe.lines}
    for m in messages:
        if not m.is_info or m.line not in by_line:
            continue
        match = _ANSWER.match(m.data)
        if match is None:
            continue
        name = by_line[m.line]
        out[name] = [] if match["none"] else [a.strip() for a in match["list"].replace("\n", " ").split(",")
                                              if a.strip()]
    return out


def statements(messages: list[LeanMessage], probe: Probe) -> dict[str, str]:
    """Each probed name's elaborated statement, as Lean printed it on the `#check` line (whitespace and the
    module part of private names normalised: the contract and the candidate are different files)."""
    by_line = {line: name for name, line in probe.type_lines.items()}
    out: dict[str, str] = {}
    for m in messages:
        if m.is_info and m.line in by_line:
            out[by_line[m.line]] = normal_statement(m.data)
    return out


def normal_statement(text: str) -> str:
    text = re.sub(r"_private\.[\w.«»']*?\.0\.", "_private.", text)
    return " ".join(text.split())


def is_probe_message(m: LeanMessage, probe: Probe) -> bool:
    """A message Lean gave about a probe line (shown to nobody: the verdict reads it)."""
    return m.line is not None and m.line in probe.all_lines
