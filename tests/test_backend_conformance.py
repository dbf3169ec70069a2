"""The backend protocol, checked against every registered backend (qed's own and the test-only `toy` backend,
which is registered through its own entry point without touching the core).

Each test is parametrized over the registry, so a new backend package is held to the same rules the moment it
registers: a sound language spec, its prompt folder, declared capabilities that work and undeclared ones that
refuse by name, options that reach `--help`, a toolchain row that never raises, and a lifecycle that stops
what it started."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from backends import registry
from backends.base import Backend, BackendConfig, BackendPlugin, Capability, CheckRequest, PythonBuildRequest
from tests.conftest import REPO, with_toy_backend
from verifier.cli import main
from verifier.errors import BackendUnavailable, BadInput, CapabilityMissing, ToolchainError
from verifier.extract import Extracted, extract_code
from verifier.prompting import TEMPLATES, Guidance, PromptRenderer

PLUGINS = registry.plugins()
AVAILABLE = [n for n, p in PLUGINS.items() if p.available]
UNAVAILABLE = [n for n, p in PLUGINS.items() if not p.available]


def test_the_registry_finds_qeds_backends_and_the_third_party_one():
    assert {"dafny", "lean", "fstar", "toy"} <= set(PLUGINS)
    assert not registry.broken()
    out = subprocess.run([sys.executable, "-c", "from importlib.metadata import entry_points; "
                          "print(entry_points(group='qedgen.backends'))"], capture_output=True, text=True,
                         cwd="/", check=True).stdout
    assert "backends.dafny:PLUGIN" in out


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_language_spec_is_sound(name):
    plugin = PLUGINS[name]
    assert isinstance(plugin, BackendPlugin)
    lang = plugin.language
    assert lang.name == name and re.fullmatch(r"[a-z][a-z0-9_]*", name)
    assert lang.title and lang.toolchain
    assert lang.suffixes and all(s.startswith(".") for s in lang.suffixes)
    assert lang.syntax.fence_tags and lang.fence == lang.syntax.fence_tags[0]
    re.compile(lang.syntax.declaration, re.M)
    re.compile(lang.syntax.preamble)
    assert lang.syntax.line_comment and all(lang.syntax.block_comment)
    # no two languages claim the same suffix or fence tag
    for other in PLUGINS.values():
        if other is not plugin:
            assert not set(lang.suffixes) & set(other.language.suffixes)
            assert not set(lang.syntax.fence_tags) & set(other.language.syntax.fence_tags)
    assert registry.plugin_for_file(Path("x" + lang.suffix)) is plugin
    assert registry.plugin_for_language(name.upper()) is plugin


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_code_in_the_languages_fence_is_extracted(name):
    lang = PLUGINS[name].language
    got = extract_code(f"Here you are.\n\n```{lang.fence}\nsome code\n```\n", name)
    assert isinstance(got, Extracted) and got.code == "some code\n"


@pytest.mark.parametrize("name", AVAILABLE)
def test_available_backends_ship_their_prompts_and_guidance(name):
    renderer = PromptRenderer(language=name)
    for template in TEMPLATES:
        assert (renderer.dir / template).is_file(), template
    guidance = renderer.guidance
    assert isinstance(guidance, Guidance) and guidance.for_kind("no-such-kind") == guidance.kinds["other"]
    assert guidance.for_violation("escape")


@pytest.mark.parametrize("name", AVAILABLE)
def test_undeclared_capabilities_refuse_by_name(name, tmp_path):
    plugin = PLUGINS[name]
    backend = registry.create_backend(plugin)
    assert isinstance(backend, Backend) and backend.language is plugin.language
    calls = {
        Capability.contract_check: lambda: backend.contract_problems(tmp_path / "x"),
        Capability.program_check: lambda: backend.program_problems(tmp_path / "x"),
        Capability.changed_members: lambda: backend.changed_members("", ""),
        Capability.python_build: lambda: backend.build_python(PythonBuildRequest(tmp_path / "a", tmp_path / "o")),
        Capability.sessions: backend.open_session,
        Capability.contract_review: lambda: backend.review_contract(None, "", file=tmp_path / "x", role="spec"),
        Capability.dependencies: lambda: backend.dependencies(tmp_path / "x"),
        Capability.contract_audit: backend.contract_auditor,
        Capability.member_scope: lambda: backend.begin(CheckRequest(file=tmp_path / ("x" + plugin.language.suffix),
                                                                   members=("M",))),
    }
    for cap, call in calls.items():
        if cap in plugin.capabilities:
            continue
        with pytest.raises(CapabilityMissing) as e:
            call()
        assert e.value.exit_code == 2 and plugin.language.title in str(e.value)
        assert cap.value.replace("_", " ") in str(e.value)
    backend.close()


@pytest.mark.parametrize("name", AVAILABLE)
def test_lifecycle_close_is_idempotent_and_final(name, tmp_path):
    plugin = PLUGINS[name]
    with registry.create_backend(plugin) as backend:
        pass
    backend.close()
    with pytest.raises(ToolchainError, match="closed"):
        backend.begin(CheckRequest(file=tmp_path / ("x" + plugin.language.suffix)))


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_config_is_frozen_and_typed(name):
    import dataclasses

    config = PLUGINS[name].config(use_cache=False)
    assert isinstance(config, BackendConfig) and not config.cache.enabled
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.toolchain = "x"  # type: ignore[misc]


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_toolchain_status_row_never_raises(name):
    import os

    row = PLUGINS[name].toolchain_status(os.environ)
    assert row.name == PLUGINS[name].language.toolchain
    assert row.ok or row.problem


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_backend_options_reach_the_commands(name):
    for opt in PLUGINS[name].options:
        assert opt.dest and all(d.startswith("--") for d in opt.decls)
        for command in opt.commands:
            assert command in ("verify", "synth", "build")
            text = CliRunner().invoke(main, [command, "--help"]).output
            assert opt.decls[0].split("/")[0] in text, (command, opt.decls)


@pytest.mark.parametrize("name", UNAVAILABLE)
def test_languages_without_a_backend_stop_with_exit_3_naming_themselves(name, tmp_path):
    plugin = PLUGINS[name]
    title = plugin.language.title
    with pytest.raises(BackendUnavailable) as e:
        registry.create_backend(name)
    assert e.value.exit_code == 3 and title in str(e.value)
    f = tmp_path / ("x" + plugin.language.suffix)
    f.write_text("anything\n")
    r = CliRunner().invoke(main, ["verify", str(f)])
    assert r.exit_code == 3, r.output
    line = r.output.strip()
    assert len(line.splitlines()) == 1 and title in line and "fix:" in line
    others = [p.language.title for p in PLUGINS.values() if p is not plugin]
    assert not any(re.search(rf"\b{re.escape(t)}\b", line) for t in others), line


# --- the toy backend end to end (a third-party backend, through the registry only) ----------------------------


def _toy(tmp_path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_qed_verify_runs_a_third_party_backend_in_a_real_process(tmp_path):
    good = _toy(tmp_path, "good.toy", "prove two: 1 + 1 == 2\n")
    bad = _toy(tmp_path, "bad.toy", "prove two: 1 + 1 == 3\n")
    cheat = _toy(tmp_path, "cheat.toy", "assume big: 1 > 2\n")
    qed = [str(Path(sys.executable).parent / "qed")]
    r = subprocess.run([*qed, "verify", str(good), str(bad), str(cheat), "--toy-strict"], capture_output=True,
                       text=True, env=with_toy_backend(), timeout=60)
    assert r.returncode == 1, r.stderr
    assert "good.toy: verified" in r.stdout and "bad.toy: failed" in r.stdout and "cheat.toy: rejected" in r.stdout
    assert "[TOY-E1]" in r.stdout and "strict" in r.stdout
    r = subprocess.run([*qed, "verify", str(good)], capture_output=True, text=True, env=with_toy_backend(), timeout=60)
    assert r.returncode == 0 and "1 file: 1 verified with toy 1.0" in r.stdout
    # without the distribution on the path, qed does not know the language
    r = subprocess.run([*qed, "verify", str(good)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no verifier backend for '.toy' files" in r.stderr


def test_a_folder_expands_to_every_registered_language(tmp_path):
    _toy(tmp_path, "a.toy", "prove a: True\n")
    (tmp_path / "notes.txt").write_text("not code")
    r = CliRunner().invoke(main, ["verify", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    assert '"verdict": "verified"' in r.output and "notes.txt" not in r.output


def test_qed_build_says_plainly_the_backend_has_no_python_build(tmp_path):
    art = _toy(tmp_path, "a.toy", "prove a: True\n")
    r = CliRunner().invoke(main, ["build", str(art), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2
    assert "the Toy backend has no python build capability" in r.output


def test_closing_a_backend_kills_its_running_checks(tmp_path):
    slow = _toy(tmp_path, "slow.toy", "sleep 30\nprove a: True\n")
    backend = registry.create_backend("toy")
    pending = backend.begin(CheckRequest(file=slow, timeout=60))
    start = time.monotonic()
    backend.close()
    res = pending.finish()
    assert time.monotonic() - start < 10 and res.verdict != "verified"


def test_a_timeout_kills_the_verifier(tmp_path):
    slow = _toy(tmp_path, "slow.toy", "sleep 30\nprove a: True\n")
    with registry.create_backend("toy") as backend:
        res = backend.check(CheckRequest(file=slow, timeout=1.5))
    assert res.verdict == "timeout" and res.duration_s < 10


def test_synth_runs_the_loop_on_a_third_party_language(tmp_path):
    """Prompts, extraction, candidate files, repair guidance and the certificate all come from the toy
    backend's registration: the core names no language."""
    from verifier.providers import ScriptedProvider
    from verifier.synth import SynthConfig, synthesize
    from verifier.tasks import load_task

    _toy(tmp_path, "double.spec.toy", "prove double: ?\n")
    task_file = _toy(tmp_path, "double.yaml", "id: double\nlanguage: toy\ndescription: two is one plus one\n"
                                              "spec: double.spec.toy\n")
    provider = ScriptedProvider(["```toy\nprove double: 1 + 1 == 3\n```\n", "```toy\nprove double: 1 + 1 == 2\n```\n"])
    res = synthesize(load_task(task_file), provider, config=SynthConfig(model="m", rounds=3),
                     out_dir=tmp_path / "runs", task_file=task_file)
    assert res.status == "verified" and [a.outcome for a in res.attempts] == ["failed", "verified"]
    assert res.session == "cli"  # the toy backend has no sessions
    assert res.artifact.endswith("artifact.toy")
    assert sorted(p.name for p in (Path(res.out_dir) / "candidates").iterdir()) == ["s0-r1.toy", "s0-r2.toy"]
    repair = provider.requests[1].messages[-1].content
    assert "TOY-ADVICE make the expression true." in repair and "```toy" in repair
    assert "Fill in every `?`" in provider.requests[0].messages[-1].content
    with pytest.raises(BadInput, match="has no warm sessions"):
        synthesize(load_task(task_file), ScriptedProvider([]), config=SynthConfig(model="m", session="warm"),
                   out_dir=tmp_path / "runs", task_file=task_file)


def test_unknown_language_in_a_task_names_the_registered_ones(tmp_path):
    from verifier.tasks import load_task

    f = _toy(tmp_path, "t.yaml", "id: t\nlanguage: cobol\ndescription: x\n")
    with pytest.raises(BadInput) as e:
        load_task(f)
    assert "cobol" in str(e.value) and "dafny" in str(e.value) and "toy" in str(e.value)


def test_core_uses_no_particular_backend():
    """`verifier/` imports nothing from any one backend (only the protocol, its audit half and the registry)."""
    bad = []
    for path in sorted((REPO / "verifier").rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"\s*(from|import)\s+backends\.(?!base\b|audit_protocol\b|registry\b)", line):
                bad.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert not bad, bad
