"""A fake `elan` for tests (NOT elan; written from elan's documented commands): `elan --version`, `elan toolchain
install T`, `elan toolchain uninstall T`, `elan default T`, `elan show`. Installing T puts a toolchain folder
under `$ELAN_HOME/toolchains/` and `lean`/`lake` proxies (wrappers of the fake lean and lake, with the version
taken from T) into `$ELAN_HOME/bin`, as elan does. `FAKE_ELAN_MODE=fail` fails the download before anything is
written; `FAKE_ELAN_MODE=partial` leaves a half toolchain folder and fails (elan's uninstall removes it);
`FAKE_ELAN_MODE=wrong-version` installs a lean that reports another version."""

from __future__ import annotations

import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def home() -> str:
    return os.environ.get("ELAN_HOME") or os.path.join(os.path.expanduser("~"), ".elan")


def folder(t: str) -> str:
    return os.path.join(home(), "toolchains", t.replace("/", "--").replace(":", "---"))


def wrapper(path: str, script: str, version: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"#!/bin/sh\nFAKE_LEAN_VERSION={version} exec {sys.executable} {os.path.join(HERE, script)} \"$@\"\n")
    os.chmod(path, 0o755)


def main(argv: list[str]) -> int:
    mode = os.environ.get("FAKE_ELAN_MODE", "")
    if argv[:1] == ["--version"]:
        print("elan 4.1.2 (fake)")
        return 0
    if argv[:2] == ["toolchain", "install"] and len(argv) > 2:
        t = argv[2]
        if mode == "fail":
            print(f"error: could not download toolchain '{t}': network unreachable", file=sys.stderr)
            return 1
        os.makedirs(folder(t), exist_ok=True)
        if mode == "partial":
            open(os.path.join(folder(t), "PARTIAL"), "w").close()
            print("error: download interrupted", file=sys.stderr)
            return 1
        version = t.rsplit(":v", 1)[-1] if ":v" in t else "4.24.0"
        if mode == "wrong-version":
            version = "4.9.0"
        os.makedirs(os.path.join(home(), "bin"), exist_ok=True)
        wrapper(os.path.join(home(), "bin", "lean"), "fake_lean.py", version)
        wrapper(os.path.join(home(), "bin", "lake"), "fake_lake.py", version)
        print(f"info: installed {t}")
        return 0
    if argv[:2] == ["toolchain", "uninstall"] and len(argv) > 2:
        shutil.rmtree(folder(argv[2]), ignore_errors=True)
        return 0
    if argv[:1] == ["default"] and len(argv) > 1:
        with open(os.path.join(home(), "settings.toml"), "w", encoding="utf-8") as f:
            f.write(f'default_toolchain = "{argv[1]}"\n')
        return 0
    if argv[:1] == ["show"]:
        print("installed toolchains: " + ", ".join(os.listdir(os.path.join(home(), "toolchains"))))
        return 0
    print(f"error: fake elan does not know {argv}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
