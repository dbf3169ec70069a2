"""One content-addressed store for everything qed caches (verifier outcomes now, model responses later).

Entries are JSON documents under `<root>/<namespace>/<k[:2]>/<k>.json`, written atomically, so a killed run
never leaves a torn entry. The root is `$QED_CACHE_DIR`, else `$XDG_CACHE_HOME/qedgen`, else `~/.cache/qedgen`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
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
        path = self._path(namespace, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(value, f)
            os.replace(tmp, path)
        except OSError:
            pass
