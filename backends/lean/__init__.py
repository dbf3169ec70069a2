"""The Lean 4 backend's registration: its language, capabilities, options and toolchain. Cheap to import; the
backend itself (`backend.py`) is imported by `create`.

Registered in qed's own `pyproject.toml` as a third-party backend would be:

    [project.entry-points."qedgen.backends"]
    lean = "backends.lean:PLUGIN"

Capabilities: contract checks (from-description mode), program checks (annotate mode) and warm sessions (the
Lean REPL). Not offered, honestly: member scope (Lean elaborates a whole file; there is no per-declaration
filter), changed members, and a Python build.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from backends.base import BackendConfig, BackendPlugin, CachePolicy, Capability, CliOption, LanguageSpec, SourceSyntax

LEAN = LanguageSpec(
    name="lean",
    title="Lean 4",
    suffixes=(".lean",),
    toolchain="lean",
    syntax=SourceSyntax(
        fence_tags=("lean", "lean4"),
        line_comment="--",
        block_comment=("/-", "-/"),
        declaration=(
            r"^[ \t]*(?:@\[[^\]\n]*\][ \t]*)?"
            r"(?:(?:private|protected|noncomputable|partial|unsafe|nonrec|scoped|local)[ \t]+)*"
            r"(?:theorem|lemma|def|structure|inductive|instance|example|abbrev|class|axiom|namespace|section"
            r"|opaque)(?:[ \t]+[A-Za-z_\u00c0-\uffff][\w'.\u00c0-\uffff!?]*)?"
            r"[ \t]*(?:[(\[{:\u2983]|where\b|$)"),
        preamble=r"^[ \t]*(?:import|open|set_option|variable|universe|#\w)[ \t]+\S|^[ \t]*#\w",
    ),
)


class LeanPlugin(BackendPlugin):
    language = LEAN
    capabilities = frozenset({Capability.contract_check, Capability.program_check, Capability.sessions})
    options = (
        CliOption(("--lean-heartbeats",), "max_heartbeats", type=int, default=None, metavar="N",
                  commands=("verify", "synth"),
                  help="Lean: run with `-D maxHeartbeats=N` (Lean's deterministic limit per declaration; Lean's "
                       "default is 200000)."),
    )

    def config(self, values: Mapping[str, Any] | None = None, *, use_cache: bool = True,
               cache_root: Path | None = None, toolchain: Any = None):
        from .config import LeanConfig, LeanOptions

        values = values or {}
        heartbeats = values.get("max_heartbeats")
        return LeanConfig(toolchain=toolchain, cache=CachePolicy(enabled=use_cache, root=cache_root),
                          options=LeanOptions(max_heartbeats=int(heartbeats) if heartbeats is not None else None))

    def create(self, config: BackendConfig | None = None):
        from .backend import LeanBackend
        from .config import LeanConfig

        if config is None:
            config = self.config()
        elif not isinstance(config, LeanConfig):
            config = LeanConfig(toolchain=config.toolchain, cache=config.cache)
        return LeanBackend(self, config)

    def toolchain_status(self, env: Mapping[str, str]):
        from toolchains.lean import lean_status

        return lean_status(env)

    def install(self, source: str | None, dest: Path | None, sha256: str | None, *, env: Mapping[str, str],
                force: bool, progress: Callable[[str], None]) -> str:
        from toolchains.lean import check_install_args, install_with_elan
        from toolchains.manifest import load_manifest

        check_install_args(source, sha256, dest)
        spec = load_manifest().get("lean")
        found = install_with_elan(spec.toolchain or f"leanprover/lean4:{spec.version}", spec.version, env,
                                  force=force, progress=progress)
        return f"lean {found.version} at {found.lean} (through elan)"


PLUGIN = LeanPlugin()
