"""Compact human output: one line per problem with its source line, then a summary."""

from __future__ import annotations

from pathlib import Path

from verifier.models import FileResult, VerifyReport

_MARK = {"verified": "✓", "failed": "✗", "timeout": "⏱", "error": "!", "rejected": "⊘"}


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


def render_result(r: FileResult, sources: _Sources) -> list[str]:
    out: list[str] = []

    def show(file: str, line: int | None) -> None:
        text = sources.line(file, line)
        if text is not None:
            out.append(f"    {line:>4} | {text.rstrip()}")

    for v in r.integrity:
        where = f" in {v.member}" if v.member else ""
        out.append(f"{_pos(v.file, v.line, v.column)}: rejected [{v.rule}]{where}: {v.message}")
        show(v.file, v.line)
    reported = {(v.file, v.line) for v in r.integrity}
    for d in r.diagnostics:
        if d.severity == "warning" and d.warning_class in ("style", "trigger"):
            continue  # counted in the summary line; they never fail a proof
        if d.severity == "warning" and (d.file, d.line) in reported:
            continue  # already shown as an integrity violation
        where = f" in {d.member}" if d.member else ""
        out.append(f"{_pos(d.file, d.line, d.column)}: {d.severity} [{d.kind}]{where}: {d.message}")
        show(d.file, d.line)
        for rel in d.related:
            if rel.line is not None:
                out.append(f"  {_pos(rel.file, rel.line, rel.column)}: related: {rel.message}")
            elif rel.message:
                out.append(f"  related: {rel.message}")
    quiet = sum(1 for d in r.diagnostics if d.severity == "warning" and d.warning_class in ("style", "trigger"))
    extra = []
    if r.members:
        ok = sum(1 for m in r.members if m.outcome == "verified")
        extra.append(f"{r.toolchain.name if r.toolchain else 'verifier'} proved {ok}/{len(r.members)} members")
    if quiet:
        extra.append(f"{quiet} style/trigger warning{'s' if quiet != 1 else ''} (harmless)")
    if r.assumptions:
        extra.append(f"{len(r.assumptions)} trusted assumption{'s' if len(r.assumptions) != 1 else ''} from the contract")
    if r.cached:
        extra.append("cached")
    if r.scope:
        extra.append("only " + ", ".join(r.scope))
    tail = f" ({'; '.join(extra)})" if extra else ""
    note = f" -- {r.note}" if r.note else ""
    out.append(f"{_MARK.get(r.verdict, '?')} {r.file}: {r.verdict}{tail} in {r.duration_s:.1f} s{note}")
    for a in r.assumptions:
        out.append(f"  trusted from the contract: {_pos(a.file, a.line, None)}: {a.what}")
    return out


def render_report(report: VerifyReport) -> str:
    sources = _Sources()
    lines: list[str] = []
    for r in report.results:
        lines += render_result(r, sources)
    s = report.summary
    parts = [f"{s.verified} verified"] + [f"{n} {k}" for k, n in
                                          (("failed", s.failed), ("timeout", s.timeout), ("error", s.error),
                                           ("rejected", s.rejected)) if n]
    tc = next((r.toolchain for r in report.results if r.toolchain), None)
    by = f" with {tc.name} {tc.version}" + (f" ({tc.solver})" if tc and tc.solver else "") if tc else ""
    lines.append(f"{s.files} file{'s' if s.files != 1 else ''}: {', '.join(parts)}{by} in {s.duration_s:.1f} s")
    return "\n".join(lines)
