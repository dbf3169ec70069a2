"""What a Dafny message means: its normalised kind, and for warnings whether it can fail a proof.

Dafny's wording changed across 4.x ("might not hold" became "could not be proved" in 4.2, some messages kept
the old form); every pattern here accepts both.
"""

from __future__ import annotations

import re

from verifier.models import DiagnosticKind as K
from verifier.models import WarningClass as W

# Checked in order; the first match wins. Patterns are matched case-insensitively against the first line.
_ERROR_KINDS: list[tuple[re.Pattern[str], K]] = [
    (re.compile(p, re.I), k)
    for p, k in [
        (r"z3 is not found|z3 not found at|solver.*not found", K.toolchain),
        (r"timed out|time out", K.timeout),
        (r"out of resource", K.resource_limit),
        (r"out of memory|solver exception", K.toolchain),
        (r"loop invariant (could not be proved|might not hold) on entry", K.invariant_entry),
        (r"invariant (could not be proved to be maintained|might not be maintained)", K.invariant_maintained),
        (r"invariant", K.invariant),
        (r"postcondition", K.postcondition),
        (r"precondition", K.precondition),
        (r"decreases|terminat", K.decreases),
        (r"modifies clause|modif(y|ies) .*not in the enclosing|frame", K.frame),
        (r"reads clause|insufficient reads|read .*not in the enclosing", K.reads),
        (r"index .*out of range|out of range|upper bound .*(length|lower bound)|lower bound must not exceed", K.index_out_of_range),
        (r"division by zero|divisor .*zero", K.division_by_zero),
        (r"(might|could) be null|null dereference|is non-null", K.null_dereference),
        (r"subset constraint|newtype constraint|violate .*constraint|not satisfy the .*constraint", K.subset_type),
        (r"definite.assignment|uninitialized|not be initialized|might not be assigned", K.definite_assignment),
        (r"assertion|expectation violation|assert ", K.assertion),
        (r"well.?formed|is allowed only|might not be|could not be proved", K.well_formedness),
    ]
]

_SOURCE_KINDS = {"Parser": K.parse, "Resolver": K.resolution, "Rewriter": K.resolution, "Project": K.toolchain}

# Warnings that reveal an escape from proof (see ../shared/docs/toolchains.md §1.6a). These are integrity
# violations when the candidate (not the contract) is responsible for them.
_ESCAPE_WARNINGS = re.compile(
    r"assume statement|has no \{:axiom\}|bodyless|body-less|has no body|without a body|\{:verify false\}"
    r"|@verify\(false\)|\{:only\}|verifyonly|temporarily disable|extern|is imported|can not guarantee"
    r"|cannot guarantee|axiom|unsound",
    re.I,
)
_TRIGGER_WARNINGS = re.compile(r"trigger|quantifier|matching loop", re.I)
_STYLE_WARNINGS = re.compile(
    r"deprecated|semi-colon is not needed|not needed here|indentation|unusual|will always (return|be)"
    r"|comparison with 'null'|non-null type|static.* keyword|is not allowed here|shadows|unused|redundant"
    r"|misleading|colemma|copredicate|inductive predicate|refinement|consider|style|has no effect|unnecessary",
    re.I,
)


def classify_error(message: str, source: str | None) -> K:
    """Normalised kind of an error-severity Dafny message."""
    if source in _SOURCE_KINDS:
        return _SOURCE_KINDS[source]
    first = message.split("\n", 1)[0]
    for pattern, kind in _ERROR_KINDS:
        if pattern.search(first):
            return kind
    return K.resolution if source not in (None, "Verifier") else K.other


def classify_warning(message: str) -> W:
    """Whether a warning is harmless style/trigger advice, a sign of an escape from proof, or neither."""
    first = message.split("\n", 1)[0]
    if _ESCAPE_WARNINGS.search(first):
        return W.escape
    if _TRIGGER_WARNINGS.search(first):
        return W.trigger
    if _STYLE_WARNINGS.search(first):
        return W.style
    return W.other


_MEMBER_SUFFIX = re.compile(r"\s*\((correctness|well-formedness|[a-z -]+)\)\s*$")


def member_of_log_name(name: str) -> tuple[str, str | None]:
    """`'C.Frame (correctness)'` -> `('C.Frame', 'correctness')`."""
    m = _MEMBER_SUFFIX.search(name)
    if not m:
        return name.strip(), None
    return name[: m.start()].strip(), m.group(1)


_PLACEHOLDER = re.compile(r"\{(\d+)\}")


def format_message(template: str, arguments: list[str] | None) -> str:
    """Fill Dafny's `{0}`-style placeholders from `arguments` (left as is when an index is missing)."""
    if not arguments:
        return template
    args = [str(a) for a in arguments]

    def sub(m: re.Match[str]) -> str:
        i = int(m.group(1))
        return args[i] if i < len(args) else m.group(0)

    return _PLACEHOLDER.sub(sub, template)
