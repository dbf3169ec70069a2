"""Find Lean 4 (`lean`, `lake`, the REPL) and install it through elan.

Each program, in order: its environment variable (`QED_LEAN`, `QED_LAKE`, `QED_LEAN_REPL`: when set it must be an
executable file, no silent fall-through), then `PATH`, then elan's folders (`$ELAN_HOME/bin`, `~/.elan/bin`).
elan's `lean`/`lake` are proxies that pick the toolchain from the nearest `lean-toolchain` file, so the version
is asked in the folder being checked. The REPL (leanprover-community/repl) has no standard install: it is found
only through `QED_LEAN_REPL` or as `repl` on PATH (`lake build` in a REPL checkout puts it in
`.lake/build/bin/repl`).

A Lake project is the nearest folder above a file holding `lakefile.lean` or `lakefile.toml`; files inside one are
checked with `lake env lean` from its root (so `import Mathlib` resolves), with the project's `lean-toolchain`.

`install_with_elan` runs elan's own installer or `elan toolchain install`, never leaving a half install: the
toolchain is installed by elan (which stages it itself) and qed then checks that `lean --version` answers with
the pinned version; on any failure nothing qed wrote stays behind.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from verifier.errors import BadInput, ToolchainError

from .paths import EXE, expand, home, is_executable_file, which

LEAN_VERSION_RE = r"Lean \(version (?P<full>(?P<v>\d+\.\d+\.\d+(?:-rc\d+)?)[^,)]*)"
ENV_VARS = {"lean": "QED_LEAN", "lake": "QED_LAKE", "repl": "QED_LEAN_REPL"}
FIX_NO_LEAN = "run `qed toolchain install lean` (uses elan), or set QED_LEAN=/path/to/lean"
LAKEFILES = ("lakefile.lean", "lakefile.toml")


@dataclass(frozen=True)
class Found:
    """One program: where it is and how it was found (`QED_LEAN`, `PATH`, `elan (~/.elan/bin)`)."""

    path: Path
    how: str


@dataclass(frozen=True)
class LeanInstall:
    """A working `lean` and, when found, `lake`, the REPL and elan. `version` is X.Y.Z(-rcN) from `lean
    --version` (asked where qed runs; a Lake project may pin another through its `lean-toolchain`)."""

    lean: Path
    how: str
    version: str
    full_version: str
    lake: Found | None = None
    repl: Found | None = None
    elan: Found | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def path(self) -> Path:
        return self.lean


def elan_bins(env: Mapping[str, str]) -> list[tuple[Path, str]]:
    """elan's bin folders, with how to name them: `$ELAN_HOME/bin` (when set), then `~/.elan/bin`."""
    out = []
    if env.get("ELAN_HOME"):
        out.append((expand(env["ELAN_HOME"], env) / "bin", "$ELAN_HOME/bin"))
    out.append((home(env) / ".elan" / "bin", "~/.elan/bin"))
    return out


def find_program(name: str, env: Mapping[str, str]) -> Found | None:
    """`name` (lean, lake, repl, elan) by its variable, PATH, then elan's folders. A variable set to something
    that is not an executable file raises ToolchainError naming the variable."""
    var = ENV_VARS.get(name)
    if var and env.get(var):
        p = expand(env[var], env)
        if not is_executable_file(p):
            raise ToolchainError(f"{var}={env[var]} is not an executable file",
                                 fix=f"point {var} at the {name} executable, or unset it")
        return Found(p.absolute(), var)
    exe = "repl" if name == "repl" else name
    on_path = which(exe, env)
    if on_path is not None:
        return Found(on_path, "PATH")
    if name == "repl":
        return None
    for folder, shown in elan_bins(env):
        p = folder / f"{exe}{EXE}"
        if is_executable_file(p):
            return Found(p, f"elan ({shown})")
    return None


def lean_version(lean: Path, env: Mapping[str, str], cwd: Path | None = None, timeout: float = 60.0
                 ) -> tuple[str, str]:
    """(version, full version) from `lean --version`; ToolchainError when it does not answer with one."""
    from .probe import probe_version

    pr = probe_version([str(lean), "--version"], LEAN_VERSION_RE, kind="lean", env=env, cache=None, cwd=cwd,
                       timeout=timeout)
    if not pr.ok or not pr.version:
        raise ToolchainError(f"lean at {lean} does not run: {pr.error or 'no version in its output'}",
                             fix=FIX_NO_LEAN)
    return pr.version, pr.full_version or pr.version


def locate_lean(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> LeanInstall:
    """The Lean to use (see the module docstring); ToolchainError with the fix when there is none."""
    env = os.environ if env is None else env
    lean = find_program("lean", env)
    if lean is None:
        raise ToolchainError("Lean 4 not found (no QED_LEAN, no `lean` on PATH or in elan's folders)",
                             fix=FIX_NO_LEAN)
    version, full = lean_version(lean.path, env, cwd)
    notes = []
    lake = repl = elan = None
    for name in ("lake", "repl", "elan"):
        try:
            found = find_program(name, env)
        except ToolchainError as e:
            notes.append(str(e))
            found = None
        if name == "lake":
            lake = found
        elif name == "repl":
            repl = found
        else:
            elan = found
    return LeanInstall(lean=lean.path, how=lean.how, version=version, full_version=full, lake=lake, repl=repl,
                       elan=elan, notes=tuple(notes))


# --- Lake projects -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LakeProject:
    """The Lake project a file belongs to: its root, the `lean-toolchain` line, whether Mathlib is a dependency."""

    root: Path
    toolchain: str | None
    mathlib: bool

    def fingerprint(self) -> str:
        """What decides how files of this project elaborate (keyed into cached results)."""
        parts = [str(self.root), self.toolchain or ""]
        for name in ("lake-manifest.json", *LAKEFILES):
            try:
                parts.append((self.root / name).read_text(encoding="utf-8", errors="replace"))
            except OSError:
                parts.append("")
        return "\0".join(parts)


def find_project(start: Path) -> LakeProject | None:
    """The nearest Lake project at or above `start` (a file or a folder), or None."""
    folder = start if start.is_dir() else start.parent
    folder = folder.resolve()
    for d in (folder, *folder.parents):
        if any((d / f).is_file() for f in LAKEFILES):
            return LakeProject(root=d, toolchain=read_toolchain(d), mathlib=_has_mathlib(d))
    return None


def read_toolchain(folder: Path) -> str | None:
    """The first line of `folder/lean-toolchain` (e.g. `leanprover/lean4:v4.24.0`), or None."""
    try:
        line = (folder / "lean-toolchain").read_text(encoding="utf-8").strip().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return line[0].strip() if line else None


def _has_mathlib(root: Path) -> bool:
    for name in ("lake-manifest.json", *LAKEFILES):
        try:
            if re.search(r"\bmathlib\b", (root / name).read_text(encoding="utf-8", errors="replace"), re.I):
                return True
        except OSError:
            continue
    return (root / ".lake" / "packages" / "mathlib").is_dir()


# --- installing through elan ---------------------------------------------------------------------------------


def install_with_elan(toolchain: str, version: str, env: Mapping[str, str], *, force: bool,
                      progress: Callable[[str], None], timeout: float = 1800.0) -> LeanInstall:
    """Install Lean `toolchain` (e.g. `leanprover/lean4:v4.24.0`) with elan and make it the default, then check
    that `lean --version` says `version`. elan must be installed (its installer needs a shell and the network:
    qed does not download and run it for you). Raises ToolchainError naming what failed; elan stages every
    toolchain in a temporary folder and renames it into place, so a failed install leaves no half toolchain."""
    from verifier.procs import run

    elan = find_program("elan", env)
    if elan is None:
        raise ToolchainError(
            "elan, Lean's toolchain manager, is not installed",
            fix="install elan (curl https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh -sSf | sh "
                "-s -- -y --default-toolchain none), then run `qed toolchain install lean` again")
    if not force:
        try:
            have = locate_lean(env)
            if _plain(have.version) == _plain(version):
                progress(f"Lean {have.version} is already there ({have.lean})")
                return have
        except ToolchainError:
            pass
    for argv, what in (([str(elan.path), "toolchain", "install", toolchain], "install"),
                       ([str(elan.path), "default", toolchain], "make it the default")):
        progress(f"running {' '.join(argv)}")
        res = run(argv, timeout=timeout, env=dict(env))
        if res.timed_out or res.returncode != 0:
            tail = (res.stderr or res.stdout).strip().splitlines()
            why = "timed out" if res.timed_out else f"exit status {res.returncode}"
            if what == "install":
                _uninstall(elan.path, toolchain, env)
            raise ToolchainError(f"elan could not {what} {toolchain} ({why}{': ' + tail[-1][:200] if tail else ''})",
                                 fix="check the network and `elan show`, then run `qed toolchain install lean` again")
    try:
        found = locate_lean(env)
    except ToolchainError as e:
        _uninstall(elan.path, toolchain, env)
        raise ToolchainError(f"elan installed {toolchain}, but lean does not run ({e.cause})",
                             fix="run `elan show` and `lean --version` to see why") from e
    if _plain(found.version) != _plain(version):
        raise ToolchainError(f"after installing {toolchain}, `lean --version` says {found.version} (at {found.lean}, "
                             f"found through {found.how})",
                             fix="a `lean` earlier on PATH or QED_LEAN takes precedence: remove it or point QED_LEAN "
                                 "at elan's lean")
    return found


def _uninstall(elan: Path, toolchain: str, env: Mapping[str, str]) -> None:
    """Remove what a failed install may have left (elan's own clean-up; never raises)."""
    from verifier.procs import run

    try:
        run([str(elan), "toolchain", "uninstall", toolchain], timeout=300, env=dict(env))
    except OSError:
        pass


def _plain(v: str) -> str:
    return v[1:] if v.startswith("v") else v


def check_install_args(source: str | None, sha256: str | None, dest: Path | None) -> None:
    """elan decides where toolchains go and downloads them itself: `--from`, `--sha256`, `--dest` do not apply."""
    for flag, value in (("--from", source), ("--sha256", sha256), ("--dest", dest)):
        if value is not None:
            raise BadInput(f"{flag} does not apply to Lean: elan downloads and places its toolchains itself",
                           fix="run `qed toolchain install lean` without it (set ELAN_HOME to choose elan's folder)")


# --- `qed toolchain status` ----------------------------------------------------------------------------------


def lean_status(env: Mapping[str, str]):
    """Lean's row of `qed toolchain status`: lean's version and where it was found, with lake, the REPL, elan,
    and the `lean-toolchain` / Mathlib of the Lake project around the current folder. Never raises."""
    from .manifest import load_manifest
    from .report import ToolchainStatus  # noqa: F401 - the row type (report imports nothing of this module)

    spec = load_manifest().get("lean")
    row = ToolchainStatus(name="lean", required_version=spec.version, supported=spec.supported, found=False)
    try:
        lean = find_program("lean", env)
    except ToolchainError as e:
        row.how, row.problem = ENV_VARS["lean"], str(e)
        return row
    if lean is None:
        row.problem = f"Lean 4 not found (fix: {FIX_NO_LEAN})"
        return row
    row.found, row.path, row.how = True, str(lean.path), lean.how
    try:
        row.version, row.full_version = lean_version(lean.path, env)
    except ToolchainError as e:
        row.problem = str(e)
        return row
    row.ok = True
    notes = []
    for name in ("lake", "repl", "elan"):
        try:
            found = find_program(name, env)
            shown = f"{found.path} ({found.how})" if found else "not found"
        except ToolchainError as e:
            shown = f"unusable: {e.cause}"
        if name == "repl" and shown == "not found":
            shown += " (warm sessions off; set QED_LEAN_REPL to a built leanprover-community/repl)"
        notes.append(f"{name}: {shown}")
    project = find_project(Path.cwd())
    if project is not None:
        notes.append(f"Lake project {project.root}: lean-toolchain {project.toolchain or 'none'}, Mathlib "
                     f"{'yes' if project.mathlib else 'no'}")
    if _plain(row.version or "") != _plain(spec.version):
        notes.append(f"qed's examples are written for {spec.version}; any Lean 4 works (a project pins its own "
                     f"through lean-toolchain)")
    row.note = "; ".join(notes)
    return row
