"""The OpenAI-compatible backend against real HTTP servers.

A real `transformers serve` (the dev extra installs its FastAPI and uvicorn) runs the tiny Llama
for the end-to-end check. The concurrency, priority, deadline and error tests use a small aiohttp
implementation of POST /v1/chat/completions over the same model, which can be made slow or fail
on demand and counts what is in flight.
"""

import asyncio
import socket
import threading
import time

import pytest
from aiohttp import web

from ai.inference import DeadlineExceeded, InferenceError, ModelSpec, Priority

API_KEY = "sk-townsquare-test"


def chat(text):
    return [{"role": "user", "content": text}]


class TinyChatServer:
    """OpenAI-style chat completions backed by transformers' generate (greedy or sampled)."""

    def __init__(self, model_dir):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
        self.lock = threading.Lock()
        self.delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.seen: list[str] = []

    def reset(self, delay=0.0):
        self.delay, self.in_flight, self.max_in_flight, self.seen = delay, 0, 0, []

    def _generate(self, body):
        import torch

        prompt = self.tokenizer.apply_chat_template(body["messages"], tokenize=False, add_generation_prompt=True)
        enc = self.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
        temperature = float(body.get("temperature") or 0.0)
        with self.lock, torch.no_grad():
            out = self.model.generate(
                **enc, max_new_tokens=int(body.get("max_tokens") or 16), do_sample=temperature > 0,
                **({"temperature": temperature} if temperature > 0 else {}),
            )
        new = out[0, enc["input_ids"].shape[1]:].tolist()
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        finish = "length"
        for stop in body.get("stop") or []:
            if stop in text:
                text, finish = text[: text.index(stop)], "stop"
        return text, len(new), finish, enc["input_ids"].shape[1]

    async def chat_completions(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"error": {"message": "bad api key"}}, status=401)
        body = await request.json()
        content = body["messages"][-1]["content"]
        self.seen.append(content)
        if content == "please fail":
            return web.json_response({"error": {"message": "model exploded"}}, status=500)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            text, n, finish, prompt_tokens = await asyncio.to_thread(self._generate, body)
        finally:
            self.in_flight -= 1
        return web.json_response({
            "id": f"chatcmpl-{len(self.seen)}", "object": "chat.completion", "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n},
        })


@pytest.fixture(scope="module")
async def chat_server(tiny_llama_dir):
    server = TinyChatServer(tiny_llama_dir)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.chat_completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield server, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def remote_spec(model, base_url, **kwargs):
    return ModelSpec(model, "generate", "tiny-llama", backend="openai", base_url=base_url, api_key=API_KEY, **kwargs)


async def test_remote_generation_matches_local(chat_server, make_service, tiny_llama_dir, name):
    server, url = chat_server
    server.reset()
    remote, local = name("npc-remote"), name("npc-local")
    svc = await make_service(remote_spec(remote, url), ModelSpec(local, "generate", str(tiny_llama_dir)))
    status = {s["name"]: s for s in svc.status()}
    assert status[remote]["state"] == "remote" and status[remote]["device"] == url and svc.available(remote)
    messages = [{"role": "system", "content": "you are the baker"}, {"role": "user", "content": "any bread today ?"}]
    got = await svc.generate(remote, messages, max_new_tokens=10, priority=Priority.NPC_REPLY, deadline=30)
    want = await svc.generate(local, messages, max_new_tokens=10)
    assert got == want and got.tokens == 10 and got.finish_reason == "length"
    stop_word = want.text.split()[1]
    stopped = await svc.generate(remote, messages, max_new_tokens=10, stop=[stop_word])
    assert stopped.finish_reason == "stop" and want.text.startswith(stopped.text)


async def test_remote_concurrency_bound_and_priorities(chat_server, make_service, name):
    server, url = chat_server
    model = name("npc-remote")
    svc = await make_service(remote_spec(model, url, max_concurrency=2))
    server.reset(delay=0.05)
    results = await asyncio.gather(*[svc.generate(model, chat(f"hi {i}"), max_new_tokens=3) for i in range(6)])
    assert all(r.tokens == 3 for r in results)
    assert server.max_in_flight == 2

    one = name("npc-remote")
    svc = await make_service(remote_spec(one, url, max_concurrency=1))
    server.reset(delay=0.2)
    first = asyncio.create_task(svc.generate(one, chat("first"), max_new_tokens=2))
    await asyncio.sleep(0.05)  # the only slot is taken; the rest wait in the queue
    waiting = []
    for text, prio in (("background", Priority.BACKGROUND), ("reply", Priority.NPC_REPLY),
                       ("moderation", Priority.MODERATION)):
        waiting.append(asyncio.create_task(svc.generate(one, chat(text), max_new_tokens=2, priority=prio)))
        await asyncio.sleep(0)
    assert svc.queue_depth()[Priority.BACKGROUND] == 1
    server.delay = 0.0
    await asyncio.gather(first, *waiting)
    assert server.seen == ["first", "moderation", "reply", "background"]


async def test_remote_deadlines_and_errors(chat_server, make_service, name):
    server, url = chat_server
    model, bad_key, nowhere, wrong_task = name("r"), name("r"), name("r"), name("r")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    svc = await make_service(
        remote_spec(model, url, max_concurrency=1),
        ModelSpec(bad_key, "generate", "tiny", backend="openai", base_url=url + "/v1", api_key="wrong"),
        remote_spec(nowhere, f"http://127.0.0.1:{closed_port}"),
        ModelSpec(wrong_task, "embed", "tiny", backend="openai", base_url=url),
    )
    server.reset(delay=0.5)
    with pytest.raises(DeadlineExceeded):  # in flight at its deadline
        await svc.generate(model, chat("slow"), max_new_tokens=2, deadline=0.1)
    server.reset()
    with pytest.raises(InferenceError, match="HTTP 500"):
        await svc.generate(model, chat("please fail"))
    with pytest.raises(InferenceError, match="HTTP 401"):
        await svc.generate(bad_key, chat("hi"))
    with pytest.raises(InferenceError, match="cannot reach"):
        await svc.generate(nowhere, chat("hi"))
    assert {s["name"]: s["state"] for s in svc.status()}[wrong_task] == "error"
    assert (await svc.generate(model, chat("still fine"), max_new_tokens=2)).tokens == 2


@pytest.fixture(scope="module")
def transformers_serve(tiny_llama_dir, tmp_path_factory):
    """A real `transformers serve` (FastAPI + uvicorn) with the tiny Llama preloaded."""
    import os
    import shutil
    import subprocess
    import sys
    import urllib.request

    exe = shutil.which("transformers", path=os.path.dirname(sys.executable)) or shutil.which("transformers")
    assert exe, "the dev extra installs transformers[serving]"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path_factory.mktemp("serve") / "serve.log", "wb")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen([exe, "serve", str(tiny_llama_dir), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"transformers serve exited: {open(log.name).read()[-2000:]}"
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, f"transformers serve did not start: {open(log.name).read()[-2000:]}"
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


async def test_real_transformers_serve_generates_what_the_local_engine_does(transformers_serve, make_service,
                                                                            tiny_llama_dir, name):
    remote, local = name("serve"), name("local")
    svc = await make_service(
        ModelSpec(remote, "generate", str(tiny_llama_dir), backend="openai", base_url=transformers_serve,
                  max_concurrency=2),
        ModelSpec(local, "generate", str(tiny_llama_dir)))
    messages = [{"role": "system", "content": "you are the baker"}, {"role": "user", "content": "any bread today ?"}]
    want = await svc.generate(local, messages, max_new_tokens=8)
    got = await svc.generate(remote, messages, max_new_tokens=8, priority=Priority.NPC_REPLY, deadline=60)
    assert got.text == want.text and got.tokens == 8  # greedy: the same words from the same weights
    many = await asyncio.gather(*[svc.generate(remote, chat(f"hello {i}"), max_new_tokens=4) for i in range(4)])
    assert all(r.tokens == 4 for r in many)
