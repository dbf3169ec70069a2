"""Write the package directory: vendored Dafny output and runtime, wrappers, README. Deterministic bytes."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from backends.dafny.pybuild.wrappers import GEN
from verifier.errors import BadInput, ToolchainError, storage_error

CONVERT_SOURCE = Path(__file__).with_name("convert.py")
#: First line of every file Dafny wrote (its translation and runtime): they carry no annotations, and a
#: `# type: ignore` before any statement keeps them out of mypy's and pyright's reports wherever the package is
#: checked, while the public modules that call them through `Any` are fully checked.
UNTYPED = "# type: ignore\n"

_TOP_IMPORT = re.compile(r"^import (_dafny|System_) as (_dafny|System_)$", re.MULTILINE)
_LEFTOVER = re.compile(r"^\s*(import|from) (_dafny|System_)\b", re.MULTILINE)


def vendor_source(text: str, pkg: str) -> str:
    """Point the generated code's top-level runtime imports at the vendored copy inside the package."""
    out = _TOP_IMPORT.sub(lambda m: f"import {pkg}.{GEN}.{m.group(1)} as {m.group(2)}", text)
    if _LEFTOVER.search(out):
        raise ToolchainError("Dafny's Python output imports its runtime in an unexpected way",
                             fix="report this with the Dafny version; qed build knows Dafny 4.11's layout")
    return out


def gen_files(translated: Path, pkg: str) -> dict[str, str]:
    """Relative path (inside PKG/) -> text, for Dafny's translation and its runtime."""
    files: dict[str, str] = {f"{GEN}/__init__.py":
                             UNTYPED + '"""Dafny\'s own Python translation and runtime (generated, untyped)."""\n'}
    for p in sorted(translated.glob("*.py")):
        if p.name == "__main__.py":
            continue
        files[f"{GEN}/{p.name}"] = UNTYPED + vendor_source(p.read_text(encoding="utf-8"), pkg)
    for rt in ("_dafny", "System_"):
        src = translated / rt / "__init__.py"
        if not src.exists():
            raise ToolchainError(f"Dafny did not write its runtime ({rt}/__init__.py) with --include-runtime",
                                 fix="check `qed toolchain status` (Dafny 4.11 expected)")
        files[f"{GEN}/{rt}/__init__.py"] = UNTYPED + vendor_source(src.read_text(encoding="utf-8"), pkg)
    files["_qed.py"] = CONVERT_SOURCE.read_text(encoding="utf-8")
    files["py.typed"] = ""  # PEP 561: type checkers use the package's own annotations
    return files


def prepare_out(out_dir: Path, pkg: str) -> Path:
    """Make sure DIR/PKG can be (re)written: a previous qed build will be replaced, anything else is refused."""
    target = out_dir / pkg
    if target.exists() and not (target / "_qed.py").exists():
        raise BadInput(f"{target} exists and was not written by qed build",
                       fix="choose another --out or --name, or remove it")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise storage_error("the package folder", out_dir, e) from None
    return target


def write_tree(root: Path, files: dict[str, str]) -> list[str]:
    """Write the package at `root` whole or not at all: into a staging folder beside it, then swapped in (a
    previous build stays in place until the new one is complete; a full disk leaves it untouched)."""
    stage = root.with_name(f".{root.name}.staging-{os.getpid()}")
    old = root.with_name(f".{root.name}.old-{os.getpid()}")
    try:
        for rel in sorted(files):
            p = stage / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            with open(p, "w", encoding="utf-8", newline="\n") as f:
                f.write(files[rel])
        if root.exists():
            os.replace(root, old)
        os.replace(stage, root)
    except OSError as e:
        shutil.rmtree(stage, ignore_errors=True)
        if old.exists() and not root.exists():
            os.replace(old, root)
        raise storage_error("the package", root, e) from None
    shutil.rmtree(old, ignore_errors=True)
    return sorted(files)


def write_file(path: Path, text: str) -> None:
    """Write one output file atomically (a temporary file, then a rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise storage_error("the package's", path, e) from None
