"""Model providers: one request type, one answer type, and three ways to get an answer.

* `OpenAIProvider` calls any OpenAI-compatible Chat Completions endpoint (non-streaming) with its own retry
  loop: exponential backoff on transient failures (connection, timeout, rate limit, server 5xx), no retry on
  authentication, unknown model or bad request. Every failure is a one-line `ProviderError` (exit code 4).
* `CachingProvider` wraps another provider with a content-addressed response cache in the project's one
  `Store` (namespace `llm-responses-v1`). The cache doubles as a replay cassette: with `offline=True` a miss
  is an error instead of a call, so a recorded run replays exactly with no model reachable. A hit keeps the
  answer's original `source` and says `cached=True`.
* `CassetteProvider` answers from a cassette file (JSON, portable, e.g. shipped with a demo or attached to a
  bug report) and appends new answers to it; offline, a miss is an error.
* `ReplayingProvider` answers from the responses a run already recorded in its transcript (`qed synth
  --resume`), so finished model calls are never paid twice.
* `ScriptedProvider` returns canned answers in order (or per sample); for tests and demos only (its answers say
  `source="scripted"`, never pretend to be a model's).

The cache key (`CompletionRequest.cache_key`) covers the model, the messages, the sampling parameters and
`sample` (which independent sample this is), so K samples of the same prompt are K distinct cached answers.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, field_validator

from verifier.cache import Store, digest
from verifier.errors import BadInput, ProviderError
from verifier.prompting import ChatMessage

__all__ = [
    "CACHE_NAMESPACE", "CachingProvider", "CassetteProvider", "Completion", "CompletionRequest", "OpenAIProvider",
    "Provider", "ProviderError", "ReplayingProvider", "ScriptedProvider",
]

#: Store namespace of recorded responses; bump the suffix if the stored shape changes.
CACHE_NAMESPACE = "llm-responses-v1"

_KEY_VERSION = "qedgen-completion-request-v1"


def _one_line(text: str, limit: int = 300) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


# --- request / answer -----------------------------------------------------------------------------


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    messages: tuple[ChatMessage, ...]
    temperature: float = 0.2
    max_tokens: int | None = None
    seed: int | None = None
    n: Literal[1] = 1
    #: Which independent sample this is (0, 1, ...): part of the cache key, never sent to the server.
    sample: int = 0

    @field_validator("messages", mode="before")
    @classmethod
    def _coerce_messages(cls, v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return tuple(m if isinstance(m, ChatMessage) else ChatMessage.model_validate(m) for m in v)
        return v

    def params(self) -> dict[str, Any]:
        """Sampling parameters as sent to the server (None values left out)."""
        p: dict[str, Any] = {"temperature": self.temperature, "n": self.n}
        if self.max_tokens is not None:
            p["max_tokens"] = self.max_tokens
        if self.seed is not None:
            p["seed"] = self.seed
        return p

    def canonical_json(self) -> str:
        doc = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
            "params": {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed,
                       "n": self.n},
            "sample": self.sample,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def cache_key(self) -> str:
        return digest(_KEY_VERSION, self.canonical_json())

    def summary(self) -> dict[str, Any]:
        last = self.messages[-1].content if self.messages else ""
        return {"model": self.model, "sample": self.sample, "last_message": last[:200]}


class Completion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    model: str
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached: bool = False
    # Where the text came from, kept through the cache: a replayed scripted answer stays "scripted".
    source: Literal["openai", "scripted"]


@runtime_checkable
class Provider(Protocol):
    def complete(self, req: CompletionRequest) -> Completion: ...


# --- OpenAI-compatible endpoint -------------------------------------------------------------------


def _is_local(base_url: str | None) -> bool:
    if not base_url:
        return False
    host = (urlparse(base_url).hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")


def _server_message(err: Any) -> str:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return _one_line(inner["message"])
        if isinstance(inner, str):
            return _one_line(inner)
        if body.get("message"):
            return _one_line(body["message"])
    return _one_line(getattr(err, "message", None) or str(err))


class OpenAIProvider:
    """Chat Completions over the `openai` SDK, with our own retries (the SDK's are turned off)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        import openai

        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        api_key = api_key or os.environ.get("OPENAI_API_KEY") or None
        if not api_key:
            if _is_local(base_url):
                api_key = "not-needed"
            else:
                raise ProviderError("no API key: set OPENAI_API_KEY or pass --api-key")
        self._openai = openai
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        self.base_url = str(self.client.base_url).rstrip("/")
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.sleep = sleep

    def _transient(self, err: Exception) -> str | None:
        """A short name of the cause when `err` is worth retrying, else None."""
        o = self._openai
        if isinstance(err, o.APITimeoutError):  # subclass of APIConnectionError: test it first
            return "request timed out"
        if isinstance(err, o.APIConnectionError):
            return f"cannot connect to {self.base_url}"
        if isinstance(err, o.RateLimitError):
            return "rate limit (HTTP 429)"
        if isinstance(err, o.APIStatusError) and err.status_code >= 500:
            return f"server error (HTTP {err.status_code}): {_server_message(err)}"
        return None

    def _permanent(self, err: Exception, req: CompletionRequest) -> ProviderError | None:
        o = self._openai
        if isinstance(err, (o.AuthenticationError, o.PermissionDeniedError)):
            return ProviderError(
                f"authentication failed at {self.base_url}: {_server_message(err)}; check OPENAI_API_KEY or --api-key"
            )
        if isinstance(err, o.NotFoundError):
            return ProviderError(
                f"unknown model '{req.model}' at {self.base_url} ({_server_message(err)}); check --model"
            )
        if isinstance(err, o.APIStatusError):
            return ProviderError(f"request rejected (HTTP {err.status_code}): {_server_message(err)}")
        return None

    def complete(self, req: CompletionRequest) -> Completion:
        o = self._openai
        messages = [{"role": m.role, "content": m.content} for m in req.messages]
        attempt = 0
        while True:
            try:
                resp = self.client.chat.completions.create(model=req.model, messages=messages, **req.params())
            except o.OpenAIError as err:
                cause = self._transient(err)
                if cause is None:
                    raise (self._permanent(err, req)
                           or ProviderError(f"model request failed: {_one_line(str(err))}")) from err
                if attempt >= self.max_retries:
                    raise ProviderError(
                        f"{cause} after {attempt + 1} attempts; try again later or lower --samples"
                    ) from err
                self.sleep(self.backoff_s * (2 ** attempt))
                attempt += 1
                continue
            return self._to_completion(resp, req)

    @staticmethod
    def _to_completion(resp: Any, req: CompletionRequest) -> Completion:
        if not getattr(resp, "choices", None):
            raise ProviderError(f"the server returned no choices for model '{req.model}'")
        choice = resp.choices[0]
        usage = getattr(resp, "usage", None)
        return Completion(
            text=(choice.message.content or "") if choice.message is not None else "",
            model=getattr(resp, "model", None) or req.model,
            finish_reason=choice.finish_reason,
            prompt_tokens=getattr(usage, "prompt_tokens", None) if usage else None,
            completion_tokens=getattr(usage, "completion_tokens", None) if usage else None,
            source="openai",
        )


# --- cache / cassette -----------------------------------------------------------------------------


class CachingProvider:
    """Serves recorded answers from `store`; records new ones from `inner` (unless offline)."""

    def __init__(self, inner: Provider | None, store: Store, offline: bool = False,
                 namespace: str = CACHE_NAMESPACE):
        self.inner = inner
        self.store = store
        self.offline = offline or inner is None
        self.namespace = namespace

    def complete(self, req: CompletionRequest) -> Completion:
        key = req.cache_key()
        entry = self.store.get(self.namespace, key)
        if isinstance(entry, dict) and isinstance(entry.get("completion"), dict):
            try:
                hit = Completion.model_validate(entry["completion"])
            except ValueError:
                hit = None
            if hit is not None:
                return hit.model_copy(update={"cached": True})
        if self.offline:
            raise ProviderError(
                f"offline: no recorded response for this prompt (model {req.model}, sample {req.sample}); "
                "run without --offline to record it"
            )
        assert self.inner is not None
        got = self.inner.complete(req)
        self.store.put(self.namespace, key, {
            "request": req.summary(),
            "completion": got.model_dump(mode="json"),
            "recorded_at": time.time(),
        })
        return got


# --- scripted (tests and demos) -------------------------------------------------------------------


class ScriptedProvider:
    """Returns `responses` in order (exceptions in the list are raised); records every request.

    `responses` may also map a sample number to that sample's answers, so concurrent samples get theirs
    whatever order they ask in."""

    def __init__(self, responses: Sequence[str | Exception] | Mapping[int, Sequence[str | Exception]],
                 model: str | None = None, usage: tuple[int, int] | None = None):
        if isinstance(responses, Mapping):
            self.queues = {k: list(v) for k, v in responses.items()}
        else:
            self.queues = {None: list(responses)}
        self.model = model
        self.usage = usage  # (prompt, completion) tokens to report per answer; None reports no usage
        self.requests: list[CompletionRequest] = []
        self._lock = threading.Lock()

    def complete(self, req: CompletionRequest) -> Completion:
        with self._lock:
            self.requests.append(req)
            queue = self.queues.get(None if None in self.queues else req.sample)
            if not queue:
                raise ProviderError(
                    f"scripted provider ran out of responses (request {len(self.requests)}, model {req.model}, "
                    f"sample {req.sample})"
                )
            item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        prompt, completion = self.usage or (None, None)
        return Completion(text=item, model=self.model or req.model, finish_reason="stop", source="scripted",
                          prompt_tokens=prompt, completion_tokens=completion)


# --- resume / cassette files ----------------------------------------------------------------------


class ReplayingProvider:
    """Answers from `recorded` (cache key -> completion, e.g. read back from a run's transcript), else asks
    `inner`. Replayed answers say `cached=True` and keep their `source`."""

    def __init__(self, recorded: Mapping[str, Completion], inner: Provider):
        self.recorded = dict(recorded)
        self.inner = inner
        self.replayed = 0

    def complete(self, req: CompletionRequest) -> Completion:
        hit = self.recorded.get(req.cache_key())
        if hit is not None:
            self.replayed += 1
            return hit.model_copy(update={"cached": True})
        return self.inner.complete(req)


CASSETTE_FORMAT = "qedgen-cassette"


class CassetteProvider:
    """A portable file of recorded answers, keyed like the cache (`CompletionRequest.cache_key`).

    Hits are answered from the file. A miss goes to `inner` and the answer is appended to the file (written
    atomically); with `offline=True` (or no `inner`) a miss is a `ProviderError`. File shape:
    `{"format": "qedgen-cassette", "version": 1, "note": ..., "entries": {key: {"request", "completion"}}}`.
    """

    def __init__(self, path: Path, inner: Provider | None = None, offline: bool = False, note: str | None = None):
        self.path = Path(path)
        self.inner = inner
        self.offline = offline or inner is None
        self._lock = threading.Lock()
        self.doc = self._load(note)

    def _load(self, note: str | None) -> dict[str, Any]:
        if not self.path.exists():
            if self.offline:
                raise BadInput(f"cassette {self.path} does not exist",
                               fix="check the path, or drop --offline to record a new cassette there")
            return {"format": CASSETTE_FORMAT, "version": 1, "note": note, "entries": {}}
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise BadInput(f"cassette {self.path} is not readable JSON ({e})",
                           fix="restore the file or record a new cassette") from None
        if not isinstance(doc, dict) or doc.get("format") != CASSETTE_FORMAT or not isinstance(
                doc.get("entries"), dict):
            raise BadInput(f"{self.path} is not a qedgen cassette (no `format: {CASSETTE_FORMAT}` / `entries`)",
                           fix="pass a file written by `qed synth --cassette`")
        return doc

    @property
    def note(self) -> str | None:
        return self.doc.get("note")

    def complete(self, req: CompletionRequest) -> Completion:
        key = req.cache_key()
        entry = self.doc["entries"].get(key)
        if isinstance(entry, dict):
            try:
                return Completion.model_validate(entry["completion"]).model_copy(update={"cached": True})
            except (KeyError, ValueError):
                pass
        if self.offline:
            raise ProviderError(
                f"offline: cassette {self.path} has no response for this prompt (model {req.model}, sample "
                f"{req.sample}; the prompts or the verifier's feedback changed since it was recorded); "
                "run without --offline to record it"
            )
        assert self.inner is not None
        got = self.inner.complete(req)
        with self._lock:
            self.doc["entries"][key] = {"request": req.summary(),
                                        "completion": got.model_dump(mode="json", exclude={"cached"})}
            self._save()
        return got

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.doc, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, self.path)
