"""`qed toolchain install dafny`: put the pinned Dafny (with Z3) into qed's toolchain directory.

Sources, in order of preference when none is given: `dotnet tool install` (when `dotnet` is on PATH; Z3 is then
taken from the `z3-solver` wheel), else the pinned release zip for this platform (checksum from the manifest).
`source` may also be a local zip (air-gapped machines) or a URL (mirrors). A URL download needs a known
checksum: the manifest's (for the pinned asset name) or `sha256`.

Everything is built in a temporary directory beside the destination, validated (runs, reports the pinned
version, has a Z3 it can use) and only then renamed into place; a failure leaves the previous state as it was.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable, Mapping

from verifier.errors import BadInput, QedError, ToolchainError, UnusableToolchain
from verifier.procs import run

from .discovery import DafnyInstall, check_dafny, pinned_dafny_version, pinned_z3_version
from .manifest import ReleaseAsset, load_manifest
from .paths import EXE, dafny_install_root, is_executable_file, platform_key, which
from .probe import ProbeCache
from .ziputil import make_executable, safe_extract

DOWNLOAD_TIMEOUT_S = 60.0  # per network operation
DOWNLOAD_DEADLINE_S = 1800.0  # whole download
DOTNET_TIMEOUT_S = 900.0
PIP_TIMEOUT_S = 900.0

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _check_hex(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    value = sha256.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise BadInput(f"--sha256 {sha256!r} is not a SHA-256 hex digest", fix="pass 64 hexadecimal characters")
    return value


def _is_url(source: str) -> bool:
    return urllib.parse.urlparse(source).scheme in ("http", "https", "file")


def file_sha256(path: Path) -> str:
    """The SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify_sha256(path: Path, expected: str, label: str) -> None:
    got = file_sha256(path)
    if got != expected:
        raise BadInput(
            f"checksum mismatch for {label}: expected {expected}, got {got}",
            fix="download the official release zip again, or pass the right --sha256",
        )


def download(url: str, dest: Path, expected_sha256: str, *, timeout: float = DOWNLOAD_TIMEOUT_S) -> None:
    """Download `url` to `dest` and check its SHA-256 (BadInput on mismatch, ToolchainError on network errors)."""
    h = hashlib.sha256()
    deadline = time.monotonic() + DOWNLOAD_DEADLINE_S
    fix = "check the network/proxy, or download the zip elsewhere and pass --from /path/to/zip"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as out:
            while chunk := resp.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
                if time.monotonic() > deadline:
                    raise ToolchainError(f"download of {url} took longer than {DOWNLOAD_DEADLINE_S:.0f} s", fix=fix)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise ToolchainError(f"download of {url} failed: {reason}", fix=fix) from None
    got = h.hexdigest()
    if got != expected_sha256:
        raise BadInput(
            f"checksum mismatch for {url}: expected {expected_sha256}, got {got}",
            fix="retry, use another mirror, or pass the right --sha256",
        )


def _pinned_asset() -> ReleaseAsset:
    plat = platform_key()
    asset = load_manifest().get("dafny").release_for(plat)
    if asset is None or not asset.url:
        raise ToolchainError(
            f"Dafny {pinned_dafny_version()} has no release zip for {plat}",
            fix="install the .NET SDK (qed then uses `dotnet tool install`), or pass --from a zip built for it",
        )
    return asset


def _fetch_zip(source: str | None, sha256: str | None, workdir: Path, progress: Progress) -> Path:
    """The zip to install, downloaded or local, with its checksum checked when one is known."""
    spec = load_manifest().get("dafny")
    if source is None:
        asset = _pinned_asset()
        url, expected = asset.url, sha256 or asset.sha256
        if not expected:
            raise BadInput(
                f"qed's manifest has no checksum for {asset.filename}, so the download cannot be verified",
                fix="pass --sha256 HEX (from the release page), or download it yourself and pass --from the zip",
            )
    elif _is_url(source):
        url = source
        name = urllib.parse.urlparse(source).path.rsplit("/", 1)[-1]
        pinned = spec.asset_by_filename(name)
        expected = sha256 or (pinned.sha256 if pinned else None)
        if not expected:
            raise BadInput(
                f"refusing to download {source} without a checksum (not a pinned Dafny {spec.version} asset name)",
                fix="pass --sha256 HEX, or download it yourself and pass --from the local zip",
            )
    else:
        local = Path(source).expanduser()
        if not local.is_file():
            raise BadInput(f"no such file: {source}", fix="pass --from an existing Dafny release zip or an https URL")
        if sha256:
            _verify_sha256(local, sha256, str(local))
        return local.absolute()
    assert url is not None
    target = workdir / (url.rsplit("/", 1)[-1] or "dafny.zip")
    progress(f"downloading {url}")
    download(url, target, expected)
    return target


def _find_dafny_home(root: Path) -> Path:
    """The directory of the unpacked archive that holds the `dafny` executable (top level or one below)."""
    names = ("dafny.exe", "Dafny.exe", "dafny") if EXE else ("dafny",)
    dirs = [root, *sorted(p for p in root.iterdir() if p.is_dir())]
    for d in dirs:
        if any((d / n).is_file() for n in names):
            return d
    raise BadInput("the archive holds no `dafny` executable at its top (expected dafny/dafny as in the release zips)",
                   fix="pass --from an official Dafny release zip")


def _fix_modes(home: Path) -> None:
    """Make the launcher and bundled Z3 binaries executable (zips made on Windows carry no modes)."""
    for n in ("dafny", "dafny.exe", "Dafny.exe", "DafnyServer"):
        if (home / n).is_file():
            make_executable(home / n)
    bin_dir = home / "z3" / "bin"
    if bin_dir.is_dir():
        for f in bin_dir.iterdir():
            if f.is_file():
                make_executable(f)


def _unpack(archive: Path, staging: Path) -> None:
    """Unpack `archive` into `staging/dafny` (the layout of the release zips)."""
    unpacked = staging / "unpacked"
    unpacked.mkdir()
    safe_extract(archive, unpacked)
    home = _find_dafny_home(unpacked)
    home.rename(staging / "dafny")
    if unpacked.exists():
        shutil.rmtree(unpacked)
    _fix_modes(staging / "dafny")


def fetch_pip_z3(bin_dir: Path, env: Mapping[str, str], progress: Progress = _quiet) -> Path | None:
    """Put Z3 from the pinned `z3-solver` wheel into `bin_dir/z3-<v>`; None (with a message) if pip cannot.

    Uses `pip download` (nothing is installed into any Python environment).
    """
    solver = load_manifest().get("dafny").solver
    if solver is None or not solver.pip:
        return None
    progress(f"fetching Z3 from the {solver.pip} wheel")
    bin_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".z3-wheel-", dir=bin_dir) as tmp:
        try:
            res = run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                       "--dest", tmp, solver.pip], timeout=PIP_TIMEOUT_S, env=env)
        except OSError as err:
            progress(f"cannot run pip: {err}")
            return None
        wheels = sorted(Path(tmp).glob("*.whl"))
        if res.returncode != 0 or not wheels:
            last = (res.stderr.strip().splitlines() or ["no wheel"])[-1]
            progress(f"pip download {solver.pip} failed: {last[:200]}")
            return None
        with zipfile.ZipFile(wheels[0]) as zf:
            member = next((n for n in zf.namelist()
                           if re.search(r"\.data/data/bin/z3(\.exe)?$", n) or re.search(r"(^|/)bin/z3(\.exe)?$", n)),
                          None)
            if member is None:
                progress(f"{wheels[0].name} holds no z3 executable")
                return None
            target = bin_dir / f"z3-{solver.version}{EXE}"
            with zf.open(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    os.chmod(target, 0o755)
    return target


def _dotnet_install(staging: Path, env: Mapping[str, str], progress: Progress) -> None:
    """`dotnet tool install --tool-path staging/dafny dafny --version <pinned>`, plus Z3 from the wheel."""
    dotnet = which("dotnet", env)
    assert dotnet is not None
    package, version = load_manifest().get("dafny").dotnet_tool or ("dafny", pinned_dafny_version())
    tool_path = staging / "dafny"
    progress(f"dotnet tool install {package} {version}")
    denv = dict(env, DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1")
    res = run([str(dotnet), "tool", "install", "--tool-path", str(tool_path), package, "--version", version],
              timeout=DOTNET_TIMEOUT_S, env=denv)
    if res.returncode != 0:
        text = (res.stderr.strip() or res.stdout.strip() or "no output").splitlines()
        why = "timed out" if res.timed_out else f"exited {res.returncode}: {text[-1][:200]}"
        raise ToolchainError(f"`dotnet tool install {package} --version {version}` {why}",
                             fix="check access to nuget.org, or pass --from a Dafny release zip")
    if fetch_pip_z3(tool_path / "z3" / "bin", env, progress) is None:
        progress(f"no Z3 {pinned_z3_version()} bundled; the install must find one on PATH or via QED_Z3")


def _validate(exe: Path, how: str, env: Mapping[str, str]) -> DafnyInstall:
    try:
        return check_dafny(exe, how, env, cache=None)
    except UnusableToolchain as err:
        raise ToolchainError(f"the new Dafny does not work: {err.cause}", fix=err.fix) from None


def _swap_into_place(staging: Path, dest: Path) -> Path | None:
    """Rename `staging` to `dest`; an existing `dest` is moved aside first. Returns the moved-aside dir."""
    old: Path | None = None
    if dest.exists() or dest.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        old.rmdir()
        os.rename(dest, old)
    try:
        os.rename(staging, dest)
    except OSError:
        if old is not None:
            os.rename(old, dest)
        raise
    return old


def _replaceable(dest: Path) -> bool:
    """True if `dest` is absent, an empty directory, or holds only `dafny/` (a previous install)."""
    if not dest.exists() and not dest.is_symlink():
        return True
    if dest.is_symlink() or not dest.is_dir():
        return False
    names = {p.name for p in dest.iterdir()}
    return names <= {"dafny"} and (not names or (dest / "dafny").is_dir())


def _remove_stale(dest: Path, max_age_s: float = 86400.0) -> None:
    """Remove staging dirs left by an install that was killed (older than a day, so not a running one)."""
    now = time.time()
    patterns = [f".{dest.name}.tmp-*"] + ([f".{dest.name}.old-*"] if dest.exists() else [])
    for pattern in patterns:
        for p in dest.parent.glob(pattern):
            try:
                if p.is_dir() and now - p.stat().st_mtime > max_age_s:
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:
                pass


def _dafny_exe(root: Path) -> Path:
    for n in (("dafny.exe", "Dafny.exe") if EXE else ("dafny",)):
        if (root / "dafny" / n).is_file():
            return root / "dafny" / n
    return root / "dafny" / f"dafny{EXE}"


def install_dafny(
    source: str | None = None,
    dest: Path | None = None,
    sha256: str | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    use_dotnet: bool | None = None,
    force: bool = False,
    progress: Progress = _quiet,
) -> DafnyInstall:
    """Install the pinned Dafny (and a Z3 it can use) into `dest` (default: qed's toolchain directory).

    `source`: None (dotnet tool if `dotnet` is on PATH and `use_dotnet` is not False, else the pinned release
    zip), a local zip path, or a URL. `sha256`: the expected digest of the zip. The executable ends up at
    `dest/dafny/dafny`. Without `source` and `force`, an already working install at `dest` is kept as is.
    Raises BadInput (missing zip, bad checksum, unsafe archive) or ToolchainError (download/install failed).
    """
    want = pinned_dafny_version()
    expected = _check_hex(sha256)
    dest = (dest or dafny_install_root(env, want)).expanduser().absolute()
    how = f"qed install ({dest.parent})"
    if source is None and not force and is_executable_file(_dafny_exe(dest)):
        try:
            return check_dafny(_dafny_exe(dest), how, env, ProbeCache.for_env(env))
        except UnusableToolchain:
            pass  # broken or outdated: reinstall
    if not _replaceable(dest):
        raise BadInput(f"{dest} exists and is not a Dafny install made by qed (it would be replaced)",
                       fix="pass --dest a new or empty directory")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BadInput(f"cannot create {dest.parent}: {err.strerror}", fix="pass --dest a writable directory") from None
    _remove_stale(dest)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    old: Path | None = None
    os.chmod(staging, 0o755)  # mkdtemp makes it 0700; it becomes the install dir
    try:
        dotnet = source is None and use_dotnet is not False and which("dotnet", env) is not None
        if dotnet:
            _dotnet_install(staging, env, progress)
        else:
            download_dir = staging / "download"
            download_dir.mkdir()
            archive = _fetch_zip(source, expected, download_dir, progress)
            progress(f"unpacking {archive.name}")
            _unpack(archive, staging)
            shutil.rmtree(download_dir)
        progress("checking the new Dafny")
        _validate(_dafny_exe(staging), "new install", env)
        old = _swap_into_place(staging, dest)
        try:  # it must still work where it now lives (this also primes the probe cache for `qed verify`)
            return check_dafny(_dafny_exe(dest), how, env, ProbeCache.for_env(env))
        except QedError as err:
            shutil.rmtree(dest, ignore_errors=True)
            if old is not None:
                os.rename(old, dest)
                old = None
            raise ToolchainError(f"the new Dafny does not work at {dest}: {err.cause}", fix=err.fix) from None
    except OSError as err:
        raise ToolchainError(f"installing Dafny into {dest} failed: {err}",
                             fix="check free space and permissions, or pass --dest DIR") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if old is not None and old.exists():
            shutil.rmtree(old, ignore_errors=True)
