"""Prompts for the synthesis loop: typed contexts, verifier feedback for repair, and Jinja rendering.

Templates live in `prompts/<language>/` (bundled next to the `verifier/` package, or the backend's own folder,
`LanguageSpec.prompts`; `--prompts DIR` replaces the whole folder, see `PromptRenderer`): `system.j2`,
`generate.j2` (implement and annotate modes), `write_contract.j2` (from-description mode), `repair.j2`, and
`guidance.yaml` (the kind-specific advice of repair prompts, see `Guidance`). The core holds no language's words. Templates get typed objects (`GenerateContext`,
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
e.g. the failing `ensures` clause, quoted from the candidate) and `guidance`: the language's advice for the
diagnostic kind, or for the violation's rule family.

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

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import jinja2
from pydantic import BaseModel, ConfigDict

from verifier.errors import BadInput
from verifier.models import Diagnostic, FileResult, IntegrityViolation, RuleFamily, Severity, WarningClass
from verifier.tasks import Mode, Task

__all__ = [
    "BUNDLED_PROMPTS", "ChatMessage", "ContractRetry", "FeedbackItem", "GenerateContext", "Guidance", "PromptLimits",
    "PromptRenderer", "RepairContext", "bound_feedback", "feedback_from", "source_excerpt",
]

#: The bundled templates: `prompts/` at the top of the repository (next to `verifier/`).
BUNDLED_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"

TEMPLATES = ("system.j2", "generate.j2", "write_contract.j2", "repair.j2")
GUIDANCE_FILE = "guidance.yaml"


# --- typed contexts -------------------------------------------------------------------------------


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


_LABELS = {
    "integrity": "integrity violation",
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
    verifier: str = "The verifier"  # how the prompts name the verifier (Guidance.verifier)

    @property
    def label(self) -> str:
        """A short heading for the kind, in plain words."""
        if self.kind == "escape_warning":
            return f"escape from proof ({self.verifier} warning)"
        return _LABELS.get(self.kind, self.kind.replace("_", " "))

    def size(self) -> int:
        return (len(self.where) + len(self.kind) + len(self.message) + len(self.source_excerpt or "")
                + sum(len(r) + 1 for r in self.related) + len(self.guidance) + len(self.rule or ""))


@dataclass(frozen=True)
class GenerateContext:
    """What the generate / write-contract prompts see. The mode follows from the texts given:
    `program_text` -> annotate; `contract_text` -> implement; neither -> from_description."""

    task: Task
    language: str = ""  # default: the task's
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
        return _fence(self.language or self.task.language)


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
    language: str = ""  # default: the task's
    contract_text: str | None = None
    program_text: str | None = None
    omitted: int = 0
    candidate_elided: bool = False

    @property
    def mode(self) -> str:
        return _mode_of(self.program_text, self.contract_text, Mode(self.task.mode))

    @property
    def fence(self) -> str:
        return _fence(self.language or self.task.language)


def _fence(language: str) -> str:
    """The code-fence tag the prompts ask for (the backend's first fence tag)."""
    from backends import registry

    return registry.plugin_for_language(language).language.fence


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


# --- guidance ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Guidance:
    """The language's repair advice, from `<prompts>/<language>/guidance.yaml`: `kinds` (diagnostic kind ->
    advice, `other` for the rest), `integrity` (rule family -> advice) and `verifier` (how prompts name it)."""

    kinds: Mapping[str, str]
    integrity: Mapping[str, str]
    verifier: str

    @classmethod
    def load(cls, path: Path) -> Guidance:
        import yaml

        fix = f"create it (copy {BUNDLED_PROMPTS / path.parent.name / GUIDANCE_FILE} as a start) or drop --prompts"
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput(f"repair guidance {path} does not exist", fix=fix) from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise BadInput(f"cannot read repair guidance {path}: {e}", fix="fix the YAML of that file") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("kinds"), dict) or \
                not isinstance(doc.get("integrity"), dict) or not isinstance(doc["kinds"].get("other"), str):
            raise BadInput(f"repair guidance {path} must map `kinds` (with `other`) and `integrity` to advice texts",
                           fix=fix)
        return cls(kinds={str(k): str(v) for k, v in doc["kinds"].items()},
                   integrity={str(k): str(v) for k, v in doc["integrity"].items()},
                   verifier=str(doc.get("verifier") or "The verifier"))

    def for_kind(self, kind: str) -> str:
        """Advice for a diagnostic kind (1-2 sentences); `other`'s when the kind has none."""
        return self.kinds.get(kind, self.kinds["other"])

    def for_violation(self, family: str) -> str:
        """Advice for an integrity violation of a rule family; the `escape` advice when the family has none."""
        return self.integrity.get(family) or self.integrity.get(RuleFamily.escape) or self.kinds["other"]


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
                     limits: PromptLimits, guidance: Guidance) -> FeedbackItem:
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
        guidance=guidance.for_kind(kind) if kind != "warning" else guidance.for_violation(RuleFamily.verifier_warning),
        verifier=guidance.verifier,
    )


def _from_violation(v: IntegrityViolation, source: str, limits: PromptLimits, guidance: Guidance) -> FeedbackItem:
    return FeedbackItem(
        where=_where(v.line, v.member),
        kind="integrity",
        message=_clip(f"The integrity guard rejects the program (rule {v.rule}): {v.message}", limits.message_chars),
        source_excerpt=source_excerpt(source, v.line, v.column, line_chars=limits.excerpt_line_chars),
        guidance=guidance.for_violation(v.family),
        rule=v.rule,
        verifier=guidance.verifier,
    )


def feedback_from(result: FileResult, candidate_source: str, guidance: Guidance,
                  limits: PromptLimits | None = None) -> list[FeedbackItem]:
    """Every problem in `result`, in priority order: errors, integrity violations, escape warnings (see module doc).
    Items are truncated per field; the count/size bounds are applied later (`bound_feedback`)."""
    limits = limits or PromptLimits()
    lines = candidate_source.splitlines()
    errors, warnings = [], []
    for d in result.diagnostics:
        if d.severity == Severity.error:
            errors.append(_from_diagnostic(d, result, candidate_source, lines, d.kind, limits, guidance))
        elif d.severity == Severity.warning and d.warning_class == WarningClass.escape:
            if any(v.line is not None and v.line == d.line for v in result.integrity):
                continue  # the guard already reports this escape
            item = _from_diagnostic(d, result, candidate_source, lines, "warning", limits, guidance)
            warnings.append(replace(item, kind="escape_warning",
                                    message=_clip(f"{guidance.verifier} warns that this escapes proof: " + d.message,
                                                  limits.message_chars)))
    violations = [_from_violation(v, candidate_source, limits, guidance) for v in result.integrity]
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

    def __init__(self, prompts_dir: Path | None = None, *, language: str, limits: PromptLimits | None = None):
        self.language = str(language)
        self.limits = limits or PromptLimits()
        if prompts_dir is not None:
            root = Path(prompts_dir)
            self.dir = root / self.language
        else:  # the backend's own folder (a third-party backend ships its templates), else the bundled one
            from backends import registry

            own = registry.plugin_for_language(self.language).language.prompts
            self.dir = Path(own) if own is not None else BUNDLED_PROMPTS / self.language
            root = self.dir.parent
        self.root = root
        self._guidance: Guidance | None = None
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

    @property
    def guidance(self) -> Guidance:
        """The language's repair advice (`guidance.yaml` in the template folder), read once."""
        if self._guidance is None:
            self._guidance = Guidance.load(self.dir / GUIDANCE_FILE)
        return self._guidance

    def feedback(self, result: FileResult, candidate_source: str) -> list[FeedbackItem]:
        """`feedback_from` with this folder's guidance and limits."""
        return feedback_from(result, candidate_source, self.guidance, self.limits)

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

    def _missing_fix(self, name: str) -> str:
        if self.dir != BUNDLED_PROMPTS / self.language:
            return f"create it (copy {BUNDLED_PROMPTS / self.language / name} as a start, if it exists) or drop --prompts"
        return (f"the {self.language} backend ships no prompt templates; install its prompts folder or pass "
                f"--prompts DIR holding {self.language}/{name}")

    def _render(self, name: str, **values) -> str:
        path = self.dir / name
        try:
            template = self.env.get_template(name)
        except jinja2.TemplateNotFound:
            raise BadInput(f"prompt template {path} does not exist",
                           fix=self._missing_fix(name)) from None
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
