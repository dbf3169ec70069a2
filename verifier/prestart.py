"""Start the verifier for `qed verify FILE ...` before the command line and qed's models are loaded.

A verifier run takes a second or more, most of it the verifier's own start-up; qed's imports (click, pydantic,
the guard) take a tenth of that. So the `qed` entry point (`verifier.launch`) reads the arguments of a plain
`qed verify` call itself, starts the check of the first file through the registry, and only then imports the
rest. `verifier.verify` adopts the started check when, and only when, the backend config and the
`CheckRequest` it builds itself are equal to the ones used here; otherwise the early run is killed and the
normal path runs. Anything unusual (a flag this module does not know, a folder, a missing file, any error)
means no early start: this module never changes what `qed verify` does, only when its first run starts.
"""

from __future__ import annotations

import atexit
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backends.base import Backend, BackendConfig, CheckRequest, PendingCheck

_VALUED = {"--spec", "--annotates", "--timeout", "--time-limit", "--member"}
_FLAGS = {"--no-cache", "--json"}


@dataclass
class _Early:
    language: str
    config: BackendConfig
    backend: Backend
    request: CheckRequest
    pending: PendingCheck | None


_early: _Early | None = None


def start(args: list[str]) -> None:
    """Start checking the first file of `qed verify ARGS` if the arguments are plain; never raises."""
    global _early
    try:
        parsed = _parse(args)
        if parsed is None:
            return
        from backends import registry
        from backends.base import CheckRequest

        files, opts = parsed
        first = Path(files[0])
        if not first.is_file():
            return
        plugin = registry.plugin_for_file(first)
        if not plugin.available:
            return
        config = plugin.config(None, use_cache="--no-cache" not in opts)
        request = CheckRequest(
            file=first, contract=_path(opts.get("--spec")), program=_path(opts.get("--annotates")),
            members=tuple(opts.get("--member", ())), timeout=float(opts.get("--timeout", 600)),
            time_limit_s=int(opts["--time-limit"]) if "--time-limit" in opts else None, display_name=str(first))
        backend = plugin.create(config)
        _early = _Early(plugin.language.name, config, backend, request, None)
        atexit.register(discard)
        _early.pending = backend.begin(request)
    except Exception:  # noqa: BLE001 - the normal path will meet (and report) the same problem
        discard()


def _path(value: str | None) -> Path | None:
    return Path(value) if value is not None else None


def _parse(args: list[str]) -> tuple[list[str], dict] | None:
    """(files, options) of plain `qed verify` arguments, or None for anything else."""
    files: list[str] = []
    opts: dict = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a in _FLAGS:
            opts[a] = True
        elif a in _VALUED and i + 1 < len(args):
            i += 1
            if a == "--member":
                opts.setdefault(a, []).append(args[i])
            elif a in opts:
                return None  # repeated: let click decide what that means
            else:
                opts[a] = args[i]
        elif a.startswith("-"):
            return None  # a flag this module does not know (a backend's own option, --help, ...)
        else:
            files.append(a)
        i += 1
    if not files or ("--spec" in opts and "--annotates" in opts):
        return None
    try:
        float(opts.get("--timeout", 600))
        int(opts.get("--time-limit", 0))
    except ValueError:
        return None
    return files, opts


def adopt_backend(language: str, config: BackendConfig) -> Backend | None:
    """The early backend when it serves `language` with exactly `config` (it then belongs to the caller)."""
    if _early is not None and _early.language == language and _early.config == config:
        return _early.backend
    return None


def take(backend: Backend, request: CheckRequest) -> PendingCheck | None:
    """The early check when it was started by `backend` for exactly `request` (once)."""
    global _early
    if _early is None or _early.backend is not backend or _early.pending is None:
        return None
    if _early.request != request:
        discard()
        return None
    pending, _early.pending = _early.pending, None
    return pending


def discard() -> None:
    """Kill an early check nobody took (and close its backend unless it was adopted)."""
    global _early
    early, _early = _early, None
    if early is None:
        return
    if early.pending is not None:
        early.pending.cancel()
