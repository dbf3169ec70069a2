"""The Dafny backend's registration: its language, capabilities, options and toolchain. Cheap to import; the
backend itself (`backend.py`) is imported by `create`.

Registered in qed's own `pyproject.toml` exactly as a third-party backend would be:

    [project.entry-points."qedgen.backends"]
    dafny = "backends.dafny:PLUGIN"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from backends.base import BackendConfig, BackendPlugin, CachePolicy, Capability, CliOption, LanguageSpec, SourceSyntax

from .config import DafnyConfig

_NAME = r"[A-Za-z_][\w'?.]*"

DAFNY = LanguageSpec(
    name="dafny",
    title="Dafny",
    suffixes=(".dfy",),
    toolchain="dafny",
    syntax=SourceSyntax(
        fence_tags=("dafny", "dfy"),
        line_comment="//",
        block_comment=("/*", "*/"),
        declaration=(
            r"^[ \t]*(?:(?:ghost|static|opaque|abstract|twostate|least|greatest|inductive|private|export)[ \t]+)*"
            r"(?:(?:method|function|predicate|lemma|datatype|codatatype|module|class|trait|newtype|type|const"
            r"|iterator|copredicate|colemma)(?:[ \t]+method)?(?:[ \t]*\{:[^}\n]*\})*[ \t]+" + _NAME +
            r"[ \t]*(?:[(<{=:]|extends\b|refines\b|$)"
            r"|constructor\b[ \t]*(?:\{:[^}\n]*\}[ \t]*)*(?:" + _NAME + r"[ \t]*)?[(<])"),
        preamble=r"^[ \t]*(?:include[ \t]+\"|import[ \t]+\w|@\w)",
    ),
)


class DafnyPlugin(BackendPlugin):
    language = DAFNY
    capabilities = frozenset(Capability)
    options = (
        CliOption(("--audit/--no-audit",), "audit", default=None, commands=("verify",),
                  help="Dafny: also run `dafny audit` as a second opinion on escapes from proof (default: on with "
                       "--spec or --annotates)."),
    )

    def config(self, values: Mapping[str, Any] | None = None, *, use_cache: bool = True,
               cache_root: Path | None = None, toolchain: Any = None) -> DafnyConfig:
        values = values or {}
        return DafnyConfig(toolchain=toolchain, cache=CachePolicy(enabled=use_cache, root=cache_root),
                           audit=values.get("audit"))

    def create(self, config: BackendConfig | None = None):
        from .backend import DafnyBackend

        if config is None:
            config = self.config()
        elif not isinstance(config, DafnyConfig):
            config = DafnyConfig(toolchain=config.toolchain, cache=config.cache, sessions=config.sessions)
        return DafnyBackend(self, config)

    def toolchain_status(self, env: Mapping[str, str]):
        from toolchains.report import dafny_status

        return dafny_status(env)

    def install(self, source: str | None, dest: Path | None, sha256: str | None, *, env: Mapping[str, str],
                force: bool, progress: Callable[[str], None]) -> str:
        from toolchains.install import install_dafny
        from toolchains.paths import dafny_install_root

        found = install_dafny(source, dest, sha256, env=env, force=force, progress=progress)
        line = f"dafny {found.full_version} at {found.path} (z3 {found.solver_version}, {found.solver_how})"
        if dest is not None and dest.expanduser().absolute() != dafny_install_root(env, found.version):
            line += f"\nnot qed's default location: set QED_DAFNY={found.path}"
        return line


PLUGIN = DafnyPlugin()
