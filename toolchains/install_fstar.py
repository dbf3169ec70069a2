"""`qed toolchain install fstar`: put the pinned F* release (with its bundled Z3) into qed's toolchain directory.

`source` is a local release archive (`--from`, for air-gapped machines), a URL (a mirror), or None (the pinned
release asset for this platform, from the manifest). A download needs a known SHA-256 (the manifest's or
`--sha256`); a local archive is checked against `--sha256` when one is given. Archives are `.tar.gz` (Linux,
macOS) or `.zip` (Windows); entries that would land outside the install directory (absolute paths, `..`, links
pointing out) refuse the whole archive.

Everything is unpacked into a temporary directory beside the destination, checked (`bin/fstar.exe` runs and
reports the pinned version, and a Z3 of the pinned version is bundled or found) and only then renamed into place:
a failure at any step leaves the previous state as it was, never half an install.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Mapping

from verifier.errors import BadInput, UnusableToolchain

from .archives import safe_extract, safe_untar
from .fstar import FStarInstall, check_fstar, fstar_exe_in, fstar_install_root
from .install import _check_hex, fetch_archive, install_staged
from .probe import ProbeCache

Progress = Callable[[str], None]

__all__ = ["install_fstar", "safe_untar"]


def _quiet(_: str) -> None:
    pass


def _unpack(archive: Path, staging: Path) -> Path:
    """Unpack into `staging/unpacked` and move the F* root (the folder holding `bin/fstar.exe`) to
    `staging/fstar`."""
    unpacked = staging / "unpacked"
    unpacked.mkdir()
    if archive.name.endswith(".zip"):
        safe_extract(archive, unpacked)
    else:
        safe_untar(archive, unpacked)
    for d in [unpacked, *sorted(p for p in unpacked.iterdir() if p.is_dir())]:
        if (d / "bin" / "fstar.exe").is_file():
            d.rename(staging / "fstar")
            break
    else:
        raise BadInput("the archive holds no `bin/fstar.exe` at its top or one folder below (as in the F* release "
                       "archives)", fix="pass --from an official F* release archive")
    shutil.rmtree(unpacked, ignore_errors=True)
    home = staging / "fstar"
    for p in [home / "bin" / "fstar.exe", *home.glob("lib/fstar/z3-*/bin/z3*"), *home.glob("z3-*/bin/z3*")]:
        if p.is_file():
            mode = p.stat().st_mode
            os.chmod(p, mode | ((mode & 0o444) >> 2))
    return home


def install_fstar(source: str | None = None, dest: Path | None = None, sha256: str | None = None, *,
                  env: Mapping[str, str] = os.environ, force: bool = False,
                  progress: Progress = _quiet) -> FStarInstall:
    """Install the pinned F* into `dest` (default: qed's toolchain directory); the executable ends up at
    `dest/fstar/bin/fstar.exe`. Without `source` and `force`, a working install at `dest` is kept.
    Raises BadInput (missing archive, bad checksum, unsafe archive) or ToolchainError (the result does not work)."""
    expected = _check_hex(sha256)
    dest = (dest or fstar_install_root(env)).expanduser().absolute()
    how = f"qed install ({dest.parent})"
    if source is None and not force and fstar_exe_in(dest).is_file():
        try:
            return check_fstar(fstar_exe_in(dest), how, env, ProbeCache.for_env(env))
        except UnusableToolchain:
            pass

    def build(staging: Path) -> None:
        download_dir = staging / "download"
        download_dir.mkdir()
        archive = fetch_archive("fstar", "F*", source, expected, download_dir, progress,
                                no_asset_fix="download the F* release for your platform and pass --from ARCHIVE")
        progress(f"unpacking {archive.name}")
        _unpack(archive, staging)
        shutil.rmtree(download_dir, ignore_errors=True)

    return install_staged("F*", dest, "fstar", build, fstar_exe_in, check_fstar, env=env, progress=progress)
