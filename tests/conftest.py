"""Shared fixtures: a real PostgreSQL (embedded, or TOWNSQUARE_TEST_DATABASE_URL), a migrated
database per test module, an in-process world server on a free port, and real Socket.IO clients."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import socket
import uuid
from collections.abc import Awaitable
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import socketio

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/townsquare-runtime-{os.getuid()}")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
# A townsquare.toml or TOWNSQUARE_* in the developer's shell must not leak into tests.
for _k in [k for k in os.environ if k.startswith("TOWNSQUARE_") and not k.startswith("TOWNSQUARE_TEST_")]:
    del os.environ[_k]
os.environ["TOWNSQUARE_CONFIG"] = "/nonexistent/townsquare.toml"


_LOOP: list[asyncio.AbstractEventLoop] = []


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def _session_loop():
    _LOOP.append(asyncio.get_running_loop())
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # A pytest-timeout stack shows only the idle selector: add where each asyncio task is waiting.
    report = yield
    if call.excinfo is not None and "pytest-timeout" in str(call.excinfo.value) and _LOOP:
        out = io.StringIO()
        for task in asyncio.all_tasks(_LOOP[0]):
            print(f"--- {task!r}", file=out)
            task.print_stack(file=out)
        report.sections.append(("asyncio tasks at the timeout", out.getvalue()))
    return report

try:
    import torch

    torch.set_num_threads(1)  # 2-core CI machines; several tests run models
except ImportError:  # pragma: no cover
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """Creates fresh databases on one PostgreSQL server."""

    def __init__(self, admin_url: str | None, embedded=None):
        self.admin_url = admin_url
        self.embedded = embedded

    def new_database(self, name: str) -> str:
        name = re.sub(r"[^a-z0-9_]", "_", name.lower())[:50]
        if self.embedded is not None:
            return self.embedded.create_database(name)
        import asyncpg
        from sqlalchemy.engine import make_url

        base = make_url(self.admin_url)

        async def create() -> None:
            conn = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False))
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create()) if not _loop_running() else _run_in_thread(create)
        return base.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def _run_in_thread(coro_fn) -> None:
    import threading

    err: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro_fn())
        except BaseException as e:  # re-raised in the caller
            err.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if err:
        raise err[0]


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    url = os.environ.get("TOWNSQUARE_TEST_DATABASE_URL")
    if url:
        yield PgServer(url)
        return
    from server.db.embedded import EmbeddedPostgres

    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "pgdata")
    pg.start()
    yield PgServer(None, embedded=pg)
    pg.stop()


def make_database(pg_server: PgServer, label: str) -> str:
    """A fresh database migrated to head."""
    from server.db.migrate import upgrade

    url = pg_server.new_database(f"t_{label}_{uuid.uuid4().hex[:6]}")
    _run_in_thread(lambda: asyncio.to_thread(upgrade, url))
    return url


@pytest.fixture(scope="module")
def db_url(pg_server, request) -> str:
    return make_database(pg_server, request.module.__name__.rsplit(".", 1)[-1])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def db(db_url):
    from server.db import Database

    database = Database(db_url, pool_size=5)
    yield database
    await database.dispose()


def make_settings(tmp: Path, **overrides):
    from server.config import Settings

    base = dict(data_dir=tmp, secret_key="test-secret-key-" + "x" * 32, port=0, log_format="json",
                tick_hz=20.0,
                # Models inside the test process (torch is imported once for the session): a child
                # inference service per world costs ~15 s of the 2 cores; tests/inference covers the child.
                inference_local="process",
                # Many tests sign many people up from 127.0.0.1, each expecting the full starting grant;
                # tests/foundation/test_account_security.py sets these tight.
                signup_rate="100000/minute", grant_daily_budget=None, grant_per_address_per_day=None)
    base.update(overrides)
    return Settings(**base)


class WorldServer:
    """A world server running in this test's event loop on a real port."""

    def __init__(self, app, runner, port: int):
        self.app = app
        self.runner = runner
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        from server.context import get_ctx

        self.ctx = get_ctx(app)
        self.clients: list[socketio.AsyncClient] = []

    async def register(self, username: str | None = None, password: str = "correct-horse-9", **extra) -> dict:
        username = username or f"u{uuid.uuid4().hex[:10]}"
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{self.url}/api/auth/register",
                                 json={"username": username, "password": password, **extra}) as r:
                data = await r.json()
                assert r.status == 200, data
        data["password"] = password
        return data

    async def set_role(self, account: dict, role: str) -> dict:
        """Give a registered account a role; a role change revokes older tokens, so the account gets a new one."""
        accounts = self.ctx.accounts
        await accounts.set_role(uuid.UUID(account["user"]["id"]), role)
        account["token"] = accounts.issue_token(await accounts.get(uuid.UUID(account["user"]["id"])))
        return account

    async def connect(self, token: str, **kw) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False, **kw)
        await client.connect(self.url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
        self.clients.append(client)
        return client

    async def user(self, username: str | None = None, **extra) -> tuple[dict, socketio.AsyncClient]:
        """Registers a user and connects a socket for it."""
        account = await self.register(username, **extra)
        return account, await self.connect(account["token"])

    async def close_clients(self) -> None:
        for c in self.clients:
            if c.connected:
                await c.disconnect()
        self.clients.clear()


async def start_world(settings, url: str, seed: bool = True, domains=None) -> WorldServer:
    """A world on a free port; `domains` replaces server.domains.DOMAINS (a test's extra domain)."""
    from aiohttp import web

    from server.app import create_app
    from server.cli import _seed

    if seed:
        await _seed(url, settings, only_if_empty=True)
    app = create_app(settings, url) if domains is None else create_app(settings, url, domains)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return WorldServer(app, runner, port)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db_url, tmp_path_factory):
    """A seeded world server for the module; tests register their own users."""
    server = await start_world(make_settings(tmp_path_factory.mktemp("world")), db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


async def call(client: socketio.AsyncClient, event: str, data=None, timeout: float = 10) -> dict:
    """Emit with an ack, as every client -> server event is sent."""
    return await client.call(event, {} if data is None else data, timeout=timeout)


class Inbox:
    """Collects server -> client events of a client for assertions."""

    def __init__(self, client: socketio.AsyncClient, *events: str):
        self.items: dict[str, list] = {e: [] for e in events}
        self._cond = asyncio.Condition()
        for e in events:
            client.on(e, self._make(e))

    def _make(self, event: str):
        async def handler(data=None):
            async with self._cond:
                self.items[event].append(data)
                self._cond.notify_all()
        return handler

    async def wait_for(self, event: str, pred=lambda d: True, timeout: float = 5.0):
        async def find():
            async with self._cond:
                while True:
                    for d in self.items[event]:
                        if pred(d):
                            return d
                    await self._cond.wait()
        return await asyncio.wait_for(find(), timeout)


async def eventually(check, timeout: float = 5.0, what: str = ""):
    """Wait until `check()` (sync or async) returns something truthy and return it: for state with
    no event to wait on (a row saved, a map updated). Fails with `what` after `timeout` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or check}")
        await asyncio.sleep(0.02)  # the poll's pace; the condition, not the time, ends the wait


async def nothing(inbox: Inbox, event: str, pred=lambda d: True, *, barrier: Awaitable, since: int = 0) -> None:
    """Assert that no such event (from item `since` on) came before `barrier` arrived. `barrier`
    waits for a later event on the same connection, one sent after the unwanted one would have
    been: `waved(...)` for room lines (they go out before the sender's ack), a move's tick
    (`position_of`) for what a room's owner sends at a tick, a later notice for notices. A slow
    delivery cannot make the check pass, and no fixed wait is spent."""
    await barrier
    got = [d for d in inbox.items[event][since:] if pred(d)]
    assert not got, f"unexpected {event}: {got[0]}"


async def waved(client: socketio.AsyncClient, inbox: Inbox, who: str) -> None:
    """A barrier: `who` (the person connected as `client`) waves to the room and `inbox` waits for
    that wave. A room's events reach each connection in the order they were published, so what the
    room was sent before the wave has arrived by then."""
    before = {id(d) for d in inbox.items["emote"]}  # the earlier waves stay in the list: a new one is a new object
    r = await call(client, "emote", {"name": "wave"})
    assert r["ok"], r
    await inbox.wait_for("emote", lambda d: id(d) not in before and d["id"] == who)


# Server -> client events a test person's inbox collects (room, chat, moderation, residents, wallet).
PERSON_EVENTS = ("presence:join", "presence:leave", "world:tick", "chat:message", "emote", "room:left", "session",
                 "moderation:notice", "kicked", "disconnect", "npc:offer", "npc:sale", "wallet:update")


async def person(world, room: str | None = "plaza", *, events: tuple[str, ...] = PERSON_EVENTS, **extra):
    """Register, connect and (optionally) join `room`: (account, client, inbox of `events`, join reply).
    `extra` goes to sign-up (e.g. language="es")."""
    account, client = await world.user(**extra)
    inbox = Inbox(client, *events)
    reply = None
    if room is not None:
        reply = await call(client, "room:join", {"room": room})
        assert reply["ok"], reply
    return account, client, inbox, reply


# -- several nodes ----------------------------------------------------------------------------
REDIS_URL = os.environ.get("TOWNSQUARE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the multi-node tests share (keys under a fresh prefix per fleet). CI always has
    one, so there a missing Redis fails the tests instead of skipping them."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as e:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"no Redis at {REDIS_URL}: {e}")
    return REDIS_URL


@contextlib.asynccontextmanager
async def world_fleet(db_url: str, tmp_path_factory, redis_url: str, **overrides):
    """Two in-process world servers (nodes a and b) sharing one Redis and one PostgreSQL."""
    prefix = f"tsf-{uuid.uuid4().hex[:8]}:"
    nodes = []
    try:
        for name in ("a", "b"):
            settings = make_settings(tmp_path_factory.mktemp(f"node-{name}"), redis_url=redis_url,
                                     redis_prefix=prefix, room_lease_ttl_s=1.0,
                                     secret_key="fleet-secret-" + "k" * 32, **overrides)
            nodes.append(await start_world(settings, db_url))
        yield nodes
    finally:
        for node in nodes:
            await node.close_clients()
            await node.runner.cleanup()
