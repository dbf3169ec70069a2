"""What Lean said, in the shared diagnostic models.

Two sources speak the same message shape:

* `lean --json FILE` prints one JSON object per line on stdout (`SerialMessage`: `fileName`, `pos` {line
  1-based, column 0-based}, `endPos` or null, `severity` "information" | "warning" | "error", `caption`, `data`,
  `kind`, and fields added by later versions such as `isSilent`, `keepFullRange`). `parse_batch` reads those
  lines tolerantly: unknown fields are ignored, a line that is not a JSON object (a partial last line of a
  killed run, a panic message) is kept as unparsed text, never fatal;
* the REPL's `messages` (`severity` "info" | "warning" | "error" | "trace", `pos`, `endPos`, `data`; no `kind`).

`sorry` is recognised structurally (`kind == "hasSorry"`, the REPL's `sorries`, `sorryAx` among the axioms),
never from the message text, whose wording changed across versions (`declaration uses 'sorry'`, and with
backquotes since v4.28). The text is used only to name the diagnostic kind for repair advice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from verifier.models import Diagnostic, DiagnosticKind, Severity, WarningClass

_SEVERITY = {"information": Severity.info, "info": Severity.info, "trace": Severity.info,
             "warning": Severity.warning, "error": Severity.error}
SORRY_KIND = "hasSorry"
#: `error_id`s of the diagnostics a warm session uses to hand over the REPL's `sorries` and the answers to the
#: kernel-check probes (read by `verdict.judge_warm`)
AXIOMS_ID = "qed.axioms"
SORRY_ID = "hasSorry"


@dataclass(frozen=True)
class LeanMessage:
    """One message as Lean gave it (positions as Lean counts them: line 1-based, column 0-based)."""

    severity: str  # "information" | "info" | "warning" | "error" | "trace" | anything newer, kept as is
    data: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    kind: str | None = None  # the message tag (`hasSorry`, `lean.unknownIdentifier._namedError`, ...)
    file_name: str | None = None
    caption: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def is_info(self) -> bool:
        return self.severity in ("information", "info")

    @property
    def has_sorry(self) -> bool:
        return self.kind == SORRY_KIND


@dataclass
class BatchOutput:
    """Every message of a `lean --json` run, and the lines that were not messages."""

    messages: list[LeanMessage] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)


def _pos(v: Any) -> tuple[int | None, int | None]:
    if not isinstance(v, dict):
        return None, None
    line, col = v.get("line"), v.get("column")
    return (line if isinstance(line, int) and line >= 1 else None,
            col if isinstance(col, int) and col >= 0 else None)


def message_of(obj: Any) -> LeanMessage | None:
    """A `LeanMessage` from one decoded JSON object (batch or REPL form), or None when it is not one."""
    if not isinstance(obj, dict):
        return None
    severity, data = obj.get("severity"), obj.get("data")
    if not isinstance(severity, str) or not isinstance(data, str):
        return None
    line, col = _pos(obj.get("pos"))
    end_line, end_col = _pos(obj.get("endPos"))
    kind = obj.get("kind")
    name = obj.get("fileName")
    caption = obj.get("caption")
    return LeanMessage(severity=severity, data=data, line=line, column=col, end_line=end_line, end_column=end_col,
                       kind=kind if isinstance(kind, str) else None, file_name=name if isinstance(name, str) else None,
                       caption=caption if isinstance(caption, str) else "")


def parse_batch(stdout: str) -> BatchOutput:
    """The messages of `lean --json` output; other lines (and a torn last line) are kept as `unparsed`."""
    out = BatchOutput()
    for raw in stdout.splitlines():
        line = raw.strip()
        if not line:
            continue
        msg = None
        if line.startswith("{"):
            try:
                msg = message_of(json.loads(line))
            except ValueError:
                msg = None
        if msg is None:
            out.unparsed.append(raw[:2000])
        else:
            out.messages.append(msg)
    return out


# --- kinds ---------------------------------------------------------------------------------------------------

#: (message tag prefix or None, text pattern, kind). The tag wins when present; the text is the fallback for
#: versions without error names. Only used to choose repair advice and the verdict class (parse/name errors are
#: `error`, proof errors `failed`), never to decide that something is proved.
_KINDS: list[tuple[str | None, re.Pattern[str], DiagnosticKind]] = [
    ("lean.unknownIdentifier", re.compile(r"^unknown (identifier|constant|namespace|module prefix|package)|^Unknown (identifier|constant)"
                                          r"|^object file .* does not exist",
                                          re.I), DiagnosticKind.resolution),
    (None, re.compile(r"^unexpected token|^expected |^unterminated |^missing end of|^invalid syntax", re.I),
     DiagnosticKind.parse),
    (None, re.compile(r"maximum number of heartbeats|\(deterministic\) timeout|maxHeartbeats|maxRecDepth|maximum "
                      r"recursion depth", re.I), DiagnosticKind.resource_limit),
    (None, re.compile(r"^unsolved goals", re.I), DiagnosticKind.postcondition),
    (None, re.compile(r"^ambiguous, possible interpretations|^invalid field|^function expected", re.I),
     DiagnosticKind.resolution),
    (None, re.compile(r"^type mismatch|^application type mismatch|^failed to synthesize|^failed to elaborate", re.I),
     DiagnosticKind.assertion),
    (None, re.compile(r"^\(kernel\)", re.I), DiagnosticKind.toolchain),
    (None, re.compile(r"fail to show termination|failed to prove termination|structural recursion cannot be used|"
                      r"termination", re.I), DiagnosticKind.decreases),
    (None, re.compile(r"^linter\.|\[linter\.|note: this linter", re.I), DiagnosticKind.warning),
    (None, re.compile(r"^(omega could not prove|linarith failed|simp made no progress|decide failed|"
                      r"The rfl tactic failed|tactic '[^']+' failed|no goals to be proved|No goals to be solved|"
                      r"aesop: failed)", re.I), DiagnosticKind.assertion),
]


def kind_of(msg: LeanMessage) -> DiagnosticKind:
    """The normalised kind of a Lean message (see `_KINDS`)."""
    if msg.has_sorry:
        return DiagnosticKind.warning
    tag = msg.kind or ""
    for prefix, rx, kind in _KINDS:
        if prefix is not None and tag.startswith(prefix):
            return kind
    text = msg.data.strip()
    for _prefix, rx, kind in _KINDS:
        if rx.search(text):
            return kind
    return DiagnosticKind.warning if msg.severity == "warning" else DiagnosticKind.other


def to_diagnostic(msg: LeanMessage, file: str) -> Diagnostic:
    """A shared `Diagnostic` (1-based columns; the end exclusive, as Lean's `endPos` is)."""
    severity = _SEVERITY.get(msg.severity, Severity.info if msg.severity not in ("error",) else Severity.error)
    kind = kind_of(msg)
    if msg.is_error and kind == DiagnosticKind.warning:
        kind = DiagnosticKind.other
    warning_class = None
    if severity == Severity.warning:
        warning_class = WarningClass.escape if msg.has_sorry else (
            WarningClass.style if kind == DiagnosticKind.warning and "linter" in (msg.data + (msg.kind or ""))
            else WarningClass.other)
    text = msg.data if len(msg.data) <= 4000 else msg.data[:4000] + " ..."
    return Diagnostic(
        severity=severity, kind=kind, message=text, file=file, line=msg.line,
        column=msg.column + 1 if msg.column is not None else None, end_line=msg.end_line,
        end_column=msg.end_column + 1 if msg.end_column is not None else None,
        error_id=msg.kind if msg.kind and msg.kind != "[anonymous]" else None,
        source="Lean", warning_class=warning_class)
