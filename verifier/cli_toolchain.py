"""`qed toolchain ...`: report and install the verifier toolchains.

    qed toolchain status [--json] [--require NAME]   exit 0; 3 when a --require'd toolchain is not ok
    qed toolchain install NAME [--from ARCHIVE_OR_URL] [--sha256 HEX] [--dest DIR] [--force]
                                                     exit 0 ok, 2 bad input, 3 install failed
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from verifier.errors import BadInput, QedError, ToolchainError

if TYPE_CHECKING:
    from toolchains.report import ToolchainStatus

EXIT_BAD_INPUT = BadInput.exit_code
EXIT_TOOLCHAIN = ToolchainError.exit_code


def _fail(err: QedError) -> None:
    click.echo(f"qed: error: {err}", err=True)
    raise SystemExit(err.exit_code)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _solver_cell(row: ToolchainStatus) -> str:
    s = row.solver
    if s is None:
        return "-"
    label = f"{s.name} {s.version}" if s.version else s.name
    return f"{label} ({'works' if s.works else 'not working' if s.path else 'missing'})"


@click.group("toolchain")
def toolchain() -> None:
    """Check and install the toolchains of the registered verifier backends."""


@toolchain.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--require", "require", multiple=True, metavar="NAME",
              help="Exit 3 unless toolchain NAME is usable (repeatable).")
def status_cmd(as_json: bool, require: tuple[str, ...]) -> None:
    """Show which toolchains are found, their versions, where, and whether their solver works."""
    from toolchains.report import known_toolchains, status

    unknown = [n for n in require if n not in known_toolchains()]
    if unknown:
        _fail(BadInput(f"unknown toolchain {unknown[0]!r}", fix=f"choose one of: {', '.join(known_toolchains())}"))
    rows = status(os.environ)
    if as_json:
        click.echo(json.dumps({"schema_version": 1, "toolchains": [r.model_dump() for r in rows]}, indent=2))
    else:
        table = [["NAME", "FOUND", "VERSION", "PATH", "HOW FOUND", "SOLVER"]]
        for r in rows:
            table.append([
                r.name + ("" if r.supported else "*"),
                "yes" if r.found else "no",
                r.version or "-",
                r.path or "-",
                r.how or "-",
                _solver_cell(r),
            ])
        for line in _table(table):
            click.echo(line)
        for r in rows:
            if r.problem:
                click.echo(f"{r.name}: {r.problem}")
            elif r.note and r.supported:
                click.echo(f"{r.name}: note: {r.note}")
        if any(not r.supported for r in rows):
            click.echo("* not yet supported by a qed backend")
    bad = [r for r in rows if r.name in require and not r.ok]
    if bad:
        if not as_json:
            click.echo(f"qed: error: required toolchain not usable: {', '.join(r.name for r in bad)}", err=True)
        raise SystemExit(EXIT_TOOLCHAIN)


@toolchain.command("install")
@click.argument("name")
@click.option("--from", "source", metavar="ARCHIVE_OR_URL", help="Install from this release archive (local path or URL).")
@click.option("--sha256", metavar="HEX", help="Expected SHA-256 of the archive.")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Install into DIR instead of qed's toolchain dir.")
@click.option("--force", is_flag=True, help="Reinstall even when a working install is already there.")
def install_cmd(name: str, source: str | None, sha256: str | None, dest: Path | None, force: bool) -> None:
    """Install toolchain NAME (for the backends that can install theirs; `qed toolchain status` lists names)."""
    from backends import registry

    plugin = next((p for p in registry.plugins().values() if p.language.toolchain == name), None)
    if plugin is None:
        known = ", ".join(p.language.toolchain for p in registry.plugins().values())
        _fail(BadInput(f"unknown toolchain {name!r}", fix=f"choose one of: {known}"))
        return
    try:
        line = plugin.install(source, dest, sha256, env=os.environ, force=force,
                              progress=lambda msg: click.echo(f"  {msg}", err=True))
    except QedError as err:
        _fail(err)
        return
    click.echo(line)
