"""Several inference services behind one client (one per GPU): calls spread by load, and a service
that cannot be reached is skipped (marked down with its reason) while the others answer."""

from __future__ import annotations

import asyncio

import pytest

from ai.inference import ModelSpec
from ai.inference.client import InferenceClient
from tests.conftest import free_port
from tests.inference.conftest import ServiceProcess


@pytest.fixture(scope="module")
def two(tiny_dirs, tmp_path_factory):
    spec = [ModelSpec("toxicity", "classify", str(tiny_dirs["bert"]), device="cpu", max_wait_ms=5)]
    services = [ServiceProcess(spec, tmp_path_factory.mktemp(f"svc{i}")) for i in range(2)]
    for s in services:
        s.start()
    yield services
    for s in services:
        s.stop()


async def test_calls_spread_over_services_and_a_dead_one_is_skipped(two):
    dead = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    label = dict(model="toxicity", outcome="ok")
    before = [await s.metric("townsquare_inference_requests_total", **label) for s in two]
    async with InferenceClient([dead, *(s.url for s in two)]) as client:
        assert client.available("toxicity")
        assert not client.endpoints[0].up and "Connect" in client.endpoints[0].error
        results = await asyncio.gather(*(client.classify("toxicity", [f"line {i}"]) for i in range(40)))
    assert len(results) == 40 and all(r[0].keys() == {"ok", "toxic", "spam"} for r in results)
    served = [await s.metric("townsquare_inference_requests_total", **label) - b for s, b in zip(two, before)]
    assert sum(served) == 40 and min(served) >= 1, served  # both took a share of the burst
