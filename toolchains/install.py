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
from typing import Callable, Mapping, TypeVar

from verifier.errors import BadInput, QedError, ToolchainError, UnusableToolchain
from verifier.procs import run

from .archives import make_executable, safe_extract
from .discovery import DafnyInstall, check_dafny, pinned_dafny_version, pinned_z3_version
from .manifest import ReleaseAsset, load_manifest
from .paths import EXE, dafny_install_root, is_executable_file, platform_key, which
from .probe import ProbeCache

DOWNLOAD_TIMEOUT_S = 60.0  # per network operation
DOWNLOAD_DEADLINE_S = 1800.0  # whole download
DOTNET_TIMEOUT_S = 900.0
PIP_TIMEOUT_S = 900.0

T = TypeVar("T")
Checker = Callable[[Path, str, Mapping[str, str], "ProbeCache | None"], T]  # check_dafny, check_fstar
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


_NO_DAFNY_ZIP = "install the .NET SDK (qed then uses `dotnet tool install`), or pass --from a zip built for it"


def pinned_asset(tool: str, label: str, fix: str) -> ReleaseAsset:
    """The manifest's release asset of `tool` for this platform (ToolchainError with `fix` when it has none)."""
    spec = load_manifest().get(tool)
    plat = platform_key()
    asset = spec.release_for(plat)
    if asset is None or not asset.url:
        raise ToolchainError(f"{label} {spec.version} has no pinned release archive for {plat}", fix=fix)
    return asset


def fetch_archive(tool: str, label: str, source: str | None, sha256: str | None, workdir: Path,
                  progress: Progress, *, no_asset_fix: str) -> Path:
    """The release archive of `tool` (a manifest entry, shown as `label`) to install: a local file (`source` a
    path, checked against `sha256` when given) or a download (`source` a URL, or None for the pinned asset of
    this platform, `no_asset_fix` saying what to do when there is none). A download needs a known checksum:
    `sha256`, else the manifest's for that file name."""
    spec = load_manifest().get(tool)
    if source is not None and not _is_url(source):
        local = Path(source).expanduser()
        if not local.is_file():
            raise BadInput(f"no such file: {source}",
                           fix=f"pass --from an existing {label} release archive or an https URL")
        if sha256:
            _verify_sha256(local, sha256, str(local))
        return local.absolute()
    if source is None:
        asset = pinned_asset(tool, label, no_asset_fix)
        url, expected = asset.url, sha256 or asset.sha256
    else:
        url = source
        pinned = spec.asset_by_filename(urllib.parse.urlparse(source).path.rsplit("/", 1)[-1])
        expected = sha256 or (pinned.sha256 if pinned else None)
    if not expected:
        raise BadInput(f"no checksum is known for {url} (not a pinned {label} {spec.version} asset with a recorded "
                       "checksum): refusing to download it without a checksum, it could not be verified",
                       fix="pass --sha256 HEX (from the release page), or download the archive yourself and pass "
                           "--from the local file")
    target = workdir / (url.rsplit("/", 1)[-1] or f"{tool}-release")
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


def _replaceable(dest: Path, subdir: str) -> bool:
    """True if `dest` is absent, an empty directory, or holds only `subdir/` (a previous install by qed)."""
    if not dest.exists() and not dest.is_symlink():
        return True
    if dest.is_symlink() or not dest.is_dir():
        return False
    names = {p.name for p in dest.iterdir()}
    return names <= {subdir} and (not names or (dest / subdir).is_dir())


def install_staged(label: str, dest: Path, subdir: str, build: Callable[[Path], None],
                   exe_in: Callable[[Path], Path], check: Checker[T], *, env: Mapping[str, str],
                   progress: Progress) -> T:
    """Install `label` into `dest` without ever leaving half an install: `build(staging)` fills a new folder
    beside `dest` (download, unpack); the executable there (`exe_in(staging)`) must pass `check`; then the folder
    is renamed into place and checked again where it lives (which also primes the probe cache), else the
    previous install comes back. `dest` must be absent, empty, or hold only `subdir/` (an install by qed).
    Staging folders that a killed install left behind are removed once they are a day old."""
    how = f"qed install ({dest.parent})"
    if not _replaceable(dest, subdir):
        raise BadInput(f"{dest} exists and is not a {label} install made by qed (it would be replaced)",
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
        build(staging)
        progress(f"checking the new {label}")
        try:
            check(exe_in(staging), "new install", env, None)
        except UnusableToolchain as err:
            raise ToolchainError(f"the new {label} does not work: {err.cause}", fix=err.fix or "") from None
        old = _swap_into_place(staging, dest)
        try:
            return check(exe_in(dest), how, env, ProbeCache.for_env(env))
        except QedError as err:
            shutil.rmtree(dest, ignore_errors=True)
            if old is not None:
                os.rename(old, dest)
                old = None
            raise ToolchainError(f"the new {label} does not work at {dest}: {err.cause}", fix=err.fix) from None
    except OSError as err:
        raise ToolchainError(f"installing {label} into {dest} failed: {err}",
                             fix="check free space and permissions, or pass --dest DIR") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if old is not None and old.exists():
            shutil.rmtree(old, ignore_errors=True)


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

    def build(staging: Path) -> None:
        if source is None and use_dotnet is not False and which("dotnet", env) is not None:
            _dotnet_install(staging, env, progress)
            return
        download_dir = staging / "download"
        download_dir.mkdir()
        archive = fetch_archive("dafny", "Dafny", source, expected, download_dir, progress, no_asset_fix=_NO_DAFNY_ZIP)
        progress(f"unpacking {archive.name}")
        _unpack(archive, staging)
        shutil.rmtree(download_dir)

    return install_staged("Dafny", dest, "dafny", build, _dafny_exe, check_dafny, env=env, progress=progress)
