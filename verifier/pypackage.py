"""Python package names for built artifacts (`qed build --name`, and the task id in `qed synth`)."""

from __future__ import annotations

import keyword
import re
import sys
from pathlib import Path

from verifier.errors import BadInput

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def package_name(artifact: Path, name: str | None) -> str:
    """`name` when it is a usable package name (else BadInput), or one derived from the artifact's file name:
    other characters become `_`, a leading digit gets `p_`, a keyword or standard-library name gets the file's
    suffix (`list.dfy` -> `list_dfy`)."""
    if name is not None:
        if not _IDENT.fullmatch(name) or keyword.iskeyword(name) or name.startswith("_"):
            raise BadInput(f"--name {name!r} is not a Python package name",
                           fix="use letters, digits and _ (not first), e.g. --name my_pkg")
        if name in sys.stdlib_module_names:
            raise BadInput(f"--name {name!r} would shadow the standard library module of that name",
                           fix="choose another --name")
        return name
    tag = re.sub(r"[^A-Za-z0-9_]", "", artifact.suffix) or "pkg"
    base = re.sub(r"[^A-Za-z0-9_]", "_", artifact.stem).strip("_") or f"{tag}_pkg"
    if base[0].isdigit():
        base = "p_" + base
    if keyword.iskeyword(base) or base in sys.stdlib_module_names:
        base += f"_{tag}"
    return base
