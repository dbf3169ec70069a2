"""Version probes (`dafny --version`, `z3 -version`, ...) with a small on-disk cache.

A probe result is cached under the resolved program path and keyed by the size and mtime of the files that
decide its behaviour (e.g. the `dafny` launcher and `Dafny.dll`), so a repeated `qed verify` pays a few `stat`
calls instead of a .NET start-up. Only successful probes are cached: a broken tool is probed again next time.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from .paths import cache_file

PROBE_TIMEOUT_S = 30.0
_CACHE_SCHEMA = 1


@dataclass(frozen=True)
class ProbeResult:
    """What a version probe found. `version` is X.Y.Z (or similar); `full_version` the whole version token."""

    ok: bool
    version: str | None = None
    full_version: str | None = None
    output: str = ""  # first lines of the output (for messages)
    error: str | None = None  # why it failed, one line
    cached: bool = False


def fingerprint(files: Sequence[Path]) -> list[list[object]]:
    """(resolved path, size, mtime_ns) of each existing file in `files`."""
    out: list[list[object]] = []
    for f in files:
        try:
            real = f.resolve()
            st = real.stat()
        except OSError:
            continue
        out.append([str(real), st.st_size, st.st_mtime_ns])
    return out


class ProbeCache:
    """The JSON probe cache at `paths.cache_file(env)`. Never raises: an unreadable cache is an empty one."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def for_env(cls, env: Mapping[str, str]) -> "ProbeCache":
        return cls(cache_file(env))

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("schema") != _CACHE_SCHEMA:
            return {}
        if not isinstance(data.get("probes"), dict):
            return {}
        return data["probes"]

    def get(self, key: str, fp: list[list[object]]) -> ProbeResult | None:
        entry = self._load().get(key)
        if not isinstance(entry, dict) or entry.get("fingerprint") != fp:
            return None
        r = entry.get("result") or {}
        return ProbeResult(ok=True, version=r.get("version"), full_version=r.get("full_version"),
                           output=r.get("output", ""), cached=True)

    def put(self, key: str, fp: list[list[object]], result: ProbeResult) -> None:
        probes = self._load()
        probes[key] = {
            "fingerprint": fp,
            "result": {"version": result.version, "full_version": result.full_version, "output": result.output},
        }
        import tempfile  # only when the probe cache is written (a cached answer never writes it)

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".toolchains-", suffix=".json", dir=self.path.parent)
        except OSError:
            return  # read-only cache dir: run without a cache
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"schema": _CACHE_SCHEMA, "probes": probes}, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def probe_version(
    argv: Sequence[str | os.PathLike],
    pattern: str,
    *,
    kind: str,
    env: Mapping[str, str],
    key_files: Sequence[Path] = (),
    cache: ProbeCache | None = None,
    cwd: Path | None = None,
    timeout: float = PROBE_TIMEOUT_S,
) -> ProbeResult:
    """Run `argv` and match `pattern` (named group `v`: the version; optional `full`) against its output.

    `key_files` (default: the program itself) fingerprint the cache entry; `cache=None` disables caching.
    """
    prog = Path(argv[0])
    key = f"{kind}:{prog.resolve() if prog.exists() else prog}"
    fp = fingerprint(list(key_files) or [prog])
    if cache is not None and fp:
        hit = cache.get(key, fp)
        if hit is not None:
            return hit
    try:
        from verifier.procs import run  # the process layer loads only when a toolchain is really probed

        res = run(argv, timeout=timeout, env=env, cwd=cwd)
    except OSError as err:
        return ProbeResult(ok=False, error=f"cannot run it ({err.strerror or err})")
    text = (res.stdout + "\n" + res.stderr).strip()
    head = "\n".join(text.splitlines()[:3])
    if res.timed_out:
        return ProbeResult(ok=False, output=head, error=f"`{_show(argv)}` did not answer within {timeout:.0f} s")
    m = re.search(pattern, text, re.MULTILINE)
    if res.returncode != 0 or not m:
        first = text.splitlines()[0] if text else "no output"
        return ProbeResult(ok=False, output=head,
                           error=f"`{_show(argv)}` exited {res.returncode}: {first[:200]}")
    full = m.groupdict().get("full") or m.group("v")
    result = ProbeResult(ok=True, version=m.group("v"), full_version=full, output=head)
    if cache is not None and fp:
        cache.put(key, fp, result)
    return result


def _show(argv: Sequence[str | os.PathLike]) -> str:
    return " ".join([Path(argv[0]).name, *map(str, argv[1:])])
