"""Re-record the demo cassette `abs.cassette.json` (run it after changing the prompt templates).

The answers below were WRITTEN BY HAND for the demo: a wrong first program (it returns x unchanged) and the
correct one. No model produced them, and the cassette says so (`source: scripted` on every answer, and its
`note`). Recording runs the real loop against the real Dafny, so the repair prompt stored in the cassette
carries the verifier's actual feedback on the wrong program.

    python specs/examples/demo/make_cassette.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from backends import registry
from verifier.providers import CassetteProvider, ScriptedProvider
from verifier.synth import SynthConfig, synthesize
from verifier.tasks import load_task

HERE = Path(__file__).resolve().parent
TASK = HERE.parent / "abs.yaml"
CASSETTE = HERE / "abs.cassette.json"
MODEL = "scripted-demo"
NOTE = ("Scripted session: these answers were written by hand for the qedgen demo, not produced by a model. "
        "Re-record with specs/examples/demo/make_cassette.py.")

WRONG = """function AbsSpec(x: int): int { if x < 0 then -x else x }

method Abs(x: int) returns (y: int)
  ensures y == AbsSpec(x)
  ensures y >= 0
{
  y := x;
}
"""
RIGHT = (HERE.parent / "abs.dfy").read_text(encoding="utf-8")
ANSWERS = [
    f"Here is an implementation:\n\n```dafny\n{WRONG}```\n",
    f"The postcondition fails for negative x; negate it there:\n\n```dafny\n{RIGHT}```\n",
]


def main() -> None:
    CASSETTE.unlink(missing_ok=True)
    provider = CassetteProvider(CASSETTE, inner=ScriptedProvider(ANSWERS), note=NOTE)
    plugin = registry.plugin_for_language("dafny")
    with tempfile.TemporaryDirectory() as tmp, registry.create_backend(plugin, plugin.config(use_cache=False)) as b:
        res = synthesize(load_task(TASK), provider, config=SynthConfig(model=MODEL, rounds=3),
                         out_dir=Path(tmp), backend=b, task_file=TASK)
    print(f"{res.status} after {len(res.attempts)} attempt(s); wrote {CASSETTE}")


if __name__ == "__main__":
    main()
