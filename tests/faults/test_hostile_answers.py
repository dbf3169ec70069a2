"""Model output is hostile input: huge, binary, NUL-filled, deeply nested or single-line answers become recorded
attempts with a reason (or verifier errors), never a crash of the loop, and oversized programs never reach a
verifier. (The time these take on 1 MB inputs: benchmarks/hostile_inputs.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.providers import ScriptedProvider
from verifier.synth import SynthConfig, synthesize
from verifier.tasks import load_task

MB = 1 << 20


@pytest.fixture
def toy_task(tmp_path) -> Path:
    (tmp_path / "t.spec.toy").write_text("prove t: ?\n")
    f = tmp_path / "t.yaml"
    f.write_text("id: t\nlanguage: toy\ndescription: make it true\nspec: t.spec.toy\n")
    return f


HOSTILE = {
    "huge": "```toy\n" + "prove t: True\n" * (MB // 14) + "```\n",
    "binary": bytes(range(256)).decode("latin-1") * 4096,
    "nul bytes": "```toy\n" + "\x00" * MB + "\n```\n",
    "nested braces": "```toy\nprove t: " + "(" * 30000 + "1" + ")" * 30000 + " == 1\n```\n",
    "one long line": "```toy\nprove t: " + "1 + " * 250_000 + "1 > 0\n```\n",
    "unclosed fence": "```toy\n" + "prove t: True\n" * 10_000,
    "replacement chars": "\ufffd" * MB,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_answer_is_a_recorded_attempt(name, toy_task, tmp_path):
    answer = HOSTILE[name]
    provider = ScriptedProvider([answer, "```toy\nprove t: 1 + 1 == 2\n```\n"])
    res = synthesize(load_task(toy_task), provider, config=SynthConfig(model="m", rounds=2), out_dir=tmp_path / "r",
                     task_file=toy_task)
    first = res.attempts[0]
    assert first.outcome in ("extraction_error", "error", "failed"), first
    assert res.status == "verified" and res.attempts[1].outcome == "verified"
    repair = provider.requests[1].messages[-1].content
    assert len(repair) < 60_000  # the repair prompt stays bounded whatever the answer was
    if name == "huge":
        assert "over this task's limit" in first.message
        assert not list((Path(res.out_dir) / "candidates").glob("s0-r1.*"))  # never written, never verified
