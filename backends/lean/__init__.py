"""Lean 4: the language is registered (files, tasks and code extraction recognise it) but its backend is not
part of this qed yet, so asking to verify Lean stops with `BackendUnavailable` (exit 3) naming how to get it."""

from __future__ import annotations

from backends.base import LanguageSpec, PlannedBackendPlugin, SourceSyntax

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


class LeanPlugin(PlannedBackendPlugin):
    language = LEAN
    unavailable_fix = ("install a qed release that has the Lean 4 backend (or a package registering one under the "
                       "`qedgen.backends` entry points); Lean itself comes from elan "
                       "(https://github.com/leanprover/elan), see `qed toolchain status`")

    def toolchain_status(self, env):
        from toolchains.report import lean_status

        return lean_status(env)


PLUGIN = LeanPlugin()
