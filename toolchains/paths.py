"""Where qed keeps its toolchains and caches, and small path helpers that honour an explicit environment.

* install root: `$QED_HOME/toolchains`, else `${XDG_DATA_HOME:-~/.local/share}/qedgen/toolchains`
* cache file:   `$QED_CACHE_DIR/toolchains.json`, else `${XDG_CACHE_HOME:-~/.cache}/qedgen/toolchains.json`
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Mapping

IS_WINDOWS = os.name == "nt"
EXE = ".exe" if IS_WINDOWS else ""


def home(env: Mapping[str, str]) -> Path:
    """The user's home directory according to `env` (HOME / USERPROFILE), else the process's."""
    value = env.get("HOME") or (env.get("USERPROFILE") if IS_WINDOWS else None)
    return Path(value) if value else Path.home()


def expand(value: str, env: Mapping[str, str]) -> Path:
    """`value` as a path, with a leading `~` taken from `env`'s home."""
    if value == "~" or value.startswith("~/") or value.startswith("~" + os.sep):
        return home(env) / value[2:]
    return Path(value)


def toolchains_dir(env: Mapping[str, str]) -> Path:
    """The directory qed installs toolchains into."""
    if env.get("QED_HOME"):
        return expand(env["QED_HOME"], env) / "toolchains"
    data = env.get("XDG_DATA_HOME")
    base = expand(data, env) if data else home(env) / ".local" / "share"
    return base / "qedgen" / "toolchains"


def dafny_install_root(env: Mapping[str, str], version: str) -> Path:
    """qed's own install of Dafny `version`: the executable is `<root>/dafny/dafny`."""
    return toolchains_dir(env) / f"dafny-{version}"


def cache_file(env: Mapping[str, str]) -> Path:
    """The JSON file holding cached version probes."""
    if env.get("QED_CACHE_DIR"):
        return expand(env["QED_CACHE_DIR"], env) / "toolchains.json"
    cache = env.get("XDG_CACHE_HOME")
    base = expand(cache, env) if cache else home(env) / ".cache"
    return base / "qedgen" / "toolchains.json"


def which(name: str, env: Mapping[str, str]) -> Path | None:
    """`name` looked up on `env["PATH"]` (not the process's PATH), as an absolute path."""
    found = shutil.which(name, path=env.get("PATH", os.defpath))
    return Path(found).absolute() if found else None


def is_executable_file(path: Path) -> bool:
    """True for an existing regular file (after symlinks) that we may execute."""
    try:
        return path.is_file() and os.access(path, os.X_OK)
    except OSError:
        return False


def platform_key() -> str:
    """This machine as a manifest release key: `linux-x64`, `linux-arm64`, `macos-arm64`, `windows-x64`, ..."""
    import platform  # lazy: only the installer needs it

    system = platform.system().lower()
    osname = {"darwin": "macos", "windows": "windows", "linux": "linux"}.get(system, system)
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{osname}-{arch}"
