"""One content-addressed store for everything qed caches (verifier outcomes now, model responses later).

Entries are JSON documents under `<root>/<namespace>/<k[:2]>/<k>.json`, written atomically, so a killed run
never leaves a torn entry. The root is `$QED_CACHE_DIR`, else `$XDG_CACHE_HOME/qedgen`, else `~/.cache/qedgen`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def default_root() -> Path:
    if os.environ.get("QED_CACHE_DIR"):
        return Path(os.environ["QED_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "qedgen"


def digest(*parts: str | bytes) -> str:
    """sha256 over length-prefixed parts (so ('ab','c') and ('a','bc') differ)."""
    h = hashlib.sha256()
    for p in parts:
        b = p.encode("utf-8") if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "big"))
        h.update(b)
    return h.hexdigest()


class Store:
    """A directory of JSON documents addressed by (namespace, key)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else default_root()

    def _path(self, namespace: str, key: str) -> Path:
        return self.root / namespace / key[:2] / f"{key}.json"

    def get(self, namespace: str, key: str) -> Any | None:
        try:
            return json.loads(self._path(namespace, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, namespace: str, key: str, value: Any) -> None:
        """Store `value`; a cache that cannot be written is skipped, never fatal."""
        import tempfile  # only for writes: a cached answer never loads it

        path = self._path(namespace, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(value, f)
            os.replace(tmp, path)
        except OSError:
            pass


def code_fingerprint(*roots: Path) -> str:
    """A digest of the Python sources below `roots` (relative paths, sizes, modification times): a cache entry
    that depends on what qed's code makes of an input is keyed by it, so any change of that code (a new
    rule, a new classifier) starts afresh, even without a version bump."""
    if roots in _BY_ARGS:  # asked once per file checked: skip resolving the same roots again
        return _BY_ARGS[roots]
    key = tuple(sorted(str(Path(r).resolve()) for r in roots))
    if key not in _FINGERPRINTS:
        parts: list[str] = []
        for root in key:
            if os.path.isfile(root):  # a single module (os.walk would yield nothing for it)
                st = os.stat(root)
                parts.append(f"{os.path.basename(root)}\0{st.st_size}\0{st.st_mtime_ns}")
                continue
            for folder, dirs, files in os.walk(root):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                rel = folder[len(root) + 1:]  # os.walk's folders all start with `root` + separator
                for name in sorted(files):
                    if name.endswith(".py"):
                        st = os.stat(os.path.join(folder, name))
                        parts.append(f"{os.path.join(rel, name)}\0{st.st_size}\0{st.st_mtime_ns}")
        _FINGERPRINTS[key] = digest(*key, *parts)
    _BY_ARGS[roots] = _FINGERPRINTS[key]
    return _FINGERPRINTS[key]


_FINGERPRINTS: dict[tuple[str, ...], str] = {}
_BY_ARGS: dict[tuple, str] = {}
