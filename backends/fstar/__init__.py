"""The F* backend's registration: its language, capabilities and toolchain. Cheap to import; the backend
itself (`backend.py`) is imported by `create`.

Registered in qed's own `pyproject.toml` as a third-party backend would be:

    [project.entry-points."qedgen.backends"]
    fstar = "backends.fstar:PLUGIN"

Capabilities (honest): `contract_check` and `sessions` (`fstar.exe --ide`). No member scope, no annotate mode,
no Python build.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from backends.base import BackendConfig, BackendPlugin, CachePolicy, Capability, LanguageSpec, SourceSyntax

_NAME = r"[A-Za-z_][\w'?.]*"

FSTAR = LanguageSpec(
    name="fstar",
    title="F*",
    suffixes=(".fst", ".fsti"),
    toolchain="fstar",
    syntax=SourceSyntax(
        fence_tags=("fstar", "fst", "fsti", "f*"),
        line_comment="//",
        block_comment=("(*", "*)"),
        declaration=(
            r"^[ \t]*(?:\[@@?[^\]\n]*\][ \t]*)?"
            r"(?:(?:private|unfold|inline_for_extraction|noextract|noeq|abstract|irreducible|assume|total"
            r"|ghost|opaque_to_smt)[ \t]+)*"
            r"(?:(?:let|val|type)(?:[ \t]+rec)?[ \t]+(?:" + _NAME + r"|\([^)\n]*\))[^\n]*?[=:]"
            r"|(?:module|open|friend|include)[ \t]+[A-Z][\w.]*[ \t]*(?:=[^\n]*)?$)"),
        preamble=r"^[ \t]*(?:module|open|#set-options|#push-options)\b",
    ),
)


class FStarPlugin(BackendPlugin):
    language = FSTAR
    capabilities = frozenset({Capability.contract_check, Capability.sessions})

    def config(self, values: Mapping[str, Any] | None = None, *, use_cache: bool = True,
               cache_root: Path | None = None, toolchain: Any = None):
        from .config import FStarConfig

        return FStarConfig(toolchain=toolchain, cache=CachePolicy(enabled=use_cache, root=cache_root))

    def create(self, config: BackendConfig | None = None):
        from .backend import FStarBackend
        from .config import FStarConfig

        if config is None:
            config = self.config()
        elif not isinstance(config, FStarConfig):
            config = FStarConfig(toolchain=config.toolchain, cache=config.cache, sessions=config.sessions)
        return FStarBackend(self, config)

    def toolchain_status(self, env: Mapping[str, str]):
        from toolchains.report import fstar_status

        return fstar_status(env)

    def install(self, source: str | None, dest: Path | None, sha256: str | None, *, env: Mapping[str, str],
                force: bool, progress: Callable[[str], None]) -> str:
        from toolchains.fstar import fstar_install_root
        from toolchains.install_fstar import install_fstar

        found = install_fstar(source, dest, sha256, env=env, force=force, progress=progress)
        line = f"fstar {found.full_version} at {found.path} (z3 {found.z3_version}, {found.z3_how})"
        if dest is not None and dest.expanduser().absolute() != fstar_install_root(env, found.version):
            line += f"\nnot qed's default location: set QED_FSTAR={found.path}"
        return line


PLUGIN = FStarPlugin()
