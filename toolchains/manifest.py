"""Loader for `toolchains/manifest.json`: the toolchain versions qed pins and where their releases come from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ReleaseAsset:
    """One downloadable release archive. `url` is None when upstream publishes none for the platform."""

    platform: str
    url: str | None
    sha256: str | None
    sha256_confirmed: bool = False

    @property
    def filename(self) -> str | None:
        """The asset's file name (last URL segment), or None."""
        return self.url.rsplit("/", 1)[-1] if self.url else None


@dataclass(frozen=True)
class SolverSpec:
    """The SMT solver a toolchain needs (name and pinned version; `pip` names a wheel that ships it)."""

    name: str
    version: str
    pip: str | None = None


@dataclass(frozen=True)
class ToolchainSpec:
    """A pinned toolchain: its version, solver, whether a qed backend uses it, and its release assets."""

    name: str
    version: str
    supported: bool
    solver: SolverSpec | None
    install_hint: str
    note: str | None = None
    toolchain: str | None = None  # elan toolchain id (Lean)
    dotnet_tool: tuple[str, str] | None = None  # (package, version) for `dotnet tool install`
    releases: dict[str, ReleaseAsset] = field(default_factory=dict)

    def release_for(self, platform_key: str) -> ReleaseAsset | None:
        """The release asset for `platform_key` (e.g. `linux-x64`), if the manifest lists one."""
        return self.releases.get(platform_key)

    def asset_by_filename(self, name: str) -> ReleaseAsset | None:
        """The pinned asset whose file name is `name` (to recognise the same file on a mirror)."""
        for asset in self.releases.values():
            if asset.filename and asset.filename == name:
                return asset
        return None


@dataclass(frozen=True)
class Manifest:
    """All pinned toolchains, by name (`dafny`, `lean`, `fstar`)."""

    schema_version: int
    toolchains: dict[str, ToolchainSpec]

    def get(self, name: str) -> ToolchainSpec:
        """The spec for `name`; KeyError if qed knows no such toolchain."""
        return self.toolchains[name]


def _spec(name: str, raw: dict[str, Any]) -> ToolchainSpec:
    solver = raw.get("solver")
    dotnet = raw.get("dotnet_tool")
    releases = {
        plat: ReleaseAsset(
            platform=plat,
            url=r.get("url"),
            sha256=(r.get("sha256") or None) and r["sha256"].lower(),
            sha256_confirmed=bool(r.get("sha256_confirmed", False)),
        )
        for plat, r in (raw.get("releases") or {}).items()
    }
    return ToolchainSpec(
        name=name,
        version=raw["version"],
        supported=bool(raw.get("supported", False)),
        solver=SolverSpec(solver["name"], solver["version"], solver.get("pip")) if solver else None,
        install_hint=raw.get("install_hint", ""),
        note=raw.get("note"),
        toolchain=raw.get("toolchain"),
        dotnet_tool=(dotnet["package"], dotnet["version"]) if dotnet else None,
        releases=releases,
    )


def parse_manifest(data: dict[str, Any]) -> Manifest:
    """Build a `Manifest` from the decoded JSON document."""
    return Manifest(
        schema_version=int(data["schema_version"]),
        toolchains={name: _spec(name, raw) for name, raw in data["toolchains"].items()},
    )


@lru_cache(maxsize=1)
def load_manifest() -> Manifest:
    """The manifest shipped with the package (read once per process)."""
    # A plain file next to this module (package data); importlib.resources would cost start-up time.
    text = (Path(__file__).parent / "manifest.json").read_text(encoding="utf-8")
    return parse_manifest(json.loads(text))
