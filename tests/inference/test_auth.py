"""A service started with TOWNSQUARE_INFERENCE_TOKEN answers only requests that carry the token,
on every route; the client sends it, and a node without it sees the service as unavailable and why."""

from __future__ import annotations

import aiohttp
import pytest
from openai import AsyncOpenAI

from ai.inference import ModelSpec, ModelUnavailable
from ai.inference.client import InferenceClient
from tests.inference.conftest import ServiceProcess

TOKEN = "fleet-secret-7f3a"


@pytest.fixture(scope="module")
def guarded(tiny_dirs, tmp_path_factory):
    svc = ServiceProcess([ModelSpec("toxicity", "classify", str(tiny_dirs["bert"]), device="cpu")],
                         tmp_path_factory.mktemp("guarded"), env={"TOWNSQUARE_INFERENCE_TOKEN": TOKEN})
    svc.start()
    yield svc
    svc.stop()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
async def test_requests_without_the_token_are_refused_on_every_route(guarded, headers):
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(f"{guarded.url}/v1/classify", json={"model": "toxicity", "input": ["hi"]}) as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "unauthorized"
            assert r.headers["WWW-Authenticate"] == "Bearer"
        for route in ("/healthz", "/metrics", "/v1/models"):
            async with http.get(f"{guarded.url}{route}") as r:
                assert r.status == 401, route


async def test_the_client_and_openai_clients_with_the_token_are_served(guarded):
    async with InferenceClient(guarded.url, token=TOKEN) as client:
        assert client.available("toxicity")
        scores = await client.classify("toxicity", ["hello there"])
        assert scores[0].keys() == {"ok", "toxic", "spam"}
    openai = AsyncOpenAI(base_url=f"{guarded.url}/v1", api_key=TOKEN)
    assert [m.id for m in (await openai.models.list()).data] == ["toxicity"]
    await openai.close()


async def test_a_node_without_the_token_sees_the_service_unavailable_and_why(guarded):
    async with InferenceClient(guarded.url) as client:
        assert not client.available("toxicity")
        with pytest.raises(ModelUnavailable, match="wants a token"):
            await client.classify("toxicity", ["hello there"])


async def test_townsquare_inference_serve_takes_the_token_from_the_settings_file(tiny_dirs, tmp_path):
    """`townsquare inference serve` reads `inference_token` from townsquare.toml like every node does."""
    config = tmp_path / "townsquare.toml"
    config.write_text(f'inference_token = "{TOKEN}"\n[models]\nembed = ""\ntoxicity = "{tiny_dirs["bert"]}"\n')
    svc = ServiceProcess([], tmp_path, env={"TOWNSQUARE_CONFIG": str(config)},
                         argv=["-m", "server.cli", "inference", "serve"])
    svc.start()
    try:
        async with InferenceClient(svc.url) as client:
            assert not client.available("toxicity")
        async with InferenceClient(svc.url, token=TOKEN) as client:
            assert (await client.classify("toxicity", ["hello there"]))[0].keys() == {"ok", "toxic", "spam"}
    finally:
        svc.stop()
