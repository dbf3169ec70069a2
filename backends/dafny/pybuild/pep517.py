"""PEP 517 build backend of a project written by `qed build` (standard library only, no network).

This file is copied verbatim into every built project as `qed_build_backend.py`, and its `pyproject.toml`
names it (`build-backend = "qed_build_backend"`, `backend-path = ["."]`, `requires = []`): `pip install DIR`,
`pip wheel DIR`, `python -m build DIR` and `qed build --wheel` all build through it, offline, and get the same
bytes for the same files (sorted entries, fixed timestamps and permissions).

It reads the static PEP 621 `[project]` table (the fields qed writes: name, version, description, readme,
requires-python, dependencies, optional-dependencies, classifiers, keywords, urls; any other field is refused
rather than silently dropped) and `[tool.qedgen]`: `package` (the import package) and `tests` (files that go
into the sdist beside it). Wheels are pure Python (`py3-none-any`, PEP 427), with core metadata 2.1.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import os
import re
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Optional

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None  # type: ignore[assignment]

GENERATOR = "qed_build_backend"
_FIELDS = frozenset({"name", "version", "description", "readme", "requires-python", "dependencies",
                     "optional-dependencies", "classifiers", "keywords", "urls"})
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build time in the bytes
_README_TYPES = {".md": "text/markdown", ".rst": "text/x-rst"}


class BuildError(Exception):
    """The project cannot be built as it stands; the message names the cause and the fix."""


class Project:
    """The metadata and files of the project rooted at `root`."""

    def __init__(self, root: Path) -> None:
        if tomllib is None:
            raise BuildError("qed_build_backend needs Python 3.11 or newer (tomllib); install the project's "
                             "wheel instead, or build it with a newer Python")
        self.root = root
        with open(root / "pyproject.toml", "rb") as f:
            doc: dict[str, Any] = tomllib.load(f)
        self.meta: dict[str, Any] = doc.get("project", {})
        tool: dict[str, Any] = doc.get("tool", {}).get("qedgen", {})
        unknown = sorted(set(self.meta) - _FIELDS)
        if unknown:
            raise BuildError(f"pyproject.toml: [project] {', '.join(unknown)} is not supported by "
                             f"qed_build_backend; remove it, or switch build-backend to e.g. setuptools")
        for key in ("name", "version"):
            if not isinstance(self.meta.get(key), str):
                raise BuildError(f"pyproject.toml: [project] {key} must be a string (static); set it")
        self.name: str = self.meta["name"]
        self.version: str = self.meta["version"]
        self.package: str = tool.get("package") or self.name
        self.tests: list[str] = list(tool.get("tests", []))
        if not (root / self.package / "__init__.py").is_file():
            raise BuildError(f"pyproject.toml: [tool.qedgen] package {self.package!r} has no "
                             f"{self.package}/__init__.py; set it to the import package's folder")

    @property
    def dist_name(self) -> str:
        """The name in file names (PEP 427/625: runs of -_. become _, lower case)."""
        return re.sub(r"[-_.]+", "_", self.name).lower()

    @property
    def stem(self) -> str:
        return f"{self.dist_name}-{self.version.replace('-', '_')}"

    def package_files(self) -> list[tuple[str, bytes]]:
        """(archive path, bytes) of every file of the import package, sorted; no bytecode caches."""
        out = []
        for p in sorted((self.root / self.package).rglob("*")):
            rel = p.relative_to(self.root)
            if p.is_file() and "__pycache__" not in rel.parts and p.suffix not in (".pyc", ".pyo"):
                out.append((rel.as_posix(), p.read_bytes()))
        return out

    def readme(self) -> tuple[Optional[str], Optional[str], Optional[str]]:
        """(text, content type, file name) of the long description."""
        r = self.meta.get("readme")
        if r is None:
            return None, None, None
        if isinstance(r, str):
            r = {"file": r}
        kind = r.get("content-type")
        if "file" in r:
            path = str(r["file"])
            return (self.root / path).read_text(encoding="utf-8"), \
                kind or _README_TYPES.get(Path(path).suffix.lower(), "text/plain"), path
        return str(r.get("text", "")), kind or "text/plain", None

    def metadata(self) -> bytes:
        """Core metadata 2.1 (the wheel's METADATA, the sdist's PKG-INFO)."""
        m = self.meta
        lines = ["Metadata-Version: 2.1", f"Name: {self.name}", f"Version: {self.version}"]
        if m.get("description"):
            lines.append(f"Summary: {_one_line(m['description'])}")
        if m.get("keywords"):
            lines.append(f"Keywords: {','.join(m['keywords'])}")
        lines += [f"Project-URL: {label}, {url}" for label, url in m.get("urls", {}).items()]
        lines += [f"Classifier: {c}" for c in m.get("classifiers", [])]
        if m.get("requires-python"):
            lines.append(f"Requires-Python: {m['requires-python']}")
        lines += [f"Requires-Dist: {r}" for r in m.get("dependencies", [])]
        for extra, reqs in m.get("optional-dependencies", {}).items():
            name = re.sub(r"[-_.]+", "-", extra).lower()
            lines.append(f"Provides-Extra: {name}")
            for r in reqs:
                req, _, marker = r.partition(";")
                cond = f'({marker.strip()}) and extra == "{name}"' if marker.strip() else f'extra == "{name}"'
                lines.append(f"Requires-Dist: {req.strip()}; {cond}")
        text, kind, _ = self.readme()
        if kind:
            lines.append(f"Description-Content-Type: {kind}")
        body = "\n".join(lines) + "\n"
        if text:
            body += "\n" + text
        return body.encode("utf-8")


def _one_line(s: str) -> str:
    return " ".join(str(s).split())


def _zip(path: Path, entries: list[tuple[str, bytes]]) -> None:
    """Write a zip with fixed timestamps and permissions, atomically (a temporary file, then a rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=_EPOCH)
                info.create_system = 3  # unix, so that the permission bits below are read
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def _wheel(project: Project, wheel_directory: str, payload: list[tuple[str, bytes]]) -> str:
    dist_info = f"{project.stem}.dist-info"
    wheel = (f"Wheel-Version: 1.0\nGenerator: {GENERATOR}\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
             ).encode("ascii")
    entries = [*payload, (f"{dist_info}/METADATA", project.metadata()), (f"{dist_info}/WHEEL", wheel)]
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in entries:
        writer.writerow([name, _record_hash(data), str(len(data))])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    entries.append((f"{dist_info}/RECORD", record.getvalue().encode("utf-8")))
    name = f"{project.stem}-py3-none-any.whl"
    _zip(Path(wheel_directory) / name, entries)
    return name


def build_wheel(wheel_directory: str, config_settings: Optional[dict[str, Any]] = None,
                metadata_directory: Optional[str] = None) -> str:
    """PEP 517: write the wheel into `wheel_directory`; its file name."""
    project = Project(Path.cwd())
    return _wheel(project, wheel_directory, project.package_files())


def build_editable(wheel_directory: str, config_settings: Optional[dict[str, Any]] = None,
                   metadata_directory: Optional[str] = None) -> str:
    """PEP 660: a wheel whose `.pth` file puts this folder on sys.path (`pip install -e DIR`)."""
    project = Project(Path.cwd())
    pth = (str(project.root.resolve()) + "\n").encode("utf-8")
    return _wheel(project, wheel_directory, [(f"{project.dist_name}.pth", pth)])


def build_sdist(sdist_directory: str, config_settings: Optional[dict[str, Any]] = None) -> str:
    """PEP 517: write `NAME-VERSION.tar.gz` (pyproject.toml, README, this backend, the tests, the package)."""
    project = Project(Path.cwd())
    root = project.root
    files = ["pyproject.toml", f"{GENERATOR}.py", *project.tests]
    readme = project.readme()[2]
    if readme:
        files.append(readme)
    entries = [(f, (root / f).read_bytes()) for f in sorted(set(files))]
    entries += project.package_files()
    entries.append(("PKG-INFO", project.metadata()))
    name = f"{project.stem}.tar.gz"
    path = Path(sdist_directory) / name
    tmp = path.with_name(f".{name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for rel, data in sorted(entries):
                info = tarfile.TarInfo(f"{project.stem}/{rel}")
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return name


def get_requires_for_build_wheel(config_settings: Optional[dict[str, Any]] = None) -> list[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[dict[str, Any]] = None) -> list[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[dict[str, Any]] = None) -> list[str]:
    return []
