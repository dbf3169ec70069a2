"""What `qed check --changed-since REF` needs from git: the files that differ from REF (committed, staged,
unstaged, untracked, deleted) and a file's text at REF. Every call goes through `verifier.procs`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from verifier import procs
from verifier.errors import BadInput, ToolchainError

_TIMEOUT = 120.0


@dataclass(frozen=True)
class Repo:
    """A git work tree (`top` is its top folder, resolved)."""

    top: Path

    @classmethod
    def at(cls, folder: Path) -> Repo:
        """The repository containing `folder`; BadInput when there is none."""
        out = _git(["rev-parse", "--show-toplevel"], folder)
        if out is None:
            raise BadInput(f"{folder} is not inside a git repository, so --changed-since cannot compare",
                           fix="run qed check inside the repository, or drop --changed-since")
        return cls(Path(out.strip()).resolve())

    def resolve(self, ref: str) -> str:
        """The commit `ref` names; BadInput naming the ref when it names none."""
        if ref.startswith("-"):
            raise BadInput(f"--changed-since {ref}: not a git ref", fix="pass a branch, tag or commit")
        out = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], self.top)
        if not out or not out.strip():
            raise BadInput(f"--changed-since {ref}: no such commit in {self.top}",
                           fix="fetch it first (in CI: a checkout with fetch-depth: 0) or pass another ref")
        return out.strip()

    def changed_since(self, commit: str) -> set[Path]:
        """Absolute paths of files that differ between `commit` and the work tree (deleted ones included),
        and untracked files that are not ignored."""
        diff = _git(["diff", "--name-only", "--no-renames", "-z", commit, "--"], self.top)
        untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], self.top)
        if diff is None or untracked is None:
            raise ToolchainError(f"git could not compare {self.top} with {commit}", fix="run `git status` there")
        names = [n for n in (diff + untracked).split("\0") if n]
        return {(self.top / n).resolve() for n in names}

    def show(self, commit: str, path: Path) -> str | None:
        """The text of `path` at `commit` (None: it did not exist there, or is not text)."""
        try:
            rel = path.resolve().relative_to(self.top).as_posix()
        except ValueError:
            return None
        out = _git(["show", f"{commit}:{rel}"], self.top, text_only=True)
        return out


def _git(args: list[str], cwd: Path, *, text_only: bool = False) -> str | None:
    """git's standard output, or None when it failed. A missing git is a toolchain error (exit 3)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        res = procs.run(["git", "-c", "core.quotepath=off", *args], timeout=_TIMEOUT, cwd=cwd, env=env)
    except OSError as e:
        raise ToolchainError(f"cannot run git: {e.strerror or e}", fix="install git, or drop --changed-since") from e
    if res.timed_out:
        raise ToolchainError(f"git {args[0]} took more than {_TIMEOUT:.0f} s", fix="check the repository")
    if res.returncode != 0:
        return None
    if text_only and "\ufffd" in res.stdout:
        return None
    return res.stdout
