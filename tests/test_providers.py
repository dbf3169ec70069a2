"""Providers against a tiny local OpenAI-compatible server (the real `openai` client code path runs)."""

from __future__ import annotations

import socket

import pytest
from fake_openai import FakeServer, err_body, ok_body

from verifier.cache import Store
from verifier.prompting import ChatMessage
from verifier.providers import (
    CachingProvider,
    Completion,
    CompletionRequest,
    OpenAIProvider,
    Provider,
    ProviderError,
    ScriptedProvider,
)


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s
    assert not s.thread.is_alive()


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


class SleepRecorder:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, s: float) -> None:
        self.calls.append(s)


def make_provider(server: FakeServer, **kw) -> tuple[OpenAIProvider, SleepRecorder]:
    sleep = SleepRecorder()
    kw.setdefault("timeout", 5)
    return OpenAIProvider(base_url=server.base_url, api_key="test", sleep=sleep, **kw), sleep


def req(text: str = "Implement SumTo.", **kw) -> CompletionRequest:
    kw.setdefault("model", "test-model")
    return CompletionRequest(
        messages=[ChatMessage(role="system", content="You write Dafny."), {"role": "user", "content": text}], **kw
    )


# --- OpenAIProvider -------------------------------------------------------------------------------


def test_happy_path(server):
    server.queue((200, ok_body("method SumTo() {}")))
    p, sleep = make_provider(server)
    assert isinstance(p, Provider)
    got = p.complete(req(temperature=0.7, max_tokens=256, seed=5))
    assert got.text == "method SumTo() {}"
    assert got.model == "test-model"
    assert got.finish_reason == "stop"
    assert (got.prompt_tokens, got.completion_tokens) == (11, 7)
    assert got.source == "openai" and not got.cached
    body = server.requests[0]
    assert body["model"] == "test-model"
    assert body["temperature"] == 0.7
    assert body["max_tokens"] == 256 and body["seed"] == 5
    assert body["messages"] == [
        {"role": "system", "content": "You write Dafny."},
        {"role": "user", "content": "Implement SumTo."},
    ]
    assert "sample" not in body
    assert sleep.calls == []


def test_500_then_200_is_retried(server):
    server.queue((500, err_body("boom")), (503, err_body("busy")), (200, ok_body("fine")))
    p, sleep = make_provider(server, backoff_s=0.5)
    assert p.complete(req()).text == "fine"
    assert len(server.requests) == 3
    assert sleep.calls == [0.5, 1.0]


def test_rate_limit_exhausts_retries(server):
    server.queue(*[(429, err_body("slow down", "rate_limit_exceeded"))] * 4)
    p, sleep = make_provider(server, max_retries=3)
    with pytest.raises(ProviderError) as ei:
        p.complete(req())
    assert ei.value.exit_code == 4
    msg = str(ei.value)
    assert "rate limit" in msg and "try again later or lower --samples" in msg and "\n" not in msg
    assert len(server.requests) == 4
    assert sleep.calls == [1.0, 2.0, 4.0]


def test_401_is_not_retried(server):
    server.queue((401, err_body("Incorrect API key provided")))
    p, sleep = make_provider(server)
    with pytest.raises(ProviderError) as ei:
        p.complete(req())
    msg = str(ei.value)
    assert "authentication failed" in msg and "OPENAI_API_KEY" in msg and "Incorrect API key" in msg
    assert len(server.requests) == 1 and sleep.calls == []


def test_404_names_the_model(server):
    server.queue((404, err_body("The model `nope` does not exist")))
    p, sleep = make_provider(server)
    with pytest.raises(ProviderError) as ei:
        p.complete(req(model="nope"))
    msg = str(ei.value)
    assert "unknown model 'nope'" in msg and server.base_url in msg and "--model" in msg
    assert len(server.requests) == 1 and sleep.calls == []


def test_400_carries_server_message(server):
    server.queue((400, err_body("max_tokens is too large")))
    p, _ = make_provider(server)
    with pytest.raises(ProviderError, match="max_tokens is too large"):
        p.complete(req())
    assert len(server.requests) == 1


def test_connection_refused_after_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleep = SleepRecorder()
    p = OpenAIProvider(base_url=f"http://127.0.0.1:{port}/v1", api_key="test", timeout=2, max_retries=2, sleep=sleep)
    with pytest.raises(ProviderError) as ei:
        p.complete(req())
    msg = str(ei.value)
    assert "cannot connect" in msg and "try again later" in msg
    assert sleep.calls == [1.0, 2.0]


def test_no_key_and_remote_url_is_an_error():
    with pytest.raises(ProviderError, match="no API key: set OPENAI_API_KEY or pass --api-key"):
        OpenAIProvider(base_url="https://api.example.com/v1")
    with pytest.raises(ProviderError, match="no API key"):
        OpenAIProvider()


def test_no_key_and_local_url_works(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    server.queue((200, ok_body("local")))
    p = OpenAIProvider(sleep=SleepRecorder())
    assert p.complete(req()).text == "local"


def test_env_key_is_used(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    p = OpenAIProvider(base_url="https://api.example.com/v1")
    assert p.client.api_key == "from-env"


# --- CachingProvider ------------------------------------------------------------------------------


def test_cache_serves_repeat_and_separates_samples(server, tmp_path):
    server.queue((200, ok_body("first")), (200, ok_body("second")))
    inner, _ = make_provider(server)
    store = Store(tmp_path)
    cp = CachingProvider(inner, store)

    a = cp.complete(req())
    assert a.text == "first" and not a.cached and a.source == "openai"
    b = cp.complete(req())
    assert b.text == "first" and b.cached and b.source == "openai"
    assert len(server.requests) == 1

    c = cp.complete(req(sample=1))
    assert c.text == "second" and not c.cached
    assert len(server.requests) == 2

    entry = store.get("llm-responses-v1", req().cache_key())
    assert entry["request"] == {"model": "test-model", "sample": 0, "last_message": "Implement SumTo."}


def test_offline_miss_and_hit(tmp_path):
    store = Store(tmp_path)
    CachingProvider(ScriptedProvider(["recorded"]), store).complete(req())

    offline = CachingProvider(None, store, offline=True)
    hit = offline.complete(req())
    # provenance survives the cache: a scripted answer is never replayed as a model's
    assert hit.text == "recorded" and hit.cached and hit.source == "scripted"

    with pytest.raises(ProviderError) as ei:
        offline.complete(req(sample=3))
    assert ei.value.exit_code == 4
    assert str(ei.value) == (
        "offline: no recorded response for this prompt (model test-model, sample 3); "
        "run without --offline to record it"
    )
    inner = ScriptedProvider(["never"])
    with pytest.raises(ProviderError, match="offline"):
        CachingProvider(inner, store, offline=True).complete(req("other prompt"))
    assert inner.requests == []


def test_cache_key_covers_request():
    base = req()
    assert base.cache_key() == req().cache_key()
    assert base.cache_key() != req(sample=1).cache_key()
    assert base.cache_key() != req(model="other").cache_key()
    assert base.cache_key() != req(temperature=0.3).cache_key()
    assert base.cache_key() != req(seed=1).cache_key()
    assert base.cache_key() != req("Implement SumTo!").cache_key()


# --- ScriptedProvider -----------------------------------------------------------------------------


def test_scripted_order_errors_and_exhaustion():
    boom = ProviderError("scripted failure")
    sp = ScriptedProvider(["one", boom, "two"])
    assert sp.complete(req("a")) == Completion(text="one", model="test-model", finish_reason="stop", source="scripted")
    with pytest.raises(ProviderError, match="scripted failure"):
        sp.complete(req("b"))
    assert sp.complete(req("c")).text == "two"
    with pytest.raises(ProviderError, match="ran out"):
        sp.complete(req("d"))
    assert [r.messages[-1].content for r in sp.requests] == ["a", "b", "c", "d"]
