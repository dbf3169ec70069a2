"""Safe extraction of toolchain archives (zip and tar): no entry may escape the target, Unix modes are restored."""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

from verifier.errors import BadInput

MAX_UNPACKED_BYTES = 4 * 1024**3  # a Dafny release unpacks to a few hundred MB


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _unsafe(name: str, archive: Path) -> BadInput:
    return BadInput(
        f"unsafe entry {name!r} in {archive}: it would be written outside the install directory",
        fix="use an official release archive of the toolchain",
    )


def _entry_parts(raw: str, archive: Path) -> list[str]:
    """The path parts of an archive entry's name; BadInput when it is absolute, has `..` or a drive."""
    name = raw.replace("\\", "/")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise _unsafe(raw, archive)
    return parts


def _add_size(total: int, size: int, archive: Path) -> int:
    """`total + size`; BadInput once an archive unpacks to more than `MAX_UNPACKED_BYTES` (an archive bomb)."""
    total += max(size, 0)
    if total > MAX_UNPACKED_BYTES:
        raise BadInput(f"{archive} unpacks to more than {MAX_UNPACKED_BYTES >> 30} GiB",
                       fix="use the toolchain's official release archive")
    return total


def safe_extract(archive: Path, target: Path) -> None:
    """Extract `archive` into `target` (which must exist).

    Raises BadInput for an entry that is absolute, has `..` or a drive, or resolves (also through a symlink the
    archive made) outside `target`; for a symlink pointing outside; for a non-zip file; or for a zip bomb.
    File modes recorded by Unix zip tools (`external_attr`) are restored, so binaries stay executable.
    """
    root = target.resolve()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as err:
        raise BadInput(f"{archive} is not a readable zip file ({err})",
                       fix="pass --from the official release .zip of the toolchain") from None
    total = 0
    with zf:
        for info in zf.infolist():
            parts = _entry_parts(info.filename, archive)
            if not parts:
                continue
            dest = root.joinpath(*parts)
            if not _inside(dest.parent.resolve(), root) or not _inside(dest.resolve(), root):
                raise _unsafe(info.filename, archive)
            mode = info.external_attr >> 16
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            if stat.S_ISLNK(mode):
                link = zf.read(info).decode("utf-8", "replace")
                if os.path.isabs(link) or not _inside((dest.parent / link).resolve(), root):
                    raise _unsafe(f"{info.filename} -> {link}", archive)
                os.symlink(link, dest)
                continue
            total = _add_size(total, info.file_size, archive)
            with zf.open(info) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            perm = stat.S_IMODE(mode)
            if info.create_system == 3 and perm:  # made on Unix: keep its mode (owner can always read/write)
                os.chmod(dest, perm | stat.S_IRUSR | stat.S_IWUSR)


def make_executable(path: Path) -> None:
    """Add execute bits wherever `path` has read bits (for archives made without Unix modes)."""
    mode = path.stat().st_mode
    os.chmod(path, mode | ((mode & 0o444) >> 2))


def safe_untar(archive: Path, target: Path) -> None:
    """Extract a tar archive into `target`, refusing absolute names, `..`, links that point outside, device
    files and archives that unpack to more than 4 GiB (BadInput)."""
    root = target.resolve()
    try:
        tf = tarfile.open(archive)
    except (tarfile.TarError, OSError) as err:
        raise BadInput(f"{archive} is not a readable tar archive ({err})",
                       fix="pass --from an F* release .tar.gz (or .zip on Windows)") from None
    total = 0
    with tf:
        members = tf.getmembers()
        for m in members:
            parts = _entry_parts(m.name, archive)
            dest = root.joinpath(*parts) if parts else root
            if not _inside(dest.resolve(), root):
                raise _unsafe(m.name, archive)
            if m.issym() or m.islnk():
                link = m.linkname
                base = dest.parent if m.issym() else root
                if os.path.isabs(link) or not _inside((base / link).resolve(), root):
                    raise _unsafe(f"{m.name} -> {link}", archive)
            elif not (m.isfile() or m.isdir()):
                raise _unsafe(m.name, archive)
            total = _add_size(total, m.size, archive)
        for m in members:
            m.mode = (m.mode | stat.S_IRUSR | stat.S_IWUSR) & 0o777
        if hasattr(tarfile, "data_filter"):
            tf.extractall(root, members=members, filter="data")
        else:  # the members were checked above
            tf.extractall(root, members=members)
