"""`qed check`'s report formats, from its JSON document (`CheckReport.model_dump(mode="json")`): the human
summary, SARIF 2.1.0 (for GitHub code scanning) and JUnit XML (for CI test tabs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from verifier import __version__
from verifier.check_models import AUDIT_RULES, CONTRACT_RULES
from verifier.render import render_report

Doc = dict[str, Any]

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

#: help for diagnostic kinds (rule ids `verify/<kind>`): what the verifier could not prove, whatever the language
_KIND_HELP = {
    "precondition": "A call's precondition could not be proved at this call site.",
    "postcondition": "A postcondition could not be proved on some return path.",
    "invariant_entry": "A loop invariant could not be proved on entry to the loop.",
    "invariant_maintained": "A loop invariant could not be proved to be maintained by the loop body.",
    "invariant": "A loop invariant could not be proved.",
    "assertion": "An assertion could not be proved.",
    "decreases": "Termination could not be proved: a decreases measure may not decrease.",
    "frame": "A write outside the modifies frame.",
    "reads": "A read outside the reads frame.",
    "index_out_of_range": "An index may be out of range.",
    "division_by_zero": "A divisor may be zero.",
    "null_dereference": "A reference may be null.",
    "subset_type": "A value may violate a subset type or newtype constraint.",
    "definite_assignment": "A variable may be used before it is assigned.",
    "well_formedness": "An expression may not be well-formed here.",
    "timeout": "The solver ran out of time on this proof obligation.",
    "resource_limit": "The solver ran out of resources on this proof obligation (the deterministic limit).",
    "parse": "The file does not parse.",
    "resolution": "The file does not resolve (a name or type error).",
    "warning": "The verifier warns about this.",
    "toolchain": "The verifier itself failed.",
    "other": "The verifier reported an error.",
}


def _harmless(d: Doc) -> bool:
    return d["severity"] == "warning" and d.get("warning_class") in ("style", "trigger")


# --- human -----------------------------------------------------------------------------------------------------


def render_human(doc: Doc) -> str:
    """The `qed verify` report of the files checked, then what was skipped, approved and reviewed, and the gate."""
    lines: list[str] = []
    if doc["results"]:
        lines.append(render_report({"results": doc["results"], "summary": doc["summary"]}))
    for s in doc["skipped"]:
        lines.append(f"- {s['file']}: skipped: {s['reason']}")
    for a in doc["approved"]:
        where = f"{a['file']}:{a['line']}" if a.get("line") else a["file"]
        lines.append(f"approved: {where}: [{a['rule']}] by {a['approved_by']} ({a['reason']}): {a['message']}")
    for e in doc["contract_review"]:
        users = f" (contract of {', '.join(e['used_by'])})" if e["role"] == "spec" and e["used_by"] else ""
        lines.append(f"contract changed: {e['file']}{users}: {e['status'].replace('_', ' ')}")
        for m in e["members"]:
            lines.append(f"  {m['change']} {m['kind']} {m['name']}".rstrip())
            lines += [f"    + {c['keyword']} {c['text']}" for c in m["added"]]
            lines += [f"    - {c['keyword']} {c['text']}" for c in m["removed"]]
            if m["signature_changed"]:
                lines.append("    signature changed")
            if m["definition_changed"]:
                lines.append("    definition changed")
        for f in e["findings"]:
            where = f"{e['file']}:{f['line']}" if f.get("line") else e["file"]
            ok = f" -- approved by {f['approved']['approved_by']} ({f['approved']['reason']})" if f.get("approved") else ""
            lines.append(f"  {where}: {f['status'].replace('_', ' ')} [{f['rule']}] ({f['how']}): {f['message']}{ok}")
        if e.get("note"):
            lines.append(f"  note: {e['note']}")
    for a in doc.get("audit", []):
        head = f"audit: {a['file']} against {a['contract']}"
        if not a["audited"]:
            lines.append(f"{head}: {a.get('note') or 'not audited'}")
            continue
        lines.append(f"{head}: {len(a['findings'])} finding(s)")
        for f in a["findings"]:
            where = f"{f['file']}:{f['line']}" if f.get("line") else f["file"]
            ok = f" -- approved by {f['approved']['approved_by']} ({f['approved']['reason']})" if f.get("approved") else ""
            lines.append(f"  {where}: {f['member']}: {f['kind']} [{f['rule']}]: {f['message']}{ok}")
            if f["kind"] == "surviving_mutant" and f["evidence"].get("diff"):
                lines += ["    " + ln for ln in str(f["evidence"]["diff"]).rstrip().splitlines()]
    s = doc["summary"]
    base = f" since {doc['base']['ref']} ({doc['base']['commit'][:12]})" if doc.get("base") else ""
    cached = sum(1 for r in doc["results"] if r.get("cached"))
    lines.append(f"qed check{base}: {s['selected']} selected, {s['files']} checked ({s['verified']} verified; "
                 f"{cached} answered from the cache), "
                 f"{s['skipped']} skipped, {s['contracts_changed']} contract(s) changed "
                 f"({s['contracts_weakened']} weakened, {s['contracts_undecided']} undecided)")
    gate = doc["gate"]
    if gate["passed"]:
        lines.append("gate: passed")
    else:
        lines.append(f"gate: FAILED ({len(gate['reasons'])} reason(s))")
        lines += [f"  {r}" for r in gate["reasons"][:50]]
    return "\n".join(lines)


# --- SARIF -----------------------------------------------------------------------------------------------------


def render_sarif(doc: Doc, uri: Callable[[str], str], rule_help: dict[str, tuple[str, str]]) -> str:
    """SARIF 2.1.0: one result per diagnostic (harmless style/trigger warnings left out), per integrity
    violation and per contract finding that weakens or may weaken; `uri(file)` gives a path relative to the
    repository root; `rule_help` the backends' rule table."""
    rules: dict[str, dict] = {}
    results: list[dict] = []

    def rule(rid: str, name: str, short: str, full: str, level: str) -> int:
        if rid not in rules:
            rules[rid] = {"id": rid, "name": _camel(name), "shortDescription": {"text": short},
                          "fullDescription": {"text": full}, "help": {"text": full},
                          "defaultConfiguration": {"level": level}}
        return list(rules).index(rid)

    def location(file: str, line: int | None, col: int | None = None, end_line: int | None = None,
                 end_col: int | None = None, message: str | None = None) -> dict:
        phys: dict = {"artifactLocation": {"uri": uri(file), "uriBaseId": "%SRCROOT%"}}
        if line is not None and line >= 1:
            region: dict = {"startLine": line}
            if col is not None and col >= 1:
                region["startColumn"] = col
            if end_line is not None and end_line >= line:
                region["endLine"] = end_line
                if end_col is not None and end_col >= 1 and (end_line > line or col is None or end_col >= col):
                    region["endColumn"] = end_col
            phys["region"] = region
        loc: dict = {"physicalLocation": phys}
        if message:
            loc["message"] = {"text": message}
        return loc

    for r in doc["results"]:
        for v in r["integrity"]:
            name, text = rule_help.get(v["rule"], (v["rule"], f"Integrity rule {v['rule']} of the backend."))
            idx = rule(v["rule"], name, name, text, "error")
            results.append({"ruleId": v["rule"], "ruleIndex": idx, "level": "error",
                            "message": {"text": v["message"]},
                            "locations": [location(v["file"], v.get("line"), v.get("column"))],
                            "properties": {"verdict": r["verdict"], "family": v["family"],
                                           "member": v.get("member")}})
        for d in r["diagnostics"]:
            if _harmless(d):
                continue
            rid = f"verify/{d['kind']}"
            help_text = _KIND_HELP.get(d["kind"], _KIND_HELP["other"])
            level = {"error": "error", "warning": "warning"}.get(d["severity"], "note")
            idx = rule(rid, d["kind"], help_text, help_text, level)
            res = {"ruleId": rid, "ruleIndex": idx, "level": level, "message": {"text": d["message"]},
                   "locations": [location(d["file"], d.get("line"), d.get("column"), d.get("end_line"),
                                          d.get("end_column"))],
                   "properties": {"verdict": r["verdict"], "member": d.get("member")}}
            related = [location(x["file"], x.get("line"), x.get("column"), x.get("end_line"), x.get("end_column"),
                                x.get("message") or None) for x in d.get("related", []) if x.get("file")]
            if related:
                for i, x in enumerate(related):
                    x["id"] = i
                res["relatedLocations"] = related
            results.append(res)
        if r["verdict"] != "verified" and not r["integrity"] and not any(
                d["severity"] == "error" for d in r["diagnostics"]):
            # a verdict no diagnostic explains (a crash, a time-out of the whole run): still one result
            rid = f"verify/{r['verdict']}"
            text = f"The file's verdict is {r['verdict']}."
            idx = rule(rid, r["verdict"], text, text, "error")
            results.append({"ruleId": rid, "ruleIndex": idx, "level": "error",
                            "message": {"text": f"{r['file']}: {r['verdict']}" + (f" ({r['note']})" if r.get("note")
                                                                                 else "")},
                            "locations": [location(r["file"], None)]})
    for e in doc["contract_review"]:
        for f in e["findings"]:
            if f["status"] == "not_weakened":
                continue
            name, text = CONTRACT_RULES[f["rule"]]
            level = "error" if f["status"] == "weakened" else "warning"
            idx = rule(f["rule"], name, name, text, level)
            res = {"ruleId": f["rule"], "ruleIndex": idx, "level": level,
                   "message": {"text": f"{f['message']} ({f['how']})"},
                   "locations": [location(e["file"], f.get("line"))],
                   "properties": {"member": f["member"], "what": f["what"], "usedBy": e["used_by"]}}
            if f.get("approved"):
                res["suppressions"] = [{"kind": "external", "status": "accepted",
                                        "justification": f"{f['approved']['reason']} (approved by "
                                                         f"{f['approved']['approved_by']})"}]
            results.append(res)
    for a in doc.get("audit", []):
        for f in a["findings"]:
            _kind, name, text = AUDIT_RULES[f["rule"]]
            idx = rule(f["rule"], name, name, text, "error")
            res = {"ruleId": f["rule"], "ruleIndex": idx, "level": "error",
                   "message": {"text": f"{f['member']}: {f['kind']}: {f['message']}"},
                   "locations": [location(f["file"], f.get("line"))],
                   "properties": {"member": f["member"], "kind": f["kind"], "contract": a["contract"],
                                  "checkedFile": a["file"], "evidence": f["evidence"]}}
            if f.get("approved"):
                res["suppressions"] = [{"kind": "external", "status": "accepted",
                                        "justification": f"{f['approved']['reason']} (approved by "
                                                         f"{f['approved']['approved_by']})"}]
            results.append(res)
    run = {"tool": {"driver": {"name": "qed", "fullName": "qedgen qed check", "version": __version__,
                               "semanticVersion": __version__, "rules": list(rules.values())}},
           "results": results,
           "invocations": [{"executionSuccessful": True, "exitCode": doc["exit_code"]}],
           "columnKind": "unicodeCodePoints"}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False)


def _camel(text: str) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"


# --- JUnit -----------------------------------------------------------------------------------------------------


def render_junit(doc: Doc) -> str:
    """JUnit XML: a test suite per checked file with one test case per member (a file without members: one
    case for the file), a failure with the message for each member that is not verified or breaks a rule;
    skipped files as skipped cases; one suite for the contract review."""
    root = ET.Element("testsuites", name="qed check")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def suite(name: str, time_s: float = 0.0) -> ET.Element:
        return ET.SubElement(root, "testsuite", name=name, time=f"{time_s:.3f}")

    def case(parent: ET.Element, classname: str, name: str, time_s: float | None = None) -> ET.Element:
        attrs = {"classname": classname, "name": name}
        if time_s is not None:
            attrs["time"] = f"{time_s:.3f}"
        return ET.SubElement(parent, "testcase", **attrs)

    def close(s: ET.Element, counts: dict) -> None:
        for k, v in counts.items():
            s.set(k, str(v))
            totals[k] += v

    for r in doc["results"]:
        s = suite(r["file"], r["duration_s"])
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        problems: dict[str | None, list[str]] = {}
        for v in r["integrity"]:
            problems.setdefault(v.get("member"), []).append(_line(v["file"], v.get("line"), f"[{v['rule']}] "
                                                                                            f"{v['message']}"))
        for d in r["diagnostics"]:
            if d["severity"] == "error":
                problems.setdefault(d.get("member"), []).append(_line(d["file"], d.get("line"), d["message"]))
        members = r["members"] or []
        names = [m["name"] for m in members]
        for m in members:
            c = case(s, r["file"], m["name"], m.get("duration_s"))
            counts["tests"] += 1
            mine = problems.get(m["name"], []) + [p for k, ps in problems.items() if k and k not in names
                                                  and m["name"].endswith("." + k) for p in ps]
            if m["outcome"] != "verified" or mine:
                counts["failures"] += 1
                f = ET.SubElement(c, "failure", message=(mine[0] if mine else f"{m['name']}: {m['outcome']}")[:500],
                                  type=m["outcome"] if m["outcome"] != "verified" else r["verdict"])
                f.text = "\n".join(mine) or f"{m['name']}: {m['outcome']}"
        unplaced = [p for k, ps in problems.items() if k is None or (k not in names and not any(
            n.endswith("." + k) for n in names)) for p in ps]
        if not members or (r["verdict"] != "verified" and unplaced) or (
                r["verdict"] != "verified" and all(m["outcome"] == "verified" for m in members) and not any(
                    problems.values())):
            c = case(s, r["file"], "(file)", r["duration_s"])
            counts["tests"] += 1
            if r["verdict"] != "verified":
                kind = "error" if r["verdict"] == "error" or r.get("verifier_crashed") else "failure"
                counts["errors" if kind == "error" else "failures"] += 1
                msg = unplaced[0] if unplaced else f"{r['file']}: {r['verdict']}" + (
                    f" ({r['note']})" if r.get("note") else "")
                f = ET.SubElement(c, kind, message=msg[:500], type=r["verdict"])
                f.text = "\n".join(unplaced) or msg
        close(s, counts)
    if doc["skipped"]:
        s = suite("skipped")
        for sk in doc["skipped"]:
            c = case(s, sk["file"], "(file)")
            ET.SubElement(c, "skipped", message=sk["reason"])
        close(s, {"tests": len(doc["skipped"]), "failures": 0, "errors": 0, "skipped": len(doc["skipped"])})
    if doc["contract_review"]:
        s = suite("contract review")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        gate_on = doc["gate"]["fail_on_weakened_contract"]
        for e in doc["contract_review"]:
            c = case(s, e["file"], f"contract of {', '.join(e['used_by']) or e['file']}")
            counts["tests"] += 1
            bad = [f for f in e["findings"] if f["status"] != "not_weakened" and not f.get("approved")]
            if bad and gate_on:
                counts["failures"] += 1
                f = ET.SubElement(c, "failure", message=bad[0]["message"][:500], type=f"contract {bad[0]['status']}")
                f.text = "\n".join(_line(e["file"], x.get("line"), f"[{x['rule']}] {x['message']}") for x in bad)
            else:
                out = ET.SubElement(c, "system-out")
                out.text = "\n".join(_line(e["file"], x.get("line"), f"{x['status']} [{x['rule']}] {x['message']}")
                                     for x in e["findings"]) or "changed, not weakened"
        close(s, counts)
    if doc.get("audit"):
        s = suite("contract audit")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for a in doc["audit"]:
            counts["tests"] += 1
            c = case(s, a["contract"], f"audit of {a['contract']} with {a['file']}")
            if not a["audited"]:
                ET.SubElement(c, "system-out").text = a.get("note") or "not audited"
                continue
            for f in a["findings"]:
                line = _line(f["file"], f.get("line"), f"{f['member']}: {f['kind']} [{f['rule']}] {f['message']}")
                if f.get("approved"):
                    ET.SubElement(c, "system-out").text = f"{line} -- approved by {f['approved']['approved_by']}"
                    continue
                counts["failures"] += 1
                x = ET.SubElement(c, "failure", message=f"{f['member']}: {f['message']}"[:500], type=f["kind"])
                x.text = line
        close(s, counts)
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{doc['summary']['duration_s']:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _line(file: str, line: int | None, message: str) -> str:
    return f"{file}:{line}: {message}" if line else f"{file}: {message}"


def to_uri(file: str, root: Path, top: Path | None) -> str:
    """`file` (relative to the config folder, or absolute) as a URI relative to the repository top."""
    p = Path(file)
    full = p if p.is_absolute() else root / p
    if top is not None:
        try:
            return full.resolve().relative_to(top).as_posix()
        except ValueError:
            pass
    try:
        return full.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return full.resolve().as_uri()
