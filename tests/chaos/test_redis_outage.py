"""Redis goes away under load and comes back empty (issue 20 item 3).

Two `townsquare serve` processes share a redis-server of this test's own. With bots on both
nodes moving, chatting and paying each other, the Redis process is killed: each node keeps
serving its own people (moves, chat, transfers answered), `/healthz` says `degraded`, the admin
console's figures say Redis is down. Redis is started again with nothing in it: fan-out across
nodes, presence and leases come back, and at no sample do two nodes that see Redis both run the
room. Nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import asyncpg
import pytest

from tests.chaos.conftest import record_figures, seed
from tests.chaos.harness import (
    Load,
    Node,
    RedisProc,
    assert_nothing_lost,
    balances,
    node_env,
    pg_dsn,
    register,
    verify,
    wait_until,
)
from tests.conftest import Inbox

pytestmark = pytest.mark.multinode
OUTAGE_S = 6.0


async def _admin_token(url: str, db_url: str) -> str:
    acct = await register(url)
    conn = await asyncpg.connect(pg_dsn(db_url))
    try:
        await conn.execute("UPDATE users SET role = 'admin' WHERE id = $1::uuid", acct["user"]["id"])
    finally:
        await conn.close()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/auth/login", json={"username": acct["user"]["username"],
                                                            "password": "chaos-monkey-9"}) as r:
            data = await r.json()
            assert r.status == 200, data
            return data["token"]


async def _live(node: Node, token: str) -> dict | None:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            async with http.get(f"{node.url}/api/admin/live", headers={"Authorization": f"Bearer {token}"}) as r:
                return (await r.json())["figures"] if r.status == 200 else None
    except (TimeoutError, aiohttp.ClientError):
        return None


async def test_redis_outage_each_node_serves_its_own_then_the_fleet_heals(db_url, tmp_path):
    redis = RedisProc(tmp_path)
    redis.start()
    await redis.ready()
    await seed(db_url, tmp_path)
    env = node_env(db_url, redis.url, f"chaos-{uuid.uuid4().hex[:6]}:", lease_ttl=1.0)
    nodes = [Node("node-a", env, tmp_path), Node("node-b", env, tmp_path)]
    load = None
    watchers = []
    doubles: list[tuple[float, list[str]]] = []
    sampling = True
    try:
        for n in nodes:
            n.start()
        await asyncio.gather(*(n.wait_healthy() for n in nodes))
        a, b = nodes
        token = await _admin_token(a.url, db_url)

        load = await Load.create([a.url, b.url], 4)
        await load.start()
        for bot in load.bots:  # wallets open (with their grant) before the money is counted
            await bot.client.call("wallet:balance", {}, timeout=5)
        before = await balances(db_url, [bot.uid for bot in load.bots])
        assert len(before) == 4

        # Watchers: one person on each node, to see what crosses nodes and what stays local.
        from tests.chaos.harness import Bot
        wa = Bot("wa", a.url, await register(a.url))
        wb = Bot("wb", b.url, await register(b.url))
        for w in (wa, wb):
            await w.connect()
            watchers.append(w)
        ia = Inbox(wa.client, "chat:message", "presence:join", "presence:leave")
        said = await wb.client.call("chat:send", {"text": "before the outage"}, timeout=5)
        await ia.wait_for("chat:message", lambda d: d["id"] == said["message_id"])
        await load.all_served_after(time.monotonic())

        async def sample_owners():
            # Among nodes that see Redis, at most one may run the plaza at any sample.
            while sampling:
                figs = await asyncio.gather(*(_live(n, token) for n in nodes))
                owners = [n.name for n, f in zip(nodes, figs)
                          if f and f["redis"]["state"] == "ok" and "plaza" in f["room_ticks"]["owned"]]
                if len(owners) > 1:
                    doubles.append((time.monotonic(), owners))
                # A resident runs on one node at most, whatever Redis is doing.
                running = [set(f["residents"]["running"]) for f in figs if f and isinstance(f.get("residents"), dict)]
                twice = set.intersection(*running) if len(running) > 1 else set()
                if twice:
                    doubles.append((time.monotonic(), sorted(twice)))
                await asyncio.sleep(0.05)
        sampler = asyncio.create_task(sample_owners())

        # -- Redis dies ---------------------------------------------------------------------------
        t_kill = time.monotonic()
        redis.kill()
        for n in nodes:
            h = await wait_until(lambda n=n: _degraded(n), 15, f"{n.name} to say degraded")
            assert h["http"] == 200 and h["redis"]["state"] == "down", h
        figs = await _live(a, token)
        assert figs["redis"]["state"] == "down" and "serves its own people" in figs["redis"]["mode"], figs
        served_local_s = await load.all_served_after(t_kill, timeout=30)
        # A line said on node a still reaches a person on node a.
        bot_a = next(bot for bot in load.bots if bot.url == a.url)
        mid = await wait_until(lambda: _last_chat_after(bot_a, t_kill), 20, "a chat line on node a after the kill")
        await ia.wait_for("chat:message", lambda d: d["id"] == mid, timeout=10)
        # The outage lasts past every lease's TTL, and the islands keep serving all along.
        await load.all_served_after(t_kill + OUTAGE_S, timeout=OUTAGE_S + 20)
        failed_during = load.failures_since(t_kill)

        # -- Redis returns, empty ----------------------------------------------------------------
        t_back = time.monotonic()
        redis.start()
        await redis.ready()
        for n in nodes:
            await wait_until(lambda n=n: _healthy_ok(n), 20, f"{n.name} to see Redis again")
        healthy_s = time.monotonic() - t_back
        # Fan-out across nodes: a line said on node b reaches node a again.

        async def crosses():
            said = await wb.client.call("chat:send", {"text": f"after {uuid.uuid4().hex[:6]}"}, timeout=5)
            if not said.get("ok"):
                return False
            try:
                await ia.wait_for("chat:message", lambda d: d["id"] == said["message_id"], timeout=0.7)
                return True
            except TimeoutError:
                return False
        await wait_until(crosses, 30, "chat to cross nodes again", every=0.5)
        fanout_s = time.monotonic() - t_back
        # Presence: a fresh snapshot on node a shows everyone, from both nodes.
        everyone = {bot.uid for bot in load.bots} | {wa.uid, wb.uid}

        async def full_snapshot():
            snap = await wa.client.call("room:join", {"room": "plaza"}, timeout=5)
            return snap.get("ok") and everyone <= {p["id"] for p in snap["occupants"]}
        await wait_until(full_snapshot, 30, "node a's snapshot to show both nodes' people", every=0.3)
        presence_s = time.monotonic() - t_back
        from redis.asyncio import Redis
        r = Redis.from_url(redis.url)
        try:
            owner = await wait_until(lambda: r.get(f"{env['TOWNSQUARE_REDIS_PREFIX']}room:plaza:lease"), 10,
                                     "a lease on the plaza")
            assert owner.decode() in {n.node_id for n in nodes}
            members = await r.hkeys(f"{env['TOWNSQUARE_REDIS_PREFIX']}room:plaza:users")
            assert everyone <= {m.decode() for m in members}
            # The residents run again, each on one node, under a lease.
            keys = await wait_until(lambda: _resident_leases(r, env["TOWNSQUARE_REDIS_PREFIX"]), 30,
                                    "the residents' leases to be taken again")
            assert {v.decode() for v in await r.mget(keys)} <= {n.node_id for n in nodes}
        finally:
            await r.aclose()
        t_after = time.monotonic()
        await load.all_served_after(t_after, timeout=30)
        sampling = False
        await sampler
        assert not doubles, f"two nodes ran the plaza or a resident at once: {doubles[:5]}"

        await load.stop()
        report = await verify(db_url, load, before)
        assert_nothing_lost(report)
        figures = {"served_locally_within_s": round(served_local_s, 2), "redis_ok_again_s": round(healthy_s, 2),
                   "cross_node_chat_again_s": round(fanout_s, 2), "presence_whole_again_s": round(presence_s, 2),
                   "requests_failed": failed_during + load.failures_since(t_back),
                   "failed_by_kind": load.failure_kinds_since(t_kill),
                   "transfers_acked": report["transfers_acked"], "chats_acked": report["chats_acked"],
                   "lost": 0, "double_owners": len(doubles)}
        record_figures("redis_outage", figures)
    finally:
        sampling = False
        for w in watchers:
            await w.close()
        if load is not None:
            load._stop.set()
            for bot in load.bots:
                await bot.close()
        for n in nodes:
            n.stop()
        redis.kill()


async def _resident_leases(r, prefix: str) -> list:
    return [k async for k in r.scan_iter(f"{prefix}resident:*:lease") if not k.endswith(b":fence")]


async def _degraded(n: Node):
    h = await n.health()
    return h if h and h.get("status") == "degraded" else None


async def _healthy_ok(n: Node):
    h = await n.health()
    return h if h and h.get("status") == "ok" and h.get("redis", {}).get("state") == "ok" else None


def _last_chat_after(bot, t0: float):
    # The bot's acked lines are in order of sending; any acked after t0 will do.
    if bot.ok_at.get("chat:send", 0) > t0 and bot.chats:
        return list(bot.chats)[-1]
    return None
