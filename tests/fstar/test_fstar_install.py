"""`qed toolchain install fstar --from ARCHIVE`, with release archives the tests build (the fake F* and a fake
Z3 in the release layout): checksums, unsafe archives, and never a half install."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from fstar_support import make_fake_fstar

from toolchains.install import file_sha256
from toolchains.install_fstar import install_fstar
from verifier.errors import BadInput, ToolchainError


def build_archive(tmp_path: Path, name: str = "fstar-v2025.06.20-Linux-x86_64.tar.gz", **kw) -> Path:
    src = tmp_path / "src"
    make_fake_fstar(src / "fstar", **kw)
    archive = tmp_path / name
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src / "fstar", arcname="fstar")
    return archive


def env_for(tmp_path: Path) -> dict:
    return {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "QED_HOME": str(tmp_path / "qedhome"),
            "QED_CACHE_DIR": str(tmp_path / "cache")}


def test_install_from_a_local_archive_then_discovery_finds_it(tmp_path):
    archive = build_archive(tmp_path)
    env = env_for(tmp_path)
    found = install_fstar(str(archive), sha256=file_sha256(archive), env=env)
    assert found.version == "2025.06.20" and found.z3_how == "bundled with F*"
    assert found.path == tmp_path / "qedhome" / "toolchains" / "fstar-2025.06.20" / "fstar" / "bin" / "fstar.exe"
    from toolchains.fstar import locate_fstar

    assert locate_fstar(env).path == found.path and locate_fstar(env).how.startswith("qed install")
    # a second install without --force keeps the working one
    assert install_fstar(None, env=env).path == found.path


def test_bad_checksum_and_missing_archive_are_bad_input(tmp_path):
    archive = build_archive(tmp_path)
    env = env_for(tmp_path)
    with pytest.raises(BadInput, match="checksum mismatch"):
        install_fstar(str(archive), sha256="0" * 64, env=env)
    with pytest.raises(BadInput, match="no such file"):
        install_fstar(str(tmp_path / "nope.tar.gz"), env=env)
    with pytest.raises(BadInput, match="SHA-256"):
        install_fstar(str(archive), sha256="xyz", env=env)
    with pytest.raises(BadInput, match="no checksum"):  # the pinned asset has no recorded checksum
        install_fstar("https://example.invalid/fstar.tar.gz", env=env)
    assert not (tmp_path / "qedhome" / "toolchains" / "fstar-2025.06.20").exists()


def test_unsafe_archives_are_refused_whole(tmp_path):
    env = env_for(tmp_path)
    for name, member in [("evil1.tar.gz", "../escape.txt"), ("evil2.tar.gz", "/tmp/abs.txt"),
                         ("evil4.tar.gz", "fstar/../../unpacked2/x")]:
        archive = tmp_path / name
        with tarfile.open(archive, "w:gz") as tf:
            data = b"x"
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        with pytest.raises(BadInput, match="unsafe entry"):
            install_fstar(str(archive), env=env)
    link = tmp_path / "evil3.tar.gz"
    with tarfile.open(link, "w:gz") as tf:
        info = tarfile.TarInfo("fstar/bin/fstar.exe")
        info.type, info.linkname = tarfile.SYMTYPE, "/bin/sh"
        tf.addfile(info)
    with pytest.raises(BadInput, match="unsafe entry"):
        install_fstar(str(link), env=env)
    assert not (tmp_path / "escape.txt").exists()
    assert not (tmp_path / "qedhome" / "toolchains" / "fstar-2025.06.20").exists()


def test_an_archive_that_does_not_work_leaves_the_previous_install(tmp_path):
    env = env_for(tmp_path)
    good = build_archive(tmp_path)
    first = install_fstar(str(good), env=env)
    marker = first.path.read_text()
    (tmp_path / "w").mkdir()
    wrong = build_archive(tmp_path / "w", version="2024.01.13")
    with pytest.raises(ToolchainError, match="qed needs F\\* 2025.06.20"):
        install_fstar(str(wrong), env=env, force=True)
    (tmp_path / "n").mkdir()
    no_z3 = build_archive(tmp_path / "n", with_z3=False)
    with pytest.raises(ToolchainError, match="Z3 4.13.3"):
        install_fstar(str(no_z3), env=env, force=True)
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz") as tf:
        tf.add(tmp_path / "src" / "fstar" / "lib", arcname="fstar/lib")
    with pytest.raises(BadInput, match="bin/fstar.exe"):
        install_fstar(str(empty), env=env, force=True)
    assert first.path.read_text() == marker  # untouched
    leftovers = [p.name for p in first.path.parents[3].iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_qed_toolchain_install_fstar_command(tmp_path):
    archive = build_archive(tmp_path)
    env = dict(os.environ, **env_for(tmp_path))
    env.pop("QED_FSTAR", None)
    r = subprocess.run([sys.executable, "-m", "verifier", "toolchain", "install", "fstar", "--from", str(archive),
                        "--sha256", file_sha256(archive)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("fstar 2025.06.20 at ") and "z3 4.13.3" in r.stdout
    r = subprocess.run([sys.executable, "-m", "verifier", "toolchain", "install", "fstar", "--from",
                        str(tmp_path / "missing.tar.gz")], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "fix:" in r.stderr
