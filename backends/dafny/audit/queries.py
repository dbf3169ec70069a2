"""What the contract alone says: vacuity of preconditions and the status of each example, asked of Dafny.

For each member to implement (a bodiless method, function or predicate at module level), qed writes beside the
contract, in the member's module:

    ghost predicate QedAuditPre_F(params) reads * { (R1) && (R2) }          // the requires, as written
    ghost predicate QedAuditPost_F(params, outs) reads * { (pre) ==> (E1) && (E2) }   // methods, named results
    lemma QedAudit_Vac_F(params) ensures !QedAuditPre_F(params) {}           // proved: no input satisfies it

and for each example `F(args)` expecting `E`, at the top level, one method per question (each proved or not on
its own): the input satisfies the precondition (`Acc`) or not (`Rej`); after `var r := F(args);` the contract
forces `r == E` (`Det`) or forbids it (`Forb`); and, for a few other values `W`, `pre(args) && post(args, W) &&
W != E` (`Wit`: a witness that the contract admits another output, confirmed by the verifier, tried from Dafny's
own counterexample first). A question counts as answered only when Dafny reports no error at all inside its
method (hints, the call's precondition and the assertion), so a wrong hint or an unproved precondition can
never make an answer up. All questions go into one file verified once (`--filter-symbol QedAudit`), with a
solver time limit per question; a question Dafny does not answer is `undecided`.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from backends.audit_protocol import AuditExample, ContractMember, ContractQueries, ContractQueryRequest, ExampleCheck
from verifier.errors import BadInput, ToolchainError
from verifier.models import DiagnosticKind, Severity

from ..pybuild.interface import Member, read_interface
from ..runner import DafnyOptions, DafnyRunner
from ..syntax import IDENT, outline
from .calls import Call, generated_inputs, other_values, parse_call

PREFIX = "QedAudit"
MAX_ROUNDS = 4
_TWO_STATE = {"old", "fresh", "unchanged", "allocated", "this"}


@dataclass
class Query:
    name: str  # the generated member (its qualified name is module path + name)
    text: str
    module: tuple[str, ...]
    member: int
    role: str  # pre | post | vac | acc | rej | det | forb | wit | input
    example: int | None = None
    value: str | None = None  # wit: the witness; input: the call
    needs: tuple[str, ...] = ()  # generated predicates it uses (qualified, or relative to `module`)

    @property
    def qualified(self) -> str:
        return ".".join((*self.module, self.name))


@dataclass
class Audited:
    """A member to implement, as read from the contract."""

    member: Member
    index: int
    requires_line: int | None
    post_ok: bool  # can its ensures be restated as a predicate of inputs and outputs?
    post_why: str = ""

    @property
    def prefix(self) -> str:
        return "".join(m + "." for m in self.member.module)


@dataclass
class Answers:
    proved: set[str] = field(default_factory=set)  # qualified names of queries Dafny answered
    errors: dict[str, str] = field(default_factory=dict)  # qualified name -> first message
    dropped: dict[str, str] = field(default_factory=dict)  # queries that did not resolve -> why


def members_to_audit(src: str) -> tuple[list[Audited], list[tuple[str, int, str]]]:
    """The bodiless module-level methods, functions and predicates of a contract, and the bodiless members that
    are not audited (with why)."""
    ol = outline(src)
    api = read_interface(src)
    by_name = {m.qualified: m for m in api.members}
    audited: list[Audited] = []
    skipped: list[tuple[str, int, str]] = []
    for d in ol.walk():
        if not d.is_callable or d.has_body:
            continue
        m = by_name.get(d.qualified)
        if m is None or d.container not in (None, "module"):
            skipped.append((d.qualified, d.start_line, f"{d.kind}s inside a {d.container or 'ghost context'} are "
                                                        "not audited (only methods, functions and predicates at "
                                                        "module level)" if d.container not in (None, "module")
                            else f"{' '.join(d.modifiers + (d.kind,))} members are not audited (only compiled "
                                 "methods, functions and predicates)"))
            continue
        req = [c for c in d.clauses if c.keyword == "requires"]
        post_ok, why = True, ""
        ens_toks = [t for c in d.clauses if c.keyword == "ensures" for t in c.tokens]
        if any(c.keyword == "modifies" for c in d.clauses):
            post_ok, why = False, "it modifies the heap"
        elif any(t.kind in (IDENT, "keyword") and t.text in _TWO_STATE for t in ens_toks):
            post_ok, why = False, "its ensures speak of the heap before the call"
        elif m.kind != "method" and (not m.result_named or any(t.text == m.name for t in ens_toks)):
            post_ok, why = False, "its result has no name (or its ensures call the member itself)"
        audited.append(Audited(m, len(audited) + 1, req[0].line if req else None, post_ok, why))
    return audited, skipped


def _params(m: Member) -> str:
    return ", ".join(f"{p.name}: {p.text}" for p in m.params)


def _outs(m: Member) -> str:
    return ", ".join(f"{p.name}: {p.text}" for p in m.outs)


def _conj(clauses: list[str]) -> str:
    return " && ".join(f"({c})" for c in clauses) or "true"


def _names(m: Member) -> str:
    return ", ".join(p.name for p in m.params)


def member_queries(a: Audited) -> list[Query]:
    """The predicates and the vacuity lemma of one member (in its module)."""
    m, n = a.member, a.index
    tp = m.tparams_text
    pre = f"{PREFIX}Pre_{n}"
    out = [Query(pre, f"ghost predicate {pre}{tp}({_params(m)})\n  reads *\n{{\n  {_conj(m.requires)}\n}}\n",
                 m.module, n, "pre")]
    if a.post_ok and m.outs:
        post = f"{PREFIX}Post_{n}"
        sep = ", " if m.params and m.outs else ""
        out.append(Query(post, f"ghost predicate {post}{tp}({_params(m)}{sep}{_outs(m)})\n  reads *\n{{\n  "
                               f"({_conj(m.requires)}) ==> ({_conj(m.ensures)})\n}}\n", m.module, n, "post"))
    if m.requires:
        vac = f"{PREFIX}_Vac_{n}"
        out.append(Query(vac, f"lemma {vac}{tp}({_params(m)})\n  ensures !{pre}({_names(m)})\n{{\n}}\n",
                         m.module, n, "vac", needs=(pre,)))
    return out


def _method(name: str, lines: list[str]) -> str:
    return f"method {name}()\n{{\n" + "".join(f"  {x}\n" for x in lines) + "}\n"


def _results(m: Member) -> tuple[list[str], str, str]:
    """(result variables, the value to compare, how to compare it: `eq` or `seq` for an array result)."""
    rs = [f"qedr{i}" for i in range(1, len(m.outs) + 1)]
    got = rs[0] if len(rs) == 1 else "(" + ", ".join(rs) + ")"
    return rs, got, "array" if len(m.outs) == 1 and m.outs[0].type[0] in ("array",) else "eq"


def example_queries(a: Audited, ex: AuditExample, call: Call) -> list[Query]:
    """The questions about one example (top level; see the module docstring)."""
    m, n, k = a.member, a.index, ex.index
    pre = f"{a.prefix}{PREFIX}Pre_{n}"
    args = ", ".join(call.args)
    setup = list(call.setup)
    qs = [Query(f"{PREFIX}_E{k}_Acc", _method(f"{PREFIX}_E{k}_Acc", setup + [f"assert {pre}({args});"]), (), n,
                "acc", k, needs=(pre,)),
          Query(f"{PREFIX}_E{k}_Rej", _method(f"{PREFIX}_E{k}_Rej", setup + [f"assert !{pre}({args});"]), (), n,
                "rej", k, needs=(pre,))]
    rs, got, how = _results(m)
    expect = ex.expect.strip()
    if how == "array":
        got = f"{rs[0]}[..]"
    the_call = f"var {', '.join(rs)} := {call.text()};"
    qs.append(Query(f"{PREFIX}_E{k}_Det", _method(f"{PREFIX}_E{k}_Det", setup + [the_call,
                                                                                f"assert {got} == ({expect});"]),
                    (), n, "det", k))
    qs.append(Query(f"{PREFIX}_E{k}_Forb", _method(f"{PREFIX}_E{k}_Forb", setup + [the_call,
                                                                                  f"assert {got} != ({expect});"]),
                    (), n, "forb", k))
    return qs


def witness_queries(a: Audited, ex: AuditExample, call: Call, values: list[str], first: int = 1) -> list[Query]:
    """`pre(args) && post(args, W) && W != expected` for each W (another output the contract admits)."""
    m, n, k = a.member, a.index, ex.index
    if not a.post_ok or len(m.outs) == 0 or m.outs[0].type[0] == "array":
        return []
    pre, post = f"{a.prefix}{PREFIX}Pre_{n}", f"{a.prefix}{PREFIX}Post_{n}"
    args = ", ".join(call.args)
    out = []
    for j, w in enumerate(values, first):
        comps = [w] if len(m.outs) == 1 else None
        if comps is None:
            from .calls import split_elements

            comps = split_elements(w)
            if comps is None or len(comps) != len(m.outs):
                continue
        sep = ", " if args else ""
        name = f"{PREFIX}_E{k}_Wit{j}"
        body = f"assert {pre}({args}) && {post}({args}{sep}{', '.join(comps)}) && ({w}) != ({ex.expect.strip()});"
        out.append(Query(name, _method(name, list(call.setup) + [body]), (), n, "wit", k, value=w,
                         needs=(pre, post)))
    return out


def input_queries(a: Audited, limit: int) -> list[Query]:
    """Generated inputs, each with the question whether it satisfies the precondition (for behaviour runs)."""
    m, n = a.member, a.index
    if m.type_params or any(p.ghost for p in m.params):
        return []
    rows = generated_inputs([(p.name, p.type) for p in m.params], limit)
    out = []
    for j, row in enumerate(rows, 1):
        call = parse_call(f"{m.qualified}({', '.join(row)})")
        if call is None:
            continue
        name = f"{PREFIX}_I{n}_{j}"
        body = f"assert {a.prefix}{PREFIX}Pre_{n}({', '.join(call.args)});" if m.requires else "assert true;"
        out.append(Query(name, _method(name, call.setup + [body]), (), n, "input", value=call_text(m, row),
                         needs=(f"{a.prefix}{PREFIX}Pre_{n}",)))
    return out


def call_text(m: Member, args: list[str]) -> str:
    return f"{m.qualified}({', '.join(args)})"


def assemble(src: str, queries: list[Query]) -> str:
    """The contract with the queries inserted at the end of their modules."""
    api = read_interface(src)
    chunks: dict[int, list[str]] = {}
    for q in queries:
        off = api.module_spans.get(q.module, len(src))
        chunks.setdefault(off, []).append(q.text)
    out, pos = [], 0
    for off in sorted(chunks):
        out.append(src[pos:off])
        out.append(f"\n// qed audit\n{''.join(chunks[off])}")
        pos = off
    out.append(src[pos:])
    return "".join(out)


_CEX_VALUE = re.compile(r"(?:^|&& |assume )(?P<v>[^\s&=;]+) == qedr1(?=[ ;])|qedr1 == (?P<w>[^\s&;]+)")


def counterexample_value(message: str) -> tuple[str | None, str | None]:
    """(the value Dafny's counterexample gives the first result, the counterexample text) from an error
    message that carries one."""
    at = message.find("Related counterexample")
    if at < 0:
        return None, None
    text = message[at:].strip()
    assumes = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("assume ")]
    value = None
    if assumes:
        m = _CEX_VALUE.search(assumes[-1])
        if m:
            value = m.group("v") or m.group("w")
            if value and not re.fullmatch(r"-?\d+|true|false|'.'|-?\d+\.\d+", value):
                value = None
    return value, text[:2000]


class ContractQuerier:
    """Runs the questions of `ContractQueryRequest` through one Dafny install (see the module docstring)."""

    def __init__(self, runner: DafnyRunner, check_spec) -> None:
        self.runner = runner
        self.check_spec = check_spec  # (resolved run, path) -> raises BadInput

    def query(self, req: ContractQueryRequest) -> ContractQueries:
        from ..texts import read_source

        start = time.monotonic()
        src = read_source(req.contract, "contract")
        self.check_spec(self.runner.resolve(req.contract, src, req.timeout, req.use_cache), req.contract)
        audited, skipped = members_to_audit(src)
        if not audited:
            raise BadInput(f"the contract {req.contract} has no method, function or predicate without a body at "
                           "module level, so there is nothing to audit",
                           fix="give the members to implement their signature and clauses, and no body")
        queries: list[Query] = []
        for a in audited:
            queries += member_queries(a)
            if req.generated_inputs:
                queries += input_queries(a, 12)
        checks: dict[int, ExampleCheck] = {}
        calls: dict[int, tuple[Audited, Call]] = {}
        unmatched: list[tuple[AuditExample, str]] = []
        for ex in req.examples:
            call = parse_call(ex.call)
            if call is None:
                unmatched.append((ex, f"`{ex.call}` is not a call of a named member with arguments"))
                continue
            hits = [a for a in audited if a.member.qualified == call.callee] or \
                [a for a in audited if a.member.name == call.callee.split(".")[-1]]
            if len(hits) != 1:
                unmatched.append((ex, f"`{call.callee}` is not a member the contract asks to implement"))
                continue
            a = hits[0]
            if not a.member.outs or (a.member.kind == "method" and not [p for p in a.member.outs if not p.ghost]):
                checks[ex.index] = ExampleCheck(ex, a.member.qualified, "unusable",
                                                "the member has no result to compare with the expected value",
                                                line=a.member.line)
                continue
            if len(call.args) != len(a.member.params):
                checks[ex.index] = ExampleCheck(ex, a.member.qualified, "unusable",
                                                f"the call passes {len(call.args)} argument(s), the member takes "
                                                f"{len(a.member.params)}", line=a.member.line)
                continue
            if not a.member.type_params:  # hoisted with the parameter's type, which must make sense here
                call = parse_call(ex.call, [p.text for p in a.member.params]) or call
            calls[ex.index] = (a, call)
            queries += example_queries(a, ex, call)
            queries += witness_queries(a, ex, call, self._candidates(a, ex))
        answers = self._run(req, src, queries)
        # a second round: Dafny's own counterexamples, where nothing was decided and it offered one
        more: list[Query] = []
        cex: dict[int, tuple[str | None, str | None]] = {}
        for k, (a, call) in calls.items():
            det = f"{PREFIX}_E{k}_Det"
            value, text = counterexample_value(answers.errors.get(det, ""))
            cex[k] = (value, text)
            if value is None or det in answers.proved or self._witnessed(answers, k):
                continue
            tried = set(self._candidates(a, _example_of(req, k)))
            if value not in tried:
                more += witness_queries(a, _example_of(req, k), call, [value], first=0)
        if more:
            extra = self._run(req, src, [q for q in queries if q.role in ("pre", "post")] + more)
            answers.proved |= {q.qualified for q in more if q.qualified in extra.proved}
            answers.dropped.update(extra.dropped)
        members = [ContractMember(a.member.qualified, a.member.kind, a.member.line, "none",
                                  requires_line=a.requires_line, requires=list(a.member.requires))
                   for a in audited]
        for a, cm in zip(audited, members):
            self._precondition(a, cm, queries, answers)
            cm.inputs = [q.value for q in queries if q.role == "input" and q.member == a.index
                         and q.qualified in answers.proved and q.value]
        for k, (a, call) in calls.items():
            checks[k] = self._example(a, _example_of(req, k), queries, answers, cex.get(k, (None, None)))
        for ex in req.examples:
            if ex.index in checks:
                c = checks[ex.index]
                next(cm for cm in members if cm.name == c.member).examples.append(c)
        for cm in members:
            if cm.precondition != "vacuous" and any(c.status in ("determined", "allowed", "contradicted")
                                                    for c in cm.examples) and cm.precondition == "undecided":
                cm.precondition = "satisfiable"
        return ContractQueries(members, skipped, unmatched, round(time.monotonic() - start, 3),
                               f"dafny {self.runner.install.full_version}")

    @staticmethod
    def _witnessed(answers: Answers, k: int) -> bool:
        return any(name.startswith(f"{PREFIX}_E{k}_Wit") for name in answers.proved)

    @staticmethod
    def _candidates(a: Audited, ex: AuditExample) -> list[str]:
        m = a.member
        if not a.post_ok or not m.outs:
            return []
        t = m.outs[0].type if len(m.outs) == 1 else ("tuple", *(p.type for p in m.outs))
        return other_values(t, ex.expect)

    def _precondition(self, a: Audited, cm: ContractMember, queries: list[Query], answers: Answers) -> None:
        if not a.member.requires:
            cm.precondition, cm.precondition_detail = "none", "no requires clause"
            return
        vac = next((q for q in queries if q.role == "vac" and q.member == a.index), None)
        if vac is not None and vac.qualified in answers.proved:
            cm.precondition = "vacuous"
            cm.precondition_detail = (f"the verifier proved that no input satisfies the requires "
                                      f"(lemma: {_one_line(a.member.requires)} ==> false)")
            return
        witness = next((q for q in queries if q.member == a.index and q.role in ("input", "acc")
                        and q.qualified in answers.proved), None)
        if witness is not None:
            cm.precondition = "satisfiable"
            what = witness.value if witness.role == "input" else f"example {witness.example}"
            cm.precondition_detail = f"satisfied by {what} (proved)"
            return
        cm.precondition = "undecided"
        why = answers.dropped.get(vac.qualified) if vac is not None else None
        cm.precondition_detail = why or "the verifier did not prove it unsatisfiable, and no input tried was " \
                                        "proved to satisfy it"

    def _example(self, a: Audited, ex: AuditExample, queries: list[Query], answers: Answers,
                 cex: tuple[str | None, str | None]) -> ExampleCheck:
        k = ex.index
        name = a.member.qualified

        def ok(role: str) -> bool:
            return f"{PREFIX}_E{k}_{role}" in answers.proved

        dropped = [why for q, why in answers.dropped.items() if q.startswith(f"{PREFIX}_E{k}_")
                   and q.split("_")[-1] in ("Det", "Forb", "Acc", "Rej")]
        line = a.member.line
        if dropped and not (ok("Acc") or ok("Rej")):
            return ExampleCheck(ex, name, "unusable", f"Dafny does not accept the example as written: {dropped[0]}",
                                line=line)
        acc = ok("Acc") or not a.member.requires
        if ok("Rej") and not ok("Acc"):
            return ExampleCheck(ex, name, "rejected", "the verifier proved that the input does not satisfy the "
                                                      "requires", line=line)
        if not acc:
            return ExampleCheck(ex, name, "undecided", "the verifier could not decide whether the input satisfies "
                                                       "the requires", line=line)
        det, forb = ok("Det"), ok("Forb")
        if det and forb:
            return ExampleCheck(ex, name, "contradicted", "the ensures admit no output at all for this input (the "
                                                          "verifier proves both r == expected and r != expected)",
                                line=line)
        if forb:
            return ExampleCheck(ex, name, "contradicted", "the verifier proved that the ensures forbid the expected "
                                                          "output", line=line)
        if det:
            return ExampleCheck(ex, name, "determined", "the ensures force the expected output", line=line)
        wit = sorted((q for q in queries if q.role == "wit" and q.example == k and q.qualified in answers.proved),
                     key=lambda q: q.name)
        extra_wit = sorted(n for n in answers.proved if n.startswith(f"{PREFIX}_E{k}_Wit0"))
        value, text = cex
        if extra_wit and value is not None:
            return ExampleCheck(ex, name, "allowed", "the contract also admits another output",
                                witness=value, witness_source="verifier counterexample", counterexample=text,
                                line=line)
        if wit:
            src = "verifier counterexample" if value is not None and wit[0].value == value else "tried"
            return ExampleCheck(ex, name, "allowed", "the contract also admits another output", witness=wit[0].value,
                                witness_source=src, counterexample=text, line=line)
        err = answers.errors.get(f"{PREFIX}_E{k}_Det", "")
        why = "the verifier timed out" if "timed out" in err or "resource" in err else \
            "the verifier could neither prove the expected output nor confirm another one"
        if not a.post_ok:
            why += f" (no witness can be checked: {a.post_why})"
        return ExampleCheck(ex, name, "undecided", why, counterexample=text, line=line)

    def _run(self, req: ContractQueryRequest, src: str, queries: list[Query]) -> Answers:
        """Verify the queries (dropping those Dafny does not resolve, with their dependents) and collect which
        ones it proved."""
        answers = Answers()
        live = list(queries)
        opts = DafnyOptions(time_limit_s=req.time_limit_s, filter_symbols=(PREFIX,),
                            extra_args=("--extract-counterexample",))
        with tempfile.TemporaryDirectory(prefix="qed-audit-") as tmp:
            path = Path(tmp) / "contract_audit.dfy"
            for _ in range(MAX_ROUNDS):
                text = assemble(src, live)
                path.write_text(text, encoding="utf-8")
                run = self.runner.begin(path, text, opts, req.timeout, req.use_cache, "verify").result()
                if run.timed_out:
                    return answers  # nothing answered: every question is undecided
                if run.crashed:
                    raise ToolchainError("Dafny crashed while auditing the contract: " +
                                         (run.unparsed[0] if run.unparsed else "no output"),
                                         fix="check `qed toolchain status`; report it if it persists")
                spans = _spans(text)
                static = [d for d in run.diagnostics if d.severity == Severity.error
                          and d.kind in (DiagnosticKind.parse, DiagnosticKind.resolution)]
                if static:
                    bad: set[str] = set()
                    for d in static:
                        q = _owner(spans, d.line)
                        if q is None:
                            raise BadInput(f"the contract does not resolve with qed's audit questions: line "
                                           f"{d.line}: {d.message}", fix="report this with the contract")
                        bad.add(q)
                        answers.dropped.setdefault(q, f"{d.message}")
                    before = len(live)
                    live = _without(live, bad)
                    answers.dropped.update({q.qualified: answers.dropped.get(q.qualified, "depends on a question "
                                                                             "Dafny did not accept")
                                            for q in queries if q not in live and q.qualified not in answers.dropped})
                    if len(live) == before:
                        raise ToolchainError("Dafny keeps rejecting qed's audit questions",
                                             fix="report this with the contract")
                    continue
                for d in run.diagnostics:
                    if d.severity != Severity.error:
                        continue
                    q = _owner(spans, d.line)
                    if q is not None:
                        answers.errors.setdefault(q, d.message)
                outcomes = {m.name: m.outcome for m in run.members}
                for q in live:
                    if q.role in ("pre", "post"):
                        continue
                    if q.qualified in answers.errors:
                        continue
                    if outcomes and _outcome(outcomes, q.qualified) != "verified":
                        continue  # Dafny's log does not say it verified this question: not answered
                    if any(n in answers.errors for n in _needs(q)):
                        continue
                    answers.proved.add(q.qualified)
                if not run.status:
                    answers.proved.clear()  # no summary line: nothing Dafny said can be trusted as complete
                return answers
        return answers


def _example_of(req: ContractQueryRequest, k: int) -> AuditExample:
    return next(e for e in req.examples if e.index == k)


def _needs(q: Query) -> list[str]:
    return [".".join((*q.module, n)) if "." not in n else n for n in q.needs]


def _outcome(outcomes: dict[str, str], qualified: str) -> str | None:
    return outcomes.get(qualified)


def _spans(text: str) -> list[tuple[int, int, str]]:
    return [(d.start_line, d.end_line, d.qualified) for d in outline(text).walk()
            if d.name.startswith(PREFIX) and d.kind != "module"]


def _owner(spans: list[tuple[int, int, str]], line: int | None) -> str | None:
    if line is None:
        return None
    return next((q for a, b, q in spans if a <= line <= b), None)


def _without(live: list[Query], bad: set[str]) -> list[Query]:
    """`live` minus the questions in `bad` and every question that uses a dropped predicate."""
    gone = {q.qualified for q in live if q.qualified in bad}
    return [q for q in live if q.qualified not in bad and not (set(_needs(q)) & gone)]


def _one_line(clauses: list[str]) -> str:
    return " && ".join(" ".join(c.split()) for c in clauses)
