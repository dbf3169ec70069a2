"""`qed check`: verify what a project's config selects, as a CI gate.

1. Load the config (`verifier.project`) and select the files (`include` minus `exclude`, each with its contract
   and limits). PATHS, when given, keep the files that are, include, or are checked against one of them.
2. With `--changed-since REF`, keep only the files whose content, includes (`Capability.dependencies`) or
   contract differ from REF (git); the others are answered from the result cache, or listed as skipped (never
   as verified) when the cache has no answer for them.
3. Verify in parallel (`--workers`); every check is content-addressed, so an unchanged one is not run again.
4. Apply the allow-list: an approved integrity violation becomes a listed trusted assumption; a file rejected
   only for approved violations, whose proofs all went through, counts as verified (and says why).
5. With a base ref, review every contract that changed (`Capability.contract_review`): members, clauses added
   and removed, weakening by form and by asking the verifier. `--fail-on-weakened-contract` fails the gate on
   a weakened or undecided contract unless an `[[allow]]` entry approves it (rule QED-C001 / QED-C002).
6. With `--audit`, audit the contract of every verified file that has one, the file being the implementation
   (`verifier.check_audit`); a finding fails the gate unless an `[[allow]]` entry approves it (QED-A-<kind>).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from backends import registry
from backends.base import Capability, CheckRequest
from verifier.errors import BadInput, ToolchainError
from verifier.project import Project, load_project, matches

if TYPE_CHECKING:
    from backends.base import Backend, BackendConfig
    from verifier.check_models import CheckReport, ContractEvent
    from verifier.models import FileResult


@dataclass(frozen=True)
class CheckOptions:
    """What `qed check` was asked."""

    paths: tuple[Path, ...] = ()
    changed_since: str | None = None
    workers: int | None = None
    fail_on_weakened_contract: bool = False
    use_cache: bool = True
    config: Path | None = None
    start: Path | None = None  # where to look for the config (default: the current folder)
    configs: dict[str, BackendConfig] = field(default_factory=dict)
    audit: bool = False
    audit_mutants: int = 8


@dataclass
class _Target:
    """One selected file: where it is, what it is checked against, what its verdict depends on."""

    path: Path
    rel: str
    language: str
    contract: tuple[str, Path] | None
    depends: set[Path] = field(default_factory=set)
    request: CheckRequest | None = None


def run_check(opts: CheckOptions) -> CheckReport:
    """Run the gate and return its report (see the module docstring). Raises BadInput / ToolchainError for
    problems that are not about a file's proof."""
    from verifier.parallel import default_workers

    started = time.monotonic()
    project = load_project(opts.config, start=opts.start)
    targets = select(project)
    backends: dict[str, Backend] = {}
    try:
        for t in targets:
            backend = _backend(t.language, opts, backends)
            _prepare(project, t, backend)
        _check_pins(project, backends)
        if opts.paths:
            targets = _restrict(targets, opts.paths)
        base = changed = repo = None
        if opts.changed_since is not None:
            from verifier.gitrepo import Repo

            repo = Repo.at(project.root)
            commit = repo.resolve(opts.changed_since)
            changed = repo.changed_since(commit)
            base = {"ref": opts.changed_since, "commit": commit}
        to_run = [t for t in targets if changed is None or t.depends & changed]
        from verifier.check_models import Skipped
        from verifier.models import FileResult

        answered: dict[str, FileResult] = {}
        skipped: list[Skipped] = []
        for t in targets:
            if changed is not None and not (t.depends & changed):
                hit = backends[t.language].cached_result(t.request) if opts.use_cache else None
                if hit is not None:
                    answered[t.rel] = FileResult.model_validate({**hit, "cached": True, "duration_s": 0.0})
                else:
                    skipped.append(Skipped(file=t.rel, reason=f"unchanged since {opts.changed_since}, and the "
                                                            "result cache has no answer for it: not checked"))
        from verifier.parallel import run_checks

        workers = opts.workers or project.config.workers or default_workers()
        fresh = run_checks([(backends[t.language], t.request) for t in to_run], workers)
        by_rel = {**answered, **{t.rel: r for t, r in zip(to_run, fresh)}}
        results = [by_rel[t.rel] for t in targets if t.rel in by_rel]
        approved = _apply_allow_list(project, results)
        review = _review(project, targets, backends, repo, base, changed, opts) if repo is not None else []
        audits = []
        if opts.audit:
            from verifier.check_audit import audit_targets

            audits = audit_targets(project, targets, by_rel, backends, opts.audit_mutants, opts.use_cache)
    finally:
        for b in backends.values():
            b.close()
    return _report(project, opts, results, skipped, approved, review, base, len(targets),
                   time.monotonic() - started, audits)


# --- selection -----------------------------------------------------------------------------------------------


def select(project: Project) -> list[_Target]:
    """The files `include` selects (minus `exclude`), in a language with a registered backend, sorted."""
    suffixes = registry.suffixes(available_only=False)
    found: dict[str, Path] = {}
    for pattern in project.config.include:
        for p in project.root.glob(pattern):
            if not p.is_file() or not any(p.name.endswith(s) for s in suffixes):
                continue
            rel = p.relative_to(project.root).as_posix()
            if any(part.startswith(".") for part in Path(rel).parts[:-1]):
                continue  # .git, .venv and other hidden folders
            if not any(matches(x, rel) for x in project.config.exclude):
                found[rel] = p
    if not found:
        raise BadInput(f"{project.source}: `include` selects no file of a registered language "
                       f"({', '.join(suffixes)}) below {project.root}", fix="correct the globs in `include`")
    out = []
    for rel in sorted(found):
        plugin = registry.plugin_for_file(found[rel])
        contract = project.contract_for(rel, plugin.language.suffixes)
        if contract is not None and not contract[1].is_file():
            raise BadInput(f"{project.source}: the contract of {rel} is {contract[1]} ({contract[0]}), which does "
                           "not exist", fix="correct the [[contracts]] entry or create the file")
        out.append(_Target(found[rel], rel, plugin.language.name, contract))
    return out


def _backend(language: str, opts: CheckOptions, opened: dict[str, Backend]) -> Backend:
    if language not in opened:
        plugin = registry.ensure_available(registry.plugin_for_language(language))
        config = opts.configs.get(language) or plugin.config(use_cache=opts.use_cache)
        opened[language] = plugin.create(config)
    return opened[language]


def _prepare(project: Project, t: _Target, backend: Backend) -> None:
    """The file's check request (with its limits) and the set of files its verdict depends on."""
    limits = project.limits_for(t.rel)
    spec = t.contract[1] if t.contract is not None and t.contract[0] == "spec" else None
    program = t.contract[1] if t.contract is not None and t.contract[0] == "annotates" else None
    t.request = CheckRequest(file=t.path, contract=spec, program=program, timeout=limits.timeout_s or 600.0,
                             time_limit_s=limits.time_limit_s, resource_limit=limits.resource_limit,
                             memory_mb=limits.memory_mb, display_name=t.rel)
    t.depends = {t.path.resolve()}
    for f in [t.path] + ([t.contract[1]] if t.contract is not None else []):
        t.depends.add(f.resolve())
        if backend.supports(Capability.dependencies):
            t.depends |= {p.resolve() for p in backend.dependencies(f)}


def _restrict(targets: list[_Target], paths: tuple[Path, ...]) -> list[_Target]:
    """The targets that are, or depend on, one of `paths` (a folder: anything below it). Paths the config does
    not select are ignored (a pre-commit hook passes every staged file)."""
    given = [p.resolve() for p in paths]

    def hit(f: Path) -> bool:
        return any(f == g or g in f.parents for g in given)

    return [t for t in targets if any(hit(d) for d in t.depends)]


def _check_pins(project: Project, backends: dict[str, Backend]) -> None:
    """Every `[toolchains]` pin of a language in use must match the toolchain found (exit 3 otherwise)."""
    pins = project.config.toolchains
    known = {p.language.toolchain for p in registry.plugins().values()}
    for name in pins:
        if name not in known:
            raise BadInput(f"{project.source}: [toolchains] pins {name!r}, which no registered backend uses",
                           fix=f"use one of: {', '.join(sorted(known))}")
    for b in backends.values():
        pin = pins.get(b.language.toolchain)
        if pin is None:
            continue
        found = b.toolchain().version or ""
        if not (found == pin or found.startswith(pin + ".")):
            raise ToolchainError(f"{project.source} pins {b.language.toolchain} {pin}, but the one found is "
                                 f"{found or 'of unknown version'} ({b.toolchain().path})",
                                 fix=f"install {b.language.toolchain} {pin} (`qed toolchain install "
                                     f"{b.language.toolchain}`) or change the pin")


# --- the allow-list ------------------------------------------------------------------------------------------


def _apply_allow_list(project: Project, results: list[FileResult]) -> list:
    """Take approved integrity violations out of the results (they are listed in the report's `approved`); a
    file rejected only for them, whose proofs all went through, becomes verified (with a note saying so).
    Returns the approvals."""
    from verifier.check_models import Approval
    from verifier.models import Verdict

    approvals: list[Approval] = []
    for r in results:
        keep, took = [], []
        for v in r.integrity:
            a = project.allowed(r.file, v.rule)
            if a is None:
                keep.append(v)
                continue
            took.append(v)
            approvals.append(Approval(file=r.file, rule=v.rule, message=v.message, line=v.line, reason=a.reason,
                                      approved_by=a.approved_by))
        if not took:
            continue
        r.integrity = keep
        proofs_ok = (not any(d.severity == "error" for d in r.diagnostics) and r.exit_code in (0, None)
                     and not r.verifier_crashed and all(m.outcome == "verified" for m in r.members))
        if r.verdict == Verdict.rejected and not keep and proofs_ok and r.exit_code == 0:
            r.verdict = Verdict.verified
            rules = ", ".join(sorted({v.rule for v in took}))
            r.note = ((r.note + "; ") if r.note else "") + f"verified with approved exceptions ({rules}: see [[allow]])"
    return approvals


# --- contract review -----------------------------------------------------------------------------------------


def _review(project: Project, targets: list[_Target], backends: dict[str, Backend], repo, base: dict,
            changed: set[Path], opts: CheckOptions) -> list[ContractEvent]:
    """A `ContractEvent` for each contract that changed since the base: the spec files the selected files are
    checked against, and the selected files without one (their own contract part)."""
    contracts: dict[Path, tuple[str, list[str], str]] = {}  # path -> (role, used_by, language)
    for t in targets:
        if t.contract is not None and t.contract[0] == "spec":
            path = t.contract[1].resolve()
            contracts.setdefault(path, ("spec", [], t.language))[1].append(t.rel)
        else:
            contracts.setdefault(t.path.resolve(), ("file", [t.rel], t.language))
    events = []
    for path, (role, used_by, language) in sorted(contracts.items()):
        if path not in changed:
            continue
        backend = backends[language]
        rel = _rel(project, path)
        old = repo.show(base["commit"], path)
        try:
            new = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the checks of the files that use it report the problem
        if not backend.supports(Capability.contract_review):
            events.append(_event(project, rel, role, used_by, None, note=f"the {backend.language.title} backend "
                                 "cannot review contracts: the change is undecided"))
            continue
        review = backend.review_contract(old, new, file=path, role=role,
                                         timeout=project.limits_for(rel).timeout_s or 600.0)
        if review.changed:
            events.append(_event(project, rel, role, used_by, review))
    return events


def _rel(project: Project, path: Path) -> str:
    try:
        return path.resolve().relative_to(project.root).as_posix()
    except ValueError:
        return str(path)


def _event(project: Project, rel: str, role: str, used_by: list[str], review, note: str | None = None):
    from verifier.check_models import (
        CONTRACT_CHANGED,
        CONTRACT_UNDECIDED,
        CONTRACT_WEAKENED,
        Approval,
        ClauseRef,
        ContractEvent,
        FindingDoc,
        MemberChangeDoc,
    )

    if review is None:
        finding = FindingDoc(member="", status="undecided", how="form", what="no_review", message=note or "",
                             rule=CONTRACT_UNDECIDED)
        return ContractEvent(file=rel, role=role, status="undecided", used_by=used_by, findings=[finding], note=note)
    rule_of = {"weakened": CONTRACT_WEAKENED, "undecided": CONTRACT_UNDECIDED, "not_weakened": CONTRACT_CHANGED}
    findings = []
    for f in review.findings:
        rule = rule_of[f.status]
        allow = project.allowed(rel, rule) if f.status != "not_weakened" else None
        findings.append(FindingDoc(
            member=f.member, status=f.status, how=f.how, what=f.what, message=f.message, line=f.line, rule=rule,
            approved=Approval(file=rel, rule=rule, message=f.message, line=f.line, reason=allow.reason,
                              approved_by=allow.approved_by) if allow else None))
    members = [MemberChangeDoc(name=m.name, change=m.change, kind=m.kind, line=m.line,
                               added=[ClauseRef(keyword=c.keyword, text=c.text, line=c.line) for c in m.added],
                               removed=[ClauseRef(keyword=c.keyword, text=c.text, line=c.line) for c in m.removed],
                               signature_changed=m.signature_changed, definition_changed=m.definition_changed)
               for m in review.members]
    return ContractEvent(file=rel, role=role, status=review.status, used_by=used_by, members=members,
                         findings=findings, note=review.note)


# --- the report ----------------------------------------------------------------------------------------------


def _report(project: Project, opts: CheckOptions, results, skipped, approved, review, base, selected: int,
            duration_s: float, audits=()) -> CheckReport:
    from verifier.check_models import CheckReport, CheckSummary, Gate
    from verifier.render import exit_code_of, summary_of

    docs = [r.model_dump(mode="json") for r in results]
    code = exit_code_of(docs) if docs else 0
    reasons = [f"{r.file}: {r.verdict.value}" for r in results if r.verdict.value != "verified"]
    open_findings = [(e, f) for e in review for f in e.findings
                     if f.status in ("weakened", "undecided") and f.approved is None]
    if opts.fail_on_weakened_contract and open_findings:
        reasons += [f"{e.file}: contract {f.status} ({f.rule}): {f.message}" for e, f in open_findings]
        if code == 0:
            code = 1
    open_audit = [f for a in audits for f in a.findings if f.approved is None]
    if open_audit:
        reasons += [f"{f.file}: {f.member}: {f.kind} ({f.rule}): {f.message}" for f in open_audit]
        if code == 0:
            code = 1
    summary = CheckSummary(**summary_of(docs, duration_s), skipped=len(skipped), selected=selected,
                           contracts_changed=len(review),
                           contracts_weakened=sum(1 for e in review if e.status == "weakened"),
                           contracts_undecided=sum(1 for e in review if e.status == "undecided"),
                           audit_findings=sum(len(a.findings) for a in audits))
    return CheckReport(results=results, summary=summary, config=str(project.source), base=base, skipped=skipped,
                       approved=approved, contract_review=review, audit=list(audits),
                       gate=Gate(passed=code == 0, fail_on_weakened_contract=opts.fail_on_weakened_contract,
                                 reasons=reasons), exit_code=code)


def repository_top(project_root: Path) -> Path | None:
    """The git work tree's top folder (None outside git): report paths are relative to it, as GitHub code
    scanning needs."""
    try:
        from verifier.gitrepo import Repo

        return Repo.at(project_root).top
    except (BadInput, ToolchainError):
        return None
