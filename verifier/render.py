"""`qed verify`'s output from its JSON document (`VerifyReport.model_dump(mode="json")`): one line per problem
with its source line, then a summary; the `--json` text; the summary counts and the exit code.

Everything here works on plain JSON values, so that an answer from the result cache (`verifier.prestart`) is
printed by the same code as a fresh one, without loading the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_MARK = {"verified": "✓", "failed": "✗", "timeout": "⏱", "error": "!", "rejected": "⊘"}
VERDICTS = ("verified", "failed", "timeout", "error", "rejected")

Doc = dict[str, Any]


class _Sources:
    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def line(self, file: str, n: int | None) -> str | None:
        if n is None:
            return None
        if file not in self._lines:
            try:
                self._lines[file] = Path(file).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                self._lines[file] = []
        lines = self._lines[file]
        return lines[n - 1] if 0 < n <= len(lines) else None


def _pos(file: str, line: int | None, col: int | None) -> str:
    if line is None:
        return file
    return f"{file}:{line}:{col}" if col else f"{file}:{line}"


def _harmless(d: Doc) -> bool:
    return d["severity"] == "warning" and d.get("warning_class") in ("style", "trigger")


def render_result(r: Doc, sources: _Sources) -> list[str]:
    out: list[str] = []

    def show(file: str, line: int | None) -> None:
        text = sources.line(file, line)
        if text is not None:
            out.append(f"    {line:>4} | {text.rstrip()}")

    for v in r["integrity"]:
        where = f" in {v['member']}" if v.get("member") else ""
        out.append(f"{_pos(v['file'], v.get('line'), v.get('column'))}: rejected [{v['rule']}]{where}: {v['message']}")
        show(v["file"], v.get("line"))
    reported = {(v["file"], v.get("line")) for v in r["integrity"]}
    for d in r["diagnostics"]:
        if _harmless(d):
            continue  # counted in the summary line; they never fail a proof
        if d["severity"] == "warning" and (d["file"], d.get("line")) in reported:
            continue  # already shown as an integrity violation
        where = f" in {d['member']}" if d.get("member") else ""
        out.append(f"{_pos(d['file'], d.get('line'), d.get('column'))}: {d['severity']} [{d['kind']}]{where}: "
                   f"{d['message']}")
        show(d["file"], d.get("line"))
        for rel in d.get("related", []):
            if rel.get("line") is not None:
                out.append(f"  {_pos(rel['file'], rel['line'], rel.get('column'))}: related: {rel.get('message', '')}")
            elif rel.get("message"):
                out.append(f"  related: {rel['message']}")
    quiet = sum(1 for d in r["diagnostics"] if _harmless(d))
    extra = []
    tc = r.get("toolchain")
    if r["members"]:
        ok = sum(1 for m in r["members"] if m["outcome"] == "verified")
        extra.append(f"{tc['name'] if tc else 'verifier'} proved {ok}/{len(r['members'])} members")
    if quiet:
        extra.append(f"{quiet} style/trigger warning{'s' if quiet != 1 else ''} (harmless)")
    n = len(r["assumptions"])
    if n:
        extra.append(f"{n} trusted assumption{'s' if n != 1 else ''} from the contract")
    if r.get("cached"):
        extra.append("cached")
    if r.get("scope"):
        extra.append("only " + ", ".join(r["scope"]))
    tail = f" ({'; '.join(extra)})" if extra else ""
    note = f" -- {r['note']}" if r.get("note") else ""
    out.append(f"{_MARK.get(r['verdict'], '?')} {r['file']}: {r['verdict']}{tail} in {r['duration_s']:.1f} s{note}")
    for a in r["assumptions"]:
        out.append(f"  trusted from the contract: {_pos(a['file'], a.get('line'), None)}: {a['what']}")
    return out


def render_report(report: Doc) -> str:
    """The human output of a `VerifyReport` document."""
    sources = _Sources()
    lines: list[str] = []
    for r in report["results"]:
        lines += render_result(r, sources)
    s = report["summary"]
    parts = [f"{s['verified']} verified"] + [f"{s[k]} {k}" for k in VERDICTS[1:] if s[k]]
    tc = next((r["toolchain"] for r in report["results"] if r.get("toolchain")), None)
    by = f" with {tc['name']} {tc['version']}" + (f" ({tc['solver']})" if tc.get("solver") else "") if tc else ""
    lines.append(f"{s['files']} file{'s' if s['files'] != 1 else ''}: {', '.join(parts)}{by} in "
                 f"{s['duration_s']:.1f} s")
    return "\n".join(lines)


def render_json(report: Doc) -> str:
    """The `--json` text of a `VerifyReport` document."""
    return json.dumps(report, indent=2, ensure_ascii=False)


def summary_of(results: list[Doc], duration_s: float) -> Doc:
    """The `summary` of a report: files, one count per verdict, duration (the fields of `VerifySummary`)."""
    counts = {v: 0 for v in VERDICTS}
    for r in results:
        counts[r["verdict"]] += 1
    return {"files": len(results), **counts, "duration_s": round(duration_s, 3)}


def exit_code_of(results: list[Doc]) -> int:
    """0 all verified and accepted; 3 the verifier crashed on some file; 1 otherwise."""
    if any(r.get("verifier_crashed") for r in results):
        return 3
    return 0 if all(r["verdict"] == "verified" for r in results) else 1
