"""F*: the language is registered (files, tasks and code extraction recognise it) but its backend is not part
of this qed yet, so asking to verify F* stops with `BackendUnavailable` (exit 3) naming how to get it."""

from __future__ import annotations

from backends.base import LanguageSpec, PlannedBackendPlugin, SourceSyntax

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


class FStarPlugin(PlannedBackendPlugin):
    language = FSTAR
    unavailable_fix = ("install a qed release that has the F* backend (or a package registering one under the "
                       "`qedgen.backends` entry points); F* itself: a release from "
                       "https://github.com/FStarLang/FStar/releases, see `qed toolchain status`")

    def toolchain_status(self, env):
        from toolchains.report import fstar_status

        return fstar_status(env)


PLUGIN = FStarPlugin()
