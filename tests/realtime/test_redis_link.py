"""A busy node is not a dead one: a Redis call's time limit counts the time this node's event loop
kept, so a loop stalled by its own work (a crowd joining one room) does not send the node into its
Redis-outage mode, while a Redis that truly does not answer still does, on time; and the node's
room leases and heartbeat are kept from a thread while its loop is stalled, not past a hang."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.asyncio import Redis

from server.realtime import redis_link
from server.realtime.fleet import RedisFleet
from server.realtime.leases import RedisLeases
from server.realtime.redis_link import RedisLink, bounded, patient

pytestmark = pytest.mark.asyncio


async def test_a_call_answered_while_the_loop_was_stalled_is_not_an_outage(redis_url, monkeypatch):
    monkeypatch.setattr(redis_link, "CALL_TIMEOUT_S", 0.5)
    redis = Redis.from_url(redis_url)
    link = RedisLink()
    try:
        await redis.ping()  # connected: what follows is the call, not the connect

        async def ping_behind_a_stall():
            time.sleep(1.5)  # the node's own work holds the loop three times the limit
            return await redis.ping()

        assert await bounded(ping_behind_a_stall, link) is True
        assert link.up and link.outages == 0
    finally:
        await redis.aclose()


async def test_a_redis_that_does_not_answer_is_still_an_outage_on_time(monkeypatch):
    monkeypatch.setattr(redis_link, "CALL_TIMEOUT_S", 0.5)
    held: list[asyncio.StreamWriter] = []

    async def silent(reader, writer):  # accepts and reads, never answers
        held.append(writer)
        await reader.read(-1)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    redis = Redis(host="127.0.0.1", port=port)
    link = RedisLink()
    try:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            await bounded(redis.ping, link)
        took = time.monotonic() - t0
        assert not link.up and link.outages == 1
        assert 0.45 <= took < 1.5
    finally:
        for w in held:
            w.close()
        server.close()
        await redis.aclose()


async def test_patient_counts_only_the_time_the_loop_kept():
    loop = asyncio.get_running_loop()
    # a 0.6 s wait under a 0.5 s limit fails when the loop kept time all along
    with pytest.raises(TimeoutError):
        await patient(asyncio.sleep(0.6), 0.5)
    # the same limit holds a 0.8 s wait that ended while the loop was stalled 1.5 s in other work
    loop.call_soon(time.sleep, 1.5)
    t0 = time.monotonic()
    assert await patient(asyncio.sleep(0.8, result="done"), 0.5) == "done"
    assert time.monotonic() - t0 >= 1.5


async def _leased(redis_url: str, ttl_s: float):
    redis = Redis.from_url(redis_url)
    fleet = RedisFleet(redis, "node-a", prefix=f"test-keeper-{uuid.uuid4().hex[:8]}:")
    assert await fleet.hold_leases(["plaza"], ttl_s) == {"plaza"}
    return redis, fleet


async def test_a_stalled_loop_keeps_its_room_leases_and_heartbeat(redis_url):
    redis, fleet = await _leased(redis_url, 1.0)
    keeper = fleet.lease_keeper(redis_url, 1.0)
    keeper.start()
    try:
        time.sleep(3.0)  # the node's own work holds the loop three lease lifetimes
        assert await redis.get(fleet._lease("plaza")) == b"node-a"
        assert keeper.renewals >= 3
        other = RedisFleet(redis, "node-b", prefix=fleet.p)
        assert await other.alive({"node-a"}) == {"node-a"}  # so it does not put node-a's people out
        assert await other.hold_leases(["plaza"], 1.0) == set()  # nor take its room
    finally:
        keeper.stop()
        await redis.aclose()


async def test_a_hung_loop_lets_its_leases_lapse(redis_url):
    redis, fleet = await _leased(redis_url, 1.0)
    keeper = fleet.lease_keeper(redis_url, 1.0)
    keeper.stall_max_s = 1.5
    keeper.start()
    try:
        time.sleep(4.0)  # hung past stall_max_s: the thread stops renewing, the lease lapses
        assert await redis.get(fleet._lease("plaza")) is None
        other = RedisFleet(redis, "node-b", prefix=fleet.p)
        assert await other.alive({"node-a"}) == set()
        assert await other.hold_leases(["plaza"], 1.0) == {"plaza"}
    finally:
        keeper.stop()
        await redis.aclose()


async def test_a_stalled_loop_keeps_its_residents(redis_url):
    redis = Redis.from_url(redis_url)
    prefix = f"test-keeper-{uuid.uuid4().hex[:8]}:"
    mine, other = RedisLeases(redis, "node-a", "resident", prefix), RedisLeases(redis, "node-b", "resident", prefix)
    assert await mine.hold(["ada"], 1.0) == {"ada"}
    keeper = mine.keeper(redis_url, 1.0)
    keeper.start()
    try:
        time.sleep(3.0)  # three lease lifetimes without the loop's own renewals
        assert await other.owner("ada") == "node-a"
        assert await other.hold(["ada"], 1.0) == set()
    finally:
        keeper.stop()
        await redis.aclose()
