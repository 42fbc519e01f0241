"""A node dies under load (issue 20 item 4).

Two `townsquare serve` processes behind a TCP proxy (as nginx would be); bots connect through the
proxy, so they are spread over both. The node that owns the plaza is killed with SIGKILL. The
other takes the plaza and the residents over, the people who were on the dead node reconnect
through the proxy to the live one and find their place (where everyone last saw them), their
wallet and the chat history; nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid

import pytest
from redis.asyncio import Redis

from tests.chaos.conftest import record_figures, seed
from tests.chaos.harness import (
    Bot,
    Load,
    Node,
    Proxy,
    RedisProc,
    assert_nothing_lost,
    balances,
    node_env,
    register,
    verify,
    wait_until,
)

pytestmark = pytest.mark.multinode
LEASE_TTL = 1.0


async def test_a_node_dies_under_load_and_its_people_carry_on_elsewhere(db_url, tmp_path):
    redis = RedisProc(tmp_path)
    redis.start()
    await redis.ready()
    await seed(db_url, tmp_path)
    prefix = f"death-{uuid.uuid4().hex[:6]}:"
    env = node_env(db_url, redis.url, prefix, lease_ttl=LEASE_TTL, TOWNSQUARE_RESIDENTS_LEASE_TTL_S="2")
    nodes = [Node("node-a", env, tmp_path), Node("node-b", env, tmp_path)]
    proxy = Proxy([n.port for n in nodes])
    r = Redis.from_url(redis.url)
    load = None
    watcher = None
    try:
        for n in nodes:
            n.start()
        await asyncio.gather(*(n.wait_healthy() for n in nodes))
        await proxy.start()
        owner_id = (await wait_until(lambda: r.get(f"{prefix}room:plaza:lease"), 10, "a plaza owner")).decode()
        owner = next(n for n in nodes if n.node_id == owner_id)
        survivor = next(n for n in nodes if n is not owner)

        load = await Load.create([proxy.url], 6)
        await load.start()
        for bot in load.bots:
            await bot.client.call("wallet:balance", {}, timeout=5)
        before = await balances(db_url, [bot.uid for bot in load.bots])
        # A watcher on the survivor keeps every position it is told, with the time it heard it.
        watcher = Bot("watcher", survivor.url, await register(survivor.url))
        seen: dict[str, list[tuple[float, float, float]]] = {}

        async def on_tick(data):
            now = time.monotonic()
            for m in data["moves"]:
                seen.setdefault(m[0], []).append((now, m[1], m[2]))

        async def on_join(data):
            seen.setdefault(data["id"], []).append((time.monotonic(), data["x"], data["y"]))
        await watcher.connect()
        watcher.client.on("world:tick", on_tick)
        watcher.client.on("presence:join", on_join)
        for p in watcher.joined["occupants"]:
            seen.setdefault(p["id"], []).append((time.monotonic(), p["x"], p["y"]))
        await load.all_served_after(time.monotonic())
        residents = [k async for k in r.scan_iter(f"{prefix}resident:*:lease")]
        chats_before = {b.uid: list(b.chats.values()) for b in load.bots}

        t_kill = time.monotonic()
        owner.kill()
        served_s = await load.all_served_after(t_kill, timeout=60)
        moved = [b for b in load.bots if b.reconnects > 0]
        assert moved, "round robin put nobody on the dead node"
        assert all(b.joined is not None for b in moved)
        # The survivor owns the plaza and runs every resident.
        await wait_until(lambda: _owned_by(r, [f"{prefix}room:plaza:lease", *residents], survivor.node_id), 20,
                         "the survivor to hold the plaza and the residents")
        takeover_s = time.monotonic() - t_kill

        for b in moved:
            # Their place: where everyone last saw them before they came back.
            you = b.joined["you"]
            before_rejoin = [(x, y) for t, x, y in seen.get(b.uid, []) if t <= b.joined_at]
            assert before_rejoin, f"the watcher never saw {b.name}"
            lx, ly = before_rejoin[-1]
            assert math.dist((you["x"], you["y"]), (lx, ly)) <= 1.0, (b.name, you, (lx, ly))
            # Their chat history: the lines they said before the kill are in the room's history.
            texts = {m["text"] for m in b.joined["history"]}
            said = [t for t in chats_before[b.uid] if t]
            assert said and said[-1] in texts, (b.name, said[-1:], len(texts))
        # Their wallet: the balance they are told is the ledger's, once the ring's tips have stopped
        # (a tip landing between the two reads would otherwise make them differ).
        await load.halt()
        for b in moved:
            bal = await b.client.call("wallet:balance", {}, timeout=5)
            assert bal["ok"] and bal["balance"] == (await balances(db_url, [b.uid]))[b.uid]

        await load.stop()
        report = await verify(db_url, load, before)
        assert_nothing_lost(report)
        record_figures("node_killed", {"served_again_s": round(served_s, 2), "takeover_s": round(takeover_s, 2),
                                       "reconnected_within_s": round(max(b.joined_at for b in moved) - t_kill, 2),
                                       "people_moved": len(moved), "requests_failed": load.failures_since(t_kill),
                                       "failed_by_kind": load.failure_kinds_since(t_kill),
                                       "transfers_acked": report["transfers_acked"],
                                       "chats_acked": report["chats_acked"], "lost": 0})
    finally:
        if watcher is not None:
            await watcher.close()
        if load is not None:
            load._stop.set()
            for bot in load.bots:
                await bot.close()
        await proxy.stop()
        for n in nodes:
            n.stop()
        await r.aclose()
        redis.kill()


async def _owned_by(r, keys: list, node_id: str) -> bool:
    vals = await r.mget(keys)
    return all(v is not None and v.decode() == node_id for v in vals)
