"""The Lean integrity guard: a candidate Lean accepts may still cheat. This module says whether it does, in two
layers:

1. structural (here, on tokens: comments, whitespace and ASCII/Unicode spellings never matter): the contract
   is frozen and nothing escapes proof;
2. the kernel (`probe.py`): `#print axioms` on every declaration the contract names, in a private copy of the
   candidate checked in the same batch run; only `propext`, `Classical.choice` and `Quot.sound` are allowed
   (plus the axioms the contract itself gives). `judge_axioms` turns its answers into violations.

Contract semantics (`--spec`, a task's `spec:`): a declaration whose body is `sorry` (`:= sorry`, `:= by sorry`)
is to be filled; every other command of the contract is fixed and kept token for token (definitions keep their
bodies, theorems their proofs, `structure`s, `open`, `variable`, `namespace` ... stay). A filled declaration
keeps its kind, modifiers, attributes and signature (binders and type). The candidate may add helper
definitions and lemmas. Annotate mode (`--annotates`): the program's definitions are code and frozen; only
`sorry` proofs are filled and only theorems/lemmas may be added. Escapes that the contract itself gives (an
`axiom`, a fixed proof by `native_decide`) are trusted assumptions: listed, never blamed on the candidate.

Rule table (ids are stable; new rules get new ids):

| id | rule |
|---|---|
| QED-L000 | the file cannot be read as Lean tokens (an unterminated string, char or `«`) |
| QED-L001 | a declaration of the contract is missing |
| QED-L002 | a contract declaration's kind or modifiers changed (`def` -> `opaque`/`axiom`/`partial def`, `theorem` -> `def`, `private`, `unsafe` ...) |
| QED-L003 | a contract declaration's signature changed (binders, type, statement) |
| QED-L004 | a fixed declaration (one the contract gives with a body) had its body changed |
| QED-L005 | a contract declaration's attributes changed |
| QED-L006 | another command of the contract is missing or changed (`import`, `open`, `namespace`/`section`/`end`, `variable`, `universe`, `set_option`, `structure`, `inductive` ...) |
| QED-L007 | annotate mode: a new declaration that is not a theorem or lemma (the code is frozen) |
| QED-L008 | a new declaration whose name could be taken for a name the contract uses (shadowing through `open`, namespaces or overloading), or a contract name declared twice |
| QED-L101 | `sorry` or `admit` |
| QED-L102 | a new `axiom` |
| QED-L103 | `unsafe` code (`unsafe`, `unsafeCast`, `Unchecked.cast`, `unsafeIO` ...) |
| QED-L104 | `@[implemented_by]` / `@[extern]`: code the kernel never sees stands in for a definition |
| QED-L105 | an `opaque` constant standing in for a contract definition |
| QED-L106 | `set_option` of an option that is not on the allow-list (`debug.skipKernelTC` and anything else that could switch a check off) |
| QED-L107 | metaprogramming that can add declarations or change what the contract's text means: `elab`, `macro`, `syntax`, `notation`, `infix`..., `run_cmd`/`run_elab`/`run_meta`, `initialize`, and `#` commands other than `#check` (`#eval`, `#exit`, `#guard_msgs` ...) |
| QED-L108 | `open ... renaming` or `export`: a contract name could be made to mean another declaration |
| QED-L109 | an attribute that is not on the allow-list of harmless attributes (`ALLOWED_ATTRIBUTES`; custom elaborators, `@[init]`, `@[command_elab]` ... run code) |
| QED-L110 | a new instance (`instance`, `@[instance]`, `attribute [instance]`, `@[default_instance]`, `deriving instance`): a newer instance can change what the contract's operators mean |
| QED-L111 | `variable`, `include` or `omit` that the contract does not give (they can add hypotheses to a theorem without changing its text) |
| QED-L112 | `native_decide` / `decide +native` / `Lean.ofReduceBool`: the compiler, not the kernel, decides |
| QED-L113 | the `import` header differs from the contract's |
| QED-L114 | `module` (the module system, in which `#print axioms` cannot run) |
| QED-L120 | the kernel check: a contract declaration depends on `sorryAx`, `Lean.ofReduceBool`, a `native_decide` axiom or any axiom other than `propext`, `Classical.choice`, `Quot.sound` (and the contract's own) |
| QED-L121 | Lean itself reports a declaration that uses `sorry` (message kind `hasSorry`, the REPL's `sorries`) |
| QED-L122 | the elaborated statement of a contract declaration (`set_option pp.all true in #check @X`, in the candidate and in the contract) differs: its text is unchanged but its surroundings changed what it means |
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.models import IntegrityViolation, RuleFamily, TrustedAssumption

from .lexer import IDENT, KEYWORD, LexError, Token, tokenize
from .syntax import VALUE_KINDS, Command, Outline, outline_of

RULES: dict[str, str] = {
    "QED-L000": "not readable as Lean", "QED-L001": "contract declaration missing",
    "QED-L002": "kind or modifiers changed", "QED-L003": "signature changed", "QED-L004": "fixed body changed",
    "QED-L005": "attributes changed", "QED-L006": "contract command changed", "QED-L007": "code changed (annotate)",
    "QED-L008": "shadowing name", "QED-L101": "sorry", "QED-L102": "axiom", "QED-L103": "unsafe",
    "QED-L104": "implemented_by/extern", "QED-L105": "opaque for a contract definition",
    "QED-L106": "option not allowed", "QED-L107": "metaprogramming", "QED-L108": "renaming/export",
    "QED-L109": "attribute not allowed", "QED-L110": "new instance", "QED-L111": "variable/include",
    "QED-L112": "native_decide", "QED-L113": "imports changed", "QED-L114": "module system",
    "QED-L120": "kernel: axiom not allowed", "QED-L121": "Lean reports sorry",
    "QED-L122": "elaborated statement differs",
}
_FAMILY = {r: RuleFamily.contract for r in ("QED-L001", "QED-L002", "QED-L003", "QED-L004", "QED-L005",
                                            "QED-L006", "QED-L008", "QED-L113")}
_FAMILY.update({"QED-L007": RuleFamily.frozen_code, "QED-L121": RuleFamily.verifier_warning})

ALLOWED_AXIOMS = ("propext", "Classical.choice", "Quot.sound")
#: options a candidate may set: limits and printing, nothing that switches a check off
ALLOWED_OPTIONS = frozenset({"maxHeartbeats", "maxRecDepth", "synthInstance.maxHeartbeats", "synthInstance.maxSize",
                             "exponentiation.threshold", "diagnostics",
                             "maxSteps", "tactic.hygienic", "simprocs", "grind.warning"})
_ALLOWED_OPTION_PREFIXES = ("linter.", "pp.", "trace.", "profiler")
#: attributes that change how proofs are found or code is printed, never what a name means or what the kernel checks
ALLOWED_ATTRIBUTES = frozenset("""
simp reducible irreducible semireducible inline noinline specialize ext norm_cast push_cast simps aesop grind
match_pattern elab_as_elim congr refl symm trans deprecated nolint inherit_doc macro_inline always_inline
computed_field pp_nodot mk_iff gcongr induction_eliminator cases_eliminator local scoped nospecialize
reassoc mono bound positivity fun_prop continuity measurability zify_simps qify_simps rify_simps field_simps
semireducible_simp wf_preprocess grind_pattern simp_arith
""".split())
_META_COMMANDS = frozenset({"elab", "elab_rules", "macro", "macro_rules", "syntax", "declare_syntax_cat", "notation",
                            "infix", "infixl", "infixr", "prefix", "postfix", "run_cmd", "run_elab", "run_meta",
                            "initialize", "builtin_initialize"})
_UNSAFE_NAMES = frozenset({"unsafeCast", "Unchecked.cast", "unsafeIO", "unsafeEIO", "unsafeBaseIO", "ptrAddrUnsafe",
                           "withPtrAddrUnsafe", "unsafeIO'", "Lean.Elab.evalConst", "evalConst"})
_NATIVE_NAMES = frozenset({"native_decide", "Lean.ofReduceBool", "Lean.ofReduceNat", "Lean.trustCompiler",
                           "ofReduceBool", "ofReduceNat", "trustCompiler", "Lean.reduceBool", "Lean.reduceNat"})
MAX_PER_RULE = 5

_ADVICE = {
    "QED-L101": "Replace it with a real proof (tactics such as `simp`, `omega`, `induction`, `cases`, `exact`).",
    "QED-L102": "Do not add axioms: prove the fact as a `theorem` instead.",
    "QED-L103": "Write ordinary (safe) Lean code; unsafe code is not checked by the kernel.",
    "QED-L104": "Remove the attribute and give the definition an ordinary body the kernel can check.",
    "QED-L106": "Remove the `set_option`; only limits (`maxHeartbeats`, `maxRecDepth`) and printing options are "
                "allowed.",
    "QED-L107": "Remove it: write the proof with ordinary tactics and definitions, no new syntax, macros, "
                "elaborators or `#eval`-style commands.",
    "QED-L108": "Use the names as the contract does; do not rename or re-export declarations.",
    "QED-L109": "Remove the attribute (allowed ones: simp, reducible, ext, inline, ... see the rule table).",
    "QED-L110": "Do not declare instances: write a plain `def` or lemma and use it explicitly.",
    "QED-L111": "Put the hypotheses in the theorem's own binders of helper lemmas instead of `variable`/`include`.",
    "QED-L112": "Prove it with `decide` (kernel reduction), `simp`, `omega` or a real proof instead.",
    "QED-L113": "Keep exactly the contract's `import` lines.",
    "QED-L114": "Remove `module`: write an ordinary Lean file.",
}


@dataclass
class IntegrityReport:
    """What the guard found, and what the kernel check must probe."""

    violations: list[IntegrityViolation] = field(default_factory=list)
    assumptions: list[TrustedAssumption] = field(default_factory=list)
    probe_names: list[str] = field(default_factory=list)  # qualified names for `#print axioms`
    trusted_axioms: list[str] = field(default_factory=list)  # the contract's own axioms (allowed in the answers)
    trusted_native: list[str] = field(default_factory=list)  # contract declarations that use native_decide


class _Collector:
    def __init__(self, file: str):
        self.file = file
        self.out: list[IntegrityViolation] = []
        self.count: dict[str, int] = {}
        self.lines: set[tuple[str, int | None]] = set()

    def add(self, rule: str, message: str, line: int | None, member: str | None = None, col: int | None = None,
            advice: bool = True) -> None:
        if (rule, line) in self.lines and line is not None:
            return
        n = self.count.get(rule, 0)
        self.count[rule] = n + 1
        if n >= MAX_PER_RULE:
            return
        self.lines.add((rule, line))
        if advice and rule in _ADVICE:
            message = f"{message} {_ADVICE[rule]}"
        self.out.append(IntegrityViolation(rule=rule, family=_FAMILY.get(rule, RuleFamily.escape), message=message,
                                           file=self.file, line=line, column=col + 1 if col is not None else None,
                                           member=member))


def _text(tokens: list[Token]) -> str:
    return " ".join(t.text for t in tokens)


def _norm(tokens: list[Token]) -> tuple[str, ...]:
    return tuple(t.norm for t in tokens)


def _attribute_names(tokens: list[Token]) -> list[tuple[str, Token]]:
    """The attribute names in `@[a, b x, -c]` / `attribute [a] x` token runs (with `local`/`scoped` skipped)."""
    names: list[tuple[str, Token]] = []
    expect = True
    depth = 0
    for t in tokens:
        if t.text in ("@[", "[") and depth == 0:
            depth, expect = 1, True
            continue
        if depth == 0:
            continue
        if t.text in ("(", "[", "{"):
            depth += 1
        elif t.text in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                continue
        if depth == 1 and t.text == ",":
            expect = True
            continue
        if expect and depth == 1:
            if t.text in ("local", "scoped", "-"):
                continue
            if t.kind in (IDENT, KEYWORD):
                names.append((t.text, t))
                expect = False
    return names


def _outline(src: str, file: str, col: _Collector) -> Outline | None:
    try:
        return outline_of(tokenize(src))
    except LexError as e:
        col.add("QED-L000", f"the file cannot be read as Lean ({e}); fix the literal so the file parses.", e.line)
        return None


def _uses_native(cmd: Command) -> bool:
    return any(t.text in _NATIVE_NAMES or (t.text == "native" and i and cmd.tokens[i - 1].text == "+")
               for i, t in enumerate(cmd.tokens))


def scan_escapes(cmd: Command, col: _Collector, *, given_variables: bool = False, contract_decl: bool = False) -> None:
    """Every escape from proof in one command the candidate wrote (not one the contract gives). For a
    `contract_decl` (the candidate's version of a declaration the contract names) the kind is the contract's
    to judge, not this scan's."""
    member = cmd.full_name
    if cmd.kind == "axiom" and not contract_decl:
        col.add("QED-L102", f"`axiom {cmd.name or ''}` adds an unproved assumption.", cmd.line, member)
    if cmd.kind in _META_COMMANDS:
        col.add("QED-L107", f"`{cmd.kind}` is metaprogramming.", cmd.line, member)
    if cmd.kind == "module":
        col.add("QED-L114", "`module` switches on the module system, where `#print axioms` cannot run.", cmd.line)
    if cmd.kind == "export":
        col.add("QED-L108", "`export` re-exports names into another namespace.", cmd.line)
    if cmd.kind in ("variable", "include", "omit") and not given_variables:
        col.add("QED-L111", f"`{cmd.kind}` is not given by the contract.", cmd.line)
    if cmd.kind == "instance" and not contract_decl:
        col.add("QED-L110", f"a new instance{' `' + cmd.name + '`' if cmd.name else ''}.", cmd.line, member)
    # an `opaque` is judged against the contract (QED-L105); a helper `opaque` cannot be unfolded, so proves nothing
    attr_tokens = list(cmd.attributes) + (cmd.signature if cmd.kind == "attribute" else [])
    for name, tok in _attribute_names(attr_tokens):
        base = name.split(".")[-1]
        if base in ("implemented_by", "extern", "export"):
            col.add("QED-L104", f"`@[{name}]` makes the compiler use code the kernel never checked.", tok.line, member,
                    tok.col)
        elif base in ("instance", "default_instance"):
            col.add("QED-L110", f"`{name}` declares an instance.", tok.line, member, tok.col)
        elif base not in ALLOWED_ATTRIBUTES:
            col.add("QED-L109", f"the attribute `{name}` is not on the allow-list.", tok.line, member, tok.col)
    toks = cmd.tokens
    for i, t in enumerate(toks):
        prev = toks[i - 1] if i else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if t.text in ("sorry", "admit"):
            col.add("QED-L101", f"`{t.text}` leaves a proof obligation unproved.", t.line, member, t.col)
        elif t.text == "unsafe" or t.text in _UNSAFE_NAMES:
            col.add("QED-L103", f"`{t.text}` is unsafe code.", t.line, member, t.col)
        elif t.text in _NATIVE_NAMES or (t.text == "native" and prev is not None and prev.text == "+"):
            col.add("QED-L112", f"`{t.text}` trusts the compiler instead of the kernel.", t.line, member, t.col)
        elif t.kind == KEYWORD and t.text.startswith("#") and t.text != "#check":
            col.add("QED-L107", f"`{t.text}` is not allowed in a candidate.", t.line, member, t.col)
        elif t.text == "set_option" and nxt is not None:
            opt = nxt.text
            if opt not in ALLOWED_OPTIONS and not opt.startswith(_ALLOWED_OPTION_PREFIXES):
                col.add("QED-L106", f"`set_option {opt}` is not allowed.", t.line, member, t.col)
        elif t.text == "renaming":
            col.add("QED-L108", "`open ... renaming` makes a name mean another declaration.", t.line, member, t.col)
        elif t.text == "instance" and prev is not None and prev.text == "deriving":
            col.add("QED-L110", "`deriving instance` adds instances to existing types.", t.line, member, t.col)
        elif t.text in _META_COMMANDS and t.kind == KEYWORD and t is not toks[0]:
            col.add("QED-L107", f"`{t.text}` is metaprogramming.", t.line, member, t.col)


def _idents(cmds: list[Command]) -> set[str]:
    """Every name part the contract's declarations use (`List.sum` gives `List.sum` and `sum`)."""
    out: set[str] = set()
    for c in cmds:
        for t in c.signature + c.body:
            if t.kind == IDENT:
                out.add(t.text)
                out.add(t.text.split(".")[-1])
    return out


def _mods(cmd: Command) -> tuple[str, ...]:
    return tuple(sorted(m for m in cmd.modifiers if m != "noncomputable"))


def _kind(cmd: Command) -> str:
    return "theorem" if cmd.kind == "lemma" else cmd.kind


def check_integrity(source: str, file: str, contract_source: str | None = None, contract_file: str | None = None,
                    *, annotate: bool = False) -> IntegrityReport:
    """The structural guard (see the module docstring). With no contract, the escape rules apply to the whole
    file and every named declaration is probed; with one, the contract is frozen and its names are probed."""
    col = _Collector(file)
    report = IntegrityReport()
    cand = _outline(source, file, col)
    if cand is None:
        report.violations = col.out
        return report
    if contract_source is None:
        for cmd in cand.commands:
            scan_escapes(cmd, col, given_variables=True)
        report.probe_names = [c.full_name for c in cand.decls() if c.kind in VALUE_KINDS and c.full_name]
        report.violations = col.out
        return report
    spec_col = _Collector(contract_file or "contract")
    spec = _outline(contract_source, contract_file or "contract", spec_col)
    if spec is None:
        from verifier.errors import BadInput

        raise BadInput(f"the spec {contract_file} cannot be read as Lean ({spec_col.out[0].message})",
                       fix="fix the contract first: `lean SPEC.lean` must accept it (with `sorry`s)")
    _compare(spec, cand, col, report, contract_file or "contract", annotate)
    report.violations = col.out
    return report


def _compare(spec: Outline, cand: Outline, col: _Collector, report: IntegrityReport, spec_file: str,
             annotate: bool) -> None:
    spec_decls = spec.by_name()
    cand_decls = cand.by_name()
    given = {_norm(c.tokens) for c in spec.commands if not c.to_fill}
    # -- the contract's declarations
    for name, [sc, *_] in spec_decls.items():
        if sc.kind == "axiom":
            report.assumptions.append(TrustedAssumption(what=f"axiom {name} (given by the contract)", file=spec_file,
                                                        line=sc.line, member=name))
            report.trusted_axioms.append(name)
        elif not sc.to_fill and _uses_native(sc):
            report.assumptions.append(TrustedAssumption(what=f"{name} uses native_decide (given by the contract)",
                                                        file=spec_file, line=sc.line, member=name))
            report.trusted_native.append(name)
        if sc.kind in VALUE_KINDS:
            report.probe_names.append(name)
        found = cand_decls.get(name)
        if not found:
            what = "fill in its `sorry`" if sc.to_fill else "restore it exactly as given"
            col.add("QED-L001", f"`{sc.kind} {name}` of the contract is missing: {what} (same name, in the same "
                                f"namespace).", None, name)
            continue
        if len(found) > 1:
            col.add("QED-L008", f"`{name}` is declared {len(found)} times; declare it once, as the contract does.",
                    found[1].line, name)
        cc = found[0]
        where = cc.line
        if cc.kind == "opaque" and sc.kind != "opaque":
            col.add("QED-L105", f"`{name}` must be a `{sc.kind}` with a body the kernel can unfold, not an `opaque` "
                                f"constant: write `{sc.kind} {sc.name} ... := <definition>`.", where, name)
        elif _kind(cc) != _kind(sc) or _mods(cc) != _mods(sc):
            want = " ".join([*_mods(sc), sc.kind])
            got = " ".join([*_mods(cc), cc.kind])
            col.add("QED-L002", f"`{name}` is declared as `{got}`, but the contract says `{want}`: declare it "
                                f"exactly as `{want} {sc.name}`.", where, name)
        if _norm(cc.signature) != _norm(sc.signature):
            col.add("QED-L003", f"the signature of `{name}` changed; restore it exactly as the contract states it: "
                                f"`{_text(sc.signature)[:300]}`.", where, name)
        if _norm(cc.attributes) != _norm(sc.attributes):
            want = _text(sc.attributes) or "no attributes"
            col.add("QED-L005", f"the attributes of `{name}` changed; keep exactly {want}.", where, name)
        if not sc.to_fill and _norm(cc.body) != _norm(sc.body):
            col.add("QED-L004", f"`{name}` is fixed by the contract: restore its body exactly as given (put your "
                                f"work in new helper lemmas).", where, name)
    # -- the contract's other commands, in order
    structural = [c for c in spec.commands if not (c.is_decl and c.full_name) and c.kind != "example"]
    cand_norms = [_norm(c.tokens) for c in cand.commands]
    pos = 0
    for sc in structural:
        want = _norm(sc.tokens)
        try:
            pos = cand_norms.index(want, pos) + 1
        except ValueError:
            rule = "QED-L113" if sc.kind == "import" else "QED-L006"
            col.add(rule, f"the contract's `{_text(sc.tokens)[:200]}` (line {sc.line} of the contract) is missing "
                          f"or changed; keep it exactly, in the same place.", None)
    spec_imports, cand_imports = spec.imports(), cand.imports()
    if cand_imports != spec_imports:
        extra = [" ".join(i) for i in cand_imports if i not in spec_imports]
        if extra:
            col.add("QED-L113", f"`{extra[0]}` is not among the contract's imports.", None)
    # -- what the candidate adds
    used = _idents([c for c in spec.decls() if c.full_name])
    spec_names = set(spec_decls)
    for cmd in cand.commands:
        is_given = _norm(cmd.tokens) in given
        if cmd.full_name in spec_names:
            if not is_given:
                scan_escapes(cmd, col, contract_decl=True)
            continue
        if is_given:
            continue
        scan_escapes(cmd, col)
        if cmd.is_decl and cmd.full_name:
            last = cmd.full_name.split(".")[-1]
            if last in used or cmd.full_name in used:
                col.add("QED-L008", f"the new declaration `{cmd.full_name}` could be taken for `{last}`, a name the "
                                    f"contract uses; give your helper a fresh name.", cmd.line, cmd.full_name)
        if annotate and cmd.is_decl and _kind(cmd) not in ("theorem", "example"):
            col.add("QED-L007", f"annotate mode: the program's code is frozen, so the new `{cmd.kind}` is not "
                                f"allowed; add only theorems and lemmas (and fill the `sorry` proofs).", cmd.line,
                    cmd.full_name)


def obligations(source: str) -> list[str]:
    """The qualified names of the declarations a contract asks to fill (`sorry` bodies)."""
    return [c.full_name for c in outline_of(tokenize(source)).decls() if c.to_fill and c.full_name]


def judge_axioms(answers: dict[str, list[str] | None], report: IntegrityReport, file: str,
                 lines: dict[str, int | None]) -> list[IntegrityViolation]:
    """QED-L120 for every probed declaration that depends on an axiom outside `ALLOWED_AXIOMS` and the contract's
    own. `answers` maps a probed name to the axioms Lean listed (None: no answer, judged by the verdict)."""
    col = _Collector(file)
    trusted = set(ALLOWED_AXIOMS) | set(report.trusted_axioms)
    for name, axioms in answers.items():
        if axioms is None:
            continue
        for ax in axioms:
            if ax in trusted:
                continue
            if report.trusted_native and (ax in ("Lean.ofReduceBool", "Lean.ofReduceNat", "Lean.trustCompiler") or any(
                    ax.startswith(n + "._native.") for n in report.trusted_native)):
                continue
            if ax == "sorryAx":
                why = "uses `sorry` (directly or through a lemma it uses): prove it, and every lemma it uses."
            elif ax in ("Lean.ofReduceBool", "Lean.ofReduceNat", "Lean.trustCompiler") or "._native." in ax:
                why = (f"relies on `native_decide` (axiom `{ax}`): the compiler, not the kernel, decided it. Prove it "
                       f"with `decide`, `simp`, `omega` or a real proof.")
            else:
                why = f"depends on the axiom `{ax}`, which is not allowed: prove it without that axiom."
            col.add("QED-L120", f"the kernel says `{name}` {why}", lines.get(name), name, advice=False)
    return col.out
