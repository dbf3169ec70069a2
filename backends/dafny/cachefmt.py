"""How Dafny outcomes are stored in the result cache: the namespace and the path placeholder."""

from __future__ import annotations

CACHE_NAMESPACE = "dafny-verify-v2"  # what Dafny said; bump when what is stored (or how it is parsed) changes
#: whole `FileResult`s (what qed made of it), keyed with the code fingerprint of qed itself
RESULTS_NAMESPACE = "dafny-results-v1"
MAIN_PLACEHOLDER = "<main>"  # stands for the verified file's absolute path inside cached entries


def relocate(obj, old: str, new: str):
    """Replace a path string everywhere in a JSON-like value (keeps cache entries independent of location)."""
    if isinstance(obj, str):
        return new if obj == old else obj
    if isinstance(obj, list):
        return [relocate(x, old, new) for x in obj]
    if isinstance(obj, dict):
        return {k: relocate(v, old, new) for k, v in obj.items()}
    return obj
