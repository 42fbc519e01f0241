"""Two world nodes (in this process) sharing Redis and PostgreSQL: a moderator on one node reaches
a person on the other: notices, a mute, rules, and a kick that drops the connection there."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from tests.conftest import Inbox, call, world_fleet
from tests.moderation.conftest import rest, staff, uid

pytestmark = pytest.mark.multinode


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fleet(db_url, tmp_path_factory, redis_url):
    async with world_fleet(db_url, tmp_path_factory, redis_url) as nodes:
        yield nodes


async def test_moderation_reaches_a_person_on_another_node(fleet):
    a_node, b_node = fleet
    mod = await staff(a_node)
    account = await a_node.register()
    client = await b_node.connect(account["token"])  # on node b
    inbox = Inbox(client, "moderation:notice", "kicked", "chat:message")
    assert (await call(client, "room:join", {"room": "plaza"}))["ok"]

    async def act(**body):
        status, reply = await rest(a_node, "POST", "/api/admin/moderation/act", mod["token"],
                                   json={"user_id": uid(account), **body})
        assert status == 200, reply
        return reply

    await act(action="mute", minutes=5, reason="cool off")  # through node a
    n = await inbox.wait_for("moderation:notice", lambda d: d["action"] == "mute")
    assert n["reason"] == "cool off"
    assert (await call(client, "chat:send", {"text": "hi"}))["error"]["code"] == "muted"  # node b knows
    await act(action="lift", kind="mute", reason="ok")
    assert (await call(client, "chat:send", {"text": "hi"}))["ok"]

    # Rules saved on node a apply on node b at once.
    admin = await staff(a_node, "admin")
    status, body = await rest(a_node, "GET", "/api/admin/moderation/rules", admin["token"])
    original = body["rules"]
    try:
        status, _ = await rest(a_node, "PUT", "/api/admin/moderation/rules", admin["token"],
                               json={"rules": {**original, "block_words": ["quuxword"]}})
        assert status == 200
        for _ in range(50):
            if "quuxword" in b_node.ctx.moderation.rules.world.block_words:
                break
            await asyncio.sleep(0.05)
        assert (await call(client, "chat:send", {"text": "quuxword"}))["action"] == "block"
    finally:
        await rest(a_node, "PUT", "/api/admin/moderation/rules", admin["token"], json={"rules": original})

    await act(action="kick", reason="take a walk")
    assert (await inbox.wait_for("kicked")) == {"reason": "take a walk"}
    # The client sees the socket close first; node b forgets the connection once its disconnect
    # handler has saved the avatar, a moment later.
    for _ in range(100):
        if not client.connected and not b_node.ctx.hub.connections_of(uid(account)):
            break
        await asyncio.sleep(0.05)
    assert not client.connected and not b_node.ctx.hub.connections_of(uid(account))
