"""One room served by two worker processes: its state owned by one (the lease), its ticks shared
through the room bus, each worker building the wire-2 frames of its own connections."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import aiohttp
import pytest
import socketio

from tests.conftest import Inbox, call, make_settings
from tests.realtime.conftest import EVENTS, echoed
from tests.realtime.test_multinode import Node

pytestmark = pytest.mark.multinode

SECRET = "room-workers-secret-" + "w" * 32


async def test_a_room_on_two_workers_delivers_every_move_to_clients_on_both(db_url, redis_url, tmp_path):
    from redis.asyncio import Redis

    from server.cli import _seed as seed

    prefix = f"tsworkers-{uuid.uuid4().hex[:8]}:"
    redis = Redis.from_url(redis_url)
    await seed(db_url, make_settings(tmp_path), only_if_empty=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_") or k.startswith("TOWNSQUARE_TEST")}
    env.update({"TOWNSQUARE_CONFIG": "/nonexistent/townsquare.toml", "TOWNSQUARE_DATABASE_URL": db_url,
                "TOWNSQUARE_REDIS_URL": redis_url, "TOWNSQUARE_REDIS_PREFIX": prefix,
                "TOWNSQUARE_SECRET_KEY": SECRET, "TOWNSQUARE_TICK_HZ": "20", "TOWNSQUARE_ROOM_LEASE_TTL_S": "2",
                "TOWNSQUARE_LOG_FORMAT": "json", "TOWNSQUARE_MODELS__EMBED": "", "HF_HUB_OFFLINE": "1"})
    workers = [Node("worker-1", env, tmp_path), Node("worker-2", env, tmp_path)]
    clients: list[socketio.AsyncClient] = []
    try:
        await asyncio.gather(*(w.wait_healthy() for w in workers))
        deadline = time.monotonic() + 10
        while await redis.get(f"{prefix}room:plaza:lease") is None:
            assert time.monotonic() < deadline, "nobody took the plaza's lease"
            await asyncio.sleep(0.1)

        people = []  # (worker, client, inbox, join reply), two per worker
        async with aiohttp.ClientSession() as http:
            for i in range(4):
                w = workers[i % 2]
                async with http.post(f"{w.url}/api/auth/register",
                                     json={"username": f"w{uuid.uuid4().hex[:10]}", "password": "two-workers-1"}) as r:
                    account = await r.json()
                    assert r.status == 200, account
                client = socketio.AsyncClient(reconnection=False)
                inbox = Inbox(client, *EVENTS, "world:frame")
                await client.connect(w.url, auth={"token": account["token"]}, transports=["websocket"], wait_timeout=10)
                clients.append(client)
                joined = await call(client, "room:join", {"room": "plaza", "wire": 2})
                assert joined["ok"], joined
                people.append((w, client, inbox, joined, account["user"]["id"]))
        for _, _, inbox, joined, _ in people:  # everyone knows everyone (numbers are per worker)
            for *_, who in people:
                if not any(p["id"] == who for p in joined["occupants"]):
                    await inbox.wait_for("presence:join", lambda d, who=who: d["id"] == who, 10)

        def number(inbox: Inbox, joined: dict, who: str) -> int:
            for p in joined["occupants"]:
                if p["id"] == who:
                    return p["n"]
            return next(d["n"] for d in inbox.items["presence:join"] if d["id"] == who)

        # Each person walks to where the next one stood, tagged with a time; everyone on both workers
        # sees every arrival (with its echo) in their frames.
        spots = {}
        for k, (_, client, _, _joined, who) in enumerate(people):
            there = people[(k + 1) % len(people)][3]["you"]  # where the next one stood: walkable
            x, y = there["x"], there["y"]
            spots[who] = (x, y, 1000.0 + k)
            await client.emit("move", {"x": x, "y": y, "t": 1000.0 + k, "s": k})
        for k, (_, _, inbox, _, _) in enumerate(people):  # each ack folded into a frame of its own worker
            frame = await inbox.wait_for("world:frame", lambda d, k=k: any(s == k for s, _ in d.get("a") or []), 10)
            assert [r for s, r in frame["a"] if s == k][0]["ok"], frame["a"]
        for _, _, inbox, joined, _ in people:
            for *_, who in people:
                n = number(inbox, joined, who)
                x, y, t = spots[who]
                frame = await inbox.wait_for("world:frame", lambda d, n=n, x=x, y=y: any(
                    d["m"][i:i + 3] == [n, round(x * 100), round(y * 100)] for i in range(0, len(d["m"]), 3)), 10)
                assert frame["room"] == "plaza"
                assert any(echoed(d, n) == t for d in [frame, *inbox.items["world:frame"]])
        assert {w.name for w, *_ in people} == {"worker-1", "worker-2"}
    finally:
        for c in clients:
            try:
                await c.disconnect()
            except Exception:
                pass
        for w in workers:
            w.stop()
        await redis.aclose()
