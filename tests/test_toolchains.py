"""Tests for the `toolchains` package (discovery, probe cache, installer) and `qed toolchain` CLI.

Every test runs with HOME, XDG_* and QED_* pointing into tmp_path and a PATH holding only the fake tools the
test makes, so nothing here reads or writes the real ~/.cache or ~/.local.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import toolchains.discovery as discovery
import toolchains.install as install_mod
from toolchains import install_dafny, load_manifest, locate_dafny, status
from toolchains.manifest import ReleaseAsset
from toolchains.paths import cache_file, dafny_install_root, toolchains_dir
from verifier.cli_toolchain import toolchain
from verifier.errors import BadInput, ToolchainError

SHARED_DAFNY = Path("/work/shared/toolchains/dafny/dafny")
FULL = "4.11.0+fcb2042d6d043a2634f0854338c08feeaaaf4ae2"
SYSTEM_PATH = os.environ.get("PATH", os.defpath)  # before the fixtures narrow it


# --- fakes -----------------------------------------------------------------------------------------------------


def script(path: Path, body: str) -> Path:
    """A /bin/sh script using only shell built-ins (PATH holds nothing else)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def count(counter: Path | None) -> str:
    return f'echo x >> "{counter}"\n' if counter else ""


def fake_dafny(path: Path, version: str = FULL, counter: Path | None = None, dll: bool = True) -> Path:
    body = count(counter) + f'if [ "$1" = "--version" ]; then echo "{version}"; exit 0; fi\necho "dafny $*"\n'
    exe = script(path, body)
    if dll:
        (path.parent / "Dafny.dll").write_bytes(b"MZ")
    return exe


def fake_z3(path: Path, version: str = "4.12.1", counter: Path | None = None, works: bool = True) -> Path:
    if not works:
        return script(path, count(counter) + 'echo "z3: cannot load libz3" >&2\nexit 1\n')
    return script(path, count(counter) + f'echo "Z3 version {version} - 64 bit"\n')


def release_layout(root: Path, version: str = FULL, counter: Path | None = None, z3: bool = True) -> Path:
    """`root/dafny/{dafny, Dafny.dll, z3/bin/z3-4.12.1}` as in the release zips; returns the executable."""
    exe = fake_dafny(root / "dafny" / "dafny", version, counter)
    if z3:
        fake_z3(root / "dafny" / "z3" / "bin" / "z3-4.12.1")
    return exe


def lines(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def add_file(zf: zipfile.ZipFile, name: str, data: bytes | str, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFREG | mode) << 16
    zf.writestr(info, data)


def build_zip(path: Path, version: str = FULL, z3: bool = True, extra: list[tuple[str, str]] = ()) -> Path:
    """A release-style zip: dafny/dafny (0755), dafny/Dafny.dll, dafny/z3/bin/z3-4.12.1 (0755)."""
    dafny_body = f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "{version}"; exit 0; fi\necho ok\n'
    with zipfile.ZipFile(path, "w") as zf:
        add_file(zf, "dafny/dafny", dafny_body, 0o755)
        add_file(zf, "dafny/Dafny.dll", b"MZ")
        if z3:
            add_file(zf, "dafny/z3/bin/z3-4.12.1", '#!/bin/sh\necho "Z3 version 4.12.1 - 64 bit"\n', 0o755)
        for name, data in extra:
            add_file(zf, name, data)
    return path


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name) if parent.exists() else []


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fresh HOME/XDG dirs, no QED_* variables, PATH = tmp/bin only, and no z3-solver package."""
    for var in ("QED_DAFNY", "QED_Z3", "QED_HOME", "QED_CACHE_DIR", "QED_FSTAR"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(discovery, "pip_z3_binary", lambda: None)
    return tmp_path


# --- manifest ---------------------------------------------------------------------------------------------------


def test_manifest_pins():
    m = load_manifest()
    dafny = m.get("dafny")
    assert dafny.version == "4.11.0" and dafny.supported
    assert dafny.solver is not None and dafny.solver.version == "4.12.1"
    assert dafny.release_for("linux-x64").url.endswith("/v4.11.0/dafny-4.11.0-x64-ubuntu-22.04.zip")
    assert dafny.release_for("macos-arm64").url.endswith("dafny-4.11.0-arm64-macos-13.zip")
    for asset in dafny.releases.values():
        assert asset.sha256 is None or len(asset.sha256) == 64
    assert m.get("lean").supported and m.get("lean").version.startswith("v4.")
    assert m.get("fstar").supported and m.get("fstar").solver.version == "4.13.3"


def test_paths_follow_env(tmp_path, monkeypatch):
    env = dict(os.environ)
    assert toolchains_dir(env) == tmp_path / "data" / "qedgen" / "toolchains"
    assert cache_file(env) == tmp_path / "cache" / "qedgen" / "toolchains.json"
    env.update(QED_HOME=str(tmp_path / "qh"), QED_CACHE_DIR=str(tmp_path / "qc"))
    assert dafny_install_root(env, "4.11.0") == tmp_path / "qh" / "toolchains" / "dafny-4.11.0"
    assert cache_file(env) == tmp_path / "qc" / "toolchains.json"


# --- discovery order ----------------------------------------------------------------------------------------------


def test_qed_dafny_wins_over_path(tmp_path, monkeypatch):
    release_layout(tmp_path / "onpath")
    monkeypatch.setenv("PATH", f"{tmp_path / 'onpath' / 'dafny'}")
    chosen = release_layout(tmp_path / "chosen")
    monkeypatch.setenv("QED_DAFNY", str(chosen))
    d = locate_dafny()
    assert d.path == chosen and d.how == "QED_DAFNY"
    assert d.version == "4.11.0" and d.full_version == FULL
    assert d.solver_path == chosen.parent / "z3" / "bin" / "z3-4.12.1" and d.solver_version == "4.12.1"
    assert d.extra_args == ()  # Dafny finds this Z3 by itself
    assert d.argv("verify", "x.dfy") == [str(chosen), "verify", "x.dfy"]
    assert d.ref().solver == "z3 4.12.1"


def test_qed_dafny_broken_does_not_fall_through(tmp_path, monkeypatch):
    release_layout(tmp_path / "onpath")
    monkeypatch.setenv("PATH", f"{tmp_path / 'onpath' / 'dafny'}")
    monkeypatch.setenv("QED_DAFNY", str(tmp_path / "nope" / "dafny"))
    with pytest.raises(ToolchainError, match="QED_DAFNY=.* does not exist") as e:
        locate_dafny()
    assert "QED_DAFNY" in e.value.fix


def test_qed_dafny_wrong_version_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("QED_DAFNY", str(release_layout(tmp_path / "old", version="4.10.0+abc")))
    with pytest.raises(ToolchainError, match="is Dafny 4.10.0, but qed needs Dafny 4.11.0"):
        locate_dafny()


def dotnet_tool_layout(home: Path) -> Path:
    tools = home / ".dotnet" / "tools"
    exe = fake_dafny(tools / "dafny", dll=False)
    any_dir = tools / ".store" / "dafny" / "4.11.0" / "dafny" / "4.11.0" / "tools" / "net8.0" / "any"
    any_dir.mkdir(parents=True)
    (any_dir / "Dafny.dll").write_bytes(b"MZ")
    return exe


def test_order_path_then_dotnet_tools_then_qed_install(tmp_path, monkeypatch):
    home = tmp_path / "home"
    on_path = release_layout(tmp_path / "onpath")
    dotnet_exe = dotnet_tool_layout(home)
    qed_root = dafny_install_root(dict(os.environ), "4.11.0")
    qed_exe = release_layout(qed_root)
    z3 = fake_z3(tmp_path / "zbin" / "z3")
    monkeypatch.setenv("PATH", f"{on_path.parent}{os.pathsep}{z3.parent}")

    d = locate_dafny()
    assert (d.path, d.how) == (on_path, "PATH")

    monkeypatch.setenv("PATH", str(z3.parent))
    d = locate_dafny()
    assert d.path == dotnet_exe and d.how == "dotnet tools (~/.dotnet/tools)"
    # the NuGet tool has no bundled Z3: the one on PATH is passed explicitly
    assert d.solver_how == "PATH" and d.extra_args == ("--solver-path", str(z3))

    (dotnet_exe).unlink()
    d = locate_dafny()
    assert d.path == qed_exe and d.how.startswith("qed install (")
    assert d.extra_args == ()


def test_wrong_version_on_path_is_skipped(tmp_path, monkeypatch):
    old = release_layout(tmp_path / "old", version="4.8.0+x")
    monkeypatch.setenv("PATH", str(old.parent))
    with pytest.raises(ToolchainError, match="is Dafny 4.8.0"):
        locate_dafny()
    qed_exe = release_layout(dafny_install_root(dict(os.environ), "4.11.0"))
    assert locate_dafny().path == qed_exe


def test_shared_wrapper_layout(tmp_path, monkeypatch):
    """A launcher script with lib/Dafny.dll and lib/z3/bin beside it (the shared copy's layout)."""
    root = tmp_path / "shared"
    exe = script(root / "dafny", f'echo "{FULL}"\n')
    (root / "lib").mkdir()
    (root / "lib" / "Dafny.dll").write_bytes(b"MZ")
    fake_z3(root / "lib" / "z3" / "bin" / "z3-4.12.1")
    monkeypatch.setenv("QED_DAFNY", str(exe))
    d = locate_dafny()
    assert d.solver_path == root / "lib" / "z3" / "bin" / "z3-4.12.1" and d.extra_args == ()


def test_z3_beside_executable_but_not_dll_needs_solver_path(tmp_path, monkeypatch):
    """The layout `dotnet tool install --tool-path` + qed's Z3 gives: dafny shim, .store/..., z3/bin/."""
    tools = tmp_path / "tp"
    exe = fake_dafny(tools / "dafny", dll=False)
    any_dir = tools / ".store" / "dafny" / "4.11.0" / "dafny" / "4.11.0" / "tools" / "net8.0" / "any"
    any_dir.mkdir(parents=True)
    (any_dir / "Dafny.dll").write_bytes(b"MZ")
    z3 = fake_z3(tools / "z3" / "bin" / "z3-4.12.1")
    monkeypatch.setenv("QED_DAFNY", str(exe))
    d = locate_dafny()
    assert d.solver_path == z3 and d.extra_args == ("--solver-path", str(z3))


def test_qed_z3_env(tmp_path, monkeypatch):
    monkeypatch.setenv("QED_DAFNY", str(release_layout(tmp_path / "r")))
    z3 = fake_z3(tmp_path / "myz3" / "z3")
    monkeypatch.setenv("QED_Z3", str(z3))
    d = locate_dafny()
    assert d.solver_how == "QED_Z3" and d.extra_args == ("--solver-path", str(z3))
    monkeypatch.setenv("QED_Z3", str(tmp_path / "missing-z3"))
    with pytest.raises(ToolchainError, match="QED_Z3=.* does not exist"):
        locate_dafny()
    fake_z3(tmp_path / "badz3", works=False)
    monkeypatch.setenv("QED_Z3", str(tmp_path / "badz3"))
    with pytest.raises(ToolchainError, match="is not a working Z3"):
        locate_dafny()


def test_missing_z3_is_a_toolchain_error(tmp_path, monkeypatch):
    exe = release_layout(tmp_path / "r", z3=False)
    monkeypatch.setenv("QED_DAFNY", str(exe))
    with pytest.raises(ToolchainError) as e:
        locate_dafny()
    assert f"Dafny found at {exe} but no Z3 solver" in str(e.value)
    assert "qed toolchain install dafny" in e.value.fix and "QED_Z3" in e.value.fix


def test_broken_bundled_z3_falls_back_to_path(tmp_path, monkeypatch):
    exe = release_layout(tmp_path / "r", z3=False)
    fake_z3(exe.parent / "z3" / "bin" / "z3-4.12.1", works=False)
    good = fake_z3(tmp_path / "zbin" / "z3")
    monkeypatch.setenv("PATH", str(good.parent))
    monkeypatch.setenv("QED_DAFNY", str(exe))
    d = locate_dafny()
    # Dafny would pick the broken bundled one by itself: the good one must be passed explicitly
    assert d.solver_path == good and d.extra_args == ("--solver-path", str(good))


def test_z3_version_preference_and_pip_package(tmp_path, monkeypatch):
    monkeypatch.setenv("QED_DAFNY", str(release_layout(tmp_path / "r", z3=False)))
    old = fake_z3(tmp_path / "zbin" / "z3", version="4.8.5")
    monkeypatch.setenv("PATH", str(old.parent))
    d = locate_dafny()
    assert d.solver_version == "4.8.5" and d.notes and "4.12.1" in d.notes[0]
    pip_z3 = fake_z3(tmp_path / "venv" / "bin" / "z3")
    monkeypatch.setattr(discovery, "pip_z3_binary", lambda: pip_z3)
    d = locate_dafny()
    assert d.solver_path == pip_z3 and d.solver_how == "z3-solver pip package" and not d.notes


def test_dafny_not_found(tmp_path):
    with pytest.raises(ToolchainError, match="Dafny not found") as e:
        locate_dafny()
    assert e.value.fix == "run `qed toolchain install dafny`, or set QED_DAFNY=/path/to/dafny"
    assert e.value.exit_code == 3


# --- probe cache --------------------------------------------------------------------------------------------------


def test_probe_cache_skips_second_probe(tmp_path, monkeypatch):
    dcount, zcount = tmp_path / "dafny.count", tmp_path / "z3.count"
    exe = fake_dafny(tmp_path / "r" / "dafny" / "dafny", counter=dcount)
    fake_z3(exe.parent / "z3" / "bin" / "z3-4.12.1", counter=zcount)
    monkeypatch.setenv("QED_DAFNY", str(exe))
    first = locate_dafny()
    assert (lines(dcount), lines(zcount)) == (1, 1)
    assert (tmp_path / "cache" / "qedgen" / "toolchains.json").is_file()
    second = locate_dafny()
    assert second == first
    assert (lines(dcount), lines(zcount)) == (1, 1)  # no probe ran
    # a changed Dafny.dll (an upgrade under the same launcher) invalidates the entry
    (exe.parent / "Dafny.dll").write_bytes(b"MZ-new-build")
    locate_dafny()
    assert (lines(dcount), lines(zcount)) == (2, 1)
    # without the cache every call probes
    locate_dafny(use_cache=False)
    assert lines(dcount) == 3


def test_probe_cache_dir_override_and_corruption(tmp_path, monkeypatch):
    dcount = tmp_path / "dafny.count"
    exe = release_layout(tmp_path / "r", counter=dcount)
    monkeypatch.setenv("QED_DAFNY", str(exe))
    monkeypatch.setenv("QED_CACHE_DIR", str(tmp_path / "qc"))
    (tmp_path / "qc").mkdir()
    (tmp_path / "qc" / "toolchains.json").write_text("{not json")
    locate_dafny()
    locate_dafny()
    assert lines(dcount) == 1
    data = json.loads((tmp_path / "qc" / "toolchains.json").read_text())
    assert any(k.startswith("dafny:") for k in data["probes"])
    assert not (tmp_path / "cache" / "qedgen").exists()


def test_failed_probe_is_not_cached(tmp_path, monkeypatch):
    dcount = tmp_path / "dafny.count"
    exe = script(tmp_path / "r" / "dafny", count(dcount) + "echo 'No .NET runtime' >&2\nexit 131\n")
    monkeypatch.setenv("QED_DAFNY", str(exe))
    for _ in range(2):
        with pytest.raises(ToolchainError, match="does not run: .*exited 131: No .NET runtime"):
            locate_dafny()
    assert lines(dcount) == 2


# --- installer -------------------------------------------------------------------------------------------------


def default_root() -> Path:
    return dafny_install_root(dict(os.environ), "4.11.0")


def test_install_from_local_zip(tmp_path):
    z = build_zip(tmp_path / "dafny.zip")
    d = install_dafny(str(z))
    root = default_root()
    assert d.path == root / "dafny" / "dafny" and d.version == "4.11.0"
    assert os.access(d.path, os.X_OK) and os.access(root / "dafny" / "z3" / "bin" / "z3-4.12.1", os.X_OK)
    assert not os.access(root / "dafny" / "Dafny.dll", os.X_OK)  # modes come from the zip
    assert leftovers(root.parent) == []
    found = locate_dafny()
    assert found.path == d.path and found.how.startswith("qed install")


def test_install_checks_sha256(tmp_path):
    z = build_zip(tmp_path / "dafny.zip")
    with pytest.raises(BadInput, match="checksum mismatch"):
        install_dafny(str(z), sha256="0" * 64)
    assert not default_root().exists() and leftovers(default_root().parent) == []
    with pytest.raises(BadInput, match="not a SHA-256"):
        install_dafny(str(z), sha256="xyz")
    d = install_dafny(str(z), sha256=install_mod.file_sha256(z))
    assert d.path.is_file()


@pytest.mark.parametrize(
    "entry",
    ["../evil.sh", "dafny/../../evil.sh", "/tmp/qed-evil-abs.sh", "C:/evil.sh"],
)
def test_install_rejects_zip_slip(tmp_path, entry):
    z = build_zip(tmp_path / "dafny.zip", extra=[(entry, "#!/bin/sh\necho pwned\n")])
    with pytest.raises(BadInput, match="unsafe entry"):
        install_dafny(str(z))
    root = default_root()
    assert not root.exists() and leftovers(root.parent) == []
    assert not (root.parent.parent / "evil.sh").exists() and not Path("/tmp/qed-evil-abs.sh").exists()


def test_install_rejects_symlink_escape(tmp_path):
    z = tmp_path / "dafny.zip"
    build_zip(z)
    with zipfile.ZipFile(z, "a") as zf:
        info = zipfile.ZipInfo("dafny/link")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "../../../../etc")
    with pytest.raises(BadInput, match="unsafe entry"):
        install_dafny(str(z))
    assert not default_root().exists()


def test_failed_install_keeps_previous_install(tmp_path):
    good = install_dafny(str(build_zip(tmp_path / "good.zip")))
    marker = good.path.parent / "marker"
    marker.write_text("previous")
    for bad in (build_zip(tmp_path / "old.zip", version="4.10.0+x"), build_zip(tmp_path / "noz3.zip", z3=False)):
        with pytest.raises(ToolchainError, match="the new Dafny does not work"):
            install_dafny(str(bad))
        assert marker.read_text() == "previous"  # untouched
        assert locate_dafny().path == good.path
        assert leftovers(default_root().parent) == []


def test_reinstall_replaces_previous(tmp_path):
    first = install_dafny(str(build_zip(tmp_path / "a.zip")))
    (first.path.parent / "marker").write_text("old")
    second = install_dafny(str(build_zip(tmp_path / "b.zip")))
    assert second.path == first.path and not (second.path.parent / "marker").exists()
    assert leftovers(default_root().parent) == []


def test_install_never_replaces_an_unrelated_dest(tmp_path):
    precious = tmp_path / "project"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(BadInput, match="is not a Dafny install made by qed"):
        install_dafny(str(build_zip(tmp_path / "d.zip")), dest=precious)
    assert (precious / "notes.txt").read_text() == "keep me" and leftovers(tmp_path) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    assert install_dafny(str(tmp_path / "d.zip"), dest=empty).path == empty / "dafny" / "dafny"


def test_install_missing_zip_and_not_a_zip(tmp_path):
    with pytest.raises(BadInput, match="no such file"):
        install_dafny(str(tmp_path / "missing.zip"))
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    with pytest.raises(BadInput, match="not a readable zip"):
        install_dafny(str(junk))
    assert not default_root().exists() and leftovers(default_root().parent) == []


def test_install_url_needs_a_checksum(tmp_path):
    z = build_zip(tmp_path / "mirror-copy.zip")
    url = z.as_uri()
    with pytest.raises(BadInput, match="without a checksum"):
        install_dafny(url)
    with pytest.raises(BadInput, match="checksum mismatch"):
        install_dafny(url, sha256="1" * 64)
    d = install_dafny(url, sha256=install_mod.file_sha256(z))
    assert d.path.is_file()


def test_install_url_with_pinned_asset_name_uses_manifest_checksum(tmp_path):
    name = load_manifest().get("dafny").release_for("linux-x64").filename
    z = build_zip(tmp_path / name)  # same name as the pinned asset, different bytes
    with pytest.raises(BadInput, match="checksum mismatch"):
        install_dafny(z.as_uri())


def test_install_pinned_download_without_checksum_is_refused(tmp_path, monkeypatch):
    z = build_zip(tmp_path / "pinned.zip")
    asset = ReleaseAsset(platform="test", url=z.as_uri(), sha256=None)
    monkeypatch.setattr(install_mod, "pinned_asset", lambda *a: asset)
    with pytest.raises(BadInput, match="no checksum"):
        install_dafny()
    assert install_dafny(sha256=install_mod.file_sha256(z)).path.is_file()
    # an existing working install is kept without downloading again
    monkeypatch.setattr(install_mod, "fetch_archive", lambda *a, **k: pytest.fail("downloaded again"))
    assert install_dafny().path == default_root() / "dafny" / "dafny"


def test_install_download_failure_is_a_toolchain_error(tmp_path):
    with pytest.raises(ToolchainError, match="download of .* failed"):
        install_dafny((tmp_path / "gone.zip").as_uri(), sha256="2" * 64)
    assert leftovers(default_root().parent) == []


def test_install_via_dotnet_tool(tmp_path, monkeypatch):
    """With `dotnet` on PATH, qed runs `dotnet tool install --tool-path` and bundles Z3 from the wheel."""
    for tool in ("mkdir", "chmod"):  # the fake dotnet needs these two programs
        real = next(p for p in (Path("/bin") / tool, Path("/usr/bin") / tool) if p.exists())
        (tmp_path / "bin" / tool).symlink_to(real)
    log = tmp_path / "dotnet.log"
    script(tmp_path / "bin" / "dotnet", f"""echo "$@" >> "{log}"
tp="$4"
any="$tp/.store/dafny/4.11.0/dafny/4.11.0/tools/net8.0/any"
mkdir -p "$any" || exit 9
echo MZ > "$any/Dafny.dll"
printf '#!/bin/sh\\necho "{FULL}"\\n' > "$tp/dafny"
chmod +x "$tp/dafny"
""")
    calls: list[Path] = []

    def fake_fetch(bin_dir: Path, env, progress=None):
        calls.append(bin_dir)
        return fake_z3(bin_dir / "z3-4.12.1")

    monkeypatch.setattr(install_mod, "fetch_pip_z3", fake_fetch)
    d = install_dafny()
    root = default_root()
    text = log.read_text()
    assert "tool install --tool-path" in text and "dafny --version 4.11.0" in text
    assert d.path == root / "dafny" / "dafny" and d.full_version == FULL
    z3 = root / "dafny" / "z3" / "bin" / "z3-4.12.1"
    assert d.solver_path == z3 and d.extra_args == ("--solver-path", str(z3))
    assert len(calls) == 1 and leftovers(root.parent) == []
    assert locate_dafny().path == d.path


def test_install_via_dotnet_failure_leaves_nothing(tmp_path):
    script(tmp_path / "bin" / "dotnet", "echo 'error NU1301: Unable to load the service index' >&2\nexit 1\n")
    with pytest.raises(ToolchainError, match="dotnet tool install.*NU1301") as e:
        install_dafny()
    assert "--from" in e.value.fix
    assert not default_root().exists() and leftovers(default_root().parent) == []


# --- status -------------------------------------------------------------------------------------------------------


def test_status_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("QED_DAFNY", str(release_layout(tmp_path / "r")))
    rows = {r.name: r for r in status()}
    assert {"dafny", "lean", "fstar"} <= set(rows)  # and any other registered backend's
    d = rows["dafny"]
    assert d.ok and d.found and d.version == "4.11.0" and d.how == "QED_DAFNY" and d.solver.works
    assert not rows["lean"].found and "elan" in rows["lean"].problem
    assert not rows["fstar"].found and rows["fstar"].problem


def test_status_dafny_without_z3(tmp_path, monkeypatch):
    monkeypatch.setenv("QED_DAFNY", str(release_layout(tmp_path / "r", z3=False)))
    (d,) = status(names=["dafny"])
    assert d.found and not d.ok and d.version == "4.11.0"
    assert d.solver is not None and not d.solver.works and "no Z3" in d.problem


def test_status_lean_and_fstar_fakes(tmp_path, monkeypatch):
    home = tmp_path / "home"
    script(home / ".elan" / "bin" / "lean",
           'echo "Lean (version 4.24.0, x86_64-unknown-linux-gnu, commit 3fdaf24, Release)"\n')
    script(home / ".elan" / "bin" / "lake", 'echo "Lake version 5.0.0"\n')
    fstar = script(tmp_path / "fstar" / "bin" / "fstar.exe",
                   'echo "F* 2025.06.20"\necho "platform=Linux_x86_64"\necho "commit=abc"\n')
    fake_z3(tmp_path / "bin" / "z3-4.13.3", version="4.13.3")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{fstar.parent}")
    rows = {r.name: r for r in status()}
    lean = rows["lean"]
    assert lean.found and lean.ok and lean.version == "4.24.0" and lean.how == "elan (~/.elan/bin)"
    assert "lake" in lean.note
    f = rows["fstar"]
    assert f.found and f.ok and f.version == "2025.06.20" and f.solver.works and f.solver.version == "4.13.3"
    monkeypatch.setenv("QED_FSTAR", str(tmp_path / "nope"))
    (f,) = status(names=["fstar"])
    assert not f.found and "QED_FSTAR" in f.problem


# --- CLI ----------------------------------------------------------------------------------------------------------


def invoke(*args: str):
    return CliRunner().invoke(toolchain, list(args), catch_exceptions=False)


def test_cli_status_table_and_json(tmp_path, monkeypatch):
    exe = release_layout(tmp_path / "r")
    monkeypatch.setenv("QED_DAFNY", str(exe))
    r = invoke("status")
    assert r.exit_code == 0
    header, dafny_line = r.output.splitlines()[:2]
    assert header.split() == ["NAME", "FOUND", "VERSION", "PATH", "HOW", "FOUND", "SOLVER"]
    assert dafny_line.split()[:5] == ["dafny", "yes", "4.11.0", str(exe), "QED_DAFNY"]
    assert "z3 4.12.1 (works)" in dafny_line
    r = invoke("status", "--json")
    assert r.exit_code == 0
    data = json.loads(r.output)
    rows = {t["name"]: t for t in data["toolchains"]}
    assert rows["dafny"]["ok"] is True and rows["dafny"]["solver"]["version"] == "4.12.1"
    assert rows["lean"]["found"] is False
    assert invoke("status", "--require", "dafny").exit_code == 0


def test_cli_status_require(tmp_path):
    r = invoke("status", "--require", "dafny")
    assert r.exit_code == 3
    assert "dafny: Dafny not found (looked at QED_DAFNY, PATH" in r.output
    assert "(fix: run `qed toolchain install dafny`" in r.output
    assert invoke("status").exit_code == 0
    assert invoke("status", "--require", "coq").exit_code == 2


def test_cli_install(tmp_path):
    z = build_zip(tmp_path / "dafny.zip")
    r = invoke("install", "dafny", "--from", str(tmp_path / "missing.zip"))
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "no such file" in r.output
    r = invoke("install", "dafny", "--from", str(z), "--sha256", "0" * 64)
    assert r.exit_code == 2 and "checksum mismatch" in r.output
    assert invoke("install", "coq").exit_code == 2
    r = invoke("install", "lean")  # through elan, which is not there: a toolchain problem naming the fix
    assert r.exit_code == 3 and "elan" in r.output
    r = invoke("install", "dafny", "--from", str(build_zip(tmp_path / "old.zip", version="4.9.0+x")))
    assert r.exit_code == 3 and "the new Dafny does not work" in r.output
    r = invoke("install", "dafny", "--from", str(z), "--sha256", install_mod.file_sha256(z))
    assert r.exit_code == 0, r.output
    assert f"dafny {FULL} at {default_root() / 'dafny' / 'dafny'}" in r.output
    r = invoke("install", "dafny", "--from", str(z), "--dest", str(tmp_path / "elsewhere"))
    assert r.exit_code == 0 and "set QED_DAFNY=" in r.output
    assert (tmp_path / "elsewhere" / "dafny" / "dafny").is_file()


# --- the real toolchain ------------------------------------------------------------------------------------------


@pytest.mark.dafny
def test_real_shared_dafny(monkeypatch):
    if not SHARED_DAFNY.exists():
        pytest.skip(f"the shared Dafny 4.11.0 is not at {SHARED_DAFNY}")
    monkeypatch.setenv("QED_DAFNY", str(SHARED_DAFNY))
    monkeypatch.setenv("PATH", SYSTEM_PATH)  # its launcher script needs `dirname`
    d = locate_dafny()
    assert d.path == SHARED_DAFNY and d.version == "4.11.0" and d.full_version.startswith("4.11.0+")
    assert d.solver_version == "4.12.1" and d.solver_path == SHARED_DAFNY.parent / "lib" / "z3" / "bin" / "z3-4.12.1"
    assert d.extra_args == ()
    (row,) = status(names=["dafny"])
    assert row.ok and row.solver.works
