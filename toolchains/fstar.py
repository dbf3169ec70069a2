"""Find a working F* (`fstar.exe`) and the Z3 it will be told to use.

F*, in order: `$QED_FSTAR` (if set it must work: no silent fall-through), `fstar.exe` on PATH, then qed's own
install (`<toolchains dir>/fstar-<version>/fstar/bin/fstar.exe`, from `qed toolchain install fstar`). A
candidate must run and report the pinned version (`fstar.exe --version` prints `F* <version>`).

Z3 (pinned: the manifest's solver version), in order: `$QED_FSTAR_Z3` (must work), then where F* itself looks
(`FStarC.Find.Z3`): `<F* root>/lib/fstar/z3-<V>/bin/z3` and `<F* root>/z3-<V>/bin/z3` (binary packages bundle
it there), `z3-<V>` on PATH, `z3` on PATH. Only the pinned version is accepted (F* treats another version as an
error by default). qed always passes the chosen Z3 explicitly (`--smt <path> --z3version <V>`), so what runs is
what `qed toolchain status` shows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from verifier.errors import ToolchainError, UnusableToolchain

from .manifest import load_manifest
from .paths import EXE, expand, is_executable_file, toolchains_dir, which
from .probe import ProbeCache, ProbeResult, probe_version

if TYPE_CHECKING:
    from verifier.models import ToolchainRef

FSTAR_VERSION_RE = r"F\* (?P<full>v?(?P<v>[0-9][0-9A-Za-z.~+_-]*))"
Z3_VERSION_RE = r"Z3 version (?P<v>\d+\.\d+\.\d+)"
FIX_NO_FSTAR = "run `qed toolchain install fstar --from <release archive>`, or set QED_FSTAR=/path/to/fstar.exe"

__all__ = ["FStarInstall", "locate_fstar", "search_fstar", "fstar_install_root", "pinned_fstar_version",
           "pinned_fstar_z3_version", "check_fstar", "fstar_exe_in", "fstar_not_found"]


def pinned_fstar_version() -> str:
    return load_manifest().get("fstar").version


def pinned_fstar_z3_version() -> str:
    solver = load_manifest().get("fstar").solver
    assert solver is not None
    return solver.version


def fstar_install_root(env: Mapping[str, str], version: str | None = None) -> Path:
    """qed's own install of F* `version`: the executable is `<root>/fstar/bin/fstar.exe`."""
    return toolchains_dir(env) / f"fstar-{version or pinned_fstar_version()}"


def fstar_exe_in(root: Path) -> Path:
    return root / "fstar" / "bin" / "fstar.exe"


def _plain(v: str | None) -> str:
    return (v or "")[1:] if (v or "").startswith("v") else (v or "")


@dataclass(frozen=True)
class FStarInstall:
    """A working F* and the Z3 qed passes to it (`--smt z3_path --z3version z3_version`)."""

    path: Path
    version: str
    full_version: str
    how: str
    z3_path: Path
    z3_version: str
    z3_how: str
    notes: tuple[str, ...] = field(default=())

    @property
    def solver_version(self) -> str:
        return self.z3_version

    def solver_args(self) -> list[str]:
        """The options that pin the solver: always given, so F* never looks for one itself."""
        return ["--smt", str(self.z3_path), "--z3version", self.z3_version]

    def ref(self) -> ToolchainRef:
        from verifier.models import ToolchainRef

        return ToolchainRef(name="fstar", version=self.full_version, path=str(self.path),
                            solver=f"z3 {self.z3_version}")


def probe_fstar(exe: Path, env: Mapping[str, str], cache: ProbeCache | None) -> ProbeResult:
    return probe_version([str(exe), "--version"], FSTAR_VERSION_RE, kind="fstar", env=env, cache=cache)


def _z3_candidates(exe: Path, env: Mapping[str, str], want: str) -> list[tuple[Path, str]]:
    try:
        root = exe.resolve().parent.parent
    except OSError:
        root = exe.parent.parent
    out = [(root / "lib" / "fstar" / f"z3-{want}" / "bin" / f"z3{EXE}", "bundled with F*"),
           (root / f"z3-{want}" / "bin" / f"z3{EXE}", "bundled with F*")]
    for name in (f"z3-{want}", "z3"):
        p = which(name, env)
        if p is not None:
            out.append((p, "PATH"))
    return out


def find_z3_for_fstar(exe: Path, env: Mapping[str, str], cache: ProbeCache | None = None) -> tuple[Path, str, str]:
    """(path, version, how) of the Z3 for the F* at `exe`; ToolchainError when there is no pinned one."""
    want = pinned_fstar_z3_version()
    if env.get("QED_FSTAR_Z3"):
        raw = env["QED_FSTAR_Z3"]
        p = expand(raw, env)
        fix = f"point QED_FSTAR_Z3 at a Z3 {want} executable, or unset it"
        if not is_executable_file(p):
            what = "does not exist" if not p.exists() else "is not an executable file"
            raise ToolchainError(f"QED_FSTAR_Z3={raw} {what}", fix=fix)
        pr = probe_version([str(p), "-version"], Z3_VERSION_RE, kind="z3", env=env, cache=cache)
        if not pr.ok:
            raise ToolchainError(f"QED_FSTAR_Z3={raw} is not a working Z3: {pr.error}", fix=fix)
        if pr.version != want:
            raise ToolchainError(f"QED_FSTAR_Z3={raw} is Z3 {pr.version}, but F* is run with Z3 {want}", fix=fix)
        return p.absolute(), want, "QED_FSTAR_Z3"
    seen: list[str] = []
    for path, how in _z3_candidates(exe, env, want):
        if not is_executable_file(path):
            continue
        pr = probe_version([str(path), "-version"], Z3_VERSION_RE, kind="z3", env=env, cache=cache)
        if pr.ok and pr.version == want:
            return path.absolute(), want, how
        seen.append(f"{path}: {pr.version or pr.error}")
    found = f" (found: {'; '.join(seen)})" if seen else ""
    raise ToolchainError(f"F* at {exe} has no Z3 {want}{found}",
                         fix=f"set QED_FSTAR_Z3=/path/to/z3-{want}, or put z3-{want} on PATH or beside F*")


def check_fstar(exe: Path, how: str, env: Mapping[str, str], cache: ProbeCache | None = None) -> FStarInstall:
    """Check the F* at `exe` (runs, pinned version, Z3). Raises `UnusableToolchain` with the reason."""
    want = pinned_fstar_version()
    label = f"QED_FSTAR={env.get('QED_FSTAR')}" if how == "QED_FSTAR" else f"F* at {exe} ({how})"
    fix = f"point QED_FSTAR at an F* {want} fstar.exe, or unset it" if how == "QED_FSTAR" else FIX_NO_FSTAR
    pr = probe_fstar(exe, env, cache)
    if not pr.ok:
        raise UnusableToolchain(f"{label} does not run: {pr.error}", fix, path=exe, how=how, probe=pr)
    if _plain(pr.version) != _plain(want):
        raise UnusableToolchain(f"{label} is F* {pr.version}, but qed needs F* {want}", fix, path=exe, how=how,
                                probe=pr)
    try:
        z3, z3v, z3how = find_z3_for_fstar(exe, env, cache)
    except ToolchainError as err:
        raise UnusableToolchain(err.cause, err.fix, path=exe, how=how, probe=pr, solver_problem=err.cause) from None
    return FStarInstall(path=exe.absolute(), version=_plain(pr.version), full_version=pr.full_version or want,
                        how=how, z3_path=z3, z3_version=z3v, z3_how=z3how)


def search_fstar(env: Mapping[str, str] = os.environ, *, use_cache: bool = True
                 ) -> tuple[FStarInstall | None, list[ToolchainError]]:
    """The first working F* (or None) and the problems of the candidates that were rejected, in order."""
    cache = ProbeCache.for_env(env) if use_cache else None
    if env.get("QED_FSTAR"):
        raw = env["QED_FSTAR"]
        exe = expand(raw, env)
        if not is_executable_file(exe):
            what = "does not exist" if not exe.exists() else "is not an executable file"
            return None, [ToolchainError(f"QED_FSTAR={raw} {what}",
                                         fix="point QED_FSTAR at fstar.exe, or unset it")]
        try:
            return check_fstar(exe, "QED_FSTAR", env, cache), []
        except UnusableToolchain as err:
            return None, [err]
    candidates: list[tuple[Path, str]] = []
    p = which("fstar.exe", env)
    if p is not None:
        candidates.append((p, "PATH"))
    own = fstar_exe_in(fstar_install_root(env))
    if is_executable_file(own):
        candidates.append((own, f"qed install ({own.parent.parent.parent})"))
    problems: list[ToolchainError] = []
    for exe, how in candidates:
        try:
            return check_fstar(exe, how, env, cache), problems
        except UnusableToolchain as err:
            problems.append(err)
    return None, problems


def locate_fstar(env: Mapping[str, str] = os.environ, *, use_cache: bool = True) -> FStarInstall:
    """The F* qed should run, with its Z3; ToolchainError (one line, with the fix) when none works."""
    found, problems = search_fstar(env, use_cache=use_cache)
    if found is not None:
        return found
    if problems:
        raise problems[0]
    raise fstar_not_found(env)


def fstar_not_found(env: Mapping[str, str]) -> ToolchainError:
    """The error for "no F* anywhere", naming the places that were searched."""
    return ToolchainError(f"F* not found (looked at QED_FSTAR, fstar.exe on PATH and {fstar_install_root(env)})",
                          fix=FIX_NO_FSTAR)
