"""The integrity guard: a Dafny candidate may verify and still cheat. This module says whether it does.

`check_integrity(candidate_src, candidate_file, spec_src=None, spec_file=None)` compares the candidate with the
contract (the spec file, if any) on tokens (never raw text, so whitespace and comments do not matter) and scans
every part of the candidate that the spec does not give for escapes from proof. Spec semantics:

* a spec member WITHOUT a body is an obligation: the candidate implements it, keeping its kind, modifiers, name,
  signature, attributes and clauses (it may add `decreases` where the spec has none, and proof-performance
  attributes, see `PERF_ATTRIBUTES`);
* a spec member WITH a body is fixed: kept token for token;
* a bodiless spec member marked `{:axiom}`/`@Axiom` (or `{:extern}`) is a trusted given: kept bodiless, unchanged;
* everything escape-like inside what the spec gives (`assume` in a fixed body, `decreases *` in a spec clause...)
  is trusted and listed in `IntegrityReport.assumptions`; everything the candidate adds is checked.

Without a spec, the escape rules apply to the whole file (nothing is trusted).

Rule table (ids are stable; new rules get new ids):

| id | rule |
|---|---|
| QED-E000 | qedgen could not read the declaration structure (the outline parser gave up) |
| QED-E001 | a spec member is missing from the candidate |
| QED-E002 | a spec member was moved to another module/class, or renamed there |
| QED-E003 | a spec member's kind or modifiers changed (method/function/lemma..., ghost, static, twostate, opaque...) |
| QED-E004 | a spec member's signature changed (type parameters, parameters, results) |
| QED-E005 | a specification clause of a spec member was removed, added or changed |
| QED-E006 | an attribute of a spec member was removed or changed, or a contract-changing one was added |
| QED-E007 | a fixed spec member (one with a body in the spec) had its body changed or removed |
| QED-E008 | a trusted spec axiom (bodiless `{:axiom}`/`{:extern}` member) was given a body |
| QED-E009 | a non-callable spec declaration changed (datatype, newtype, type, const, field, import, export, module/class header, include) |
| QED-E010 | a new declaration is visible where a name of the contract is resolved, so it could change what the name means (a shadowing member or module-level name, an opened or aliased import, a module such as `module A.B` that an import finds first, an export set of a spec module, a second declaration of a spec name); names in other scopes are free |
| QED-E101 | `assume` (statement, `:| assume`, `:- assume`, or inside an expression) |
| QED-E102 | `expect` (checked at run time only; the verifier assumes it) |
| QED-E103 | `{:axiom}` / `@Axiom` (postcondition assumed without proof) |
| QED-E104 | an attribute that turns a check off (`{:verify false}`, `{:only}`/`@VerifyOnly`, `{:selective_checking}`, `{:start_checking_here}`, `{:assumption}`, `{:termination false}`, `{:assume_concurrent}`, `@AssumeCrossModuleTermination`) |
| QED-E105 | external or synthesized code trusted without proof (`{:extern}`, `{:synthesize}`) |
| QED-E106 | `decreases *` (non-termination allowed, only partial correctness) |
| QED-E107 | a method/function/lemma/constructor/iterator without a body (except non-static trait members) |
| QED-E108 | a loop (`while`/`for`) without a body, or a `forall` statement with `ensures` and no body |
| QED-E109 | an `include` directive |
| QED-E110 | `refines` where the spec has none |
| QED-E111 | `{:options ...}` / `@Options` (changes verifier options) |
| QED-E112 | an attribute that is not on the allow-list of harmless attributes (`ALLOWED_ATTRIBUTES`) |
| QED-E113 | a character Dafny does not accept outside strings, chars and comments (non-ASCII: look-alike names) |
| QED-E114 | a preprocessor directive (`#if`, `#elsif`, `#else`, `#endif`, also with invisible characters mixed in): Dafny blanks lines before it reads the file, even inside comments and strings. Other lines starting with `#` are ordinary text |
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterator, Sequence

from pydantic import BaseModel, ConfigDict, Field

from backends.dafny.syntax import (
    ATTR_OPEN,
    IDENT,
    INVALID,
    KEYWORD,
    OP,
    Attribute,
    Clause,
    Decl,
    Outline,
    Token,
    lex,
    outline,
    render,
    texts,
)
from verifier.errors import BadInput
from verifier.models import IntegrityViolation, RuleFamily, TrustedAssumption

RULES: dict[str, str] = {
    "QED-E000": "declaration structure not readable",
    "QED-E001": "spec member missing",
    "QED-E002": "spec member moved",
    "QED-E003": "kind or modifiers changed",
    "QED-E004": "signature changed",
    "QED-E005": "specification clause changed",
    "QED-E006": "attribute of a spec member changed",
    "QED-E007": "fixed body changed",
    "QED-E008": "trusted axiom given a body",
    "QED-E009": "spec declaration changed",
    "QED-E010": "contract name could change meaning",
    "QED-E101": "assume",
    "QED-E102": "expect",
    "QED-E103": "axiom attribute",
    "QED-E104": "check turned off by an attribute",
    "QED-E105": "external or synthesized code",
    "QED-E106": "decreases *",
    "QED-E107": "member without body",
    "QED-E108": "loop or forall statement without body",
    "QED-E109": "include",
    "QED-E110": "refines",
    "QED-E111": "verifier options changed by an attribute",
    "QED-E112": "attribute not allowed",
    "QED-E113": "character not allowed",
    "QED-E114": "preprocessor directive",
}


#: At most this many violations of one rule are listed (the rest are counted in one more).
MAX_PER_RULE = 20


def family_of(rule: str) -> RuleFamily:
    """E000-E099 protect the contract; E100-E199 are escapes from proof."""
    return RuleFamily.contract if rule < "QED-E100" else RuleFamily.escape

#: Harmless anywhere: they change how (or how fast) a proof is searched, or compilation, never what is proved.
ALLOWED_ATTRIBUTES = frozenset({
    "isolate_assertions", "vcs_split_on_every_assert", "vcs_max_cost", "vcs_max_splits",
    "vcs_max_keep_going_splits", "timeLimit", "timeLimitMultiplier", "rlimit", "resource_limit", "focus",
    "split_here", "priority", "subsumption", "trigger", "induction", "fuel", "autotriggers", "opaque",
    "autoRevealDependencies", "disableNonlinearArithmetic", "tailrecursion", "nativeType", "print", "test",
    "testEntry", "testInline", "error", "concurrent", "contradiction",
    "nowarn", "inductionTrigger"})  # nowarn: a missing trigger is reported as info, not a warning
#: May be added by the candidate to a spec member (proof performance only).
PERF_ATTRIBUTES = frozenset({
    "isolate_assertions", "vcs_split_on_every_assert", "vcs_max_cost", "vcs_max_splits",
    "vcs_max_keep_going_splits", "timeLimit", "timeLimitMultiplier", "rlimit", "resource_limit", "priority",
    "fuel", "induction", "autoRevealDependencies", "disableNonlinearArithmetic"})
#: Dafny 4.11's built-in @-attributes (from DafnyCore.dll) mapped to their `{:...}` names.
_AT_NAMES = {
    "Axiom": "axiom", "Verify": "verify", "VerifyOnly": "only", "Options": "options", "Extern": "extern",
    "IsolateAssertions": "isolate_assertions", "TimeLimit": "timeLimit", "TimeLimitMultiplier": "timeLimitMultiplier",
    "ResourceLimit": "resource_limit", "VcsMaxCost": "vcs_max_cost", "VcsMaxSplits": "vcs_max_splits",
    "VcsMaxKeepGoingSplits": "vcs_max_keep_going_splits", "Fuel": "fuel", "Induction": "induction",
    "Priority": "priority", "Print": "print", "Test": "test", "TestEntry": "testEntry", "TestInline": "testInline",
    "TailRecursion": "tailrecursion", "Compile": "compile", "AutoContracts": "autocontracts",
    "AutoRequires": "autoReq", "AutoRevealDependencies": "autoRevealDependencies",
    "AutoRevealDependenciesAll": "autoRevealDependencies", "Concurrent": "concurrent", "Synthesize": "synthesize",
    "DisableNonlinearArithmetic": "disableNonlinearArithmetic", "Transparent": "transparent",
    "AssumeCrossModuleTermination": "assume_cross_module_termination"}
_CHECK_OFF = {
    "verify": "it skips verification of the member",
    "only": "every other assertion or member becomes an unchecked assumption",
    "selective_checking": "assertions before `{:start_checking_here}` become assumptions",
    "start_checking_here": "assertions before it become assumptions",
    "assumption": "the ghost variable becomes an assumption",
    "assume_concurrent": "the concurrency check of the reads/modifies clause is assumed",
    "termination": "the termination check is skipped",
    "assume_cross_module_termination": "termination of cross-module calls is assumed",
}
_CONTRACT_CHANGING = {
    "autocontracts": "it rewrites the contracts of every member of the class",
    "autoReq": "it adds preconditions that nobody wrote",
}
_LABEL_BEFORE_AT = frozenset({"old", "fresh", "unchanged", "allocated"})


class IntegrityReport(BaseModel):
    """What the guard found. `ok` is true when there is no violation (assumptions are given, not blamed)."""

    model_config = ConfigDict(extra="forbid")

    violations: list[IntegrityViolation] = Field(default_factory=list)
    assumptions: list[TrustedAssumption] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass
class Contract:
    """The parts of a spec: obligations (bodiless members to implement), fixed members (with bodies),
    trusted givens (bodiless `{:axiom}`/`{:extern}` members), other declarations, and the names it uses."""

    file: str
    outline: Outline
    obligations: list[Decl] = field(default_factory=list)
    fixed: list[Decl] = field(default_factory=list)
    axioms: list[Decl] = field(default_factory=list)
    declarations: list[Decl] = field(default_factory=list)
    identifiers: frozenset[str] = frozenset()
    assumptions: list[TrustedAssumption] = field(default_factory=list)


def attribute_name(a: Attribute) -> str:
    """The `{:name}` form of an attribute (`@IsolateAssertions` is `isolate_assertions`)."""
    if a.form == "brace":
        return a.name
    if a.name.startswith("Native"):
        return "nativeType"
    return _AT_NAMES.get(a.name, a.name)


def _show(a: Attribute) -> str:
    if a.form == "brace":
        return "{:" + " ".join([a.name, *texts(a.args)]).strip() + "}"
    return f"@{a.name}" + (f"({render(a.args)})" if a.args else "")


def _is_trusted_bodiless(d: Decl) -> bool:
    return any(attribute_name(a) in ("axiom", "extern") for a in d.attributes)


def _bodiless_allowed(d: Decl) -> bool:
    """Non-static members of traits may stay bodiless: every class extending the trait must prove them."""
    return d.container == "trait" and "static" not in d.modifiers


def to_implement(out: Outline) -> set[str]:
    """Qualified names of the members that a candidate must give a body: every bodiless callable except the
    non-static members of traits (implemented by each extending class) and trusted `{:axiom}`/`{:extern}` givens."""
    return {d.qualified for d in out.walk()
            if d.is_callable and not d.has_body and not _bodiless_allowed(d) and not _is_trusted_bodiless(d)}


def contract_of(src: str, file: str = "spec.dfy") -> Contract:
    """Read a spec into a `Contract`. Raises `BadInput` when its structure cannot be read."""
    out = outline(src)
    if out.problems:
        raise BadInput(f"spec {file}: cannot read its declarations ({out.problems[0]})",
                       "write the spec in standard Dafny 4 syntax; `dafny resolve` should accept it")
    c = Contract(file=file, outline=out,
                 identifiers=frozenset(t.text for t in out.tokens if t.kind == IDENT))
    for d in out.walk():
        if d.is_callable:
            if d.has_body:
                c.fixed.append(d)
            elif _is_trusted_bodiless(d):
                c.axioms.append(d)
            else:
                c.obligations.append(d)
        elif d.kind != "ctor":
            c.declarations.append(d)
    c.assumptions = _spec_assumptions(c)
    return c


# ------------------------------------------------------------------------------------------------- scanning

@dataclass
class _Finding:
    rule: str
    index: int  # token index
    message: str


class _Checker:
    """Compares a candidate with a contract and scans what is not trusted."""

    def __init__(self, src: str, file: str, contract: Contract | None) -> None:
        self.file = file
        self.lexed = lex(src)
        self.out = outline(src, self.lexed)
        self.toks = self.out.tokens
        self.contract = contract
        self.trusted = bytearray(len(self.toks))
        self.star_ok: list[tuple[int, int]] = []  # token ranges where `decreases *` is given by the spec
        self.given_bodiless: set[int] = set()  # ids of candidate decls that must stay bodiless (spec axioms)
        self.matched: set[int] = set()  # ids of candidate decls matched to spec decls
        self.violations: list[IntegrityViolation] = []
        self.per_rule: dict[str, int] = {}
        self.assumptions: list[TrustedAssumption] = list(contract.assumptions) if contract else []

    # ---- reporting
    def report(self, rule: str, message: str, tok: Token | None = None, member: str | None = None,
               line: int | None = None) -> None:
        # Hostile input can break one rule at every character: report the first few of each rule and count
        # the rest, so that the guard's time and its report stay proportional to the input.
        seen = self.per_rule.get(rule, 0)
        self.per_rule[rule] = seen + 1
        if seen >= MAX_PER_RULE:
            return
        if tok is not None:
            line = tok.line
            member = member or self.out.member_at(tok.line)
        self.violations.append(IntegrityViolation(rule=rule, family=family_of(rule), message=message,
                                                  file=self.file, line=line,
                                                  column=tok.col if tok is not None else None, member=member))

    def trust(self, start: int, end: int) -> None:
        for i in range(start, min(end, len(self.toks))):
            self.trusted[i] = 1

    def tok(self, i: int) -> Token | None:
        return self.toks[i] if 0 <= i < len(self.toks) else (self.toks[-1] if self.toks else None)

    # ---- structure
    def run(self) -> IntegrityReport:
        for problem in self.out.problems[:5]:
            line = int(problem.split(":")[0].split()[-1]) if problem.startswith("line ") else None
            self.report("QED-E000", f"qedgen could not read the declaration structure ({problem}). Write the "
                        "declarations in standard Dafny 4 syntax (`dafny resolve` must accept the file).", line=line)
        if self.contract:
            self.match_level(self.contract.outline.decls, self.out.decls, "")
            self.check_new_names()
        self.scan()
        self.check_directives()
        self.check_bodiless()
        return self.result()

    def result(self) -> IntegrityReport:
        for rule, n in sorted(self.per_rule.items()):
            if n > MAX_PER_RULE:
                self.violations.append(IntegrityViolation(
                    rule=rule, family=family_of(rule), file=self.file,
                    message=f"... and {n - MAX_PER_RULE} more places that break rule {rule} ({RULES.get(rule, rule)}),"
                            " not listed one by one"))
        seen: set[tuple] = set()
        unique = []
        for v in sorted(self.violations, key=lambda v: (v.line or 0, v.column or 0, v.rule)):
            key = (v.rule, v.line, v.column, v.message)
            if key not in seen:
                seen.add(key)
                unique.append(v)
        seen_a: set[tuple] = set()
        assumptions = []
        for a in self.assumptions:
            key = (a.what, a.line, a.member)
            if key not in seen_a:
                seen_a.add(key)
                assumptions.append(a)
        return IntegrityReport(violations=unique, assumptions=assumptions)

    def match_level(self, spec_decls: Sequence[Decl], cand_decls: Sequence[Decl], where: str) -> None:
        by_name: dict[str, list[Decl]] = {}
        for c in cand_decls:
            by_name.setdefault(c.name, []).append(c)
        for s in spec_decls:
            if s.kind == "ctor":  # compared with the datatype header
                continue
            options = [c for c in by_name.get(s.name, []) if id(c) not in self.matched]
            same_kind = [c for c in options if c.kind == s.kind]
            c = (same_kind or options or [None])[0]
            if c is None:
                self.missing(s, where)
                continue
            self.matched.add(id(c))
            self.compare(s, c)

    def missing(self, s: Decl, where: str) -> None:
        place = f"inside `{where.rstrip('.')}`" if where else "at the top level"
        elsewhere = [d for d in self.out.walk() if d.name == s.name and d.kind == s.kind and id(d) not in self.matched]
        if elsewhere:
            d = elsewhere[0]
            self.matched.add(id(d))
            self.report("QED-E002", f"The spec declares {s.kind} `{s.qualified}` {place}, but the candidate has it "
                        f"as `{d.qualified}` (line {d.start_line}). Move it back to where the spec puts it.",
                        tok=self.tok(d.start), member=s.qualified)
        else:
            self.report("QED-E001", f"The spec's {s.kind} `{s.qualified}` (spec line {s.start_line}) is missing. "
                        f"Declare it {place} with exactly the spec's signature and clauses"
                        + (" and give it a body." if s.is_callable and not s.has_body else "."),
                        member=s.qualified, line=None)

    def first_difference(self, spec_t: Sequence[Token], cand_t: Sequence[Token]) -> str:
        for a, b in zip(spec_t, cand_t):
            if a.text != b.text:
                return f"line {b.line}: `{b.text}` where the spec (line {a.line}) has `{a.text}`"
        if len(spec_t) > len(cand_t):
            a = spec_t[len(cand_t)]
            return f"the candidate stops before the spec's `{a.text}` (spec line {a.line})"
        if len(cand_t) > len(spec_t):
            b = cand_t[len(spec_t)]
            return f"line {b.line}: extra `{b.text}`"
        return "no difference"

    def compare(self, s: Decl, c: Decl) -> None:
        so, co = self.contract.outline, self.out
        if s.is_callable:
            self.compare_callable(s, c)
            return
        if s.kind != c.kind:
            self.report("QED-E009", f"The spec's {s.kind} `{s.qualified}` is a {c.kind} in the candidate. "
                        f"Restore the spec's declaration unchanged.", tok=self.tok(c.start), member=s.qualified)
            return
        if s.kind in ("module", "class", "trait") or (s.children and s.body):
            sh, ch = so.tokens[s.start:s.header_end], co.tokens[c.start:c.header_end]
            if texts(sh) == texts(ch):
                self.trust(c.start, c.header_end)
            else:
                self.report("QED-E009", f"The header of the spec's {s.kind} `{s.qualified}` changed "
                            f"({self.first_difference(sh, ch)}). Keep it exactly as in the spec: `{render(sh)}`.",
                            tok=self.tok(c.start), member=s.qualified)
            if s.body and c.body:  # the closing brace
                self.trust(c.body[1] - 1, c.body[1])
            for child in c.children:
                if child.kind == "ctor":  # compared with the header
                    self.matched.add(id(child))
            self.match_level(s.children, c.children, s.qualified + ".")
            return
        st = list(so.tokens[s.start:s.end])
        ct = list(co.tokens[c.start:c.end])
        if st and st[-1].text == ";":
            st = st[:-1]
        if ct and ct[-1].text == ";":
            ct = ct[:-1]
        if texts(st) == texts(ct):
            self.trust(c.start, c.end)
            for child in c.children:
                self.matched.add(id(child))
        else:
            self.report("QED-E009", f"The spec's {s.kind} `{s.qualified}` must stay unchanged, but it differs "
                        f"({self.first_difference(st, ct)}). Restore the spec's text: `{render(st)}`.",
                        tok=self.tok(c.start), member=s.qualified)

    def compare_callable(self, s: Decl, c: Decl) -> None:
        so, co = self.contract.outline, self.out
        q = s.qualified
        if s.kind != c.kind or s.keyword != c.keyword or set(s.modifiers) != set(c.modifiers):
            sp = " ".join(sorted(set(s.modifiers) - {"method"}) + list(s.keyword))
            cp = " ".join(sorted(set(c.modifiers) - {"method"}) + list(c.keyword))
            self.report("QED-E003", f"`{q}` is declared `{cp}` but the spec says `{sp}`. Keep the spec's kind and "
                        f"modifiers (ghost, static, opaque, twostate, least/greatest...).",
                        tok=self.tok(c.start), member=q)
        if texts(s.signature) != texts(c.signature):
            self.report("QED-E004", f"The signature of `{q}` changed: the spec has `{render(s.signature)}`, the "
                        f"candidate `{render(c.signature)}`. Keep type parameters, parameters and results exactly "
                        f"as in the spec.", tok=c.signature[0] if c.signature else self.tok(c.start), member=q)
        elif c.signature:
            first = next((i for i in range(c.start, c.header_end) if co.tokens[i] is c.signature[0]), None)
            if first is not None:
                self.trust(first, first + len(c.signature))
        self.compare_attributes(s, c)
        self.compare_clauses(s, c)
        # name, keyword and modifiers are compared above: trust them (attributes are trusted one by one)
        self.trust_words(c)
        spec_star = any(cl.keyword == "decreases" and texts(cl.tokens)[:1] == ("*",) for cl in s.clauses)
        if s.has_body:
            sb, cb = so.tokens[s.body[0]:s.body[1]], (co.tokens[c.body[0]:c.body[1]] if c.body else [])
            if not c.has_body:
                self.report("QED-E007", f"`{q}` is fixed by the spec (it has a body there, spec line "
                            f"{s.body_start_line}) but has no body in the candidate. Copy the spec's body "
                            f"unchanged.", tok=self.tok(c.start), member=q)
            elif texts(sb) != texts(cb):
                self.report("QED-E007", f"`{q}` is fixed by the spec (it has a body there), but its body changed "
                            f"({self.first_difference(sb, cb)}). Keep the spec's body token for token; put extra "
                            f"proof steps in a new helper lemma instead.", tok=self.tok(c.body[0]), member=q)
            else:
                self.trust(c.body[0], c.body[1])
        elif _is_trusted_bodiless(s):
            if c.has_body:
                self.report("QED-E008", f"`{q}` is a trusted axiom of the spec (bodiless, "
                            f"{', '.join(_show(a) for a in s.attributes)}): keep it bodiless and unchanged.",
                            tok=self.tok(c.body[0]), member=q)
            else:
                self.given_bodiless.add(id(c))
        elif spec_star and c.body:
            self.star_ok.append(c.body)

    def trust_words(self, c: Decl) -> None:
        """Trust the modifier, keyword and name tokens of a matched member (not its attributes)."""
        attr_idx = {i for a in c.attributes for i in range(a.start, a.end)}
        first_sig = c.clauses[0].start if c.clauses else c.header_end
        for i in range(c.start, first_sig):
            t = self.toks[i]
            if i not in attr_idx and t.kind in (KEYWORD, IDENT) and (
                    t.text in c.keyword or t.text in c.modifiers or t.text == c.name):
                self.trusted[i] = 1

    def compare_attributes(self, s: Decl, c: Decl) -> None:
        q = s.qualified
        cand = list(c.attributes)
        for a in s.attributes:
            hit = next((b for b in cand if b.key == a.key), None)
            if hit is None:
                self.report("QED-E006", f"Attribute `{_show(a)}` of `{q}` (spec line {a.line}) was removed or "
                            f"changed. Keep the spec's attributes; you may only add proof-performance attributes "
                            f"such as {{:isolate_assertions}}, {{:timeLimit N}}, {{:rlimit N}}, "
                            f"{{:vcs_split_on_every_assert}}.", tok=self.tok(c.start), member=q)
            else:
                cand.remove(hit)
                self.trust(hit.start, hit.end)
        for b in cand:
            name = attribute_name(b)
            if name in PERF_ATTRIBUTES:
                continue
            if name in ALLOWED_ATTRIBUTES:  # harmless elsewhere, but it changes this member's contract
                self.report("QED-E006", f"Attribute `{_show(b)}` was added to spec member `{q}`; it changes how "
                            f"the contract is seen. Remove it (only proof-performance attributes may be added to "
                            f"spec members).", tok=self.toks[b.start], member=q)
            # anything else is reported by the escape scan

    def compare_clauses(self, s: Decl, c: Decl) -> None:
        q = s.qualified
        kinds = {cl.keyword for cl in s.clauses} | {cl.keyword for cl in c.clauses}
        for kw in sorted(kinds):
            sc = [cl for cl in s.clauses if cl.keyword == kw]
            cc = [cl for cl in c.clauses if cl.keyword == kw]
            if kw == "decreases" and not sc:
                continue  # the candidate may add a termination measure; it is scanned like any code
            sm = difflib.SequenceMatcher(a=[texts(x.tokens) for x in sc], b=[texts(x.tokens) for x in cc],
                                         autojunk=False)
            for op, a0, a1, b0, b1 in sm.get_opcodes():
                if op == "equal":
                    for cl in cc[b0:b1]:
                        self.trust(cl.start, cl.end)
                    continue
                for k in range(max(a1 - a0, b1 - b0)):
                    sa = sc[a0 + k] if a0 + k < a1 else None
                    cb = cc[b0 + k] if b0 + k < b1 else None
                    self.clause_violation(q, kw, sa, cb, c)

    def clause_violation(self, q: str, kw: str, sa: Clause | None, cb: Clause | None, c: Decl) -> None:
        if sa and cb:
            self.report("QED-E005", f"`{q}`: clause `{kw} {render(cb.tokens)}` differs from the spec's `{kw} "
                        f"{render(sa.tokens)}` (spec line {sa.line}). Restore the spec's clause unchanged.",
                        tok=self.toks[cb.start], member=q)
        elif sa:
            self.report("QED-E005", f"`{q}` lost the spec's clause `{kw} {render(sa.tokens)}` (spec line "
                        f"{sa.line}). Restore it unchanged: prove it rather than drop it.",
                        tok=self.tok(c.start), member=q)
        elif cb:
            extra = " Only `decreases` may be added, and only where the spec has none." if kw != "decreases" else \
                " The spec states a `decreases` clause for this member: keep exactly the spec's."
            self.report("QED-E005", f"`{q}` has a clause the spec does not: `{kw} {render(cb.tokens)}`. Remove "
                        f"it.{extra}", tok=self.toks[cb.start], member=q)

    def check_new_names(self) -> None:
        """QED-E010: no new declaration may be visible where a contract name is resolved (see `_Visibility`)."""
        vis = _Visibility(self.out, self.trusted, self.contract)
        for d in self.out.walk():
            if id(d) in self.matched or not d.name or d.kind == "include":
                continue
            if d.kind == "import" and self.imports_spec_module(d) and "opened" not in d.keyword:
                continue
            for why in vis.conflicts(d, self.matched, skip_alias=d.kind == "import" and self.imports_spec_module(d)):
                self.report("QED-E010", why, tok=self.tok(d.start), member=d.qualified)
                break

    def imports_spec_module(self, d: Decl) -> bool:
        """`import [opened] M` of a module the spec declares, under its own name: the alias means that module."""
        path = texts(d.signature)
        spec_modules = {m.qualified for m in self.contract.outline.walk() if m.kind == "module"}
        return "=" not in path and ":" not in path and "`" not in path and "".join(path) in spec_modules

    # ---- escapes
    def scan(self) -> None:
        for f in scan_escapes(self.out, self.trusted, self.star_ok):
            if self.contract is None and f.rule == "QED-E112" and _attribute_canon(self.toks, f.index) in \
                    _CONTRACT_CHANGING:
                continue  # no contract to protect: `{:autocontracts}` is then ordinary, sound Dafny
            t = self.toks[f.index]
            member = self.out.member_at(t.line)
            where = f"at line {t.line}" + (f" in `{member}`" if member else "")
            self.report(f.rule, f.message.replace("{where}", where), tok=t, member=member)

    def check_directives(self) -> None:
        given = [d.text for d in self.contract.outline.directives] if self.contract else []
        for d in self.out.directives:
            if d.text in given:
                given.remove(d.text)
                continue
            head = f"Preprocessor directive `{d.text}` at line {d.line}"
            if d.inside == "string":
                msg = (f"{head} is inside a string, but Dafny's preprocessor acts on it there too (it removes lines "
                       "before it reads the file), so the string Dafny checks is not the one you see. Keep `#` off "
                       "the start of the line (write the string with `\\n` escapes).")
            elif d.inside == "comment":
                msg = (f"{head} is inside a comment, but Dafny's preprocessor acts on it there too (it removes lines "
                       "before it reads the file), so the file Dafny checks is not the one you see. Remove every "
                       "`#if`/`#elsif`/`#else`/`#endif` line.")
            else:
                msg = (f"{head}: Dafny removes lines before it reads the file (even inside comments and strings), "
                       "so the file Dafny checks is not the one you see. Remove every `#if`/`#elsif`/`#else`/"
                       "`#endif` line.")
            self.report("QED-E114", msg, line=d.line, member=self.out.member_at(d.line))

    def check_bodiless(self) -> None:
        for d in self.out.walk():
            if not d.is_callable or d.has_body or id(d) in self.given_bodiless or _bodiless_allowed(d):
                continue
            what = "its postcondition is assumed, not proved" if d.kind != "iterator" else "it is trusted"
            obligation = self.contract is not None and id(d) in self.matched
            self.report("QED-E107", f"{d.kind.capitalize()} `{d.qualified}` has no body, so {what}. "
                        + ("The spec asks you to implement it: give it a body." if obligation else
                           "Give it a body (a lemma whose proof Dafny finds alone may have the body `{}`)."),
                        tok=self.tok(d.start), member=d.qualified)


_CLASS_LIKE = frozenset({"class", "trait", "datatype", "codatatype", "newtype", "type"})
_Path = tuple[str, ...]


@dataclass(frozen=True)
class _Use:
    """A contract name: a token the contract gives that is resolved by name (not a declaration's own name)."""

    index: int
    line: int
    unqualified: bool  # `N` or `this.N` (else `X.N`, with `qualifier` X)
    qualifier: str | None


class _Visibility:
    """Where the name a new declaration introduces can be seen, as Dafny 4.11 resolves names (each point
    checked with the real binary), and which contract names it could capture there:

    * a member of a class, trait or datatype: inside it, and inside every class or trait extending it;
    * a module-level declaration (datatype constructors included): in its module but not in nested modules
      (they do not see outer names), in modules that `import opened` it, that refine it or that it refines
      (a local name shadows an opened one), and after any `M.` where `M` names a module;
    * a module `N` in `P` (also when declared elsewhere as `module P.N`): in all of `P`, nested modules
      included, since `import N` (plain, aliased or opened) in `P` or below looks in `P`'s children first;
    * an import alias: in its module only; `import opened M` also brings `M`'s module-level names there;
    * an export set in a module of the spec changes what that module gives its importers.

    Over-approximations (a name matched by its last component, opened imports followed transitively) can only
    refuse more, never accept more."""

    def __init__(self, out: Outline, trusted: bytearray, contract: Contract | None) -> None:
        toks = out.tokens
        self.toks = toks
        self.where: dict[int, _Path] = {}  # id(decl) -> path of the module it is declared in
        self.mod: list[_Path] = [()] * len(toks)  # innermost module of each token
        self.module_paths: dict[int, _Path] = {}  # id(module decl) -> its own path
        self._visit(out.decls, ())
        self.spec_modules = {()} | ({tuple(m.qualified.split(".")) for m in contract.outline.walk()
                                     if m.kind == "module"} if contract else set())
        self.decls = list(out.walk())
        self.opened_by: dict[str, set[_Path]] = {}  # last name of an opened module -> modules that open it
        self.refiners: dict[str, set[_Path]] = {}  # last name of a refined module -> modules refining it
        self.refines: dict[_Path, str] = {}
        self.extenders: dict[str, list[Decl]] = {}  # trait name -> classes/traits that extend it
        aliases: set[str] = set()
        for d in self.decls:
            if d.kind == "import":
                aliases.add(d.name.split(".")[-1])
                if "opened" in d.keyword and (target := _import_target(d)):
                    self.opened_by.setdefault(target, set()).add(self.where[id(d)])
            elif d.kind == "module":
                path = self.module_paths[id(d)]
                aliases.update(path)
                if d.refines:
                    self.refines[path] = d.refines.split(".")[-1]
                    self.refiners.setdefault(d.refines.split(".")[-1], set()).add(path)
            elif d.kind in ("class", "trait"):
                sig = texts(d.signature)
                if "extends" in sig:
                    for k in range(sig.index("extends") + 1, len(sig)):
                        if sig[k] not in (",", ".", "<", ">") and (k + 1 == len(sig) or sig[k + 1] != "."):
                            self.extenders.setdefault(sig[k], []).append(d)
        self.module_names = aliases
        names = {_name_index(toks, d) for d in self.decls if d.kind not in ("import", "include", "export")}
        self.uses: dict[str, list[_Use]] = {}
        for i in (k for k, flag in enumerate(trusted) if flag):
            t = toks[i]
            if t.kind != IDENT or i in names or (i and (
                    toks[i - 1].kind == ATTR_OPEN or _is_at_attribute(toks, i - 1))):
                continue
            dotted = i > 0 and toks[i - 1].text == "." and toks[i - 1].kind == OP
            qualifier = toks[i - 2].text if dotted and i > 1 else None
            self.uses.setdefault(t.text, []).append(
                _Use(i, t.line, not dotted or qualifier == "this", None if not dotted else qualifier))
        self.bound = _parameter_uses(self.decls, self.uses)
        self._related: dict[_Path, set[_Path]] = {}
        self._scopes: dict[tuple, Decl] | None = None

    def _visit(self, decls: Sequence[Decl], path: _Path) -> None:
        for d in decls:
            self.where[id(d)] = path
            if d.kind == "module":
                inner = path + tuple(d.name.split(".")) if d.name else path
                self.module_paths[id(d)] = inner
                a, b = d.header_end, min(d.end, len(self.mod))
                if b > a:
                    self.mod[a:b] = [inner] * (b - a)
                self._visit(d.children, inner)
            else:
                self._visit(d.children, path)

    # ---- regions
    def related(self, path: _Path) -> set[_Path]:
        """`path` and the modules that see its module-level names unqualified: those that open it or refine it
        (transitively), and those it refines."""
        if path in self._related:
            return self._related[path]
        seen, todo = {path}, [path]
        while todo:
            p = todo.pop()
            found: set[_Path] = set()
            if p:
                found |= self.opened_by.get(p[-1], set()) | self.refiners.get(p[-1], set())
            if p in self.refines:
                found |= {q for q in self.module_paths.values() if q and q[-1] == self.refines[p]}
            for q in found - seen:
                seen.add(q)
                todo.append(q)
        self._related[path] = seen
        return seen

    def member_spans(self, container: Decl) -> list[tuple[int, int]]:
        """The insides of `container` and of every class or trait that extends it (transitively)."""
        spans, seen, todo = [], {id(container)}, [container]
        while todo:
            k = todo.pop()
            spans.append((k.header_end, k.end))
            if k.kind == "trait":
                for e in self.extenders.get(k.name, []):
                    if id(e) not in seen:
                        seen.add(id(e))
                        todo.append(e)
        return spans

    def module_names_of(self, last: str) -> set[str] | None:
        """Module-level names of every module whose last name is `last` (None: no such module here)."""
        paths = {p for p in self.module_paths.values() if p and p[-1] == last}
        if not paths:
            return None
        return {d.name for d in self.decls if self.where.get(id(d)) in paths and d.name and (
            d.kind == "ctor" or d.parent is None or d.parent.kind == "module")}

    # ---- conflicts
    def conflicts(self, d: Decl, matched: set[int], skip_alias: bool = False) -> Iterator[str]:
        """Why the new declaration `d` could change what a contract name means (nothing when it cannot)."""
        path, line = self.where.get(id(d), ()), d.start_line
        what = f"New {d.kind} `{d.qualified}` (line {line})"
        if d.kind == "export":
            if path in self.spec_modules:
                yield (f"{what} changes what the spec's module `{'.'.join(path) or '(top level)'}` gives the "
                       f"modules importing it (its exports are part of the contract). Remove it.")
            return
        if d.kind == "import":
            if not skip_alias:
                for u in self._in(d.name.split(".")[-1], lambda u: u.unqualified and self.mod[u.index] == path):
                    yield (f"{what} is visible where the contract says `{d.name}` (line {u.line}), and could change "
                           f"what it means. Give the import another name (`import X = ...`).")
            if "opened" in d.keyword:
                target = _import_target(d)
                names = self.module_names_of(target) if target else None
                for text, found in self.uses.items():
                    if names is not None and text not in names:
                        continue
                    for u in found:
                        if u.unqualified and self.mod[u.index] == path:
                            yield (f"{what} opens names where the contract says `{text}` (line {u.line}), which "
                                   f"could then mean `{target}.{text}`. Import it without `opened` and qualify "
                                   f"its names, or import it in a module of your own.")
            return
        yield from self._duplicates(d, matched, path)
        if d.kind == "module":
            parent = path
            for j, part in enumerate(d.name.split(".")):
                here = parent + (part,)
                if j + 1 == len(d.name.split(".")) or not self._declared_elsewhere(here, d):
                    for u in self._in(part, lambda u, p=parent: self.mod[u.index][:len(p)] == p):
                        yield (f"{what} declares module `{'.'.join(here)}`, visible where the contract says "
                               f"`{part}` (line {u.line}): an import or a qualified name there could now mean it. "
                               f"Rename it.")
                parent = here
        elif d.kind == "ctor" or d.parent is None or d.parent.kind == "module":
            seen, free = self.related(path), self._free(d)
            for u in self._in(d.name, lambda u: (u.unqualified and self.mod[u.index] in seen and free(u)) or (
                    not u.unqualified and u.qualifier in self.module_names)):
                yield (f"{what} is visible where the contract says `{d.name}` (line {u.line}), and could change "
                       f"what it means. Rename it.")
        elif d.parent.kind in _CLASS_LIKE:
            spans, free = self.member_spans(d.parent), self._free(d)
            for u in self._in(d.name, lambda u: u.unqualified and free(u) and any(a <= u.index < b
                                                                                  for a, b in spans)):
                yield (f"{what} is a member visible where the contract says `{d.name}` (line {u.line}), inside "
                       f"`{d.parent.qualified}` or a class extending it, and could change what it means. Rename it.")

    def _free(self, d: Decl):
        """A test of whether a use could resolve to `d`: a parameter of the enclosing member shadows every name
        in an expression, so only a type-level `d` (a class, a datatype, a type...) can capture its uses."""
        if d.kind in _TYPE_LEVEL:
            return lambda u: True
        return lambda u: u.index not in self.bound

    def _in(self, name: str, keep) -> list[_Use]:
        return [u for u in self.uses.get(name, []) if keep(u)]

    def _scope(self, d: Decl) -> tuple:
        if d.kind == "module":
            return ("module", self.module_paths.get(id(d)))
        if d.kind == "ctor" or d.parent is None or d.parent.kind == "module":
            return ("name", self.where.get(id(d)), d.name)
        return ("member", id(d.parent), d.name)

    def _duplicates(self, d: Decl, matched: set[int], path: _Path) -> Iterator[str]:
        if self._scopes is None:
            self._scopes = {self._scope(m): m for m in self.decls
                            if id(m) in matched and m.kind not in ("import", "export", "include")}
        m = self._scopes.get(self._scope(d))
        if m is not None:
            yield (f"New {d.kind} `{d.qualified}` (line {d.start_line}) has the name of the spec's {m.kind} "
                       f"`{m.qualified}` (line {m.start_line}) in the same scope, so the contract's `{d.name}` "
                       f"could mean it. Rename it.")

    def _declared_elsewhere(self, path: _Path, d: Decl) -> bool:
        return any(p[:len(path)] == path for k, p in self.module_paths.items() if k != id(d))


_TYPE_LEVEL = frozenset({"class", "trait", "datatype", "codatatype", "newtype", "type", "iterator", "module"})


def _parameter_uses(decls: Sequence[Decl], uses: dict[str, list[_Use]]) -> set[int]:
    """Indexes of the plain names (`x`, not `a.x`) inside a callable that are spelled like one of its parameters
    or results: in an expression, they mean the parameter."""
    bound: set[int] = set()
    for d in decls:
        if not d.is_callable:
            continue
        sig = d.signature
        for k in range(len(sig) - 1):
            if sig[k].kind == IDENT and sig[k + 1].text == ":" and (
                    k == 0 or sig[k - 1].text in ("(", ",", "ghost", "nameonly", "older", "new")):
                bound.update(u.index for u in uses.get(sig[k].text, ())
                             if u.qualifier is None and d.start <= u.index < d.end)
    return bound


def _import_target(d: Decl) -> str | None:
    """The last name of the module an import refers to (`import opened L = A.B`x` -> `B`)."""
    sig = list(texts(d.signature))
    for sep in ("=", ":"):
        if sep in sig:
            sig = sig[sig.index(sep) + 1:]
    if "`" in sig:
        sig = sig[:sig.index("`")]
    names = [x for x in sig if x != "."]
    return names[-1] if names else None


def _name_index(toks: Sequence[Token], d: Decl) -> int:
    """Index of the token that names `d` (its last part, for a dotted module name); -1 when not found."""
    last = d.name.split(".")[-1]
    attrs = {i for a in d.attributes for i in range(a.start, a.end)}
    for i in range(d.start, min(max(d.header_end, d.start + 1), len(toks))):
        if i not in attrs and toks[i].text == last and toks[i].kind in (IDENT, KEYWORD) and toks[i].text not in \
                d.keyword and toks[i].text not in d.modifiers:
            if d.kind == "module" and i + 1 < len(toks) and toks[i + 1].text == ".":
                continue
            return i
    return -1


def _attribute_canon(toks: Sequence[Token], i: int) -> str:
    """Canonical name of the attribute starting at token `i` (`{:name ...}` or `@Name`)."""
    if i + 1 >= len(toks):
        return ""
    name = toks[i + 1].text
    return name if toks[i].kind == ATTR_OPEN else _AT_NAMES.get(name, name)


def _attribute_at(toks: Sequence[Token], i: int, pair_end: int) -> tuple[str, str, list[Token]]:
    """Name (as written), canonical name and argument tokens of the attribute starting at token `i`."""
    if toks[i].kind == ATTR_OPEN:
        inner = toks[i + 1:pair_end] if pair_end > i else toks[i + 1:i + 2]
        name = inner[0].text if inner else ""
        args = list(inner[1:])
        return "{:" + " ".join([name, render(args, 60)]).strip() + "}", name, args
    name = toks[i + 1].text
    args = []
    if i + 2 < len(toks) and toks[i + 2].text == "(" and pair_end > i + 2:
        args = list(toks[i + 3:pair_end])
    canon = "nativeType" if name.startswith("Native") else _AT_NAMES.get(name, name)
    return "@" + name + (f"({render(args, 60)})" if args else ""), canon, args


def _classify(shown: str, canon: str, args: Sequence[Token]) -> tuple[str, str] | None:
    """(rule, message) for an attribute, or None when it is harmless. `{where}` is filled in later."""
    if canon in ALLOWED_ATTRIBUTES or (canon == "verify" and texts(args) == ("true",)):
        return None
    head = f"`{shown}` {{where}}"
    if canon == "axiom":
        return "QED-E103", (f"{head} makes an unproved axiom: the postcondition is assumed. Remove it and give "
                            "the member a body that proves its postcondition.")
    if canon in _CHECK_OFF:
        return "QED-E104", f"{head} turns a check off ({_CHECK_OFF[canon]}). Remove it."
    if canon in ("extern", "synthesize"):
        return "QED-E105", f"{head} trusts code that Dafny does not verify. Remove it and implement it in Dafny."
    if canon == "options":
        return "QED-E111", f"{head} changes the verifier's options for this module. Remove it."
    why = _CONTRACT_CHANGING.get(canon, "it is not on qedgen's allow-list of harmless attributes")
    return "QED-E112", (f"Attribute {head} is not allowed: {why}. Remove it (allowed: trigger, induction, fuel, "
                        "isolate_assertions, vcs_split_on_every_assert, timeLimit, rlimit, resource_limit, "
                        "focus, split_here, opaque, ...).")


_KEYWORD_ESCAPES = {
    "assume": ("QED-E101", "`assume` {where} escapes proof: the verifier takes it as true without checking. "
               "Replace it with an `assert` you can prove (strengthen the loop invariant, add a helper lemma or "
               "intermediate assertions)."),
    "expect": ("QED-E102", "`expect` {where} is checked only at run time; the verifier assumes it. Replace it "
               "with an `assert` and prove it."),
    "include": ("QED-E109", "`include` {where} brings in code that qedgen does not check. Remove it and put "
                "everything the proof needs in this file."),
    "refines": ("QED-E110", "`refines` {where} is not allowed where the spec does not use it (a refining module "
                "inherits declarations qedgen does not check). Write the module without `refines`."),
}
_DECREASES_STAR = ("`decreases *` {where} allows non-termination, so only partial correctness is proved. Give a "
                   "measure that decreases (e.g. `decreases n - i`).")
_NO_LOOP_BODY = ("This `{kw}` loop {where} has no body: Dafny assumes its invariants hold after it without running "
                 "any code. Give it a body.")
_NO_FORALL_BODY = ("This `forall` statement {where} has `ensures` but no body: Dafny assumes what it ensures. Give "
                   "it a body that proves it (e.g. call a lemma for each bound variable).")
_BAD_CHAR = ("Character `{ch}` (U+{code:04X}) {where} is not allowed outside strings, chars and comments: Dafny "
             "identifiers and operators are ASCII. Use ASCII (this also rules out names that only look like the "
             "spec's).")


def _is_at_attribute(toks: Sequence[Token], i: int) -> bool:
    return (toks[i].kind == OP and toks[i].text == "@" and i + 1 < len(toks) and toks[i + 1].kind == IDENT
            and not (i > 0 and toks[i - 1].text in _LABEL_BEFORE_AT))


def scan_escapes(out: Outline, trusted: bytearray | None = None,
                 star_ok: Sequence[tuple[int, int]] = ()) -> list[_Finding]:
    """Every escape from proof in the untrusted tokens of `out` (rules QED-E101..E113 except E107).

    Messages contain a `{where}` placeholder for the caller to fill in."""
    toks = out.tokens
    parser = out._parser
    pair = parser.pair if parser else [-1] * len(toks)
    trusted = trusted if trusted is not None else bytearray(len(toks))
    found: list[_Finding] = []
    skip_name: set[int] = set()
    for i, t in enumerate(toks):
        if trusted[i] or i in skip_name:
            continue
        k, x = t.kind, t.text
        if k == KEYWORD:
            if x in _KEYWORD_ESCAPES:
                rule, message = _KEYWORD_ESCAPES[x]
                found.append(_Finding(rule, i, message))
            elif x == "decreases":
                j = i + 1
                while j < len(toks) and toks[j].kind == ATTR_OPEN and pair[j] > j:
                    j = pair[j] + 1
                if j < len(toks) and toks[j].text == "*" and not any(a <= i < b for a, b in star_ok):
                    found.append(_Finding("QED-E106", i, _DECREASES_STAR))
            elif x in ("while", "for") and parser is not None and not out.loop_has_body(i):
                found.append(_Finding("QED-E108", i, _NO_LOOP_BODY.format(kw=x, where="{where}")))
            elif x == "forall" and parser is not None:
                info = out.forall_statement(i)
                if info is not None and info[0] and not info[1]:
                    found.append(_Finding("QED-E108", i, _NO_FORALL_BODY))
        elif k == ATTR_OPEN or _is_at_attribute(toks, i):
            end = pair[i] if k == ATTR_OPEN else (pair[i + 2] if i + 2 < len(toks) and toks[i + 2].text == "("
                                                  else -1)
            shown, canon, args = _attribute_at(toks, i, end)
            skip_name.add(i + 1)
            verdict = _classify(shown, canon, args)
            if verdict:
                found.append(_Finding(verdict[0], i, verdict[1]))
        elif k == INVALID:
            found.append(_Finding("QED-E113", i, _BAD_CHAR.format(ch=x, code=ord(x[0]), where="{where}")))
    return found


def _spec_assumptions(c: Contract) -> list[TrustedAssumption]:
    """What the spec itself trusts: listed, never blamed on the candidate."""
    out = c.outline
    found: list[TrustedAssumption] = []
    axiom_attrs = {i for d in c.axioms for a in d.attributes for i in range(a.start, a.end)}
    for f in scan_escapes(out):
        if f.index in axiom_attrs:  # listed below, once per axiom
            continue
        t = out.tokens[f.index]
        found.append(TrustedAssumption(what=f"given by the spec, trusted ({RULES[f.rule]}, {f.rule}): "
                                            f"`{_context(out, f.index)}`",
                                       file=c.file, line=t.line, member=out.member_at(t.line)))
    for d in out.directives:
        found.append(TrustedAssumption(what=f"given by the spec: preprocessor directive `{d.text}` (lines it "
                                            f"excludes are not checked)", file=c.file, line=d.line))
    for d in c.axioms:
        attrs = ", ".join(_show(a) for a in d.attributes if attribute_name(a) in ("axiom", "extern"))
        ens = "; ".join(render(cl.tokens, 80) for cl in d.clauses if cl.keyword == "ensures") or "no ensures"
        found.append(TrustedAssumption(what=f"bodiless {d.kind} `{d.qualified}` {attrs} is trusted: {ens}",
                                       file=c.file, line=d.start_line, member=d.qualified))
    return sorted(found, key=lambda a: (a.line or 0, a.what))


def _context(out: Outline, i: int, width: int = 8) -> str:
    toks = out.tokens
    line = toks[i].line
    same = [t for t in toks[i:i + width] if t.line == line]
    return render(same, 100)


def check_integrity(candidate_src: str, candidate_file: str, spec_src: str | None = None,
                    spec_file: str | None = None) -> IntegrityReport:
    """Check `candidate_src` against the spec (if any). Violations teach the fix; `assumptions` list what the
    spec trusts. Raises `BadInput` only when the spec itself cannot be read."""
    contract = contract_of(spec_src, spec_file or "spec.dfy") if spec_src is not None else None
    return _Checker(candidate_src, candidate_file, contract).run()
