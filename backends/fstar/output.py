"""What `fstar.exe` said, as the shared diagnostic models.

Batch mode with `--message_format json` writes one issue per line on stderr (`FStarC.Errors.print_issue_json`):
`{"msg": [fragments...], "level": "Error"|"Warning"|"Info"|"NotImplemented", "range": {"def": R, "use": R} | null,
"number": N, "ctx": [...]}` with `R = {"file_name", "start_pos": {"line", "col"}, "end_pos": {...}}`, lines
1-based and columns 0-based. Unknown fields are ignored. Releases without `--message_format` print the human
formats, read here by a tolerant fallback:

* 2025+: `* Error 19 at X.fst:3.13-3.16:` (columns 1-based) followed by `  - message` lines;
* 2024:  `* Error 19 at X.fst(3,12-3,15):` (columns 0-based) followed by `  - message` lines;
* older: `X.fst(3,12-3,15): (Error 19) message` on one line.

Kinds (F*'s own wording is kept in `message`, F*'s number in `error_id`, F*'s kind of issue in `source`, one of
`FSTAR_KINDS`: smt-query-failed, subtyping-check, termination, smt-rlimit, smt-timeout, unknown-identifier,
type-error, missing-definition, syntax-error, escape-report, z3, warning, info, other):
SMT failures (Error 19 and kin) are assertion/postcondition/precondition/subset_type/decreases by their text,
timeout or resource_limit when the solver gave up; unknown identifiers and type errors are `resolution`; syntax
errors `parse`; a missing or wrong Z3 is `toolchain`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from verifier.models import Diagnostic, DiagnosticKind, RelatedLocation, Severity

__all__ = ["Parsed", "classify", "parse_output", "is_escape_report", "diagnostic_from_ide"]

_LEVEL = {"error": Severity.error, "notimplemented": Severity.error, "not-implemented": Severity.error,
          "warning": Severity.warning, "info": Severity.info}
_NEW = re.compile(r"^\* (Error|Warning|Info)(?: (\d+|<unknown>))? at (.+?)"
                  r"(?:\((\d+),(\d+)-(\d+),(\d+)\)|:(\d+)\.(\d+)-(\d+)\.(\d+)):\s*$")
_OLD = re.compile(r"^(.+?)\((\d+),(\d+)-(\d+),(\d+)\): \((Error|Warning)(?: (\d+))?\) (.*)$")
_NO_RANGE = re.compile(r"^\* (Error|Warning|Info)(?: (\d+|<unknown>))?:\s*$")
_SUCCESS = ("All verification conditions discharged successfully", "Verified module:")

#: F* error numbers whose meaning is fixed (FStarC.Errors.Codes): 168 syntax error, 72 identifier not found,
#: 189/12/114/54 type errors
_PARSE_NUMBERS = {168, 0}
_RESOLUTION_NUMBERS = {72, 189, 12, 54, 114, 58, 47, 233, 240, 66}
_ESCAPE_NUMBERS = {296, 334, 335}


@dataclass
class Parsed:
    """Issues read from the output, the lines that were not issues, and whether F* said it succeeded."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    success_line: bool = False
    json_lines: int = 0
    bad_json_lines: int = 0


def _text(msg) -> str:
    if isinstance(msg, list):
        parts = [str(m).strip() for m in msg if isinstance(m, (str, int, float)) and str(m).strip()]
        return "; ".join(" ".join(p.split()) for p in parts)
    return str(msg or "").strip()


def is_escape_report(message: str, number: int | None) -> bool:
    """F* reporting a use of an escape hatch (`--report_assumes`, warn_on_use, "Tactics admitted goal")."""
    low = message.lower()
    return (number in _ESCAPE_NUMBERS or "admitted goal" in low or "triggers a warning" in low
            or "every use of" in low or "report_assumes" in low)


#: F*'s kinds of issue, kept in `Diagnostic.source` (the shared `kind` is the language-independent class)
FSTAR_KINDS = ("smt-query-failed", "subtyping-check", "termination", "smt-rlimit", "smt-timeout",
               "unknown-identifier", "type-error", "missing-definition", "syntax-error", "escape-report", "z3",
               "warning", "info", "other")


def classify(message: str, number: int | None, severity: Severity) -> tuple[DiagnosticKind, str]:
    """(shared kind, F* kind) of an F* issue (see FSTAR_KINDS)."""
    low = message.lower()
    if "z3 solver not found" in low or "unexpected z3 version" in low or ("could not start" in low and "z3" in low):
        return (DiagnosticKind.toolchain if severity == Severity.error else DiagnosticKind.warning), "z3"
    if severity == Severity.warning:
        return DiagnosticKind.warning, "escape-report" if is_escape_report(message, number) else "warning"
    if severity != Severity.error:
        return DiagnosticKind.other, "info"
    if number in _PARSE_NUMBERS or "syntax error" in low or "parse error" in low or "unexpected char" in low:
        return DiagnosticKind.parse, "syntax-error"
    if "identifier not found" in low or "name not found" in low or "not found in scope" in low or \
            "unbound" in low or number == 72:
        return DiagnosticKind.resolution, "unknown-identifier"
    if is_escape_report(message, number):
        return DiagnosticKind.other, "escape-report"
    if "rlimit" in low or ("resource" in low and ("limit" in low or "out of" in low)):
        return DiagnosticKind.resource_limit, "smt-rlimit"
    if "timeout" in low or "timed out" in low or "canceled" in low or "cancelled" in low:
        return DiagnosticKind.timeout, "smt-timeout"
    smt = number == 19 or "smt solver could not prove" in low or "could not prove" in low or \
        "assertion failed" in low or "subtyping check failed" in low
    if smt or "failed to prove" in low:
        if "decrease" in low or "termination" in low:
            return DiagnosticKind.decreases, "termination"
        if "postcondition" in low.replace("-", ""):
            return DiagnosticKind.postcondition, "smt-query-failed"
        if "precondition" in low.replace("-", ""):
            return DiagnosticKind.precondition, "smt-query-failed"
        if "subtyping check failed" in low or "refinement" in low:
            return DiagnosticKind.subset_type, "subtyping-check"
        return DiagnosticKind.assertion, "smt-query-failed"
    if "missing definition" in low:
        return DiagnosticKind.resolution, "missing-definition"
    if number in _RESOLUTION_NUMBERS or "expected type" in low or "expected expression of type" in low or \
            "type annotation" in low or "ill-typed" in low or "type of" in low:
        return DiagnosticKind.resolution, "type-error"
    return DiagnosticKind.other, "other"


def _pos(p) -> tuple[int | None, int | None]:
    if not isinstance(p, dict):
        return None, None
    line, col = p.get("line"), p.get("col")
    line = line if isinstance(line, int) and line >= 1 else None
    col = col + 1 if isinstance(col, int) and col >= 0 else None  # F* JSON columns are 0-based
    return line, col


def _make(severity: Severity, message: str, number: int | None, file: str, line, col, end_line, end_col,
          related: list[RelatedLocation] | None = None) -> Diagnostic:
    kind, fstar_kind = classify(message, number, severity)
    return Diagnostic(severity=severity, kind=kind, message=message or "(no message)", file=file, line=line,
                      column=col, end_line=end_line, end_column=end_col,
                      error_id=f"{severity.value.capitalize()} {number}" if number is not None else None,
                      source=fstar_kind, related=related or [])


def _from_json(obj: dict, resolve) -> Diagnostic | None:
    level = _LEVEL.get(str(obj.get("level", "")).lower())
    if level is None:
        return None
    message = _text(obj.get("msg", obj.get("message")))
    number = obj.get("number") if isinstance(obj.get("number"), int) else None
    rng = obj.get("range") if isinstance(obj.get("range"), dict) else None
    file, line, col, end_line, end_col = "", None, None, None, None
    related: list[RelatedLocation] = []
    if rng is not None:
        use = rng.get("use") if isinstance(rng.get("use"), dict) else None
        def_ = rng.get("def") if isinstance(rng.get("def"), dict) else None
        main = use or def_
        if main is not None:
            file = resolve(main.get("file_name"))
            line, col = _pos(main.get("start_pos"))
            end_line, end_col = _pos(main.get("end_pos"))
        if use is not None and def_ is not None and def_ != use:
            dl, dc = _pos(def_.get("start_pos"))
            del_, dec = _pos(def_.get("end_pos"))
            related.append(RelatedLocation(file=resolve(def_.get("file_name")), line=dl, column=dc, end_line=del_,
                                           end_column=dec, message="defined here"))
    return _make(level, message, number, file, line, col, end_line, end_col, related)


def parse_output(stdout: str, stderr: str, resolve=lambda name: str(name or "")) -> Parsed:
    """Read F*'s issues from both streams (JSON lines first, human formats as a fallback). `resolve` maps the
    file names F* printed to the names qed shows."""
    parsed = Parsed()
    for stream in (stderr, stdout):
        lines = stream.splitlines()
        i = 0
        while i < len(lines):
            raw = lines[i]
            line = raw.strip()
            i += 1
            if not line:
                continue
            if any(s in line for s in _SUCCESS):
                parsed.success_line = True
                continue
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except ValueError:
                    parsed.bad_json_lines += 1
                    parsed.other.append(raw[:500])
                    continue
                if isinstance(obj, dict):
                    d = _from_json(obj, resolve)
                    if d is not None:
                        parsed.json_lines += 1
                        parsed.diagnostics.append(d)
                        continue
                parsed.other.append(raw[:500])
                continue
            m = _NEW.match(line) or _NO_RANGE.match(line)
            if m:
                body: list[str] = []
                while i < len(lines) and (lines[i].startswith("  ") or not lines[i].strip()):
                    if lines[i].strip():
                        body.append(lines[i].strip().removeprefix("- ").strip())
                    i += 1
                parsed.diagnostics.append(_human(m, body, resolve))
                continue
            m = _OLD.match(line)
            if m:
                sev = Severity.error if m.group(6) == "Error" else Severity.warning
                num = int(m.group(7)) if m.group(7) else None
                parsed.diagnostics.append(_make(sev, m.group(8).strip(), num, resolve(m.group(1)), int(m.group(2)),
                                                int(m.group(3)) + 1, int(m.group(4)), int(m.group(5)) + 1))
                continue
            parsed.other.append(raw[:500])
    return parsed


def _human(m: re.Match, body: list[str], resolve) -> Diagnostic:
    sev = {"Error": Severity.error, "Warning": Severity.warning, "Info": Severity.info}[m.group(1)]
    num = int(m.group(2)) if m.group(2) and m.group(2).isdigit() else None
    message = "; ".join(" ".join(b.split()) for b in body if not b.startswith("See also"))
    if m.re is _NO_RANGE:
        return _make(sev, message, num, "", None, None, None, None)
    file = resolve(m.group(3))
    if m.group(4) is not None:  # (l,c-l,c): 0-based columns
        return _make(sev, message, num, file, int(m.group(4)), int(m.group(5)) + 1, int(m.group(6)),
                     int(m.group(7)) + 1)
    return _make(sev, message, num, file, int(m.group(8)), int(m.group(9)), int(m.group(10)), int(m.group(11)))


def diagnostic_from_ide(issue: dict, resolve) -> Diagnostic | None:
    """An issue of the `--ide` protocol (`{"level": "error", "number", "message", "ranges": [{"fname", "beg":
    [line, col], "end": [...]}]}`, columns 0-based) as a shared diagnostic."""
    if not isinstance(issue, dict):
        return None
    level = _LEVEL.get(str(issue.get("level", "")).lower())
    if level is None:
        return None
    message = _text(issue.get("message"))
    number = issue.get("number") if isinstance(issue.get("number"), int) else None
    ranges = [r for r in issue.get("ranges") or [] if isinstance(r, dict)]
    file, line, col, end_line, end_col = "", None, None, None, None

    def pair(v):
        if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) for x in v):
            return (v[0] if v[0] >= 1 else None), (v[1] + 1 if v[1] >= 0 else None)
        return None, None

    if ranges:
        file = resolve(ranges[0].get("fname"))
        line, col = pair(ranges[0].get("beg"))
        end_line, end_col = pair(ranges[0].get("end"))
    related = []
    for r in ranges[1:]:
        rl, rc = pair(r.get("beg"))
        related.append(RelatedLocation(file=resolve(r.get("fname")), line=rl, column=rc, message="defined here"))
    return _make(level, message, number, file, line, col, end_line, end_col, related)


def display_name(name: object, mapping: dict[str, str], default: str) -> str:
    """The file name qed shows for a name F* printed: snapshot names map back to the user's files."""
    if not isinstance(name, str) or not name or name in ("<input>", "<dummy>", "dummy"):
        return default
    base = Path(name).name
    return mapping.get(name) or mapping.get(base) or name
