"""Fencing on the leases (issue 20 item 3): a node whose lease went to another node cannot act as
the owner any more, even if it has not noticed yet, and a lease that cannot be renewed (Redis gone)
stops counting before it can lapse."""

from __future__ import annotations

import json
import time
import uuid

import socketio
from redis.asyncio import Redis

from tests.chaos.harness import RedisProc, wait_until


async def _two_fleets(url: str, prefix: str):
    from server.realtime.fleet import RedisFleet

    ra, rb = Redis.from_url(url), Redis.from_url(url)
    return ra, rb, RedisFleet(ra, "node-a", prefix), RedisFleet(rb, "node-b", prefix)


async def test_a_former_owner_is_fenced_off(redis_url):
    from server.realtime.bus import Bus
    from server.realtime.fanout import Fanout

    prefix = f"fence-{uuid.uuid4().hex[:6]}:"
    ra, rb, a, b = await _two_fleets(redis_url, prefix)
    watch = Redis.from_url(redis_url)
    try:
        assert await a.hold_leases(["r"], 5.0) == {"r"}
        assert await b.hold_leases(["r"], 5.0) == set()
        first = a.leases.tokens["r"]
        await b.push("r", {"op": "move", "id": "u1", "x": 1.0, "y": 1.0})
        assert (await a.drain(["r"]))["r"][0]["id"] == "u1"

        # a stalls (a long pause, a slow network) and its lease lapses; b takes the room.
        await watch.pexpire(f"{prefix}room:r:lease", 1)
        await wait_until(lambda: b.hold_leases(["r"], 5.0), 5, "b to take the lapsed lease")
        assert b.leases.tokens["r"] > first

        # a has not noticed: it still believes it owns the room. Its owner writes are refused.
        await b.push("r", {"op": "move", "id": "u2", "x": 2.0, "y": 2.0})
        assert await a.drain(["r"]) == {}
        assert "r" in a.link.fenced
        assert [op["id"] for op in (await b.drain(["r"]))["r"]] == ["u2"]  # the op waited for the real owner
        await a.save_positions({"r": ({"u2": (9.0, 9.0)}, [])})
        await b.save_positions({"r": ({"u2": (2.0, 2.0)}, [])})
        assert await a.positions("r") == {"u2": (2.0, 2.0)}

        # Its bus drops owner events (ticks, presence) of the fenced room; chat lines still go out.
        sub = watch.pubsub()
        await sub.subscribe(f"{prefix}bus")
        await wait_until(lambda: sub.get_message(timeout=0.1), 5, "the subscription")
        bus = Bus(Fanout(socketio.AsyncServer(async_mode="aiohttp"), 256), "node-a", ra, channel=f"{prefix}bus")
        await bus.publish_many([("r", [("world:tick", {"room": "r", "t": time.time(), "moves": [["u2", 9.0, 9.0]]}),
                                       ("chat:message", {"id": "m1", "text": "still here"})], None)])
        msg = await wait_until(lambda: sub.get_message(ignore_subscribe_messages=True, timeout=0.1), 5, "a bus message")
        names = [e[0] for e in json.loads(msg["data"])["e"]]
        assert names == ["chat:message"]  # Redis keeps order: a tick published first would be here first
        await sub.aclose()

        # Its next lease round says it lost the room, and b keeps it.
        assert await a.hold_leases(["r"], 5.0) == set()
        assert await b.hold_leases(["r"], 5.0) == {"r"}
    finally:
        await watch.delete(*[k async for k in watch.scan_iter(f"{prefix}*")] or ["-"])
        for r in (ra, rb, watch):
            await r.aclose()


async def test_a_lease_that_cannot_be_renewed_stops_counting_before_it_lapses(tmp_path):
    from server.realtime.fleet import LeaseSet

    redis = RedisProc(tmp_path)
    redis.start()
    await redis.ready()
    r = Redis.from_url(redis.url, socket_connect_timeout=1)
    try:
        leases = LeaseSet(r, "node-a", lambda i: f"t:resident:{i}:lease")
        ttl = 1.0
        # A fresh Redis is given one TTL before anyone takes a free lease (it might have forgotten some).
        await wait_until(lambda: _all(leases, ttl), 10, "the leases, once Redis is a TTL old")
        taken = time.monotonic()
        redis.kill()
        # Redis is gone: the leases still count while they cannot have lapsed, and not after.
        assert await leases.hold(["mira", "tobin"], ttl) == {"mira", "tobin"}  # a refused connect takes ms
        assert not leases.link.up
        await wait_until(lambda: _empty(leases, ttl), 5, "the leases to stop counting")
        assert time.monotonic() - taken >= 0.9 * ttl
    finally:
        await r.aclose()
        redis.kill()


async def _all(leases, ttl) -> bool:
    return await leases.hold(["mira", "tobin"], ttl) == {"mira", "tobin"}


async def _empty(leases, ttl) -> bool:
    return await leases.hold(["mira", "tobin"], ttl) == set()


async def test_the_island_writes_back_and_the_owner_reannounces(tmp_path):
    """Redis restarts empty: each node's part of the fleet (members, positions, NPCs) comes back
    and the owner finds a join for each of them in the inbox."""
    redis = RedisProc(tmp_path)
    redis.start()
    await redis.ready()
    prefix = "isl:"
    ra, rb, a, b = await _two_fleets(redis.url, prefix)
    try:
        rec = {"sid": "s1", "node": "node-a", "name": "Ana", "appearance": {}, "x": 3.0, "y": 4.0}
        assert (await a.claim("plaza", "u1", rec, 10))[0] == "ok"
        await a.npc_set("plaza", "npc:mira", {"name": "Mira", "appearance": {}, "x": 5.0, "y": 5.0})
        await wait_until(lambda: a.hold_leases(["plaza"], 1.0), 10, "the plaza's lease, once Redis is a TTL old")
        redis.kill()
        # Down: the first round drops what a owned, the next one runs its people's room as an island.
        assert await a.hold_leases(["plaza"], 1.0) == set()
        assert not a.link.up and a.island
        assert await a.hold_leases(["plaza"], 1.0) == {"plaza"}
        assert set(await a.members("plaza")) == {"u1"}
        # A second person joins and the first walks, on the island.
        rec2 = {**rec, "sid": "s2", "name": "Bo"}
        assert (await a.claim("plaza", "u2", rec2, 10))[0] == "ok"
        a.link.track("plaza", [("world:tick", {"moves": [["u1", 7.0, 8.0]]})])
        await a.push("plaza", {"op": "move", "id": "u1", "x": 7.0, "y": 8.0})
        assert (await a.drain(["plaza"]))["plaza"][0]["op"] == "move"

        redis.start()
        await redis.ready()
        assert await a.hold_leases(["plaza"], 1.0) == set()  # back: the island ends
        assert a.link.up and not a.island
        members = await a.members("plaza")
        assert set(members) == {"u1", "u2"}
        assert await a.positions("plaza") == {"u1": (7.0, 8.0), "u2": (3.0, 4.0)}
        assert set(await a.npcs("plaza")) == {"npc:mira"}
        assert await a.where("u2") == "plaza"
        # Redis started less than a lease TTL ago: it may have forgotten a lease whose holder still acts
        # on it, so nobody takes a free lease yet (a 30 s TTL here: the Redis is seconds old).
        assert await b.hold_leases(["plaza"], 30.0) == set()
        # The room's next owner (b here) finds a join for each, and announces them to every node.
        await wait_until(lambda: b.hold_leases(["plaza"], 1.0), 10, "b to take the plaza once Redis is a TTL old")
        ops = (await b.drain(["plaza"]))["plaza"]
        assert sorted(op["id"] for op in ops if op["op"] == "join") == ["npc:mira", "u1", "u2"]
    finally:
        for r in (ra, rb):
            await r.aclose()
        redis.kill()
