"""Two real world processes (`townsquare serve`) sharing one Redis and one PostgreSQL.

Chat, whispers and movement cross nodes; capacity is counted fleet-wide; and when the process
that owns a room is killed (SIGKILL), the other one takes the room's lease over and it keeps
ticking.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.conftest import Inbox, call, free_port, make_settings
from tests.realtime.conftest import EVENTS, nothing, sees, waved

pytestmark = pytest.mark.multinode

REPO = Path(__file__).resolve().parents[2]
SECRET = "multinode-secret-" + "k" * 32
LEASE_TTL = 1.0


class Node:
    """One `townsquare serve` process."""

    def __init__(self, name: str, env: dict, log_dir: Path):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], cwd=REPO,
                                     env={**env, "TOWNSQUARE_PORT": str(self.port),
                                          "TOWNSQUARE_DATA_DIR": str(log_dir / name)},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.node_id: str | None = None

    async def wait_healthy(self, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
                try:
                    async with http.get(f"{self.url}/healthz") as r:
                        if r.status == 200:
                            self.node_id = (await r.json())["node"]
                            return self.node_id
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.name} did not come up: {self.log_path.read_text()[-3000:]}")
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


async def _seed(db_url: str, tmp: Path) -> None:
    from server.cli import _seed as seed

    await seed(db_url, make_settings(tmp), only_if_empty=True)


async def _register(url: str) -> dict:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/auth/register",
                             json={"username": f"m{uuid.uuid4().hex[:10]}", "password": "multi-node-1"}) as r:
            data = await r.json()
            assert r.status == 200, data
            return data


async def _connect(url: str, token: str) -> tuple[socketio.AsyncClient, Inbox]:
    client = socketio.AsyncClient(reconnection=False)
    inbox = Inbox(client, *EVENTS)
    await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    return client, inbox


async def test_two_processes_share_rooms_chat_and_movement_and_survive_the_owner(db_url, redis_url, tmp_path):
    from redis.asyncio import Redis

    prefix = f"tstest-{uuid.uuid4().hex[:8]}:"
    redis = Redis.from_url(redis_url)
    await _seed(db_url, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_") or k.startswith("TOWNSQUARE_TEST")}
    env.update({"TOWNSQUARE_CONFIG": "/nonexistent/townsquare.toml", "TOWNSQUARE_DATABASE_URL": db_url,
                "TOWNSQUARE_REDIS_URL": redis_url, "TOWNSQUARE_REDIS_PREFIX": prefix,
                "TOWNSQUARE_SECRET_KEY": SECRET, "TOWNSQUARE_TICK_HZ": "20",
                "TOWNSQUARE_ROOM_LEASE_TTL_S": str(LEASE_TTL), "TOWNSQUARE_LOG_FORMAT": "json",
                "TOWNSQUARE_MODELS__EMBED": "", "HF_HUB_OFFLINE": "1"})
    nodes = [Node("node-a", env, tmp_path), Node("node-b", env, tmp_path)]
    clients: list[socketio.AsyncClient] = []
    try:
        await asyncio.gather(*(n.wait_healthy() for n in nodes))
        # Exactly one node owns the plaza; find it.
        deadline = time.monotonic() + 10
        while (owner_id := await redis.get(f"{prefix}room:plaza:lease")) is None:
            assert time.monotonic() < deadline, "nobody took the plaza's lease"
            await asyncio.sleep(0.1)
        owner = next(n for n in nodes if n.node_id == owner_id.decode())
        other = next(n for n in nodes if n is not owner)

        a, b, c = [await _register(owner.url) for _ in range(3)]
        ca, ia = await _connect(owner.url, a["token"])  # on the owner
        cb, ib = await _connect(other.url, b["token"])  # on the other node
        cc, ic = await _connect(owner.url, c["token"])
        clients += [ca, cb, cc]
        a_id, b_id, c_id = a["user"]["id"], b["user"]["id"], c["user"]["id"]

        ja = await call(ca, "room:join", {"room": "plaza"})
        assert ja["ok"], ja
        jb = await call(cb, "room:join", {"room": "plaza"})
        assert jb["ok"], jb
        await sees(ia, ja, b_id)
        await sees(ib, jb, a_id)
        jc = await call(cc, "room:join", {"room": "plaza"})
        await sees(ic, jc, b_id)

        # Movement from a connection on the other node reaches the owner and comes back as ticks.
        # (the ack says where the walk ends: a tile taken by someone, e.g. the guide, moves the goal beside it;
        # a goal where one already stands sends no tick, so each walks to a spot it is not on)
        def away(you: dict) -> dict:
            return next(p for p in ({"x": 22, "y": 16}, {"x": 19, "y": 16}, {"x": 25, "y": 16})
                        if (p["x"], p["y"]) != (you["x"], you["y"]))

        mb = await call(cb, "move", away(jb["you"]))
        assert mb["ok"], mb
        await ia.wait_for("world:tick", lambda d: [b_id, mb["x"], mb["y"]] in d["moves"], timeout=15)
        ma = await call(ca, "move", away(ja["you"]))
        assert ma["ok"], ma
        await ib.wait_for("world:tick", lambda d: [a_id, ma["x"], ma["y"]] in d["moves"], timeout=15)

        # Chat across nodes; a whisper across nodes reaches only the two.
        said = await call(cb, "chat:send", {"text": "hello from node b"})
        assert said["ok"]
        await ia.wait_for("chat:message", lambda d: d["id"] == said["message_id"])
        whisper = await call(ca, "chat:send", {"text": "psst, b", "to": b_id})
        assert whisper["ok"], whisper
        got = await ib.wait_for("chat:message", lambda d: d["id"] == whisper["message_id"])
        assert got["to"] == b_id
        # a's wave goes out after the whisper did: a whisper sent to the room would have come first.
        await nothing(ic, "chat:message", lambda d: d["id"] == whisper["message_id"], barrier=waved(ca, ic, a_id))

        # Occupancy is fleet-wide: counts and capacity agree on both nodes.
        counts = {r["slug"]: r["occupants"] for r in (await call(cb, "room:list"))["rooms"]}
        assert counts["plaza"] == 3
        from server.db import Database
        from server.world.models import Room

        db = Database(db_url, pool_size=1)
        try:
            async with db.session() as s:
                s.add(Room(slug="tiny-mn", name="Tiny", capacity=2, width=8, height=8, access="public", tiles=[],
                           spawn_x=1, spawn_y=1, settings={}))
        finally:
            await db.dispose()
        d1, e1 = await _register(owner.url), await _register(owner.url)
        cd, _ = await _connect(owner.url, d1["token"])
        ce, _ = await _connect(other.url, e1["token"])
        clients += [cd, ce]
        assert (await call(cd, "room:join", {"room": "tiny-mn"}))["ok"]
        assert (await call(ce, "room:join", {"room": "tiny-mn"}))["ok"]
        assert (await call(cc, "room:join", {"room": "tiny-mn"}))["error"]["code"] == "room_full"
        assert (await call(cb, "room:list"))["ok"]

        # The owner dies. Its lease lapses, the other node takes the plaza over, puts the dead
        # node's people out, and the plaza keeps ticking for the people on the living node.
        owner.kill()
        await ib.wait_for("presence:leave", lambda d: d["id"] == a_id, timeout=10)
        await ib.wait_for("presence:leave", lambda d: d["id"] == c_id, timeout=5)
        assert (await redis.get(f"{prefix}room:plaza:lease")).decode() == other.node_id
        assert (await call(cb, "move", {"x": 25, "y": 16}))["ok"]
        await ib.wait_for("world:tick", lambda d: [b_id, 25.0, 16.0] in d["moves"])
        counts = {r["slug"]: r["occupants"] for r in (await call(cb, "room:list"))["rooms"]}
        assert counts["plaza"] == 1
    finally:
        for cl in clients:
            if cl.connected:
                try:
                    await asyncio.wait_for(cl.disconnect(), 5)
                except Exception:
                    pass
        for n in nodes:
            n.stop()
        async for key in redis.scan_iter(match=f"{prefix}*"):
            await redis.delete(key)
        await redis.aclose()
