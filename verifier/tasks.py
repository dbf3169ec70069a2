"""A synthesis task: what the user wants, as a YAML file validated by a pydantic model.

```yaml
id: abs
language: dafny
description: Return the absolute value of x.
spec: abs.spec.dfy      # optional: the contract (as in `qed verify --spec`), relative to this file
```

What the task gives chooses the mode:
- `spec` (a contract whose members without a body are to be implemented) -> `implement`;
- `program` (a complete program without proof hints, DafnyBench style) -> `annotate`: only invariants,
  assertions and lemmas may be added, code and contract stay frozen;
- neither -> `from_description`: the model first writes the contract, which the user accepts.

The JSON Schema is `verifier/schemas/task.schema.json` (`qed schema --task`).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from verifier.errors import BadInput

TASK_SCHEMA_VERSION = 1


class Mode(StrEnum):
    implement = "implement"
    from_description = "from_description"
    annotate = "annotate"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Example(_Model):
    """One input/output example, written in the task's language (e.g. `call: Abs(-3)`, `expect: "3"`)."""

    call: str = Field(min_length=1)
    expect: str = Field(min_length=1)


class Budget(_Model):
    """Limits for one synthesis run; unset fields take the command line's (or the defaults')."""

    rounds: int | None = Field(None, ge=1, le=100, description="verify-and-repair rounds per sample")
    samples: int | None = Field(None, ge=1, le=64, description="independent samples")
    tokens: int | None = Field(None, ge=1, description="total model tokens, prompts and completions")
    wall_time_s: float | None = Field(None, gt=0, description="wall-clock seconds for the whole run")


class Task(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
                    description="short name: letters, digits, `_`, `.`, `-` (used for file names)")
    language: str = Field(description="a language with a registered backend: dafny, lean, fstar (`qed toolchain "
                                      "status` lists them)")
    description: str = Field(min_length=1, description="what the code must do, in natural language")
    spec: Path | None = Field(None, description="contract file, relative to the task file (implement mode)")
    program: Path | None = Field(None, description="program to annotate with proof hints, relative to the task file")
    solution: Path | None = Field(None, description="a reference implementation of `spec`, relative to the task file "
                                                    "(`qed audit` tries its mutants)")
    examples: list[Example] = Field(default_factory=list)
    budget: Budget = Field(default_factory=Budget)
    notes: str | None = Field(None, description="free-form notes passed to the prompt")

    @field_validator("language")
    @classmethod
    def _registered(cls, v: str) -> str:
        from backends import registry

        name = v.strip().lower()
        if name not in registry.plugins():
            raise ValueError(f"no backend registered for {v!r} (registered: {', '.join(registry.language_names())})")
        return name

    @field_validator("description")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "Task":
        if self.spec is not None and self.program is not None:
            raise ValueError("give either `spec` (implement a contract) or `program` (annotate a program), not both")
        return self

    def language_spec(self):
        """The `backends.base.LanguageSpec` of the task's language (from the backend registry)."""
        from backends import registry

        return registry.plugin_for_language(self.language).language

    @property
    def mode(self) -> Mode:
        if self.spec is not None:
            return Mode.implement
        if self.program is not None:
            return Mode.annotate
        return Mode.from_description


def _field_error(path: Path, err: ValidationError) -> BadInput:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        known = ", ".join(Task.model_fields)
        return BadInput(f"{path}: unknown field `{where}`", fix=f"remove it or fix its spelling (fields: {known})")
    if first["type"] == "missing":
        return BadInput(f"{path}: field `{where}` is missing", fix=f"add `{where}:` (see the task schema)")
    return BadInput(f"{path}: field `{where}`: {msg}", fix="correct that field (see `qed schema --task`)")


def load_task(path: Path) -> Task:
    """Read and validate a task file; resolves `spec`/`program` against the file's folder and checks they exist.
    Raises BadInput naming the field and the fix."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"task file {path} does not exist", fix="check the path") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read task file {path}: {e}", fix="save it as UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BadInput(f"{path} is not valid YAML{where}: {getattr(e, 'problem', e)}",
                       fix="fix the YAML syntax (indentation, quotes around text with `:`)") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path} must be a YAML mapping (id, language, description, ...)",
                       fix="start the file with `id: my-task`")
    try:
        task = Task.model_validate(data)
    except ValidationError as e:
        raise _field_error(path, e) from None
    base = path.parent
    if task.solution is not None and task.spec is None:
        raise BadInput(f"{path}: field `solution` needs a `spec` (it implements that contract)",
                       fix="add `spec:` or remove `solution:`")
    for name in ("spec", "program", "solution"):
        rel = getattr(task, name)
        if rel is None:
            continue
        full = (base / rel).resolve()
        if not full.is_file():
            raise BadInput(f"{path}: field `{name}`: {rel} does not exist (looked at {full})",
                           fix=f"give the path of the file relative to {base}")
        lang = task.language_spec()
        if not any(full.name.endswith(s) for s in lang.suffixes):
            raise BadInput(f"{path}: field `{name}`: {rel} is not a {lang.title} file",
                           fix=f"use a {'/'.join(lang.suffixes)} file")
        setattr(task, name, full)
    return task


def task_schema() -> dict:
    schema = Task.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://qedgen.dev/schemas/task.schema.json"
    return schema
