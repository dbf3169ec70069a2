"""What Dafny's Python backend wrote: module files, functions and classes, read with `ast` (never imported).

Dafny's names are computed (`sanitize` then `mangle`, see ../shared/docs/toolchains.md §1.5) and then looked
up in the generated code, so a rule we got wrong shows up as a clear build error, not a broken package.
"""

from __future__ import annotations

import ast
import builtins
import keyword
from dataclasses import dataclass, field
from pathlib import Path

_BUILTINS = frozenset(dir(builtins))


def sanitize(name: str) -> str:
    """Dafny's `NonglobalVariable.SanitizeName`."""
    if name.isdigit():
        return "_" + name
    out = []
    for ch in name:
        out.append({"_": "__", "'": "_k", "?": "_q", "\\": "_b", "#": "_h"}.get(ch, ch))
    return "".join(out)


def mangle(name: str) -> str:
    """Dafny's `PythonCodeGenerator.MangleName` (after sanitizing)."""
    if keyword.iskeyword(name) or name in _BUILTINS:
        name += "_"
    stripped = name.lstrip("_")
    if stripped != name:
        name = stripped + "_" * (len(name) - len(stripped))
    if name[:1].isdigit():
        name = "d_" + name
    return name


def py_name(name: str) -> str:
    return mangle(sanitize(name))


def module_file(module: tuple[str, ...]) -> str:
    """Python module name Dafny gives a Dafny module (`module_` for the default one)."""
    if not module:
        return "module_"
    return "_".join(sanitize(p) for p in module)


@dataclass
class GenModule:
    name: str
    defs: dict[str, list[str]] = field(default_factory=dict)  # default__ static methods -> arg names
    consts: set[str] = field(default_factory=set)
    classes: dict[str, list[str] | None] = field(default_factory=dict)  # NamedTuple fields, when one

    def find_def(self, dafny_name: str) -> str | None:
        for cand in (py_name(dafny_name), sanitize(dafny_name), sanitize(dafny_name) + "_"):
            if cand in self.defs:
                return cand
        return None

    def find_const(self, dafny_name: str) -> str | None:
        for cand in (py_name(dafny_name), sanitize(dafny_name), sanitize(dafny_name) + "_"):
            if cand in self.consts:
                return cand
        return None


def _namedtuple_fields(cls: ast.ClassDef) -> list[str] | None:
    for b in cls.bases:
        if isinstance(b, ast.Call) and getattr(b.func, "id", None) == "NamedTuple" and len(b.args) == 2:
            lst = b.args[1]
            if isinstance(lst, ast.List):
                names = []
                for el in lst.elts:
                    if isinstance(el, ast.Tuple) and el.elts and isinstance(el.elts[0], ast.Constant):
                        names.append(el.elts[0].value)
                return names
    return None


def read_module(path: Path) -> GenModule:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    gm = GenModule(path.stem)
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        if node.name == "default__":
            for f in node.body:
                if isinstance(f, ast.FunctionDef):
                    decos = {getattr(d, "attr", getattr(d, "id", None)) for d in f.decorator_list}
                    if "classproperty" in decos:
                        gm.consts.add(f.name)
                    elif "staticmethod" in decos:
                        gm.defs[f.name] = [a.arg for a in f.args.args]
        else:
            gm.classes[node.name] = _namedtuple_fields(node)
    return gm


def read_translation(out_dir: Path) -> dict[str, GenModule]:
    mods = {}
    for p in sorted(out_dir.glob("*.py")):
        if p.name != "__main__.py":
            mods[p.stem] = read_module(p)
    return mods


def main_call(out_dir: Path) -> str | None:
    """`X.default__.Main` as called by the generated `__main__.py` (None when the program has no Main)."""
    p = out_dir / "__main__.py"
    if not p.exists():
        return None
    for line in p.read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if ".default__." in s and s.endswith("(dafnyArgs)"):
            return s[: -len("(dafnyArgs)")]
    return None
