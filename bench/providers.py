"""The model provider of a `--model` run, built once per process (a worker of a Ray cluster builds its own):
the same stack as `qed synth` (OpenAI-compatible endpoint, response cache, optional cassette, offline)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_built: dict[tuple, Any] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class ProviderSpec:
    """Picklable description of the provider; calling it returns the process's provider."""

    base_url: str | None = None
    api_key: str | None = None
    offline: bool = False
    cassette: str | None = None

    def __call__(self) -> Any:
        key = (self.base_url, self.api_key, self.offline, self.cassette)
        with _lock:
            if key not in _built:
                _built[key] = self._build()
            return _built[key]

    def _build(self) -> Any:
        from verifier.cache import Store
        from verifier.providers import CachingProvider, CassetteProvider, OpenAIProvider

        inner = None if self.offline else OpenAIProvider(base_url=self.base_url, api_key=self.api_key)
        provider: Any = CachingProvider(inner, Store(), offline=self.offline)
        if self.cassette is not None:
            provider = CassetteProvider(Path(self.cassette), inner=provider, offline=self.offline)
        return provider
