"""Verifier toolchains: the pinned versions (`manifest.json`), discovery, status and installation.

    from toolchains import locate_dafny      # -> DafnyInstall (raises verifier.errors.ToolchainError)
    from toolchains import status            # -> list[ToolchainStatus]
    from toolchains import install_dafny     # -> DafnyInstall

Names are imported lazily so that `locate_dafny` (on every `qed verify`) does not pay for the installer's imports.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DafnyInstall": "discovery",
    "SolverFound": "discovery",
    "locate_dafny": "discovery",
    "search_dafny": "discovery",
    "pinned_dafny_version": "discovery",
    "pinned_z3_version": "discovery",
    "ToolchainStatus": "report",
    "SolverStatus": "report",
    "status": "report",
    "install_dafny": "install",
    "load_manifest": "manifest",
    "Manifest": "manifest",
    "ToolchainSpec": "manifest",
    "ReleaseAsset": "manifest",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'toolchains' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
