"""The chaos harness: real world processes, a Redis of our own, a TCP proxy in front of the nodes,
and bots (real Socket.IO clients) that move, chat and send money while a fault is injected.

Every bot keeps what the world acknowledged (transfers with their keys, chat lines with their
ids); `Ledgerbook.verify` then checks that all of it is in the database exactly once, that the
ledger's audit passes and that the bots' money adds up to what it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import socketio

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
SECRET = "chaos-secret-" + "k" * 40


async def wait_until(pred, timeout: float, what: str, every: float = 0.1):
    """Poll `pred` (sync or async) until it is truthy; its value, or TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if asyncio.iscoroutine(v):
            v = await v
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        await asyncio.sleep(every)


# -- processes ------------------------------------------------------------------------------------
class RedisProc:
    """A redis-server of our own (never the shared one), without persistence: a restart is empty."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp / f"redis-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.path.exists(binary):  # CI installs Redis: there a missing binary fails, elsewhere it skips
            import pytest

            (pytest.fail if os.environ.get("CI") else pytest.skip)("redis-server is not installed")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def ready(self, timeout: float = 10) -> None:
        from redis.asyncio import Redis

        async def ping():
            r = Redis.from_url(self.url, socket_connect_timeout=0.5)
            try:
                return await r.ping()
            except Exception:
                return False
            finally:
                await r.aclose()
        await wait_until(ping, timeout, "redis-server to answer")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


class Node:
    """One `townsquare serve` process."""

    def __init__(self, name: str, env: dict, tmp: Path):
        self.name = name
        self.env = env
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.node_id: str | None = None

    def start(self) -> None:
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], cwd=REPO,
                                     env={**self.env, "TOWNSQUARE_PORT": str(self.port),
                                          "TOWNSQUARE_DATA_DIR": str(self.tmp / self.name)},
                                     stdout=self.log, stderr=subprocess.STDOUT)

    async def health(self) -> dict | None:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http:
                async with http.get(f"{self.url}/healthz") as r:
                    return {"http": r.status, **(await r.json())}
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return None

    async def wait_healthy(self, timeout: float = 90) -> str:
        async def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            h = await self.health()
            return h if h and h["http"] == 200 else None
        self.node_id = (await wait_until(up, timeout, f"{self.name} healthy", every=0.2))["node"]
        return self.node_id

    def tail(self, n: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-n:]

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc:
            self.log.close()


def node_env(db_url: str, redis_url: str | None, prefix: str, lease_ttl: float = 1.0, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_") or k.startswith("TOWNSQUARE_TEST")}
    env.update({"TOWNSQUARE_CONFIG": "/nonexistent/townsquare.toml", "TOWNSQUARE_DATABASE_URL": db_url,
                "TOWNSQUARE_REDIS_PREFIX": prefix, "TOWNSQUARE_SECRET_KEY": SECRET, "TOWNSQUARE_TICK_HZ": "10",
                "TOWNSQUARE_ROOM_LEASE_TTL_S": str(lease_ttl), "TOWNSQUARE_LOG_FORMAT": "json",
                "TOWNSQUARE_MODELS__EMBED": "", "HF_HUB_OFFLINE": "1",
                "TOWNSQUARE_SIGNUP_RATE": "100000/minute",
                # every bot signs up from 127.0.0.1 and needs its starting grant
                "TOWNSQUARE_GRANT_PER_ADDRESS_PER_DAY": "100000", "TOWNSQUARE_GRANT_DAILY_BUDGET": "100000000"})
    if redis_url:
        env["TOWNSQUARE_REDIS_URL"] = redis_url
    env.update(extra)
    return env


class Proxy:
    """A TCP proxy in front of the nodes, as nginx would be: each new connection goes to the next
    node that accepts it, so people on a dead node reconnect to a live one."""

    def __init__(self, backends: list[int]):
        self.backends = backends
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._rr = 0
        self._server: asyncio.AbstractServer | None = None
        self._pipes: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _accept(self, reader, writer) -> None:
        for _ in range(len(self.backends)):
            port = self.backends[self._rr % len(self.backends)]
            self._rr += 1
            try:
                up_r, up_w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
                break
            except (TimeoutError, OSError):
                continue
        else:
            writer.close()
            return
        for a, b in ((reader, up_w), (up_r, writer)):
            t = asyncio.create_task(self._pipe(a, b))
            self._pipes.add(t)
            t.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(r, w) -> None:
        try:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                w.close()

    async def stop(self) -> None:
        if self._server:
            self._server.close()
        for t in list(self._pipes):
            t.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


# -- load -----------------------------------------------------------------------------------------
async def register(url: str) -> dict:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/auth/register",
                             json={"username": f"c{uuid.uuid4().hex[:10]}", "password": "chaos-monkey-9"}) as r:
            data = await r.json()
            assert r.status == 200, data
            return data


ORDINARY = frozenset({"insufficient_funds", "invalid_payload"})


@dataclass
class Bot:
    """One person: moves, chats and sends money to `peer` in a loop, reconnecting when cut off."""

    name: str
    url: str
    account: dict
    room: str = "plaza"
    peer: str | None = None
    transfers: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (transaction id, amount)
    chats: dict[str, str] = field(default_factory=dict)  # message id -> text
    failures: list[tuple[float, str, str]] = field(default_factory=list)  # (time, event, code)
    ok_at: dict[str, float] = field(default_factory=dict)  # event -> last success (monotonic)
    reconnects: int = 0
    client: socketio.AsyncClient | None = None
    node_port: int | None = None
    history_seen: list[dict] = field(default_factory=list)
    joined: dict | None = None
    joined_at: float = 0.0
    cells: list = field(default_factory=list)
    refused_chats: list[str] = field(default_factory=list)
    messages: dict[str, str] = field(default_factory=dict)  # error code -> the last message with it

    @property
    def uid(self) -> str:
        return self.account["user"]["id"]

    async def connect(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self._gone = gone = asyncio.Event()

        async def on_disconnect(*_):
            gone.set()
        self.client.on("disconnect", on_disconnect)
        await self.client.connect(self.url, auth={"token": self.account["token"]}, transports=["websocket"],
                                  wait_timeout=5)
        ack = await self.client.call("room:join", {"room": self.room}, timeout=5)
        if not ack.get("ok"):
            raise RuntimeError(f"join refused: {ack}")
        self.joined = ack
        self.joined_at = time.monotonic()
        room = ack["room"]
        tiles = room.get("tiles") or []
        self.cells = [(c, r) for r in range(room["height"]) for c in range(room["width"])
                      if not (r < len(tiles) and c < len(tiles[r]) and tiles[r][c] == "#")]
        self.history_seen = ack.get("history") or []

    async def _call(self, event: str, data: dict, timeout: float = 5.0) -> dict | None:
        """The ack, or None when the connection failed under it (the outcome is unknown)."""
        # A browser notices a dropped connection at once; so does the bot (the ack wait alone would not).
        call = asyncio.ensure_future(self.client.call(event, data, timeout=timeout))
        gone = asyncio.ensure_future(self._gone.wait())
        await asyncio.wait({call, gone}, return_when=asyncio.FIRST_COMPLETED)
        gone.cancel()
        try:
            if not call.done():
                call.cancel()
                raise socketio.exceptions.DisconnectedError()
            ack = call.result()
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                socketio.exceptions.DisconnectedError, asyncio.CancelledError):
            self.failures.append((time.monotonic(), event, "no_ack"))
            return None
        if ack.get("ok"):
            self.ok_at[event] = time.monotonic()
        else:
            self.failures.append((time.monotonic(), event, ack["error"]["code"]))
            self.messages[ack["error"]["code"]] = ack["error"].get("message", "")
        return ack

    async def run(self, stop: asyncio.Event) -> None:
        n = 0
        pending_key: str | None = None
        pending_amount = 0
        while not stop.is_set():
            if self.client is None or not self.client.connected:
                try:
                    if self.client is not None:
                        self.reconnects += 1
                        with contextlib.suppress(Exception):
                            await self.client.disconnect()
                    await self.connect()
                except Exception:
                    self.failures.append((time.monotonic(), "connect", "refused"))
                    await asyncio.sleep(0.2)
                    continue
            n += 1
            c, r = random.choice(self.cells)  # walkable targets only: a refused move is not a fault
            await self._call("move", {"x": c + 0.5, "y": r + 0.5})
            # Under the chat limits and moderation's flood rule (8 lines in 10 s): a line every ~2 s.
            if n % 10 == 0:
                text = f"{self.name} says hello number {n} {uuid.uuid4().hex[:8]}"
                ack = await self._call("chat:send", {"text": text})
                if ack and ack.get("ok"):
                    self.chats[ack["message_id"]] = text
                elif ack is not None:
                    self.refused_chats.append(text)  # refused: must not be stored
            if n % 5 == 1 and self.peer:
                # A transfer with no ack is retried with the same key until it is answered: exactly once.
                if pending_key is None:
                    pending_key, pending_amount = uuid.uuid4().hex, random.randint(1, 3)
                ack = await self._call("wallet:transfer", {"to": self.peer, "amount": pending_amount,
                                                           "idempotency_key": pending_key})
                if ack is not None and ack.get("ok"):
                    self.transfers[pending_key] = (ack["transaction_id"], pending_amount)
                if ack is not None and (ack.get("ok") or ack["error"]["code"] not in ("unavailable", "internal",
                                                                                       "overloaded")):
                    pending_key = None
            await asyncio.sleep(0.15)
        if pending_key is not None:  # settle the last one: its outcome must be known before we count
            for _ in range(50):
                if self.client is None or not self.client.connected:
                    with contextlib.suppress(Exception):
                        await self.connect()
                    if self.client is None or not self.client.connected:
                        await asyncio.sleep(0.2)
                        continue
                ack = await self._call("wallet:transfer", {"to": self.peer, "amount": pending_amount,
                                                           "idempotency_key": pending_key})
                if ack is not None and ack.get("ok"):
                    self.transfers[pending_key] = (ack["transaction_id"], pending_amount)
                    break
                if ack is not None and ack["error"]["code"] not in ("unavailable", "internal", "overloaded"):
                    break
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        if self.client is not None and self.client.connected:
            await self.client.disconnect()


class Load:
    """Bots in a ring (each pays the next), running until `stop()`."""

    def __init__(self, bots: list[Bot]):
        self.bots = bots
        for a, b in zip(bots, bots[1:] + bots[:1]):
            a.peer = b.uid
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    @classmethod
    async def create(cls, urls: list[str], n: int, room: str = "plaza") -> Load:
        bots = []
        for i in range(n):
            url = urls[i % len(urls)]
            bots.append(Bot(f"bot{i}", url, await register(url), room=room))
        return cls(bots)

    async def start(self) -> None:
        for b in self.bots:
            await b.connect()
        self._tasks = [asyncio.create_task(b.run(self._stop)) for b in self.bots]

    async def halt(self) -> None:
        """The bots stop sending (each settles its last transfer) but stay connected."""
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def stop(self) -> None:
        await self.halt()
        for b in self.bots:
            await b.close()

    def failures_since(self, t0: float) -> int:
        """Requests the fault made fail (not the world's ordinary refusals, such as an empty wallet)."""
        return sum(1 for b in self.bots for t, _, code in b.failures if t >= t0 and code not in ORDINARY)

    def failure_kinds_since(self, t0: float) -> dict[str, int]:
        out: dict[str, int] = {}
        for b in self.bots:
            for t, event, code in b.failures:
                if t >= t0:
                    out[f"{event}:{code}"] = out.get(f"{event}:{code}", 0) + 1
        return out

    def last_failure(self) -> float | None:
        times = [t for b in self.bots for t, _, _ in b.failures]
        return max(times) if times else None

    async def all_served_after(self, t0: float, events=("move", "chat:send", "wallet:transfer"), timeout: float = 60):
        """Seconds from `t0` until every bot had each kind of request answered ok after t0."""
        await wait_until(lambda: all(b.ok_at.get(e, 0) > t0 for b in self.bots for e in events), timeout,
                         "every bot to be served again")
        return max(b.ok_at[e] for b in self.bots for e in events) - t0


# -- what must hold afterwards --------------------------------------------------------------------
def pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def balances(db_url: str, uids: list[str]) -> dict[str, int]:
    conn = await asyncpg.connect(pg_dsn(db_url))
    try:
        rows = await conn.fetch("SELECT owner_id::text AS uid, balance FROM ledger_accounts WHERE owner_id = ANY($1::uuid[])",
                                uids)
    finally:
        await conn.close()
    return {r["uid"]: r["balance"] for r in rows}


async def verify(db_url: str, load: Load, before: dict[str, int]) -> dict:
    """Everything acknowledged is stored once; the audit passes; the bots' money adds up."""
    from server.db import Database
    from server.economy.ledger import Ledger

    txs = {tx: key for b in load.bots for key, (tx, _) in b.transfers.items()}
    chats = {mid: text for b in load.bots for mid, text in b.chats.items()}
    conn = await asyncpg.connect(pg_dsn(db_url))
    try:
        found = await conn.fetch("SELECT id::text AS id, idempotency_key FROM ledger_transactions WHERE id = ANY($1::uuid[])",
                                 list(txs))
        stored = {r["id"]: r["idempotency_key"] for r in found}
        lines = await conn.fetch("SELECT id::text AS id, original_text FROM chat_messages WHERE original_text = ANY($1::text[])",
                                 list(chats.values()))
    finally:
        await conn.close()
    missing_tx = [t for t in txs if t not in stored]
    wrong_key = [t for t, k in txs.items() if t in stored and not (stored[t] or "").endswith(k)]
    by_text: dict[str, list[str]] = {}
    for r in lines:
        by_text.setdefault(r["original_text"], []).append(r["id"])
    missing_chat = [m for m, t in chats.items() if m not in by_text.get(t, [])]
    duplicated_chat = [t for t, ids in by_text.items() if len(ids) > 1]
    after = await balances(db_url, list(before))
    db = Database(db_url)
    ledger = Ledger(db)
    try:
        audit = await ledger.audit()
    finally:
        await ledger.close()
        await db.dispose()
    return {"transfers_acked": len(txs), "chats_acked": len(chats), "missing_transfers": missing_tx,
            "wrong_keys": wrong_key, "missing_chats": missing_chat, "duplicated_chats": duplicated_chat,
            "money_before": sum(before.values()), "money_after": sum(after.values()), "audit_ok": audit.ok,
            "audit_failed": [c.name for c in audit.checks if not c.ok]}


def assert_nothing_lost(report: dict) -> None:
    assert report["transfers_acked"] > 0 and report["chats_acked"] > 0, report
    assert not report["missing_transfers"], report
    assert not report["wrong_keys"], report
    assert not report["missing_chats"], report
    assert not report["duplicated_chats"], report
    assert report["money_before"] == report["money_after"], report
    assert report["audit_ok"], report
