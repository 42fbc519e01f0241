"""Fixtures for the inference queue tests: services that are always stopped, metric readers."""

import asyncio
import itertools

import pytest
from prometheus_client import REGISTRY

from ai.inference import InferenceService

_ids = itertools.count()


@pytest.fixture
def name():
    """A model name no other test uses, so per-model metrics start from zero."""
    return lambda prefix="m": f"{prefix}{next(_ids)}"


@pytest.fixture
def metric():
    """Read one sample of the default Prometheus registry (0.0 when absent)."""
    return lambda sample, **labels: REGISTRY.get_sample_value(sample, {k: str(v) for k, v in labels.items()}) or 0.0


@pytest.fixture
async def make_service():
    """Start an InferenceService; every one started is stopped at teardown."""
    services = []

    async def make(*specs, max_queue=256):
        svc = InferenceService(list(specs), max_queue=max_queue)
        services.append(svc)
        await svc.start()
        return svc

    yield make
    for svc in services:
        await asyncio.wait_for(svc.stop(), timeout=30)


async def wait_until(predicate, timeout=5.0):
    """Poll until predicate() is true (a test helper, not a timed assertion)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.002)


@pytest.fixture
def until():
    return wait_until
