"""Prompts for the synthesis loop: typed contexts, verifier feedback for repair, and Jinja rendering.

Templates live in `prompts/<language>/` (bundled next to the `verifier/` package; `--prompts DIR` replaces
the whole folder, see `PromptRenderer`): `system.j2`, `generate.j2` (implement and annotate modes),
`write_contract.j2` (from-description mode) and `repair.j2`. Templates get typed objects (`GenerateContext`,
`RepairContext`, `FeedbackItem`), never loose dicts, and are rendered with `StrictUndefined`: a template that
names a missing field is a `BadInput` naming the template and the field, not a silently empty prompt.

Feedback (`feedback_from`)
--------------------------
One `FeedbackItem` per problem, in this order: verifier errors (in the verifier's order), then integrity
violations (in plain words, with their rule id and message), then warnings that reveal an escape from proof
(`warning_class == escape`, unless an integrity violation already covers the same line). Style, trigger and
other warnings, and info messages, are dropped: they never fail a proof. Each item has `where`
("line 12, in `SumTo`"), `kind`, `message`, a line-numbered `source_excerpt` of the candidate (2 lines of
context each side, a `^` line under the column when known), `related` (the text at each related location,
e.g. the failing `ensures` clause, quoted from the candidate) and kind-specific `guidance`.

Bounding rules (the repair prompt has a bounded size whatever the verifier printed)
-----------------------------------------------------------------------------------
All limits are fields of `PromptLimits` (defaults in brackets) and can be changed per `PromptRenderer`.

1. Per-item truncation: a message is cut to `message_chars` [600], each excerpt line to `excerpt_line_chars`
   [160], each related quote to `related_chars` [300]; cuts end with `...`. At most 3 related locations per item.
2. Repeated guidance: when several kept items have the same guidance, only the first carries it in full;
   later ones say "(same advice as problem N)".
3. Item budget: items are taken in priority order (errors, then violations, then escape warnings) while
   there are fewer than `max_items` [8] and the running size stays within `feedback_chars` [12,000]. The size
   of an item is the length of its text fields plus `item_overhead_chars` [150] for the template's own
   wording, which must not spend more than that per item. Taking stops at the first item that does not fit
   (a later, smaller item never jumps ahead of a more important one). If not even the first item fits, it is
   kept with its message cut so that it does.
4. Dropped items are counted: the prompt says "... and K more problems (fix these first)".
5. The previous candidate is included whole when it has at most `candidate_chars` [16,000] characters;
   otherwise its first and last lines (about half the limit each, cut at line ends) are kept with a
   `// ... N characters elided ...` marker line in between. Excerpt line numbers refer to the whole candidate.
6. An extraction error message is cut to `extraction_error_chars` [1,000].

So a repair prompt is at most: the fixed template text + the task text + `feedback_chars` + `candidate_chars`
(+ the contract, which the user supplied).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import jinja2
from pydantic import BaseModel, ConfigDict

from verifier.errors import BadInput
from verifier.models import Diagnostic, FileResult, IntegrityViolation, Severity, WarningClass
from verifier.tasks import Mode, Task

__all__ = [
    "BUNDLED_PROMPTS", "ChatMessage", "ContractRetry", "FeedbackItem", "GenerateContext", "PromptLimits", "PromptRenderer",
    "RepairContext", "bound_feedback", "feedback_from", "guidance_for", "source_excerpt",
]

#: The bundled templates: `prompts/` at the top of the repository (next to `verifier/`).
BUNDLED_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"

TEMPLATES = ("system.j2", "generate.j2", "write_contract.j2", "repair.j2")

_FENCE = {"dafny": "dafny", "lean": "lean", "fstar": "fstar"}


# --- typed contexts -------------------------------------------------------------------------------


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


_LABELS = {
    "integrity": "integrity violation",
    "escape_warning": "escape from proof (Dafny warning)",
    "invariant_entry": "loop invariant not true on entry",
    "invariant_maintained": "loop invariant not maintained",
    "postcondition": "postcondition not proved",
    "precondition": "precondition of a call not proved",
    "assertion": "assertion not proved",
    "decreases": "termination not proved",
    "parse": "syntax error",
    "resolution": "name or type error",
}


@dataclass(frozen=True)
class FeedbackItem:
    """One problem with the candidate, ready for the repair prompt."""

    where: str  # "line 12, in `SumTo`"
    kind: str  # a DiagnosticKind value, or "integrity"
    message: str
    source_excerpt: str | None = None  # numbered lines of the candidate around the problem, with a ^ marker line
    related: tuple[str, ...] = ()  # quoted text at related locations, e.g. "line 3: `ensures s == ...`"
    guidance: str = ""
    rule: str | None = None  # integrity rule id, e.g. QED-E101

    @property
    def label(self) -> str:
        """A short heading for the kind, in plain words."""
        return _LABELS.get(self.kind, self.kind.replace("_", " "))

    def size(self) -> int:
        return (len(self.where) + len(self.kind) + len(self.message) + len(self.source_excerpt or "")
                + sum(len(r) + 1 for r in self.related) + len(self.guidance) + len(self.rule or ""))


@dataclass(frozen=True)
class GenerateContext:
    """What the generate / write-contract prompts see. The mode follows from the texts given:
    `program_text` -> annotate; `contract_text` -> implement; neither -> from_description."""

    task: Task
    language: str = "dafny"
    contract_text: str | None = None
    program_text: str | None = None

    @classmethod
    def for_task(cls, task: Task, contract_text: str | None = None) -> "GenerateContext":
        """Read the task's spec or program file; `contract_text` is an accepted contract (from-description mode)."""
        program = None
        if task.spec is not None:
            contract_text = _read(Path(task.spec), "spec")
        elif task.program is not None:
            program = _read(Path(task.program), "program")
        return cls(task=task, language=str(task.language), contract_text=contract_text, program_text=program)

    @property
    def mode(self) -> str:
        return _mode_of(self.program_text, self.contract_text, Mode.from_description)

    @property
    def fence(self) -> str:
        return _FENCE.get(self.language, self.language)


def _mode_of(program_text: str | None, contract_text: str | None, otherwise: Mode) -> str:
    """A given program means annotate, a given contract implement; else `otherwise`."""
    if program_text is not None:
        return Mode.annotate.value
    if contract_text is not None:
        return Mode.implement.value
    return otherwise.value


@dataclass(frozen=True)
class RepairContext:
    """What the repair prompt sees. `candidate` is None when the last answer had no usable code, then
    `extraction_error` says why. `omitted` and `candidate_elided` are set by the renderer's bounding."""

    task: Task
    candidate: str | None
    feedback: list[FeedbackItem] = field(default_factory=list)
    extraction_error: str | None = None
    round: int = 1
    language: str = "dafny"
    contract_text: str | None = None
    program_text: str | None = None
    omitted: int = 0
    candidate_elided: bool = False

    @property
    def mode(self) -> str:
        return _mode_of(self.program_text, self.contract_text, Mode(self.task.mode))

    @property
    def fence(self) -> str:
        return _FENCE.get(self.language, self.language)


@dataclass(frozen=True)
class ContractRetry:
    """What the write-contract prompt sees on a later round: the previous contract (None when the answer had no
    usable code) and why it was not usable (resolution errors, escapes, nothing to implement)."""

    previous: str | None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PromptLimits:
    """Size limits of the repair prompt (see the module docstring)."""

    feedback_chars: int = 12_000
    max_items: int = 8
    message_chars: int = 600
    excerpt_line_chars: int = 160
    related_chars: int = 300
    max_related: int = 3
    item_overhead_chars: int = 150
    candidate_chars: int = 16_000
    extraction_error_chars: int = 1_000


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read the task's {what} file {path}: {e}",
                       fix="check the path in the task file") from None


# --- guidance --------------------------------------------------------------------------------------

_GUIDANCE: dict[str, str] = {
    "precondition": "A call's `requires` clause may not hold at this call site. Establish it just before the call "
                    "(an `assert`, a stronger loop invariant or an `if` guard); never weaken the callee's contract.",
    "postcondition": "The `ensures` clause quoted above is not established on this path to the end of the member. "
                     "Make the code compute exactly what it states, and for loops add an invariant that implies "
                     "it when the loop exits (together with the negated loop guard).",
    "invariant_entry": "The loop invariant is false before the first iteration. Check it against the values the "
                       "variables have just before the loop (initialise them accordingly), or state it so that "
                       "it also holds initially, e.g. `i <= n` rather than `i < n`.",
    "invariant_maintained": "The invariant holds on entry but one iteration can break it. Strengthen it with the "
                            "facts the loop body relies on (bounds, the relation between the accumulator and the "
                            "counter), or add `assert`s in the body to guide the proof.",
    "invariant": "A loop invariant could not be proved. Check it holds before the loop and that every iteration "
                 "preserves it; strengthen it with the facts the body relies on.",
    "assertion": "This `assert` could not be proved from what is known at that point. Add intermediate assertions "
                 "or a helper lemma, or strengthen the loop invariant that should imply it.",
    "decreases": "Termination could not be proved. Give an explicit `decreases` measure that every loop iteration "
                 "or recursive call makes strictly smaller and that is bounded below (e.g. `decreases n - i` with "
                 "invariant `i <= n`); `decreases *` is not allowed.",
    "frame": "The code modifies memory that the `modifies` clause does not allow. Change the code so it writes only "
             "what the clause lists (the contract's frame is fixed); for loops, add a `modifies` clause to the loop.",
    "reads": "A function or predicate reads memory its `reads` clause does not list. Add the object or array to "
             "the `reads` clause of helper functions you wrote; do not change the contract's own clauses.",
    "index_out_of_range": "An index may be outside the array/sequence bounds. Guard the access or add an invariant "
                          "such as `0 <= i < |a|` (or `i <= a.Length` with a loop guard `i < a.Length`).",
    "division_by_zero": "The divisor may be zero here. Prove it is non-zero from a precondition or an invariant, "
                        "or guard the division with an `if`.",
    "null_dereference": "The reference may be null here. Use a non-null type (`T` instead of `T?`) in your own "
                        "declarations or guard the access.",
    "subset_type": "A value may violate its type's constraint (e.g. a negative value assigned to a `nat`). Prove "
                   "the bound with an invariant or assertion, or compute in `int` and convert once it is proved.",
    "definite_assignment": "A variable or result may be read before it is assigned. Assign it on every path "
                           "before use, including the paths through each branch and past loops.",
    "well_formedness": "An expression is not well-formed here (e.g. a partial function used outside its "
                       "precondition). Establish the facts it needs before it is evaluated, or reorder the "
                       "conjuncts so the guard comes first.",
    "timeout": "The solver ran out of time. Split the proof: add intermediate `assert`s, move reasoning into "
               "small helper lemmas, and avoid nonlinear arithmetic or heavy quantifiers in invariants.",
    "resource_limit": "The solver hit its resource limit. Make the proof easier: intermediate `assert`s, small "
                      "helper lemmas for the arithmetic or quantified facts, fewer quantifiers in invariants.",
    "parse": "The program does not parse. Fix the syntax at this line (Dafny 4 syntax: `:=` for assignment, "
             "clauses before the body, balanced braces) before anything else.",
    "resolution": "The program does not type-check. Fix the name or type error at this line (undeclared "
                  "identifier, wrong type, wrong number of arguments) before any proof work.",
    "toolchain": "The verifier itself failed here; simplify the program around this point.",
    "warning": "Dafny warns that this escapes proof. Remove the construct and prove the fact instead.",
    "other": "Fix the problem at this location.",
}

_CONTRACT_GUIDANCE = ("The contract is fixed: restore this member exactly as the contract gives it (name, signature, "
                      "requires/ensures/reads/modifies/decreases clauses, attributes, fixed bodies), and put your "
                      "changes in bodies, loop annotations and new helper declarations with fresh names.")
_ESCAPE_GUIDANCE = ("Escapes from proof are rejected even when Dafny accepts the file. Remove it and prove the fact "
                    "instead: an `assert` backed by a stronger loop invariant or a helper lemma with its own proof.")
_FROZEN_CODE_GUIDANCE = ("In annotate mode the program's code and contract are frozen: restore every statement, "
                         "expression and clause of the given program exactly, and add only proof hints (loop "
                         "invariants and decreases, `assert`s, `calc`, lemma calls, ghost variables, new lemmas "
                         "and ghost functions).")
_ESCAPE_WARNING_GUIDANCE = ("This warning shows the candidate avoids a proof obligation; it counts as an integrity "
                            "violation. Remove the construct it names and prove the fact instead.")


def guidance_for(kind: str, rule: str | None = None) -> str:
    """Kind-specific advice (1-2 sentences). For integrity violations, pass kind="integrity" and the rule id."""
    if kind == "integrity":
        if rule and rule.startswith("QED-E0"):
            return _CONTRACT_GUIDANCE
        if rule and rule.startswith("QED-E2"):
            return _FROZEN_CODE_GUIDANCE
        if rule and rule.startswith(("QED-W", "QED-A")):
            return _ESCAPE_WARNING_GUIDANCE
        return _ESCAPE_GUIDANCE
    if kind == "escape_warning":
        return _ESCAPE_WARNING_GUIDANCE
    return _GUIDANCE.get(kind, _GUIDANCE["other"])


# --- feedback from a verifier result ---------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    text = text.rstrip()
    return text if len(text) <= limit else text[: max(0, limit - 3)].rstrip() + "..."


def source_excerpt(source: str, line: int | None, column: int | None = None, context: int = 2,
                   line_chars: int = 160) -> str | None:
    """Lines `line-context .. line+context` of `source`, numbered, with a `^` line under `column` (1-based)."""
    lines = source.splitlines()
    if line is None or not (1 <= line <= len(lines)):
        return None
    width = len(str(min(len(lines), line + context)))
    out = []
    for n in range(max(1, line - context), min(len(lines), line + context) + 1):
        text = _clip(lines[n - 1], line_chars)
        out.append(f"{n:>{width}} | {text}".rstrip())
        if n == line and column is not None and 1 <= column <= len(text) + 1:
            # keep tabs so the marker lines up however the tab is displayed
            pad = "".join(c if c == "\t" else " " for c in text[: column - 1])
            out.append(f"{' ' * width} | {pad}^")
    return "\n".join(out)


def _quote(source_lines: list[str], line: int | None, end_line: int | None, limit: int) -> str | None:
    """The whole source line(s) at a related location, whitespace-normalised (e.g. `ensures s == n * (n+1) / 2`)."""
    if line is None or not (1 <= line <= len(source_lines)):
        return None
    last = min(end_line if end_line and end_line >= line else line, line + 2, len(source_lines))
    text = " ".join(" ".join(source_lines[n - 1] for n in range(line, last + 1)).split())
    return _clip(text, limit) if text else None


def _where(line: int | None, member: str | None) -> str:
    parts = [f"line {line}"] if line is not None else []
    if member:
        parts.append(f"in `{member}`")
    return ", ".join(parts) if parts else "the whole program (no position given)"


def _same_file(a: str, b: str) -> bool:
    return a == b or Path(a).name == Path(b).name


def _from_diagnostic(d: Diagnostic, result: FileResult, source: str, lines: list[str], kind: str,
                     limits: PromptLimits) -> FeedbackItem:
    here = _same_file(d.file, result.file)
    related = []
    for r in d.related[: limits.max_related]:
        quoted = _quote(lines, r.line, r.end_line, limits.related_chars) \
            if _same_file(r.file, result.file) else None
        label = f"line {r.line}" if r.line is not None else Path(r.file).name
        if quoted:
            note = f" ({_clip(r.message, 120)})" if r.message else ""
            related.append(f"{label}: `{quoted}`{note}")
        elif r.message:
            related.append(f"{label}: {_clip(r.message, limits.related_chars)}")
    return FeedbackItem(
        where=_where(d.line, d.member),
        kind=kind,
        message=_clip(d.message, limits.message_chars),
        source_excerpt=source_excerpt(source, d.line, d.column, line_chars=limits.excerpt_line_chars) if here else None,
        related=tuple(related),
        guidance=guidance_for(kind if kind != "warning" else "escape_warning"),
    )


def _from_violation(v: IntegrityViolation, source: str, limits: PromptLimits) -> FeedbackItem:
    return FeedbackItem(
        where=_where(v.line, v.member),
        kind="integrity",
        message=_clip(f"The integrity guard rejects the program (rule {v.rule}): {v.message}", limits.message_chars),
        source_excerpt=source_excerpt(source, v.line, v.column, line_chars=limits.excerpt_line_chars),
        guidance=guidance_for("integrity", v.rule),
        rule=v.rule,
    )


def _value(x) -> str:
    return x.value if hasattr(x, "value") else str(x)


def feedback_from(result: FileResult, candidate_source: str, limits: PromptLimits | None = None) -> list[FeedbackItem]:
    """Every problem in `result`, in priority order: errors, integrity violations, escape warnings (see module doc).
    Items are truncated per field; the count/size bounds are applied later (`bound_feedback`)."""
    limits = limits or PromptLimits()
    lines = candidate_source.splitlines()
    errors, warnings = [], []
    for d in result.diagnostics:
        if _value(d.severity) == Severity.error.value:
            errors.append(_from_diagnostic(d, result, candidate_source, lines, _value(d.kind), limits))
        elif (_value(d.severity) == Severity.warning.value and d.warning_class is not None
              and _value(d.warning_class) == WarningClass.escape.value):
            if any(v.line is not None and v.line == d.line for v in result.integrity):
                continue  # the guard already reports this escape
            item = _from_diagnostic(d, result, candidate_source, lines, "warning", limits)
            warnings.append(replace(item, kind="escape_warning",
                                    message=_clip("Dafny warns that this escapes proof: " + d.message,
                                                  limits.message_chars)))
    violations = [_from_violation(v, candidate_source, limits) for v in result.integrity]
    return errors + violations + warnings


def bound_feedback(items: list[FeedbackItem], limits: PromptLimits | None = None) -> tuple[list[FeedbackItem], int]:
    """Apply the count and size budget (rules 2-4 of the module doc). Returns (kept items, number dropped)."""
    limits = limits or PromptLimits()
    kept: list[FeedbackItem] = []
    first_with: dict[str, int] = {}
    used = 0
    for item in items:
        if len(kept) >= limits.max_items:
            break
        if item.guidance in first_with:
            item = replace(item, guidance=f"(same advice as problem {first_with[item.guidance]})")
        cost = item.size() + limits.item_overhead_chars
        if used + cost > limits.feedback_chars:
            if kept:
                break
            room = limits.feedback_chars - limits.item_overhead_chars - (item.size() - len(item.message))
            if room < 40:  # drop the excerpt and related quotes too
                item = replace(item, source_excerpt=None, related=(), guidance=_clip(item.guidance, 200))
                room = limits.feedback_chars - limits.item_overhead_chars - (item.size() - len(item.message))
            item = replace(item, message=_clip(item.message, max(room, 0)))
            cost = item.size() + limits.item_overhead_chars
        first_with.setdefault(item.guidance, len(kept) + 1)
        kept.append(item)
        used += cost
    return kept, len(items) - len(kept)


def _elide(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    half = limit // 2
    head_end = text.rfind("\n", 0, half)
    head_end = half if head_end <= 0 else head_end + 1
    tail_start = text.find("\n", len(text) - half)
    tail_start = len(text) - half if tail_start < 0 else tail_start + 1
    elided = tail_start - head_end
    marker = f"// ... {elided} characters elided by qedgen (your previous answer was too long to repeat) ...\n"
    head = text[:head_end] if text[:head_end].endswith("\n") else text[:head_end] + "\n"
    return head + marker + text[tail_start:], True


# --- rendering -------------------------------------------------------------------------------------


class PromptRenderer:
    """Renders `prompts/<language>/*.j2` into chat messages.

    `prompts_dir` replaces the bundled `prompts/` folder (it must then hold `<language>/<template>.j2` for every
    template used; there is no fallback to the bundled ones, so what is sent is exactly what the folder says)."""

    def __init__(self, prompts_dir: Path | None = None, language: str = "dafny", limits: PromptLimits | None = None):
        root = Path(prompts_dir) if prompts_dir is not None else BUNDLED_PROMPTS
        self.root = root
        self.language = str(language)
        self.limits = limits or PromptLimits()
        self.dir = root / self.language
        if not root.is_dir():
            raise BadInput(f"prompts folder {root} does not exist",
                           fix="give a folder holding <language>/system.j2, generate.j2, write_contract.j2, repair.j2")
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.dir)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # -- public API

    def system(self) -> list[ChatMessage]:
        return [ChatMessage(role="system", content=self._render("system.j2", language=self.language))]

    def generate(self, ctx: GenerateContext) -> list[ChatMessage]:
        if ctx.mode == Mode.from_description.value:
            raise BadInput(f"task {ctx.task.id} has no contract yet, so there is nothing to implement",
                           fix="write the contract first (PromptRenderer.write_contract) and pass the accepted one "
                               "as contract_text")
        return self.system() + [ChatMessage(role="user", content=self._render("generate.j2", ctx=ctx))]

    def write_contract(self, ctx: GenerateContext, retry: ContractRetry | None = None) -> list[ChatMessage]:
        """The write-contract prompt; `retry` (bounded like the repair prompt) on rounds after the first."""
        if retry is not None:
            lim = self.limits
            problems = [_clip(x, lim.message_chars) for x in retry.problems[:lim.max_items]]
            if len(retry.problems) > lim.max_items:
                problems.append(f"... and {len(retry.problems) - lim.max_items} more")
            previous = None if retry.previous is None else _elide(retry.previous, lim.candidate_chars)[0]
            retry = ContractRetry(previous=previous, problems=problems)
        content = self._render("write_contract.j2", ctx=ctx, retry=retry)
        return self.system() + [ChatMessage(role="user", content=content)]

    def repair(self, ctx: RepairContext) -> list[ChatMessage]:
        return self.system() + [ChatMessage(role="user", content=self._render("repair.j2", ctx=self.bound(ctx)))]

    def bound(self, ctx: RepairContext) -> RepairContext:
        """The context with the bounding rules applied (what `repair` renders)."""
        items, dropped = bound_feedback(ctx.feedback, self.limits)
        candidate, elided = (None, False) if ctx.candidate is None else _elide(ctx.candidate,
                                                                                self.limits.candidate_chars)
        error = None if ctx.extraction_error is None else _clip(ctx.extraction_error,
                                                                 self.limits.extraction_error_chars)
        return replace(ctx, feedback=items, omitted=ctx.omitted + dropped, candidate=candidate,
                       candidate_elided=elided or ctx.candidate_elided, extraction_error=error)

    # -- internals

    def _render(self, name: str, **values) -> str:
        path = self.dir / name
        try:
            template = self.env.get_template(name)
        except jinja2.TemplateNotFound:
            raise BadInput(f"prompt template {path} does not exist",
                           fix=f"create it (copy {BUNDLED_PROMPTS / 'dafny' / name} as a start) or drop --prompts"
                           ) from None
        except jinja2.TemplateSyntaxError as e:
            raise BadInput(f"prompt template {path}, line {e.lineno}: {e.message}",
                           fix="fix the Jinja syntax of the template") from None
        try:
            return template.render(**values)
        except jinja2.UndefinedError as e:
            raise BadInput(f"prompt template {path} uses a value that does not exist: {e.message}",
                           fix="use only the fields of the context object (see verifier/prompting.py)") from None
        except jinja2.TemplateError as e:
            raise BadInput(f"prompt template {path} failed: {e}", fix="fix the template") from None
