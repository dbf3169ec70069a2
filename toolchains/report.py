"""`qed toolchain status`: what is installed, where it was found, and whether it works. Never raises."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from pydantic import BaseModel, ConfigDict

from verifier.errors import ToolchainError, UnusableToolchain

from .discovery import not_found_error, search_dafny
from .manifest import ToolchainSpec, load_manifest
from .paths import home
from .probe import ProbeResult, probe_version

FSTAR_VERSION_RE = r"F\* (?P<full>v?(?P<v>[0-9][0-9A-Za-z.~+_-]*))"
Z3_VERSION_RE = r"Z3 version (?P<v>\d+\.\d+\.\d+)"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SolverStatus(_Model):
    """The solver a toolchain uses: where it is, its version, and whether `<solver> -version` works."""

    name: str
    required_version: str | None = None
    version: str | None = None
    path: str | None = None
    how: str | None = None
    works: bool = False


class ToolchainStatus(_Model):
    """One row of `qed toolchain status`. `ok` means qed can use it; otherwise `problem` names the cause and fix."""

    name: str
    required_version: str
    supported: bool  # a qed backend uses it
    found: bool
    version: str | None = None
    full_version: str | None = None
    path: str | None = None
    how: str | None = None
    solver: SolverStatus | None = None
    ok: bool = False
    problem: str | None = None
    note: str | None = None


def _msg(err: ToolchainError) -> str:
    return str(err)


def dafny_status(env: Mapping[str, str]) -> ToolchainStatus:
    """Dafny's row, from `discovery.search_dafny`."""
    spec = load_manifest().get("dafny")
    want_z3 = spec.solver.version if spec.solver else None
    found, problems = search_dafny(env)
    if found is not None:
        return ToolchainStatus(
            name="dafny", required_version=spec.version, supported=spec.supported, found=True,
            version=found.version, full_version=found.full_version, path=str(found.path), how=found.how,
            solver=SolverStatus(name="z3", required_version=want_z3, version=found.solver_version,
                                path=str(found.solver_path) if found.solver_path else None,
                                how=found.solver_how, works=True),
            ok=True, note="; ".join(found.notes) or None,
        )
    first = problems[0] if problems else None
    if isinstance(first, UnusableToolchain):
        return ToolchainStatus(
            name="dafny", required_version=spec.version, supported=spec.supported, found=True,
            version=first.version, full_version=first.full_version, path=str(first.path), how=first.how,
            solver=SolverStatus(name="z3", required_version=want_z3, works=False) if first.solver_problem else None,
            ok=False, problem=_msg(first),
        )
    if first is not None:  # QED_DAFNY set but missing
        return ToolchainStatus(name="dafny", required_version=spec.version, supported=spec.supported,
                               found=False, how="QED_DAFNY", ok=False, problem=_msg(first))
    return ToolchainStatus(
        name="dafny", required_version=spec.version, supported=spec.supported, found=False, ok=False,
        problem=str(not_found_error(env)),
    )


def _plain_version(v: str) -> str:
    return v[1:] if v.startswith("v") else v


def _probe_row(
    spec: ToolchainSpec,
    exe: Path | None,
    how: str | None,
    pattern: str,
    env: Mapping[str, str],
    absent: str,
) -> tuple[ToolchainStatus, ProbeResult | None]:
    """A row for a tool that is found by path and checked with `<tool> --version` (not cached: elan proxies)."""
    row = ToolchainStatus(name=spec.name, required_version=spec.version, supported=spec.supported,
                          found=False, how=how, note=spec.note)
    if exe is None:
        row.problem = f"{absent} (fix: {spec.install_hint})"
        return row, None
    row.found, row.path = True, str(exe)
    cwd = home(env) if home(env).is_dir() else None
    pr = probe_version([str(exe), "--version"], pattern, kind=spec.name, env=env, cache=None, cwd=cwd)
    if not pr.ok:
        row.problem = f"{spec.name} at {exe} does not run: {pr.error} (fix: {spec.install_hint})"
        return row, pr
    row.version, row.full_version = pr.version, pr.full_version
    if _plain_version(pr.version or "") != _plain_version(spec.version):
        row.problem = f"{spec.name} {pr.version} found, qed pins {spec.version} (fix: {spec.install_hint})"
        return row, pr
    row.ok = True
    return row, pr


# Lean's row: `toolchains.lean.lean_status` (it reports lake, the REPL, elan and the project's lean-toolchain too).


def fstar_status(env: Mapping[str, str]) -> ToolchainStatus:
    """F*'s row: found by `toolchains.fstar.search_fstar` (QED_FSTAR, PATH, qed's install), with its Z3."""
    from .fstar import fstar_not_found, pinned_fstar_z3_version, search_fstar

    spec = load_manifest().get("fstar")
    want_z3 = pinned_fstar_z3_version()
    found, problems = search_fstar(env)
    if found is not None:
        return ToolchainStatus(
            name="fstar", required_version=spec.version, supported=spec.supported, found=True,
            version=found.version, full_version=found.full_version, path=str(found.path), how=found.how,
            solver=SolverStatus(name="z3", required_version=want_z3, version=found.z3_version,
                                path=str(found.z3_path), how=found.z3_how, works=True),
            ok=True, note=spec.note)
    first = problems[0] if problems else None
    if isinstance(first, UnusableToolchain):
        return ToolchainStatus(
            name="fstar", required_version=spec.version, supported=spec.supported, found=True,
            version=first.version, full_version=first.full_version, path=str(first.path), how=first.how,
            solver=SolverStatus(name="z3", required_version=want_z3, works=False) if first.solver_problem else None,
            ok=False, problem=str(first), note=spec.note)
    if first is not None:
        return ToolchainStatus(name="fstar", required_version=spec.version, supported=spec.supported, found=False,
                               how="QED_FSTAR", ok=False, problem=str(first), note=spec.note)
    return ToolchainStatus(name="fstar", required_version=spec.version, supported=spec.supported, found=False,
                           ok=False, problem=str(fstar_not_found(env)), note=spec.note)


def status_from_backend(plugin, env: Mapping[str, str]) -> ToolchainStatus:
    """A row for a backend that reports its toolchain only through `Backend.toolchain()` (third-party backends
    that define no `toolchain_status` of their own)."""
    name = plugin.language.toolchain
    try:
        ref = plugin.create().toolchain()
    except ToolchainError as err:
        return ToolchainStatus(name=name, required_version="-", supported=plugin.available, found=False,
                               ok=False, problem=str(err))
    solver = SolverStatus(name=ref.solver.split()[0], version=" ".join(ref.solver.split()[1:]) or None,
                          works=True) if ref.solver else None
    return ToolchainStatus(name=name, required_version="-", supported=plugin.available, found=True,
                           version=ref.version, path=ref.path, solver=solver, ok=True)


def status(env: Mapping[str, str] = os.environ, names: list[str] | None = None) -> list[ToolchainStatus]:
    """One `ToolchainStatus` per registered backend's toolchain (or per name in `names`). Absent tools give
    found=False; a backend that cannot even report gives a row with the problem."""
    from backends import registry

    rows = []
    for plugin in registry.plugins().values():
        name = plugin.language.toolchain
        if names and name not in names:
            continue
        try:
            row = plugin.toolchain_status(env)
            rows.append(row if row is not None else status_from_backend(plugin, env))
        except Exception as err:  # a status report must never crash
            rows.append(ToolchainStatus(name=name, required_version="-", supported=plugin.available,
                                        found=False, problem=f"could not check {name}: {err}"))
    return rows


def known_toolchains() -> list[str]:
    """Names `status` reports on: the toolchains of the registered backends."""
    from backends import registry

    return [p.language.toolchain for p in registry.plugins().values()]
