"""Find a working Dafny (with the Z3 it will use) on this machine.

Dafny, in order: `$QED_DAFNY` (if set it must work: no silent fall-through), `dafny` on PATH,
`~/.dotnet/tools/dafny`, then qed's own install (`paths.dafny_install_root`). A candidate must run, report the
pinned version (4.11.0) and have a working Z3, else the next one is tried; when none works the first problem is
raised as a `ToolchainError` naming its fix.

Z3, in order: `$QED_Z3` (must work), the `z3/bin/z3-4.12.1` beside `Dafny.dll` (where Dafny itself looks: no
option needed), the same beside the `dafny` executable, `z3` on PATH, the binary of the `z3-solver` pip
package. The first Z3 4.12.1 wins; another version is used only when no 4.12.1 works (with a note). Whenever
the chosen Z3 is not the one Dafny finds by itself, `DafnyInstall.extra_args` is `("--solver-path", <z3>)`.
"""

from __future__ import annotations

import os
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping

if TYPE_CHECKING:
    from verifier.models import ToolchainRef

from verifier.errors import ToolchainError, UnusableToolchain

from .manifest import load_manifest
from .paths import EXE, dafny_install_root, expand, home, is_executable_file, which
from .probe import ProbeCache, ProbeResult, probe_version

DAFNY_VERSION_RE = r"^\s*(?P<full>(?P<v>\d+\.\d+\.\d+)\S*)"
Z3_VERSION_RE = r"Z3 version (?P<v>\d+\.\d+\.\d+)"

FIX_NO_DAFNY = "run `qed toolchain install dafny`, or set QED_DAFNY=/path/to/dafny"


def pinned_dafny_version() -> str:
    """The Dafny version qed supports (from the manifest)."""
    return load_manifest().get("dafny").version


def pinned_z3_version() -> str:
    """The Z3 version the pinned Dafny is tested with (from the manifest)."""
    solver = load_manifest().get("dafny").solver
    assert solver is not None
    return solver.version


def fix_no_z3() -> str:
    """The fix text for a Dafny without a usable Z3."""
    return f"run `qed toolchain install dafny` or set QED_Z3=/path/to/z3 ({pinned_z3_version()})"


@dataclass(frozen=True)
class SolverFound:
    """The Z3 chosen for a Dafny. `extra_args` must follow the Dafny command (`dafny verify <extra_args> ...`)."""

    path: Path
    version: str
    how: str
    extra_args: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class DafnyInstall:
    """A working Dafny and the Z3 it will use.

    `path` is the executable to run; `version` is X.Y.Z and `full_version` what `dafny --version` printed
    (e.g. `4.11.0+fcb2042d...`); `how` says where it was found (`QED_DAFNY`, `PATH`, ...). `extra_args` are the
    options qed must add after the Dafny command so that this Z3 is used (empty when Dafny finds it itself).
    """

    path: Path
    version: str
    full_version: str
    how: str
    solver_path: Path | None
    solver_version: str | None
    solver_how: str
    extra_args: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def argv(self, command: str, *args: str) -> list[str]:
        """The command line `dafny <command> <extra_args> <args>`."""
        return [str(self.path), command, *self.extra_args, *args]

    def ref(self) -> ToolchainRef:
        """This install as the `toolchain` field of a `FileResult`."""
        solver = f"z3 {self.solver_version}" if self.solver_version else None
        from verifier.models import ToolchainRef  # lazy: keeps `qed verify` start-up light

        return ToolchainRef(name="dafny", version=self.full_version, path=str(self.path), solver=solver)


# --- where Dafny.dll lives ------------------------------------------------------------------------------------


def dafny_dll_dir(exe: Path) -> Path | None:
    """The directory holding the `Dafny.dll` that `exe` runs, when it can be told from the layout.

    Handles the release zip (`dafny` next to `Dafny.dll`), a wrapper script with `lib/Dafny.dll` next to it
    (the shared copy), Homebrew-style `../libexec`, and dotnet tool shims (`.store/dafny/<v>/.../any/`).
    """
    try:
        real = exe.resolve()
    except OSError:
        real = exe
    for base in dict.fromkeys([real.parent, exe.parent]):
        for d in (base, base / "lib", base.parent / "libexec", base.parent / "lib" / "dafny"):
            if (d / "Dafny.dll").is_file():
                return d
        store = sorted(base.glob(".store/dafny/*/dafny/*/tools/*/any/Dafny.dll"))
        if store:
            pinned = [p for p in store if f"/{pinned_dafny_version()}/" in p.as_posix()]
            return (pinned or store)[-1].parent
    return None


# --- Z3 --------------------------------------------------------------------------------------------------------


def pip_z3_binary() -> Path | None:
    """The `z3` executable installed by the `z3-solver` pip package in this Python, if any.

    The wheel ships it as data (`z3_solver-<v>.data/data/bin/z3`), so it lands in the environment's `bin/`.
    """
    try:
        from importlib import metadata

        dist = metadata.distribution("z3-solver")
    except metadata.PackageNotFoundError:
        return None
    names = ("z3.exe", "z3") if EXE else ("z3",)
    candidates = [
        Path(str(dist.locate_file(f)))
        for f in dist.files or []
        if f.name in names and len(f.parts) >= 2 and f.parts[-2] in ("bin", "Scripts")
    ]
    site = Path(str(dist.locate_file("")))
    scripts = [sysconfig.get_path("scripts"), sysconfig.get_path("scripts", f"{os.name}_user")]
    for d in [site / "bin", *(Path(s) for s in scripts if s)]:  # `pip install --target`, then the usual bin dirs
        candidates += [d / n for n in names]
    for p in candidates:
        if p.is_file():
            return p.resolve()
    return None


def _z3_candidates(exe: Path, env: Mapping[str, str]) -> Iterator[tuple[Path, str, bool]]:
    """(path, how, is it the one Dafny finds by itself) for each Z3 that exists, in preference order."""
    name = f"z3-{pinned_z3_version()}{EXE}"
    seen: set[Path] = set()

    def fresh(p: Path) -> bool:
        key = p.resolve()
        if key in seen:
            return False
        seen.add(key)
        return True

    dll_dir = dafny_dll_dir(exe)
    if dll_dir is not None:
        p = dll_dir / "z3" / "bin" / name
        if is_executable_file(p) and fresh(p):
            yield p, "bundled (beside Dafny.dll)", True
    for base in dict.fromkeys([exe.parent, exe.resolve().parent]):
        p = base / "z3" / "bin" / name
        if is_executable_file(p) and fresh(p):
            yield p, "bundled (beside the dafny executable)", False
    on_path = which("z3", env)
    if on_path is not None and fresh(on_path):
        yield on_path, "PATH", False
    pip = pip_z3_binary()
    if pip is not None and is_executable_file(pip) and fresh(pip):
        yield pip, "z3-solver pip package", False


def probe_z3(path: Path, env: Mapping[str, str], cache: ProbeCache | None) -> ProbeResult:
    """`z3 -version` (cached)."""
    return probe_version([str(path), "-version"], Z3_VERSION_RE, kind="z3", env=env, cache=cache)


def find_z3_for_dafny(exe: Path, env: Mapping[str, str], cache: ProbeCache | None = None) -> SolverFound:
    """Choose the Z3 that Dafny at `exe` will use. Raises ToolchainError when there is no working one."""
    want = pinned_z3_version()
    if env.get("QED_Z3"):
        raw = env["QED_Z3"]
        p = expand(raw, env)
        fix = f"point QED_Z3 at a Z3 {want} executable, or unset it"
        if not is_executable_file(p):
            what = "does not exist" if not p.exists() else "is not an executable file"
            raise ToolchainError(f"QED_Z3={raw} {what}", fix=fix)
        pr = probe_z3(p, env, cache)
        if not pr.ok:
            raise ToolchainError(f"QED_Z3={raw} is not a working Z3: {pr.error}", fix=fix)
        return SolverFound(p.absolute(), pr.version or "?", "QED_Z3", ("--solver-path", str(p.absolute())),
                           _mismatch_note(pr.version, want))
    fallback: SolverFound | None = None
    first_error: str | None = None
    for path, how, is_default in _z3_candidates(exe, env):
        pr = probe_z3(path, env, cache)
        if not pr.ok:
            first_error = first_error or f"{path}: {pr.error}"
            continue
        args = () if is_default else ("--solver-path", str(path))
        found = SolverFound(path, pr.version or "?", how, args, _mismatch_note(pr.version, want))
        if pr.version == want:
            return found
        fallback = fallback or found
    if fallback is not None:
        return fallback
    if first_error:
        raise ToolchainError(f"Dafny found at {exe} but no working Z3 solver ({first_error})", fix=fix_no_z3())
    raise ToolchainError(
        f"Dafny found at {exe} but no Z3 solver (looked beside Dafny, on PATH and for the z3-solver package)",
        fix=fix_no_z3(),
    )


def _mismatch_note(version: str | None, want: str) -> str | None:
    if version == want:
        return None
    return f"Z3 {version} is used, but Dafny {pinned_dafny_version()} is tested with Z3 {want}"


# --- Dafny -----------------------------------------------------------------------------------------------------


def _dafny_names() -> tuple[str, ...]:
    return ("dafny.exe", "Dafny.exe") if EXE else ("dafny",)


def dafny_candidates(env: Mapping[str, str]) -> list[tuple[Path, str]]:
    """(path, how) of each Dafny that exists, after `$QED_DAFNY`: PATH, dotnet tools, qed's install."""
    out: list[tuple[Path, str]] = []
    p = which("dafny", env)
    if p is not None:
        out.append((p, "PATH"))
    tools = home(env) / ".dotnet" / "tools"
    for n in _dafny_names():
        if is_executable_file(tools / n):
            out.append((tools / n, "dotnet tools (~/.dotnet/tools)"))
            break
    root = dafny_install_root(env, pinned_dafny_version())
    for n in _dafny_names():
        if is_executable_file(root / "dafny" / n):
            out.append((root / "dafny" / n, f"qed install ({root.parent})"))
            break
    unique: dict[Path, tuple[Path, str]] = {}
    for path, how in out:
        unique.setdefault(path.resolve(), (path, how))
    return list(unique.values())


def probe_dafny(exe: Path, env: Mapping[str, str], cache: ProbeCache | None) -> ProbeResult:
    """`dafny --version` (cached, keyed by the launcher and its Dafny.dll)."""
    key_files = [exe]
    dll_dir = dafny_dll_dir(exe)
    if dll_dir is not None:
        key_files.append(dll_dir / "Dafny.dll")
    return probe_version([str(exe), "--version"], DAFNY_VERSION_RE, kind="dafny", env=env,
                         key_files=key_files, cache=cache)


def check_dafny(exe: Path, how: str, env: Mapping[str, str], cache: ProbeCache | None = None) -> DafnyInstall:
    """Check the Dafny at `exe` (runs, pinned version, working Z3). Raises `UnusableToolchain` with the reason."""
    want = pinned_dafny_version()
    label = f"QED_DAFNY={env.get('QED_DAFNY')}" if how == "QED_DAFNY" else f"Dafny at {exe} ({how})"
    fix = f"point QED_DAFNY at a Dafny {want} executable, or unset it" if how == "QED_DAFNY" else FIX_NO_DAFNY
    pr = probe_dafny(exe, env, cache)
    if not pr.ok:
        raise UnusableToolchain(f"{label} does not run: {pr.error}", fix, path=exe, how=how, probe=pr)
    if pr.version != want:
        raise UnusableToolchain(f"{label} is Dafny {pr.version}, but qed needs Dafny {want}", fix,
                            path=exe, how=how, probe=pr)
    try:
        z3 = find_z3_for_dafny(exe, env, cache)
    except ToolchainError as err:
        raise UnusableToolchain(err.cause, err.fix, path=exe, how=how, probe=pr, solver_problem=err.cause) from None
    return DafnyInstall(
        path=exe.absolute(),
        version=pr.version or want,
        full_version=pr.full_version or want,
        how=how,
        solver_path=z3.path,
        solver_version=z3.version,
        solver_how=z3.how,
        extra_args=z3.extra_args,
        notes=(z3.note,) if z3.note else (),
    )


def search_dafny(
    env: Mapping[str, str] = os.environ, *, use_cache: bool = True
) -> tuple[DafnyInstall | None, list[ToolchainError]]:
    """The first working Dafny (or None) and the problems of the candidates that were rejected, in order."""
    cache = ProbeCache.for_env(env) if use_cache else None
    if env.get("QED_DAFNY"):
        raw = env["QED_DAFNY"]
        exe = expand(raw, env)
        if not is_executable_file(exe):
            what = "does not exist" if not exe.exists() else "is not an executable file"
            fix = f"point QED_DAFNY at a Dafny {pinned_dafny_version()} executable, or unset it"
            return None, [ToolchainError(f"QED_DAFNY={raw} {what}", fix=fix)]
        try:
            return check_dafny(exe, "QED_DAFNY", env, cache), []
        except UnusableToolchain as err:
            return None, [err]
    problems: list[ToolchainError] = []
    for exe, how in dafny_candidates(env):
        try:
            return check_dafny(exe, how, env, cache), problems
        except UnusableToolchain as err:
            problems.append(err)
    return None, problems


def locate_dafny(env: Mapping[str, str] = os.environ, *, use_cache: bool = True) -> DafnyInstall:
    """The Dafny qed should run, with its Z3. Raises `ToolchainError` (one line, with the fix) when none works.

    Version probes are cached (see `probe.py`), so a repeated call costs a few `stat` calls.
    """
    found, problems = search_dafny(env, use_cache=use_cache)
    if found is not None:
        return found
    if problems:
        first = problems[0]
        if len(problems) > 1:
            more = len(problems) - 1
            raise ToolchainError(f"{first.cause}; {more} other Dafny candidate(s) also unusable", fix=first.fix)
        raise first
    raise not_found_error(env)


def not_found_error(env: Mapping[str, str]) -> ToolchainError:
    """The error for "no Dafny anywhere", naming the places that were searched."""
    root = dafny_install_root(env, pinned_dafny_version())
    return ToolchainError(f"Dafny not found (looked at QED_DAFNY, PATH, ~/.dotnet/tools and {root})",
                          fix=FIX_NO_DAFNY)
