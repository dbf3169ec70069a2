"""The registry of verifier backends: every `BackendPlugin` found under the entry-point group `qedgen.backends`.

A backend distribution declares, in its `pyproject.toml`:

    [project.entry-points."qedgen.backends"]
    mylang = "my_package:PLUGIN"        # a BackendPlugin instance (or class)

qed's own Dafny backend registers itself exactly this way. The core finds languages, file suffixes, code-fence
tags, prompt folders, command-line options and toolchains only through this module. A plugin that fails to
load does not break qed: it is left out and reported by `broken()` (and `qed toolchain status`).

Scanning installed distributions (`importlib.metadata`) costs tens of milliseconds on every `qed` start, so
the list of this group's entry points is kept in the result cache, keyed by the names of the distribution
folders (`*.dist-info`, `*.egg-info`) on `sys.path` and the modification times of their `entry_points.txt`:
installing, upgrading or removing a distribution changes the key. An entry that no longer loads from a cached
list makes the registry scan again before it reports anything broken.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from verifier.errors import BackendUnavailable, BadInput

if TYPE_CHECKING:
    from .base import Backend, BackendConfig, BackendPlugin

GROUP = "qedgen.backends"
_CACHE_NAMESPACE = "backend-entry-points-v1"

__all__ = ["GROUP", "broken", "create_backend", "language_names", "plugin_for_file", "plugin_for_language",
           "plugins", "reload", "suffixes"]


def _fingerprint() -> str:
    """What the installed distributions look like: per `sys.path` folder, its `*.dist-info`/`*.egg-info`
    entries with the modification time of their `entry_points.txt` (a zip or egg on the path: its own)."""
    from verifier.cache import digest

    parts = [sys.version, GROUP]
    for entry in sys.path:
        folder = entry or "."
        parts.append(entry)
        try:
            with os.scandir(folder) as it:
                for d in it:
                    if d.name.endswith((".dist-info", ".egg-info")):
                        try:
                            stamp = os.stat(os.path.join(d.path, "entry_points.txt")).st_mtime_ns
                        except OSError:
                            stamp = 0
                        parts.append(f"{d.name}\0{stamp}")
        except NotADirectoryError:
            try:
                parts.append(str(os.stat(folder).st_mtime_ns))
            except OSError:
                pass
        except OSError:
            pass
    return digest(*sorted(parts[2:]), *parts[:2])


def _scan() -> list[tuple[str, str]]:
    """(name, "module:attr") of every entry point in the group, from the installed distributions."""
    from importlib.metadata import entry_points

    return sorted((ep.name, ep.value) for ep in entry_points(group=GROUP))


def _entry_points(fresh: bool) -> list[tuple[str, str]]:
    from verifier.cache import Store

    store, key = Store(), _fingerprint()
    if not fresh:
        hit = store.get(_CACHE_NAMESPACE, key)
        if isinstance(hit, list) and all(isinstance(x, list) and len(x) == 2 for x in hit):
            return [(str(n), str(v)) for n, v in hit]
    found = _scan()
    store.put(_CACHE_NAMESPACE, key, [list(x) for x in found])
    return found


def _load_one(value: str) -> BackendPlugin:
    from importlib import import_module

    from .base import BackendPlugin

    module, _, attr = value.partition(":")
    obj = import_module(module.strip())
    for part in attr.strip().split(".") if attr.strip() else ():
        obj = getattr(obj, part)
    plugin = obj() if isinstance(obj, type) else obj
    if not isinstance(plugin, BackendPlugin):
        raise TypeError(f"{value} is a {type(plugin).__name__}, not a backends.base.BackendPlugin")
    return plugin


@functools.cache
def _load() -> tuple[dict[str, BackendPlugin], dict[str, str]]:
    for fresh in (False, True):
        found: dict[str, BackendPlugin] = {}
        failed: dict[str, str] = {}
        for ep_name, value in _entry_points(fresh):
            try:
                plugin = _load_one(value)
                name = plugin.language.name
            except Exception as e:  # noqa: BLE001 - a broken third-party plugin must not break qed
                failed[ep_name] = f"{value}: {type(e).__name__}: {e}"
                continue
            if name in found:
                failed[ep_name] = f"{value}: language {name!r} is already registered by another backend"
                continue
            found[name] = plugin
        if not failed:
            break  # a cached list is trusted only while every entry still loads
    return found, failed


def reload() -> None:
    """Forget what was loaded (after installing a backend at run time, or in tests)."""
    _load.cache_clear()


def plugins() -> dict[str, BackendPlugin]:
    """Every registered backend plugin by language name (available or not), sorted by name."""
    return dict(_load()[0])


def broken() -> dict[str, str]:
    """Entry points that could not be loaded: entry-point name -> why."""
    return dict(_load()[1])


def language_names() -> list[str]:
    return sorted(plugins())


def suffixes(*, available_only: bool = True) -> tuple[str, ...]:
    """File suffixes of the registered languages (of those with a working backend, by default)."""
    return tuple(s for p in plugins().values() if p.available or not available_only for s in p.language.suffixes)


def plugin_for_language(name: str) -> BackendPlugin:
    """The plugin of language `name` (a task's `language:`); BadInput naming the known ones."""
    found = plugins().get(str(name).strip().lower())
    if found is None:
        known = ", ".join(language_names()) or "none"
        raise BadInput(f"no verifier backend for language {name!r}",
                       fix=f"use one of: {known} (or install the qed backend for it)")
    return found


def plugin_for_file(path: Path) -> BackendPlugin:
    """The plugin whose language uses `path`'s suffix; BadInput naming the known suffixes."""
    path = Path(path)
    for plugin in plugins().values():
        if any(path.name.endswith(s) for s in plugin.language.suffixes):
            return plugin
    known = ", ".join(suffixes(available_only=False)) or "none"
    raise BadInput(f"{path}: no verifier backend for '{path.suffix or path.name}' files",
                   fix=f"pass files of a registered language ({known})")


def ensure_available(plugin: BackendPlugin) -> BackendPlugin:
    """`plugin`, or BackendUnavailable (exit 3) naming the language and how to get its backend."""
    if not plugin.available:
        title = plugin.language.title
        raise BackendUnavailable(
            f"{title} files ({', '.join(plugin.language.suffixes)}) need the {title} backend, which is not "
            f"part of this qed yet", fix=plugin.unavailable_fix)
    return plugin


def create_backend(plugin_or_language: BackendPlugin | str, config: BackendConfig | None = None) -> Backend:
    """A backend for a plugin or a language name, with `config` (the plugin's default config when None)."""
    plugin = plugin_for_language(plugin_or_language) if isinstance(plugin_or_language, str) else plugin_or_language
    ensure_available(plugin)
    return plugin.create(config if config is not None else plugin.config())
