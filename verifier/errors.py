"""Every error that reaches the user: one line naming the cause and the fix, each class with its own exit code.

    QedError            1  (base)
    NotVerified         1  an artifact that is not verified and accepted (nothing is built)
    BadInput            2  missing file, malformed spec/task/config, bad options
    CapabilityMissing   2  the backend does not offer what was asked (e.g. a Python build for Lean)
    ToolchainError      3  verifier missing, broken or crashed
    UnusableToolchain   3  a toolchain that exists but cannot be used (carries what was learnt about it)
    BackendUnavailable  3  a language qed knows whose backend is not installed
    ProviderError       4  the model could not be reached, refused, or (offline) no answer was recorded
    StorageError        5  qed's own output cannot be written (a full disk, a read-only folder)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class QedError(Exception):
    """Base class. `exit_code` is what `qed` exits with; `str(err)` is the one-line message."""

    exit_code = 1

    def __init__(self, message: str, fix: str | None = None):
        self.cause = message
        self.fix = fix
        super().__init__(f"{message} (fix: {fix})" if fix else message)


class NotVerified(QedError):
    """The artifact is not verified and accepted: nothing is built."""

    exit_code = 1


class BadInput(QedError):
    """Missing file, unreadable or malformed spec, bad options."""

    exit_code = 2


class CapabilityMissing(BadInput):
    """A backend was asked for a capability it does not declare."""


class ToolchainError(QedError):
    """Verifier missing, broken (e.g. no solver) or crashed."""

    exit_code = 3


class UnusableToolchain(ToolchainError):
    """A toolchain candidate that exists but cannot be used; carries what was learnt about it (for `status`)."""

    def __init__(self, message: str, fix: str | None, *, path: Path, how: str, probe: Any = None,
                 solver: Any = None, solver_problem: str | None = None):
        super().__init__(message, fix)
        self.path = path
        self.how = how
        self.version = probe.version if probe is not None and probe.ok else None
        self.full_version = probe.full_version if probe is not None and probe.ok else None
        self.solver = solver
        self.solver_problem = solver_problem


class BackendUnavailable(ToolchainError):
    """A language qed recognises, but whose backend is not installed in this qed."""


class ProviderError(QedError):
    """The model could not be reached, refused the request, or (offline) no answer was recorded."""

    exit_code = 4


class StorageError(QedError):
    """qed cannot write its own output (the run record, a package): a full disk or a read-only folder. What was
    written before stays intact (writes are atomic or append whole lines)."""

    exit_code = 5


def storage_error(what: str, path: object, err: OSError) -> StorageError:
    """The one-line error for an OSError while writing `what` at `path`."""
    import errno

    reason = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exhausted",
              errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
              errno.EPERM: "permission denied", errno.EFBIG: "the file size limit was reached"}.get(
        err.errno, err.strerror or str(err))
    return StorageError(f"cannot write {what} {path}: {reason}",
                        fix="free space or choose a writable folder (--out), then run again (or --resume)")
