"""DIR/pyproject.toml and DIR/qed_build_backend.py: the built folder as an installable, typed project.

The project is built by its own PEP 517 backend (`pep517.py`, copied beside the package), so `pip install DIR`
needs no download and the wheel is the same whoever builds it. `[tool.qedgen]` records what was verified (the
artifact's and the contract's sha256) and by which toolchain; `[tool.mypy]` and `[tool.pyright]` check the
package strictly, with Dafny's untyped translation (PKG/_dafny_gen/) left out of their reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backends.dafny.pybuild.wrappers import GEN

#: The Python versions the package is tested on (the vendored Dafny runtime itself needs no newer one than 3.7;
#: the datatype classes use `dataclass(slots=True)` from 3.10, the build backend `tomllib` from 3.11).
REQUIRES_PYTHON = ">=3.11"
BACKEND = "qed_build_backend"
BACKEND_SOURCE = Path(__file__).with_name("pep517.py")
TEST_REQUIRES = ("hypothesis>=6.90", "pytest>=8")  # for the generated property tests, not for the package


def default_version(artifact_sha256: str) -> str:
    """`0.0.0+sha256.<first 12 hex digits>`: a PEP 440 local version naming the artifact it was built from,
    written in its normalized form (a segment of digits only loses its leading zeros)."""
    h = artifact_sha256[:12].lower()
    return f"0.0.0+sha256.{int(h) if h.isdigit() else h}"


@dataclass(frozen=True)
class Provenance:
    """What `[tool.qedgen]` records."""

    artifact: str
    artifact_sha256: str
    contract: str | None
    contract_sha256: str | None
    verified: bool
    verdict: str
    dafny: str
    solver: str | None
    qedgen: str


def toml_str(s: str) -> str:
    """A TOML basic string (escapes per TOML 1.0: quote, backslash, control characters)."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _array(items: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(toml_str(i) for i in items) + "]"


def pyproject(*, pkg: str, version: str, test_file: str, provenance: Provenance) -> str:
    """The text of DIR/pyproject.toml."""
    pv = provenance
    qedgen = [("package", toml_str(pkg)), ("tests", _array([test_file])),
              ("artifact", toml_str(pv.artifact)), ("artifact-sha256", toml_str(pv.artifact_sha256))]
    if pv.contract:
        qedgen += [("contract", toml_str(pv.contract)), ("contract-sha256", toml_str(pv.contract_sha256 or ""))]
    qedgen += [("verified", "true" if pv.verified else "false"), ("verdict", toml_str(pv.verdict)),
               ("dafny", toml_str(pv.dafny))]
    if pv.solver:
        qedgen.append(("solver", toml_str(pv.solver)))
    qedgen.append(("qedgen", toml_str(pv.qedgen)))
    lines = [
        f"# Written by `qed build` from the verified Dafny program {pv.artifact}. Build and install with any",
        "# PEP 517 frontend (`pip install .`, `python -m build`); the backend is the file named below, beside",
        "# this one, and needs nothing from the network.",
        "",
        "[build-system]",
        "requires = []",
        f"build-backend = {toml_str(BACKEND)}",
        'backend-path = ["."]',
        "",
        "[project]",
        f"name = {toml_str(pkg)}",
        f"version = {toml_str(version)}",
        f"description = {toml_str(f'Typed Python API of the verified Dafny program {pv.artifact}')}",
        'readme = "README.md"',
        f"requires-python = {toml_str(REQUIRES_PYTHON)}",
        "dependencies = []",
        'classifiers = ["Programming Language :: Python :: 3", "Typing :: Typed"]',
        "",
        "[project.optional-dependencies]",
        f"test = {_array(TEST_REQUIRES)}",
        "",
        "[tool.qedgen]",
        *(f"{k} = {v}" for k, v in qedgen),
        "",
        "[tool.mypy]",
        f"files = {_array([pkg])}",
        "strict = true",
        "",
        "[[tool.mypy.overrides]]",
        f"module = {_array([f'{pkg}.{GEN}', f'{pkg}.{GEN}.*'])}",
        "ignore_errors = true",
        "",
        "[tool.pyright]",
        f"include = {_array([pkg])}",
        f"ignore = {_array([f'{pkg}/{GEN}'])}",
        'typeCheckingMode = "strict"',
    ]
    return "\n".join(lines) + "\n"


def backend_source() -> str:
    return BACKEND_SOURCE.read_text(encoding="utf-8")
