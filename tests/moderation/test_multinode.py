"""Two world nodes (in this process) sharing Redis and PostgreSQL: a moderator on one node reaches
a person on the other: notices, a mute, rules, and a kick that drops the connection there."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
import pytest_asyncio

from tests.conftest import Inbox, call, make_settings, start_world
from tests.moderation.conftest import rest, staff, uid

pytestmark = pytest.mark.multinode

REDIS_URL = os.environ.get("TOWNSQUARE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fleet(db_url, tmp_path_factory):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as e:
        pytest.skip(f"no Redis at {REDIS_URL}: {e}")
    prefix = f"tsmod-{uuid.uuid4().hex[:8]}:"
    nodes = []
    for name in ("a", "b"):
        settings = make_settings(tmp_path_factory.mktemp(f"node-{name}"), redis_url=REDIS_URL, redis_prefix=prefix,
                                 room_lease_ttl_s=1.0, secret_key="fleet-secret-" + "k" * 32)
        nodes.append(await start_world(settings, db_url))
    yield nodes
    for node in nodes:
        await node.close_clients()
        await node.runner.cleanup()


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
