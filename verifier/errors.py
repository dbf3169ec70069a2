"""Errors that reach the user: one line naming the cause and the fix, each class with its own exit code."""

from __future__ import annotations


class QedError(Exception):
    """Base class. `exit_code` is what `qed` exits with; `str(err)` is the one-line message."""

    exit_code = 1

    def __init__(self, message: str, fix: str | None = None):
        self.cause = message
        self.fix = fix
        super().__init__(f"{message} (fix: {fix})" if fix else message)


class BadInput(QedError):
    """Missing file, unreadable or malformed spec, bad options."""

    exit_code = 2


class ToolchainError(QedError):
    """Verifier missing, broken (e.g. no solver) or crashed."""

    exit_code = 3
