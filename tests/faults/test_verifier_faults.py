"""A verifier that misbehaves never yields `verified`: a crash mid-output, a truncated or garbage report, a run
killed at the memory cap are `error` with the reason, and nothing of such a run is cached (the next run is
judged on its own)."""

from __future__ import annotations

import json

import pytest

from tests.faults.conftest import ABS, all_gone


def _verify(qed, mode, *extra, **env):
    r = qed.run("verify", "--json", *extra, str(ABS), mode=mode, **env)
    doc = json.loads(r.stdout) if r.stdout.strip() else None
    return r, doc["results"][0] if doc else None


@pytest.mark.parametrize("mode, code, says", [
    ("crash", 3, "crashed"),
    ("truncated", 1, "never said it finished"),
    ("garbage", 1, "never said it finished"),
])
def test_a_misbehaving_verifier_is_an_error_and_poisons_nothing(qed, mode, code, says):
    r, res = _verify(qed, mode)
    assert r.returncode == code, r.stderr
    assert res["verdict"] == "error" and says in res["note"] and not res["cached"]
    ok, res = _verify(qed, "ok")  # the same file, the cache on: judged afresh, not answered from the bad run
    assert ok.returncode == 0 and res["verdict"] == "verified" and not res["cached"]
    again, res = _verify(qed, "garbage")  # ...and that good answer is what is cached now
    assert again.returncode == 0 and res["cached"]


def test_a_verifier_over_its_memory_cap_is_killed_and_reported(qed):
    r, res = _verify(qed, "memory", "--memory-mb", "200", "--no-cache")
    assert r.returncode == 3, r.stderr
    assert res["verdict"] == "error" and "memory cap" in res["note"] and "--memory-mb" in res["note"]
    assert all_gone(qed.fake_pids())
