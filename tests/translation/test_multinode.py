"""Two world nodes (in this process) sharing Redis and PostgreSQL: the node a line is said on
translates it for readers on every node, each in their own language, and learns of a reader's new
language when it changes on the other node."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from ai.translation import NoBackend
from tests.conftest import call, world_fleet
from tests.translation.conftest import FakeBackend, fresh_room, person, quiet, say

pytestmark = pytest.mark.multinode


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fleet(db_url, tmp_path_factory, redis_url):
    async with world_fleet(db_url, tmp_path_factory, redis_url, chat_rate="50/second") as nodes:
        backends = [FakeBackend(), FakeBackend()]
        for node, backend in zip(nodes, backends):
            node.ctx.translation.use_backend(backend)
        yield nodes, backends
        for node in nodes:
            node.ctx.translation.use_backend(NoBackend())


async def test_translations_reach_readers_on_both_nodes(fleet):
    (a, b), (fa, fb) = fleet
    room = await fresh_room(a)
    await b.ctx.rooms.catalogue.refresh_rooms()
    sender = await person(a, room, "en")
    es_b = await person(b, room, "es")
    de_a = await person(a, room, "de")
    es_a = await person(a, room, "es")
    mid = (await say(sender, "The ferry leaves from the north pier at dusk"))["message_id"]
    for reader, lang in ((es_b, "es"), (de_a, "de"), (es_a, "es")):
        got = await reader.inbox.wait_for("chat:translation", lambda d: d["id"] == mid)
        assert got["lang"] == lang and got["text"] == f"<{lang}> The ferry leaves from the north pier at dusk"
    assert sorted(c[3] for c in fa.calls) == ["de", "es"] and fb.calls == []  # once per language, on a

    # A whisper from node b to a reader on node a: translated by b, delivered on a.
    wid = (await say(es_b, "¿Vienes al mercado conmigo mañana?", to=de_a.id))["message_id"]
    got = await de_a.inbox.wait_for("chat:translation", lambda d: d["id"] == wid)
    assert got == {"id": wid, "lang": "de", "text": "<de> ¿Vienes al mercado conmigo mañana?"}
    await quiet(es_a, a, b)  # b translated the whisper; a is es_a's node

    # The reader on b switches to French; node a hears of it and translates into French next time.
    assert (await call(es_b.client, "profile:update", {"language": "fr"}))["ok"]
    for _ in range(100):
        if a.ctx.translation.book._langs.get(es_b.id, ("fr",))[0] == "fr":
            break
        await asyncio.sleep(0.02)
    mid = (await say(sender, "The ferry is late tonight"))["message_id"]
    got = await es_b.inbox.wait_for("chat:translation", lambda d: d["id"] == mid)
    assert got["lang"] == "fr"
