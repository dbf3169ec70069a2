"""Parsers for what `dafny verify` prints: `--json-output` lines, the plain text format, and `--log-format json`.

All positions come out 1-based (Dafny prints 1-based lines and 0-based columns). `end_column` is exclusive.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

from verifier.models import Diagnostic, DiagnosticKind, MemberOutcome, RelatedLocation, Severity

from .messages import classify_error, classify_warning, format_message, member_of_log_name

_SEVERITY = {1: Severity.error, 2: Severity.warning, 3: Severity.info, 4: Severity.info}


@dataclass
class ParsedOutput:
    """Everything one `dafny verify` run said, in order."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    status: list[str] = field(default_factory=list)  # summary/status lines
    other: list[str] = field(default_factory=list)  # anything unrecognised (crash traces, program output)


def _path_of(location: dict) -> str:
    uri = location.get("uri")
    if uri and uri.startswith("file://"):
        return unquote(urlparse(uri).path)
    return location.get("filePath") or location.get("filename") or "<unknown>"


def _position(location: dict) -> tuple[int | None, int | None, int | None, int | None]:
    rng = location.get("range") or {}
    start, end = rng.get("start") or {}, rng.get("end") or {}
    line = start.get("line")
    if line is None or line < 1:  # Dafny uses line -1 for whole-project messages
        return None, None, None, None
    col = start.get("character")
    end_line = end.get("line")
    end_col = end.get("character")
    return (
        line,
        None if col is None else col + 1,
        end_line if end_line and end_line >= 1 else None,
        None if end_col is None or not end_line or end_line < 1 else end_col + 1,
    )


def _diagnostic_from_json(value: dict) -> Diagnostic:
    loc = value.get("location") or {}
    line, col, end_line, end_col = _position(loc)
    severity = _SEVERITY.get(value.get("severity"), Severity.error)
    text = value.get("defaultFormatMessage")
    text = format_message(text, value.get("arguments")) if text is not None else value.get("message", "")
    if text.startswith(("Error: ", "Warning: ")):  # legacy --json-diagnostics form
        text = text.split(": ", 1)[1]
    message, *extra = text.split("\n")
    related = [
        RelatedLocation(file=_path_of(r.get("location") or {}), **_related_pos(r.get("location") or {}),
                        message=format_message(r.get("defaultFormatMessage") or r.get("message") or "",
                                               r.get("arguments")))
        for r in value.get("relatedInformation") or []
    ]
    file = _path_of(loc)
    related += _related_messages(extra, file, line, col)
    return make_diagnostic(severity, message, file, line, col, end_line, end_col,
                           source=value.get("source"), error_id=value.get("errorId") or None, related=related)


def _related_pos(loc: dict) -> dict:
    line, col, end_line, end_col = _position(loc)
    return {"line": line, "column": col, "end_line": end_line, "end_column": end_col}


def _related_messages(extra: list[str], file: str, line: int | None, col: int | None) -> list[RelatedLocation]:
    out = []
    for chunk in extra:
        chunk = chunk.strip()
        if chunk:
            chunk = chunk.removeprefix("Related message:").strip()
            out.append(RelatedLocation(file=file, line=line, column=col, message=chunk))
    return out


def make_diagnostic(
    severity: Severity,
    message: str,
    file: str,
    line: int | None,
    column: int | None,
    end_line: int | None = None,
    end_column: int | None = None,
    *,
    source: str | None = None,
    error_id: str | None = None,
    related: list[RelatedLocation] | None = None,
) -> Diagnostic:
    """Build a Diagnostic with its normalised kind (and warning class for warnings)."""
    if severity == Severity.error:
        kind, wclass = classify_error(message, source), None
    elif severity == Severity.warning:
        kind, wclass = DiagnosticKind.warning, classify_warning(message)
    else:
        kind, wclass = DiagnosticKind.other, None
    return Diagnostic(
        severity=severity, kind=kind, message=message, file=file, line=line, column=column,
        end_line=end_line, end_column=end_column, source=source, error_id=error_id,
        warning_class=wclass, related=related or [],
    )


def parse_json_output(stdout: str) -> ParsedOutput:
    """Parse `dafny verify --json-output`: one `{"type": ..., "value": ...}` object per line."""
    out = ParsedOutput()
    for raw in stdout.splitlines():
        line = raw.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            out.other.append(raw)
            continue
        if not isinstance(obj, dict):
            out.other.append(raw)
            continue
        kind, value = obj.get("type"), obj.get("value")
        try:
            if kind == "diagnostic" and isinstance(value, dict):
                out.diagnostics.append(_diagnostic_from_json(value))
            elif kind == "status" and isinstance(value, str):
                out.status.extend(s.strip() for s in value.splitlines() if s.strip())
            elif "location" in obj and "severity" in obj:  # legacy --json-diagnostics
                out.diagnostics.append(_diagnostic_from_json(obj))
            else:
                out.other.append(value if isinstance(value, str) else raw)
        except (TypeError, ValueError, AttributeError, KeyError):  # well-formed JSON of an unexpected shape
            out.other.append(raw)
    return out


# file(line,col): Severity: message     (also file(l:c-l:c) with --print-ranges)
_TEXT_LINE = re.compile(
    r"^(?P<file>.+?)\((?P<line>-?\d+)[,:](?P<col>-?\d+)(?:-(?P<eline>\d+):(?P<ecol>\d+))?\): "
    r"(?P<sev>Error|Warning|Info|Related location)(?:\s*\((?P<id>[\w.-]+)\))?: (?P<msg>.*)$"
)
_SNIPPET = re.compile(r"^\s*(\d+\s*)?\|")
_SUMMARY = re.compile(r"^Dafny program verifier (finished|did not attempt)|errors? detected in|^Compilation failed"
                      r"|^\d+ (parse|resolution)|^Dafny auditor completed")


def parse_text_output(stdout: str) -> ParsedOutput:
    """Parse Dafny's human-readable output (any 4.x; snippets on or off)."""
    out = ParsedOutput()
    last: Diagnostic | None = None
    for raw in stdout.splitlines():
        if not raw.strip():
            continue
        m = _TEXT_LINE.match(raw)
        if m:
            line = int(m["line"])
            line_ok = line >= 1
            col = int(m["col"]) + 1 if line_ok else None
            eline = int(m["eline"]) if m["eline"] and line_ok else None
            ecol = int(m["ecol"]) + 1 if m["ecol"] and line_ok else None
            if m["sev"] == "Related location":
                if last is not None:
                    last.related.append(RelatedLocation(file=m["file"], line=line if line_ok else None,
                                                        column=col, end_line=eline, end_column=ecol, message=m["msg"]))
                continue
            sev = {"Error": Severity.error, "Warning": Severity.warning, "Info": Severity.info}[m["sev"]]
            last = make_diagnostic(sev, m["msg"], m["file"], line if line_ok else None, col, eline, ecol,
                                   error_id=m["id"], source=_text_source(m["msg"], sev))
            out.diagnostics.append(last)
        elif raw.lstrip().startswith("Related message:") and last is not None:
            last.related.append(RelatedLocation(file=last.file, line=last.line, column=last.column,
                                                message=raw.strip().removeprefix("Related message:").strip()))
        elif _SNIPPET.match(raw):
            continue
        elif _SUMMARY.search(raw):
            out.status.append(raw.strip())
            if "parse errors detected" in raw:
                _retag(out.diagnostics, DiagnosticKind.parse)
            elif "resolution/type errors detected" in raw:
                _retag(out.diagnostics, DiagnosticKind.resolution)
        else:
            out.other.append(raw)
    return out


def _text_source(message: str, severity: Severity) -> str | None:
    # The text format does not name the phase; the summary line fixes parse/resolution errors up afterwards.
    return "Verifier" if severity == Severity.error else None


def _retag(diags: list[Diagnostic], kind: DiagnosticKind) -> None:
    for d in diags:
        if d.severity == Severity.error and d.source == "Verifier":
            d.kind = kind
            d.source = "Parser" if kind == DiagnosticKind.parse else "Resolver"


_OUTCOMES = {
    "Correct": "verified",
    "Errors": "failed",
    "TimedOut": "timeout",
    "OutOfResource": "out_of_resource",
    "OutOfMemory": "error",
    "Inconclusive": "inconclusive",
    "SolverException": "error",
}
_ORDER = ["verified", "inconclusive", "out_of_resource", "timeout", "failed", "error"]


def _seconds(run_time: str | None) -> float | None:
    if not run_time:
        return None
    m = re.match(r"^(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$", run_time)
    if not m:
        return None
    days, h, mi, s = m.groups()
    return timedelta(days=int(days or 0), hours=int(h), minutes=int(mi), seconds=float(s)).total_seconds()


def parse_log(path: Path) -> list[MemberOutcome]:
    """Per-member outcomes from a `--log-format json;LogFileName=...` file, merged across
    well-formedness/correctness tasks (the worst outcome wins). Missing or broken file: empty list."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = data.get("verificationResults") if isinstance(data, dict) else None
    try:
        return _merge([e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else [])
    except (ValueError, TypeError, AttributeError):  # a log cut short or garbled: no member outcomes
        return []


def _merge(entries: list[dict]) -> list[MemberOutcome]:
    merged: dict[str, MemberOutcome] = {}
    for entry in entries:
        name, _task = member_of_log_name(str(entry.get("name", "?")))
        outcome = _OUTCOMES.get(entry.get("outcome"), "error")
        secs = _seconds(entry.get("runTime"))
        vc_secs = [_seconds(vc.get("runTime")) for vc in entry.get("vcResults") or []]
        if vc_secs and all(v is not None for v in vc_secs):
            secs = max(secs or 0.0, sum(vc_secs))
        rc = entry.get("resourceCount")
        prev = merged.get(name)
        if prev is None:
            merged[name] = MemberOutcome(name=name, outcome=outcome, duration_s=secs, resource_count=rc)
        else:
            if _ORDER.index(outcome) > _ORDER.index(prev.outcome):
                prev.outcome = outcome
            prev.duration_s = (prev.duration_s or 0.0) + (secs or 0.0)
            prev.resource_count = (prev.resource_count or 0) + (rc or 0)
    return list(merged.values())
