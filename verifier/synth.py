"""The synthesis loop: prompt a model, extract the program, verify it, feed the problems back, repeat.

`synthesize(task, provider, config=SynthConfig(...), ...)` runs the task's mode:

* implement: `samples` independent samples (run concurrently, `jobs` at a time), each up to `rounds` rounds.
  Round 1 renders the generate prompt; later rounds render the repair prompt from the previous round's verifier
  feedback (`feedback_from`) or, when the answer had no usable code, the extraction error. The integrity guard
  checks each candidate against the contract.
* annotate: the same loop, but the candidate is checked against the given program: its code and contract stay
  frozen, only proof hints may be added (the backend's program check, Capability.program_check).
* from description: first a contract phase (up to `rounds` write-contract prompts, each answer checked to
  resolve, to give something to implement, and to contain no escape from proof, then audited against the
  task's examples (`qed audit`, where the backend can: a finding goes back to the model like any problem; findings
  left after the last round are shown with the contract); the contract is saved as
  `contract<suffix>` in the run folder and goes to `accept(path)` (the user; `--accept-spec`). Declined or not yet
  accepted, the run stops with status `awaiting_acceptance`; `--resume` continues it (the user may have edited
  the file meanwhile: the edited contract is the one checked and implemented). Then implement mode.

The run stops at the first `verified` candidate (copied to `artifact<suffix>`, with a `certificate.json`); other
samples stop at their next step. Budgets: rounds, samples, tokens (prompt + completion as the server reports
them, estimated at 4 characters a token when it does not; counted as answers arrive, so concurrent samples may
overshoot by the calls in flight) and wall time (checked before each model call and verifier run; a verifier
run gets at most the time left). Everything is recorded in a `RunDir`; with
`resume=True` the run folder's transcript answers every model call it already holds (`ReplayingProvider`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backends.base import Backend, Capability, CheckRequest, PendingCheck
from verifier import __version__
from verifier.errors import BadInput
from verifier.extract import Extracted, ExtractionError, extract_code
from verifier.models import FileResult, Verdict
from verifier.prompting import ChatMessage, ContractRetry, GenerateContext, PromptRenderer, RepairContext
from verifier.providers import Completion, CompletionRequest, Provider
from verifier.runstore import RunDir, sha256_file, sha256_text
from verifier.sessions import SessionPool
from verifier.tasks import Mode, Task

__all__ = ["Attempt", "SynthConfig", "SynthResult", "recorded_completions", "synthesize"]

Status = Literal["verified", "exhausted", "awaiting_acceptance"]


class SynthConfig(BaseModel):
    """What one run may spend, and how. Unset budgets are unlimited."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    samples: int = Field(1, ge=1, le=64)
    rounds: int = Field(3, ge=1, le=100)
    max_tokens: int | None = Field(None, ge=1, description="token budget of the whole run")
    wall_time_s: float | None = Field(None, gt=0, description="wall-clock budget of this invocation")
    timeout: float = Field(600.0, gt=0, description="wall-clock limit of one verifier run")
    jobs: int | None = Field(None, ge=1, le=64, description="samples run at once (default: min(samples, 4))")
    session: Literal["warm", "cli"] | None = Field(
        None, description="warm: repair rounds are checked by a warm verifier session first (the verdict still "
                          "comes from the batch command); cli: the batch command only; default: warm where the "
                          "backend has sessions")
    memory_mb: int | None = Field(None, ge=64, description="memory cap of each verifier run (default: the backend's)")
    all_samples: bool = Field(
        False, description="run every sample to its own end instead of stopping all at the first verified one "
                           "(benchmarks: pass@k needs each sample's outcome)")
    max_candidate_chars: int | None = Field(
        None, ge=1, description="largest program an answer may hold; larger ones are refused before any verifier "
                                "runs (default: `candidate_limit` of what the task gives)")


#: Candidate size bounds: a generous multiple of what the task gives, within a floor and a ceiling.
CANDIDATE_FACTOR = 20
CANDIDATE_FLOOR = 64_000
CANDIDATE_CEILING = 256_000


def candidate_limit(given_chars: int) -> int:
    """The default size limit of a candidate, in characters, for a task whose contract or program (or, from a
    description, the description) has `given_chars`: 20 times that, at least 64,000, at most 256,000."""
    return min(CANDIDATE_CEILING, max(CANDIDATE_FLOOR, CANDIDATE_FACTOR * given_chars))


class Attempt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sample: int
    round: int
    phase: Literal["contract", "implement", "annotate"] = "implement"
    outcome: str  # a verdict value, "extraction_error", or for contracts "contract_ok" / "contract_invalid" / "contract_audit"
    candidate: str | None = None  # path of the candidate file
    message: str | None = None  # the extraction error, or a short verifier summary
    tokens: int = 0
    cached: bool = False


class SynthResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    #: why the run stopped: verified, rounds (every sample used its rounds), tokens, wall_time, contract
    #: (no usable contract within the rounds), awaiting_acceptance
    reason: str
    artifact: str | None = None
    contract: str | None = None  # the accepted (or awaiting) contract, from-description mode
    attempts: list[Attempt]
    samples: int  # samples started
    rounds: int  # rounds run in all samples together
    tokens: int
    duration_s: float
    out_dir: str
    scripted_responses: int = 0  # answers written by hand (demo/test), not by a model
    replayed_responses: int = 0  # answers taken from the run's own transcript (--resume) or a cache
    session: Literal["warm", "cli"] = "cli"  # how candidates were checked in repair rounds

    def summary(self) -> dict[str, Any]:
        """The `qed synth --json` document."""
        return {"status": self.status, "reason": self.reason, "artifact": self.artifact,
                "attempts": len(self.attempts), "samples": self.samples, "rounds": self.rounds,
                "tokens": self.tokens, "duration_s": round(self.duration_s, 3), "out_dir": self.out_dir,
                "scripted_responses": self.scripted_responses, "session": self.session}


def recorded_completions(run: RunDir) -> dict[str, Completion]:
    """Every model answer a run's transcript holds, by request cache key (for `--resume`)."""
    out: dict[str, Completion] = {}
    for ev in run.events():
        if ev.get("event") != "response" or not ev.get("key") or not isinstance(ev.get("text"), str):
            continue
        try:
            out[ev["key"]] = Completion(
                text=ev["text"], model=ev.get("model") or "", finish_reason=ev.get("finish_reason"),
                prompt_tokens=ev.get("prompt_tokens"), completion_tokens=ev.get("completion_tokens"),
                source=ev.get("source") or "openai")
        except ValueError:
            continue
    return out


def _short(result: FileResult) -> str:
    """`2 errors (line 7: a postcondition could not be proved ...)`: counts, then the first problem."""
    errs = [d for d in result.diagnostics if d.severity == "error"]
    parts = []
    if errs:
        parts.append(f"{len(errs)} error{'s' if len(errs) != 1 else ''}")
    if result.integrity:
        parts.append(f"{len(result.integrity)} integrity violation{'s' if len(result.integrity) != 1 else ''}")
    first = result.integrity[0] if result.integrity else (errs[0] if errs else None)
    text = ", ".join(parts) or (result.note or "")
    if first is not None:
        where = f"line {first.line}: " if first.line else ""
        msg = " ".join(first.message.split())
        text += f" ({where}{msg[:120] + '...' if len(msg) > 120 else msg})"
    return text


def _tokens(messages: list[ChatMessage], comp: Completion) -> int:
    """Tokens of one call as the server reported them; a server that reports no usage is charged an estimate
    (4 characters a token), so that the token budget still binds."""
    if comp.prompt_tokens is not None and comp.completion_tokens is not None:
        return comp.prompt_tokens + comp.completion_tokens
    prompt = comp.prompt_tokens if comp.prompt_tokens is not None else sum(len(m.content) for m in messages) // 4
    answer = comp.completion_tokens if comp.completion_tokens is not None else len(comp.text) // 4
    return prompt + answer


class _Budget:
    """Tokens and wall time, shared by the samples (thread-safe)."""

    def __init__(self, config: SynthConfig, started: float) -> None:
        self.config = config
        self.deadline = started + config.wall_time_s if config.wall_time_s else None
        self.tokens = 0
        self._lock = threading.Lock()

    def spend(self, tokens: int) -> None:
        with self._lock:
            self.tokens += tokens

    def stop_reason(self) -> str | None:
        if self.config.max_tokens is not None and self.tokens >= self.config.max_tokens:
            return "tokens"
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return "wall_time"
        return None

    def verifier_timeout(self) -> float:
        if self.deadline is None:
            return self.config.timeout
        return max(1.0, min(self.config.timeout, self.deadline - time.monotonic()))


@dataclass
class _Answer:
    completion: Completion
    tokens: int


class _Session:
    """One invocation of the loop over a run folder."""

    def __init__(self, task: Task, provider: Provider, config: SynthConfig, run: RunDir, backend: Backend,
                 renderer: PromptRenderer, on_attempt: Callable[[Attempt], None] | None) -> None:
        self.task = task
        self.provider = provider
        self.config = config
        self.run = run
        self.backend = backend
        self.renderer = renderer
        self.on_attempt = on_attempt
        self.language = backend.language
        self.suffix = backend.language.suffix
        warm = config.session != "cli" and backend.supports(Capability.sessions)
        if config.session == "warm" and not warm:
            raise BadInput(f"the {backend.language.title} backend has no warm sessions",
                           fix="drop --session warm (or pass --session cli)")
        self.session_mode: Literal["warm", "cli"] = "warm" if warm else "cli"
        self.pool: SessionPool | None = None
        given = sum(len(_read_or_empty(p)) for p in (task.spec, task.program) if p is not None)
        self.candidate_limit = config.max_candidate_chars or candidate_limit(given or len(task.description))
        if warm:
            jobs = min(config.jobs or min(config.samples, 4), config.samples)
            self.pool = SessionPool(backend, min(jobs, backend.config.sessions.pool_size))
        self.started = time.monotonic()
        self.budget = _Budget(config, self.started)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.active: dict[int, PendingCheck] = {}  # verifier runs in progress, by id()
        self.attempts: list[Attempt] = []
        self.rounds_run = 0
        self.samples_run = 0
        self.scripted = 0
        self.replayed = 0
        self.artifact: Path | None = None
        self.final: FileResult | None = None
        self.stop: str | None = None

    # -- shared steps

    def ask(self, messages: list[ChatMessage], *, sample: int, round_: int, kind: str) -> _Answer:
        req = CompletionRequest(model=self.config.model, messages=messages, sample=sample)
        key = req.cache_key()
        self.run.event("prompt", sample=sample, round=round_, kind=kind, key=key,
                       messages=[m.model_dump() for m in messages])
        comp = self.provider.complete(req)
        used = _tokens(messages, comp)
        self.budget.spend(used)
        with self.lock:
            self.scripted += comp.source == "scripted"
            self.replayed += bool(comp.cached)
        self.run.event("response", sample=sample, round=round_, key=key, text=comp.text, model=comp.model,
                       finish_reason=comp.finish_reason, prompt_tokens=comp.prompt_tokens,
                       completion_tokens=comp.completion_tokens, cached=comp.cached, source=comp.source)
        return _Answer(comp, used)

    def extract(self, text: str) -> Extracted | ExtractionError:
        """The candidate in a model's answer, or why there is none (including: it is too large to verify)."""
        got = extract_code(text, self.language)
        if isinstance(got, ExtractionError) or len(got.code) <= self.candidate_limit:
            return got
        return ExtractionError("too_large", f"the program in your answer has {len(got.code):,} characters, over "
                                            f"this task's limit of {self.candidate_limit:,}: answer with a much "
                                            f"shorter complete program in one ```{self.language.fence} block")

    def record(self, att: Attempt) -> None:
        with self.lock:
            self.attempts.append(att)
        self.run.event("verdict", sample=att.sample, round=att.round, phase=att.phase, outcome=att.outcome)
        if self.on_attempt:
            self.on_attempt(att)

    def halted(self) -> bool:
        """Should a sample stop before its next step (another one verified, or a budget ran out)?"""
        if self.done.is_set():
            return True
        reason = self.budget.stop_reason()
        if reason:
            with self.lock:
                self.stop = self.stop or reason
            return True
        return False

    # -- contract phase (from description)

    def write_contract(self) -> Path | None:
        """Rounds of write-contract prompts until one answer is a usable contract; its candidate path, or None."""
        ctx = GenerateContext.for_task(self.task)
        retry: ContractRetry | None = None
        for r in range(1, self.config.rounds + 1):
            if self.halted():
                return None
            self.rounds_run += 1
            ans = self.ask(self.renderer.write_contract(ctx, retry), sample=0, round_=r, kind="write_contract")
            got = self.extract(ans.completion.text)
            if isinstance(got, ExtractionError):
                self.run.event("extraction", sample=0, round=r, ok=False, kind=got.kind, message=got.message)
                self.record(Attempt(sample=0, round=r, phase="contract", outcome="extraction_error",
                                    message=got.message, tokens=ans.tokens, cached=ans.completion.cached))
                retry = ContractRetry(previous=None, problems=[got.message])
                continue
            path = self.run.write_text(self.run.contract_candidate_path(r, self.suffix).relative_to(self.run.path),
                                       got.code)
            self.run.event("candidate", sample=0, round=r, phase="contract",
                           path=str(path.relative_to(self.run.path)), sha256=sha256_text(got.code))
            problems = self.backend.contract_problems(path, timeout=self.budget.verifier_timeout())
            self.run.event("contract_check", round=r, problems=problems)
            findings = [] if problems else self.audit_contract(path, r)
            outcome = "contract_invalid" if problems else "contract_audit" if findings else "contract_ok"
            shown = problems or findings
            self.record(Attempt(sample=0, round=r, phase="contract", outcome=outcome,
                                candidate=str(path), message="; ".join(shown)[:300] or None,
                                tokens=ans.tokens, cached=ans.completion.cached))
            if not problems and (not findings or r == self.config.rounds):
                return path  # findings left after the last round: the user sees them and decides
            retry = ContractRetry(previous=got.code, problems=shown)
        return None

    def audit_contract(self, path: Path, r: int) -> list[str]:
        """`qed audit` of a written contract against the task's examples (backends with the contract-audit
        capability): each finding, as a problem for the contract's next round. [] when there is nothing to audit
        against or nothing was found."""
        if not self.task.examples or not self.backend.supports(Capability.contract_audit):
            return []
        from verifier.audit import audit_contract

        try:
            report = audit_contract(path, [(e.call, e.expect) for e in self.task.examples], backend=self.backend,
                                    timeout=self.budget.verifier_timeout())
        except BadInput as e:  # e.g. an example that calls no member of this contract
            found = [f"audit: {e.cause}"]
        else:
            found = [f"audit: {f.kind}: {f.message}" for f in report.findings]
            self.run.event("contract_audit", round=r, report=report.model_dump(mode="json"))
        return found

    def settle_contract(self, written: Path) -> tuple[Path, bool]:
        """`contract<suffix>` in the run folder: the model's contract, or the user's edit of it from an earlier
        invocation (checked again). Returns (path, edited)."""
        target = self.run.contract_path(self.suffix)
        text = written.read_text(encoding="utf-8")
        if target.exists():
            current = target.read_text(encoding="utf-8")
            if current != text:
                problems = self.backend.contract_problems(target, timeout=self.config.timeout)
                if problems:
                    raise BadInput(f"the edited contract {target} is not usable: {problems[0]}",
                                   fix="fix it (the verifier must resolve it) and run --resume again")
                self.run.event("contract_edited", sha256=sha256_text(current))
                return target, True
            return target, False
        self.run.write_text(target.relative_to(self.run.path), text)
        return target, False

    # -- implement / annotate

    def run_samples(self, mode: Mode, gen: GenerateContext, spec: Path | None, program: Path | None) -> None:
        if self.pool is not None:
            self.pool.prewarm()  # the verifier starts while the first answers are awaited
        n = self.config.samples
        jobs = min(self.config.jobs or min(n, 4), n)
        if jobs == 1:
            for k in range(n):
                if self.halted():
                    break
                self.sample(k, mode, gen, spec, program)
            return
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="qed-sample")
        clean = False
        try:
            futures = [pool.submit(self.sample, k, mode, gen, spec, program) for k in range(n)]
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in futures if f in finished and f.exception() is not None), None)
            if failed is not None:  # stop the others at once, report the first failure
                self.abort()
                raise failed.exception()
            clean = True
        except BaseException:  # a signal included: kill running verifiers, start nothing new
            self.abort()
            raise
        finally:
            # after an error or a signal a worker may be inside a model call: do not wait for it
            pool.shutdown(wait=clean, cancel_futures=True)

    def sample(self, k: int, mode: Mode, gen: GenerateContext, spec: Path | None, program: Path | None) -> None:
        phase = "annotate" if mode == Mode.annotate else "implement"
        candidate: str | None = None
        previous: str | None = None  # the last candidate that was verified
        result: FileResult | None = None
        extraction_error: str | None = None
        for r in range(1, self.config.rounds + 1):
            if self.halted():
                return
            with self.lock:
                self.rounds_run += 1
                self.samples_run += r == 1
            if r == 1:
                messages = self.renderer.generate(gen)
            else:
                fb = self.renderer.feedback(result, candidate) if result is not None and candidate is not None else []
                messages = self.renderer.repair(RepairContext(
                    task=self.task, candidate=candidate if extraction_error is None else None, feedback=fb,
                    extraction_error=extraction_error, round=r, language=self.language.name,
                    contract_text=gen.contract_text, program_text=gen.program_text))
            ans = self.ask(messages, sample=k, round_=r, kind="generate" if r == 1 else "repair")
            got = self.extract(ans.completion.text)
            if isinstance(got, ExtractionError):
                self.run.event("extraction", sample=k, round=r, ok=False, kind=got.kind, message=got.message)
                extraction_error = got.message
                self.record(Attempt(sample=k, round=r, phase=phase, outcome="extraction_error", message=got.message,
                                    tokens=ans.tokens, cached=ans.completion.cached))
                continue
            self.run.event("extraction", sample=k, round=r, ok=True, block_index=got.block_index,
                           notes=list(got.notes))
            extraction_error = None
            candidate = got.code
            path = self.run.write_candidate(k, r, candidate, self.suffix)
            self.run.event("candidate", sample=k, round=r, path=str(path.relative_to(self.run.path)),
                           sha256=sha256_text(candidate))
            if self.halted():
                return
            result = self.verify(k, r, path, spec, program, previous, result)
            if result is None:
                return
            previous = candidate
            outcome = result.verdict.value
            message = _short(result)
            if result.scope:
                message = f"{message} [only the changed members: {', '.join(result.scope)}]"
            self.record(Attempt(sample=k, round=r, phase=phase, outcome=outcome, candidate=str(path),
                                message=message, tokens=ans.tokens, cached=ans.completion.cached))
            if outcome == "verified":
                with self.lock:
                    if self.artifact is None:
                        self.artifact = self.run.write_artifact(path, self.suffix)
                        self.final = result
                if not self.config.all_samples:
                    self.done.set()
                return

    def verify(self, k: int, r: int, path: Path, spec: Path | None, program: Path | None, previous: str | None,
               last: FileResult | None) -> FileResult | None:
        """Verify a candidate (None: the run stopped meanwhile). Only a check of the whole file by the batch
        command can give `verified`.

        With warm sessions, the session checks the candidate first: problems it finds are this round's feedback;
        when it finds none (or cannot answer), the batch command decides, and a disagreement is recorded.
        Without, in a repair round whose candidate changed only some members of a program that failed before,
        those members are verified first (a failure there is this round's feedback, found sooner)."""
        request = CheckRequest(file=path, contract=spec, program=program, memory_mb=self.config.memory_mb)
        if self.pool is not None:
            warm = self.warm(request)
            self.run.event("verifier", sample=k, round=r, checked_by="session", session=warm.session,
                           clean=warm.clean, answered=warm.answered, detail=warm.detail, duration_s=warm.duration_s,
                           result=warm.feedback.model_dump(mode="json") if warm.feedback is not None else None)
            if warm.feedback is not None:
                return warm.feedback
            if self.halted():
                return None
        else:
            scope = self.repair_scope(path, previous, last)
            if scope:
                scoped = self.check(replace(request, members=tuple(scope)))
                self.run.event("verifier", sample=k, round=r, checked_by="batch", scope=scope,
                               duration_s=scoped.duration_s, result=scoped.model_dump(mode="json"))
                if scoped.verdict != Verdict.verified or self.halted():
                    return scoped
        result = self.check(request)
        self.run.event("verifier", sample=k, round=r, checked_by="batch", duration_s=result.duration_s,
                       result=result.model_dump(mode="json"))
        if self.pool is not None and warm.answered and result.verdict != Verdict.verified:
            self.run.event("session_disagreement", sample=k, round=r, session=warm.session,
                           session_found="no problem", batch_verdict=result.verdict.value,
                           note="the warm session found no problem, the batch command did; the batch verdict counts")
        return result

    def warm(self, request: CheckRequest):
        """One check through a borrowed warm session (never a verdict)."""
        assert self.pool is not None
        with self.pool.borrow() as session:
            return self.backend.check_warm(replace(request, timeout=self.budget.verifier_timeout()), session)

    def check(self, request: CheckRequest) -> FileResult:
        """One batch verifier run, registered so that an aborted session can kill it."""
        pending = self.backend.begin(replace(request, timeout=self.budget.verifier_timeout()))
        with self.lock:
            self.active[id(pending)] = pending
        try:
            return pending.finish()
        finally:
            with self.lock:
                self.active.pop(id(pending), None)

    def abort(self) -> None:
        """Stop every sample: no new step starts, and running verifier processes (sessions included) are killed."""
        self.done.set()
        with self.lock:
            active = list(self.active.values())
        for pending in active:
            pending.cancel()
        if self.pool is not None:
            self.pool.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def repair_scope(self, path: Path, previous: str | None, last: FileResult | None) -> list[str] | None:
        if previous is None or last is None or last.verdict not in (Verdict.failed, Verdict.timeout):
            return None
        if not (self.backend.supports(Capability.changed_members) and self.backend.supports(Capability.member_scope)):
            return None
        text = path.read_text(encoding="utf-8")
        members = self.backend.changed_members(previous, text)
        if not members:
            return None  # same members as before (the cache answers) or the outline cannot say
        every = self.backend.changed_members("", text) or []  # all members count as new against an empty program
        return members if len(members) < len(every) else None

    # -- the end

    def result(self, status: Status, reason: str, contract: Path | None) -> SynthResult:
        return SynthResult(
            status=status, reason=reason, artifact=str(self.artifact) if self.artifact else None,
            contract=str(contract) if contract else None, attempts=list(self.attempts), samples=self.samples_run,
            rounds=self.rounds_run, tokens=self.budget.tokens, duration_s=time.monotonic() - self.started,
            out_dir=str(self.run.path), scripted_responses=self.scripted, replayed_responses=self.replayed,
            session=self.session_mode)


def _read_or_empty(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _toolchain(backend: Backend, result: FileResult) -> dict | None:
    tc = result.toolchain
    if tc is None:
        try:
            tc = backend.toolchain()
        except Exception:  # noqa: BLE001 - the certificate then says it is unknown
            return None
    return tc.model_dump(mode="json")


def _backend_for(task: Task, backend: Backend | None) -> Backend:
    """The given backend (which must speak the task's language), else the registry's for the task's language."""
    if backend is None:
        from backends import registry

        return registry.create_backend(task.language)
    if backend.language.name != task.language:
        raise BadInput(f"task {task.id} is written in {task.language}, but the backend given is {backend.name}'s",
                       fix=f"pass the {task.language} backend (or none: qed picks it from the registry)")
    return backend


def synthesize(task: Task, provider: Provider, *, config: SynthConfig | None = None, model: str | None = None,
               samples: int = 1, rounds: int = 3, timeout: float = 600.0, out_dir: Path,
               backend: Backend | None = None,
               renderer: PromptRenderer | None = None, task_file: Path | None = None, new_run_dir: bool = True,
               resume: bool = False, accept: Callable[[Path], bool] | None = None,
               on_attempt: Callable[[Attempt], None] | None = None) -> SynthResult:
    """Run the loop (see the module docstring). `out_dir` is the parent of a fresh `<task.id>-<timestamp>/`
    folder (or, with `new_run_dir=False` or `resume=True`, the run folder itself). `config` (or the loose
    `model`/`samples`/`rounds`/`timeout`) says what the run may spend; `accept` decides on a written contract
    (None: not accepted). `backend` defaults to the registry's backend for the task's language (closed at the
    end; a given backend stays open). ProviderError propagates (exit 4)."""
    if config is None:
        if not model:
            raise BadInput("no model given", fix="pass --model NAME")
        if samples < 1 or rounds < 1:
            raise BadInput("samples and rounds must be at least 1", fix="pass --samples >= 1 and --rounds >= 1")
        config = SynthConfig(model=model, samples=samples, rounds=rounds, timeout=timeout)
    mode = Mode(task.mode)
    owned = backend is None
    backend = _backend_for(task, backend)
    if mode == Mode.from_description:
        backend.require(Capability.contract_check, "writing a contract from a description")
    elif mode == Mode.annotate:
        backend.require(Capability.program_check, "annotate mode")
    renderer = renderer or PromptRenderer(language=task.language)
    if resume:
        run = RunDir.open_existing(out_dir)
    elif new_run_dir:
        run = RunDir.create(out_dir, task.id)
    else:
        run = RunDir(out_dir)
    params = {"task": task.id, "task_file": str(Path(task_file).resolve()) if task_file else None,
              "task_sha256": _task_hash(task, task_file), "mode": mode.value, "qed_version": __version__,
              "prompts": str(renderer.root), **config.model_dump(mode="json")}
    try:
        session = _Session(task, provider, config, run, backend, renderer, on_attempt)
    except BaseException:
        run.close()
        raise
    params["session"] = session.session_mode
    try:
        run.write_params(params)  # on resume: the budgets as raised for this invocation
        run.event("resume" if resume else "start", **params)
        spec: Path | None = None
        program: Path | None = None
        contract: Path | None = None
        edited = False
        if mode == Mode.from_description:
            written = session.write_contract()
            if written is None:
                return _finish(session, task, mode, "exhausted", session.stop or "contract", None, task_file,
                               None, False)
            contract, edited = session.settle_contract(written)
            accepted = bool(accept and accept(contract))
            run.event("contract_acceptance", path=str(contract.relative_to(run.path)), accepted=accepted,
                      edited=edited, sha256=sha256_file(contract))
            if not accepted:
                return _finish(session, task, mode, "awaiting_acceptance", "awaiting_acceptance", contract,
                               task_file, None, edited)
            spec = contract
            gen = GenerateContext.for_task(task, contract_text=contract.read_text(encoding="utf-8"))
        else:
            gen = GenerateContext.for_task(task)
            spec = Path(task.spec) if task.spec is not None else None
            program = Path(task.program) if task.program is not None else None
            if program is not None:
                problems = backend.program_problems(program, timeout=config.timeout)
                if problems:
                    raise BadInput(f"the program to annotate ({program}) is not usable: {problems[0]}",
                                   fix="give a program that type-checks and contains no escape from proof")
        session.run_samples(mode, gen, spec, program)
        if session.artifact is not None:
            reason, status = "verified", "verified"
        else:
            reason, status = session.stop or "rounds", "exhausted"
        frozen = spec if spec is not None else program
        return _finish(session, task, mode, status, reason, contract, task_file, frozen, edited)
    except BaseException as e:
        from verifier.signals import Interrupted

        if isinstance(e, Interrupted):
            run.event("interrupted", signal=str(e), message="stopped by a signal; `--resume` continues from here")
            e.resume = f"qed synth --resume {run.path}"
        else:
            run.event("error", error=type(e).__name__, message=str(e))
        raise
    finally:
        session.close()
        if owned:
            backend.close()
        run.close()


def _task_hash(task: Task, task_file: Path | None) -> str:
    return sha256_file(task_file) if task_file is not None else sha256_text(task.model_dump_json())


def _finish(session: _Session, task: Task, mode: Mode, status: Status, reason: str, contract: Path | None,
            task_file: Path | None, frozen: Path | None, edited: bool) -> SynthResult:
    run = session.run
    if session.artifact is not None and frozen is not None:
        final = session.final
        run.write_certificate({
            "task": task.id,
            "task_sha256": _task_hash(task, task_file),
            # implement: the given contract; from description: the accepted contract; annotate: the given program
            "contract_sha256": sha256_file(frozen),
            "contract_origin": {"implement": "given", "annotate": "given program",
                                "from_description": "written by the model, edited and accepted by the user"
                                if edited else "written by the model, accepted by the user"}[mode.value],
            "artifact_sha256": sha256_file(session.artifact),
            "toolchain": _toolchain(session.backend, final),
            "verdict": final.verdict.value,
            "assumptions": [a.model_dump(mode="json") for a in final.assumptions],
            "mode": mode.value,
            "qed_version": __version__,
        })
    out = session.result(status, reason, contract)
    run.event("end", status=status, reason=reason, artifact=out.artifact, attempts=len(out.attempts),
              tokens=out.tokens, duration_s=out.duration_s)
    run.write_report(_report(task, mode, session.config.model, out))
    return out


def _report(task: Task, mode: Mode, model: str, res: SynthResult) -> str:
    lines = [f"# qed synth: `{task.id}`", "",
             f"- mode: {mode.value}", f"- model: {model}", f"- status: **{res.status}** ({res.reason})",
             f"- attempts: {len(res.attempts)} ({res.samples} sample(s), {res.rounds} round(s))",
             f"- tokens: {res.tokens}", f"- duration: {res.duration_s:.1f} s",
             "- checks: " + ("a warm verifier session first, then the batch command for every candidate it found "
                             "no problem in (only the batch command can say verified)" if res.session == "warm"
                             else "the batch command")]
    if res.scripted_responses:
        lines.append(f"- **scripted session**: {res.scripted_responses} answer(s) were written by hand for a demo "
                     "or test, not produced by a model")
    if res.contract:
        lines.append(f"- contract: `{Path(res.contract).name}`")
    if res.artifact:
        lines.append(f"- artifact: `{Path(res.artifact).name}`")
    lines += ["", "| sample | round | phase | outcome | detail |", "|---|---|---|---|---|"]
    for a in sorted(res.attempts, key=lambda a: (a.phase != "contract", a.sample, a.round)):
        detail = (a.message or "").replace("|", "\\|").replace("\n", " ")[:200]
        lines.append(f"| {a.sample} | {a.round} | {a.phase} | {a.outcome} | {detail} |")
    return "\n".join(lines) + "\n"
