"""The world starts the shared inference service from its settings; missing models degrade."""

import subprocess
import sys

import aiohttp
import pytest
import pytest_asyncio

from ai.inference import ModelUnavailable, Priority
from server.config import ModelsConfig
from tests.conftest import make_settings, start_world


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world_missing_models(db_url, tmp_path_factory):
    models = ModelsConfig(translation="/nonexistent/opus-mt-en-es", npc="no-such-org/no-such-model")
    server = await start_world(make_settings(tmp_path_factory.mktemp("w"), models=models), db_url)
    yield server
    await server.runner.cleanup()


async def test_embedder_is_loaded_and_answers(world_missing_models):
    inf = world_missing_models.ctx.inference
    assert inf.available("embed")
    a, b, c = await inf.embed("embed", ["where is the market?", "how do I get to the market", "I like turtles"],
                              priority=Priority.BACKGROUND, deadline=30)
    assert len(a) == 384
    def sim(x, y):
        return sum(i * j for i, j in zip(x, y))
    assert sim(a, b) > sim(a, c)


async def test_missing_models_are_reported_not_fatal(world_missing_models):
    inf = world_missing_models.ctx.inference
    states = {s["name"]: s for s in inf.status()}
    assert states["translate"]["state"] == "missing" and states["npc"]["state"] == "missing"
    assert "nonexistent" in states["translate"]["reason"] or "not" in states["translate"]["reason"]
    with pytest.raises(ModelUnavailable):
        await inf.generate("npc", [{"role": "user", "content": "hi"}], priority=Priority.NPC_REPLY, deadline=5)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world_missing_models.url}/healthz") as r:
            assert r.status == 200


async def test_queue_depth_is_a_live_figure_and_metric(world_missing_models):
    ctx = world_missing_models.ctx
    assert set(ctx.live_figures["inference_queue"]()) == {0, 1, 2, 3}
    assert ctx.live_figures["models"]()["embed"] == "loaded"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world_missing_models.url}/metrics") as r:
            text = await r.text()
    assert "townsquare_inference_" in text


def test_models_list_command(tmp_path):
    out = subprocess.run([sys.executable, "-m", "server.cli", "models", "list"], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "TOWNSQUARE_DATA_DIR": str(tmp_path),
                              "TOWNSQUARE_MODELS__NPC": "no-such-org/no-such-model", "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    lines = {ln.split()[0]: ln for ln in out.stdout.splitlines()}
    assert "found" in lines["embed"]
    assert "missing" in lines["npc"] and "models pull" in lines["npc"]
