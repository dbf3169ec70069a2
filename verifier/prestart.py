"""Answer `qed verify FILE ...` from the result cache, or start its verifier, before the command line and qed's
models are loaded.

A verifier run takes a second or more, most of it the verifier's own start-up; qed's imports (click, pydantic,
the guard) take a tenth of that, and a cached answer should cost little more than Python's own start. So the
`qed` entry point (`verifier.launch`) reads the arguments of a plain `qed verify` call itself and, file by
file, asks the backend for the result of an identical earlier check (`Backend.cached_result`). When every
file has one, the report is printed from those documents (`verifier.render`, the code the normal path uses)
and qed exits. At the first file without one, its check is started and the rest is left to the normal path:
`verifier.verify` adopts the started check when, and only when, the backend config and the `CheckRequest` it
builds itself are equal to the ones used here; otherwise the early run is killed. Anything unusual (a flag
this module does not know, a folder, a missing file, any error) means neither: this module never changes what
`qed verify` says, only how soon.
"""

from __future__ import annotations

import atexit
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backends.base import Backend, BackendConfig, CheckRequest, PendingCheck

_VALUED = {"--spec", "--annotates", "--timeout", "--time-limit", "--member", "--memory-mb", "--workers"}
_FLAGS = {"--no-cache", "--json"}


@dataclass
class _Early:
    language: str
    config: BackendConfig
    backend: Backend
    request: CheckRequest
    pending: PendingCheck | None


_early: _Early | None = None
_began: float | None = None  # when `start` began (a report's duration counts from there)


def start(args: list[str]) -> None:
    """For plain `qed verify ARGS`: print the cached report and exit, or start the first check the cache cannot
    answer. Never raises (but `SystemExit` after a cached answer)."""
    global _early, _began
    started = _began = time.monotonic()
    try:
        parsed = _parse(args)
        if parsed is None:
            return
        from backends import registry
        from backends.base import CheckRequest

        files, opts = parsed
        paths = [Path(f) for f in files]
        if not all(p.is_file() for p in paths):
            return
        backends: dict[str, Backend] = {}
        answers: list[dict] = []
        for path in paths:
            plugin = registry.plugin_for_file(path)
            if not plugin.available:
                return
            config = plugin.config(None, use_cache="--no-cache" not in opts)
            backend = backends.get(plugin.language.name) or backends.setdefault(plugin.language.name,
                                                                                  plugin.create(config))
            request = CheckRequest(
                file=path, contract=_path(opts.get("--spec")), program=_path(opts.get("--annotates")),
                members=tuple(opts.get("--member", ())), timeout=float(opts.get("--timeout", 600)),
                time_limit_s=int(opts["--time-limit"]) if "--time-limit" in opts else None,
                memory_mb=int(opts["--memory-mb"]) if "--memory-mb" in opts else None, display_name=str(path))
            hit = backend.cached_result(request)
            if hit is None:
                _early = _Early(plugin.language.name, config, backend, request, None)
                atexit.register(discard)
                _early.pending = backend.begin(request)
                return
            answers.append({**hit, "cached": True, "duration_s": round(time.monotonic() - started, 3)})
    except Exception:  # noqa: BLE001 - the normal path will meet (and report) the same problem
        discard()
        return
    _answer(answers, "--json" in opts, time.monotonic() - started)


def _answer(results: list[dict], as_json: bool, duration_s: float) -> None:
    """Print the report of cached results exactly as the normal path would, and exit with its code."""
    from verifier import SCHEMA_VERSION
    from verifier.render import exit_code_of, render_json, render_report, summary_of

    doc = {"schema_version": SCHEMA_VERSION, "results": results, "summary": summary_of(results, duration_s)}
    sys.stdout.write((render_json(doc) if as_json else render_report(doc)) + "\n")
    sys.stdout.flush()
    sys.exit(exit_code_of(results))


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
        int(opts.get("--memory-mb", 64))
        int(opts.get("--workers", 1))
    except ValueError:
        return None
    return files, opts


def began_at() -> float | None:
    """When the early start began (None: it did not run)."""
    return _began


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
