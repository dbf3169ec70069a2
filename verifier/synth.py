"""The synthesis loop: prompt a model, extract the program, verify it, feed the problems back, repeat.

`synthesize(task, provider, ...)` runs `samples` independent samples one after another; each sample has up
to `rounds` rounds. Round 1 renders the generate prompt; later rounds render the repair prompt from the
previous round's verifier feedback (`feedback_from`) or, when the answer had no usable code, the extraction
error. The run stops at the first `verified` candidate (copied to `artifact.dfy`, with a `certificate.json`);
when the budget is used up the status is `exhausted`. Everything is recorded in a `RunDir`.

Known gaps of this version:
* `annotate` and `from_description` tasks are refused (BadInput): annotate needs a guard that freezes the
  program's code and contract (only proof hints may be added), and "verified" must never come without it.
* The task's `budget.tokens` / `budget.wall_time_s` are not enforced; samples run sequentially.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from verifier import __version__
from verifier.errors import BadInput
from verifier.extract import ExtractionError, extract_code
from verifier.prompting import GenerateContext, PromptRenderer, RepairContext, feedback_from
from verifier.providers import CompletionRequest, Provider
from verifier.runstore import RunDir, sha256_file, sha256_text
from verifier.tasks import Mode, Task

__all__ = ["Attempt", "SynthResult", "synthesize"]

_SUFFIX = {"dafny": ".dfy", "lean": ".lean", "fstar": ".fst"}


class Attempt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sample: int
    round: int
    outcome: str  # a verdict value, or "extraction_error"
    candidate: str | None = None  # path of the candidate file
    message: str | None = None  # the extraction error, or a short verifier summary
    tokens: int = 0
    cached: bool = False


class SynthResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["verified", "exhausted"]
    artifact: str | None = None
    attempts: list[Attempt]
    samples: int  # samples started
    rounds: int  # rounds run in all samples together
    tokens: int
    duration_s: float
    out_dir: str

    def summary(self) -> dict[str, Any]:
        """The `qed synth --json` document."""
        return {"status": self.status, "artifact": self.artifact, "attempts": len(self.attempts),
                "samples": self.samples, "rounds": self.rounds, "tokens": self.tokens,
                "duration_s": round(self.duration_s, 3), "out_dir": self.out_dir}


def _value(x: Any) -> str:
    return getattr(x, "value", x)


def _toolchain(backend: Any, result: Any) -> dict | None:
    tc = getattr(result, "toolchain", None)
    if tc is None:
        try:
            tc = backend.toolchain()
        except Exception:  # noqa: BLE001 - the certificate then says it is unknown
            return None
    return tc.model_dump(mode="json")


def _short(result: Any) -> str:
    errs = [d for d in result.diagnostics if _value(d.severity) == "error"]
    parts = []
    if errs:
        parts.append(f"{len(errs)} error{'s' if len(errs) != 1 else ''}")
    if result.integrity:
        parts.append(f"{len(result.integrity)} integrity violation{'s' if len(result.integrity) != 1 else ''}")
    return ", ".join(parts) or (result.note or "")


def synthesize(task: Task, provider: Provider, *, model: str, samples: int = 1, rounds: int = 3,
               out_dir: Path, backend: Any, renderer: PromptRenderer | None = None, timeout: float = 600.0,
               task_file: Path | None = None, new_run_dir: bool = True,
               on_attempt: Any = None) -> SynthResult:
    """Run the loop (see the module docstring). `out_dir` is the parent of a fresh `<task.id>-<timestamp>/`
    folder (or, with `new_run_dir=False`, the run folder itself). ProviderError propagates (exit 4)."""
    mode = Mode(task.mode)
    if mode == Mode.from_description:
        raise BadInput("from-description tasks are not supported by this version yet",
                       fix="give the task a `spec:` contract (implement mode)")
    if mode == Mode.annotate:
        raise BadInput("annotate tasks are not supported by this version yet (the guard that keeps the program's "
                       "code unchanged is not built)", fix="give the task a `spec:` contract (implement mode)")
    if samples < 1 or rounds < 1:
        raise BadInput("samples and rounds must be at least 1", fix="pass --samples >= 1 and --rounds >= 1")
    language = str(task.language)
    suffix = _SUFFIX.get(language, ".dfy")
    renderer = renderer or PromptRenderer(language=language)
    gen = GenerateContext.for_task(task)
    spec = contract_file = Path(task.spec)

    start = time.monotonic()
    run = RunDir.create(out_dir, task.id) if new_run_dir else RunDir(out_dir)
    attempts: list[Attempt] = []
    tokens = 0
    rounds_run = 0
    samples_run = 0
    artifact: Path | None = None
    final: Any = None
    try:
        run.event("start", task=task.id, mode=mode.value, model=model, samples=samples, rounds=rounds,
                  qed_version=__version__)
        for k in range(samples):
            samples_run += 1
            candidate: str | None = None
            result: Any = None
            extraction_error: str | None = None
            for r in range(1, rounds + 1):
                rounds_run += 1
                if r == 1:
                    messages = renderer.generate(gen)
                else:
                    fb = feedback_from(result, candidate) if result is not None and candidate is not None else []
                    messages = renderer.repair(RepairContext(
                        task=task, candidate=candidate if extraction_error is None else None, feedback=fb,
                        extraction_error=extraction_error, round=r, language=language,
                        contract_text=gen.contract_text, program_text=gen.program_text))
                req = CompletionRequest(model=model, messages=messages, sample=k)
                run.event("prompt", sample=k, round=r, kind="generate" if r == 1 else "repair",
                          messages=[m.model_dump() for m in messages])
                comp = provider.complete(req)
                used = (comp.prompt_tokens or 0) + (comp.completion_tokens or 0)
                tokens += used
                run.event("response", sample=k, round=r, text=comp.text, model=comp.model,
                          finish_reason=comp.finish_reason, prompt_tokens=comp.prompt_tokens,
                          completion_tokens=comp.completion_tokens, cached=comp.cached, source=comp.source)
                got = extract_code(comp.text, language)
                if isinstance(got, ExtractionError):
                    run.event("extraction", sample=k, round=r, ok=False, kind=got.kind, message=got.message)
                    extraction_error = got.message
                    att = Attempt(sample=k, round=r, outcome="extraction_error", message=got.message,
                                  tokens=used, cached=comp.cached)
                    attempts.append(att)
                    run.event("verdict", sample=k, round=r, outcome=att.outcome)
                    if on_attempt:
                        on_attempt(att)
                    continue
                run.event("extraction", sample=k, round=r, ok=True, block_index=got.block_index,
                          notes=list(got.notes))
                extraction_error = None
                candidate = got.code
                path = run.write_candidate(k, r, candidate, suffix)
                run.event("candidate", sample=k, round=r, path=str(path.relative_to(run.path)),
                          sha256=sha256_text(candidate))
                result = backend.check(path, spec, timeout=timeout)
                run.event("verifier", sample=k, round=r, result=result.model_dump(mode="json"))
                outcome = _value(result.verdict)
                att = Attempt(sample=k, round=r, outcome=outcome, candidate=str(path), message=_short(result),
                              tokens=used, cached=comp.cached)
                attempts.append(att)
                run.event("verdict", sample=k, round=r, outcome=outcome)
                if on_attempt:
                    on_attempt(att)
                if outcome == "verified":
                    artifact = run.write_artifact(path, suffix)
                    final = result
                    break
            if artifact is not None:
                break

        status: Literal["verified", "exhausted"] = "verified" if artifact is not None else "exhausted"
        if artifact is not None:
            run.write_certificate({
                "task": task.id,
                "task_sha256": sha256_file(task_file) if task_file is not None
                else sha256_text(task.model_dump_json()),
                "contract_sha256": sha256_file(contract_file),
                "artifact_sha256": sha256_file(artifact),
                "toolchain": _toolchain(backend, final),
                "verdict": _value(final.verdict),
                "mode": mode.value,
                "qed_version": __version__,
            })
        duration = time.monotonic() - start
        out = SynthResult(status=status, artifact=str(artifact) if artifact else None, attempts=attempts,
                          samples=samples_run, rounds=rounds_run, tokens=tokens, duration_s=duration,
                          out_dir=str(run.path))
        run.event("end", status=status, artifact=out.artifact, attempts=len(attempts), tokens=tokens,
                  duration_s=duration)
        run.write_report(_report(task, mode, model, out))
        return out
    except Exception as e:
        run.event("error", error=type(e).__name__, message=str(e))
        raise
    finally:
        run.close()


def _report(task: Task, mode: Mode, model: str, res: SynthResult) -> str:
    lines = [f"# qed synth: `{task.id}`", "",
             f"- mode: {mode.value}", f"- model: {model}", f"- status: **{res.status}**",
             f"- attempts: {len(res.attempts)} ({res.samples} sample(s), {res.rounds} round(s))",
             f"- tokens: {res.tokens}", f"- duration: {res.duration_s:.1f} s"]
    if res.artifact:
        lines.append(f"- artifact: `{Path(res.artifact).name}`")
    lines += ["", "| sample | round | outcome | detail |", "|---|---|---|---|"]
    for a in res.attempts:
        detail = (a.message or "").replace("|", "\\|").replace("\n", " ")[:200]
        lines.append(f"| {a.sample} | {a.round} | {a.outcome} | {detail} |")
    return "\n".join(lines) + "\n"
