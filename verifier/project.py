"""A project's `qed check` configuration: `qed.toml`, or `[tool.qed]` in `pyproject.toml`.

```toml
include = ["src/**/*.dfy"]            # files to verify (globs relative to the config's folder)
exclude = ["src/vendor/**"]           # optional
[[contracts]]
files = "src/*.dfy"                   # these files ...
spec = "spec/{name}"                  # ... are checked against this contract ({name}, {stem}, {dir})
[limits]                              # optional, per file
timeout_s = 600
resource_limit = 5000000              # the deterministic solver limit CI wants (Dafny's --resource-limit)
[[overrides]]                         # optional: other limits for some files
files = "src/slow/*.dfy"
resource_limit = 20000000
[toolchains]                          # optional pins: a found toolchain of another version is an error
dafny = "4.11.0"
[[allow]]                             # explicit, approved exceptions (nothing implicit)
path = "src/legacy.dfy"
rule = "<a backend rule id>"            # e.g. an escape the backend rejects
reason = "vendored code, proof pending"
approved_by = "someone@example.org"
```

Globs: `*` and `?` stay within one folder, `**` spans folders. The first `[[contracts]]` entry whose `files`
matches a file gives its contract. A bad config stops `qed check` with exit 2, naming the field and the fix.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from verifier.errors import BadInput

CONFIG_NAME = "qed.toml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _glob_ok(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if value.startswith("/") or ".." in Path(value).parts:
        raise ValueError("must be relative to the config's folder, without `..`")
    return value


class Limits(_Model):
    """Per-file limits (unset: qed verify's defaults)."""

    timeout_s: float | None = Field(None, gt=0, description="wall clock of one file's verifier run")
    time_limit_s: int | None = Field(None, ge=0, description="solver time limit per proof obligation")
    resource_limit: int | None = Field(None, gt=0, description="deterministic solver limit (Dafny --resource-limit)")
    memory_mb: int | None = Field(None, ge=64, description="memory cap of one verifier run")


class Override(Limits):
    """Other limits for the files matching `files`."""

    files: str = Field(description="glob of the files these limits apply to")

    check_files = field_validator("files")(_glob_ok)


class ContractRule(_Model):
    """Files matching `files` are checked against `spec` (a contract) or `annotates` (a program to annotate)."""

    files: str = Field(description="glob of the files this contract applies to")
    spec: str | None = Field(None, description="the contract's path: {name} file name, {stem} without suffix, "
                                                "{dir} the file's folder")
    annotates: str | None = Field(None, description="the program each file must annotate (same placeholders)")

    check_files = field_validator("files")(_glob_ok)

    @model_validator(mode="after")
    def _one(self) -> ContractRule:
        if (self.spec is None) == (self.annotates is None):
            raise ValueError("give exactly one of `spec` and `annotates`")
        for v in (self.spec, self.annotates):
            if v is not None:
                bad = set(re.findall(r"\{([^}]*)\}", v)) - {"name", "stem", "dir"}
                if bad:
                    raise ValueError(f"unknown placeholder {{{sorted(bad)[0]}}} (known: {{name}}, {{stem}}, {{dir}})")
        return self


class Allow(_Model):
    """An approved exception: `rule` (a backend's rule id, or a contract-review id) is accepted in `path`."""

    path: str = Field(description="the file (or a glob) the exception is for")
    rule: str = Field(min_length=1, description="a backend's rule id, a contract-review id (QED-C001, QED-C002) "
                                                "or a contract-audit id (QED-A-<kind>)")
    reason: str = Field(min_length=1, description="why the exception is acceptable")
    approved_by: str = Field(min_length=1, description="who approved it")

    check_path = field_validator("path")(_glob_ok)


class ProjectConfig(_Model):
    """The whole `qed.toml` / `[tool.qed]` table."""

    include: list[str] = Field(min_length=1, description="globs of the files to verify")
    exclude: list[str] = Field(default_factory=list, description="globs of files to leave out")
    contracts: list[ContractRule] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    overrides: list[Override] = Field(default_factory=list)
    toolchains: dict[str, str] = Field(default_factory=dict, description="pinned toolchain versions")
    allow: list[Allow] = Field(default_factory=list)
    workers: int | None = Field(None, ge=1, description="default for --workers")

    @field_validator("include", "exclude")
    @classmethod
    def check_globs(cls, v: list[str]) -> list[str]:
        return [_glob_ok(x) for x in v]


@dataclass(frozen=True)
class Project:
    """A loaded configuration and the folder its paths are relative to."""

    root: Path
    config: ProjectConfig
    source: Path  # the file it came from

    def limits_for(self, rel: str) -> Limits:
        """The limits of the file at `rel` (relative to the root): `[limits]`, then matching overrides."""
        values = self.config.limits.model_dump()
        for o in self.config.overrides:
            if matches(o.files, rel):
                values.update({k: v for k, v in o.model_dump(exclude={"files"}).items() if v is not None})
        return Limits(**values)

    def contract_for(self, rel: str, suffixes: tuple[str, ...]) -> tuple[str, Path] | None:
        """("spec" | "annotates", path) of the first contract rule matching `rel`, or None."""
        for c in self.config.contracts:
            if matches(c.files, rel):
                kind, pattern = ("spec", c.spec) if c.spec is not None else ("annotates", c.annotates)
                path = Path(rel)
                stem = next((path.name[:-len(s)] for s in suffixes if path.name.endswith(s)), path.stem)
                parent = path.parent.as_posix()
                value = pattern.replace("{name}", path.name).replace("{stem}", stem).replace(
                    "{dir}", "" if parent == "." else parent)
                return kind, self.root / value
        return None

    def allowed(self, rel: str, rule: str) -> Allow | None:
        """The approval of `rule` in the file at `rel`, if any."""
        return next((a for a in self.config.allow if a.rule == rule and matches(a.path, rel)), None)


@lru_cache(maxsize=512)
def _regex(glob: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(glob: str, rel: str) -> bool:
    """Does the relative path `rel` (with `/`) match `glob`? Globs are anchored at the config's folder
    (`**/x.dfy` matches `x.dfy` in any folder)."""
    return _regex(glob[2:] if glob.startswith("./") else glob).match(rel) is not None


def find_config(start: Path) -> Path | None:
    """`qed.toml`, else a `pyproject.toml` with a `[tool.qed]` table, in `start` or the nearest parent."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
        py = folder / "pyproject.toml"
        if py.is_file():
            try:
                if "qed" in tomllib.loads(py.read_text(encoding="utf-8")).get("tool", {}):
                    return py
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                pass
    return None


def load_project(path: Path | None = None, *, start: Path | None = None) -> Project:
    """Read and validate the configuration at `path` (else the one found from `start`, default the current
    folder). Raises BadInput naming the field and the fix."""
    if path is None:
        path = find_config(start or Path.cwd())
        if path is None:
            raise BadInput(f"no {CONFIG_NAME} (and no [tool.qed] in a pyproject.toml) in {(start or Path.cwd())} "
                           "or its parents", fix=f"create {CONFIG_NAME} with at least `include = [\"src/**/*.dfy\"]`, "
                           "or pass --config FILE")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"config file {path} does not exist", fix="check the path") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read config file {path}: {e}", fix="save it as UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"{path}: not valid TOML: {e}", fix="fix the syntax (see https://toml.io)") from None
    prefix = ""
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("qed")
        prefix = "tool.qed."
        if not isinstance(data, dict):
            raise BadInput(f"{path} has no [tool.qed] table", fix="add [tool.qed] with `include = [...]`")
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as e:
        raise _field_error(path, prefix, e) from None
    return Project(root=path.resolve().parent, config=config, source=path)


def _field_error(path: Path, prefix: str, err: ValidationError) -> BadInput:
    errors = err.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a typo explains the rest
    where = prefix
    for part in first["loc"]:
        if isinstance(part, int):
            where += f"[{part}]"
        elif not str(part).startswith("function-after"):
            where += ("." if where and not where.endswith(".") else "") + str(part)
    where = where.rstrip(".") or "(top level)"
    if first["type"] == "extra_forbidden":
        return BadInput(f"{path}: unknown field `{where}`",
                        fix="remove it or fix its spelling (fields: " + ", ".join(_fields_at(first["loc"])) + ")")
    if first["type"] == "missing":
        return BadInput(f"{path}: field `{where}` is missing", fix=f"add `{where.rsplit('.', 1)[-1]} = ...`")
    msg = first["msg"].removeprefix("Value error, ")
    return BadInput(f"{path}: field `{where}`: {msg}", fix="correct that field (see the `qed check` section of the "
                                                           "README)")


def _fields_at(loc: tuple) -> list[str]:
    model: type[BaseModel] = ProjectConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            break
        ann = field.annotation
        inner = getattr(ann, "__args__", (ann,))[0]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            model = inner
        elif isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
    return list(model.model_fields)
