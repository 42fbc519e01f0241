"""Accounts under attack (issue 13): revoked sessions, names, signup and login abuse."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import threading
import time
import uuid

import aiohttp
import pytest
import pytest_asyncio
import socketio

from server.accounts.auth import client_address, parse_networks
from tests.conftest import call, make_settings, start_world

PASSWORD = "correct-horse-9"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db_url, tmp_path_factory):
    """Behind a trusted proxy (127.0.0.1): each test speaks for its own client addresses."""
    settings = make_settings(tmp_path_factory.mktemp("sec"), trusted_proxies=["127.0.0.1/32"], signup_rate="3/minute")
    server = await start_world(settings, db_url)
    await asyncio.wait_for(server.ctx.session_watch.listening.wait(), 10)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


_ADDRESSES = itertools.count(1)


def addr() -> str:
    """A fresh client address, never one used before in this run: IPv4 (TEST-NET) then documentation IPv6."""
    n = next(_ADDRESSES)
    return f"203.0.113.{n}" if n < 250 else f"2001:db8:{n:x}::1"


async def post(world, path: str, body: dict, *, ip: str | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {}
    if ip:
        headers["X-Forwarded-For"] = ip
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(world.url + path, json=body, headers=headers) as r:
            return r.status, await r.json()


async def me(world, token: str) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.get(world.url + "/api/me", headers={"Authorization": f"Bearer {token}"}) as r:
            return r.status


async def signup(world, name: str | None = None, *, ip: str | None = None, **extra) -> dict:
    name = name or f"s{uuid.uuid4().hex[:10]}"
    status, body = await post(world, "/api/auth/register", {"username": name, "password": PASSWORD, **extra},
                              ip=ip or addr())
    assert status == 200, body
    return body


async def user_count(world) -> int:
    from sqlalchemy import func, select

    from server.accounts.models import User

    async with world.ctx.db.session() as s:
        return await s.scalar(select(func.count()).select_from(User))


class Dropped:
    """Collects `kicked` and waits for the server to close the socket."""

    def __init__(self, client: socketio.AsyncClient):
        self.kicked: list[dict] = []
        self.gone = asyncio.Event()
        client.on("kicked", lambda data: self.kicked.append(data))
        client.on("disconnect", lambda *a: self.gone.set())


async def connect_refused(world, token: str) -> dict:
    client = socketio.AsyncClient(reconnection=False)
    errors: list = []
    client.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(world.url, auth={"token": token}, transports=["websocket"], wait_timeout=5)
    return errors[0]["data"]


# -- item 3: role changes, bans and password changes reach open sockets and old tokens -------------
async def test_a_demoted_admin_loses_the_open_socket_and_old_tokens(world):
    owner = await signup(world)
    room = await world.ctx.rooms.create_room(f"p{uuid.uuid4().hex[:8]}", "Back Office", access="private",
                                             owner_id=owner["user"]["id"])
    boss = await world.set_role(await signup(world), "admin")
    admin = await world.set_role(await signup(world), "admin")
    victim = await signup(world)
    client = await world.connect(admin["token"])
    dropped = Dropped(client)
    # While an admin: the private room opens (a check that this socket had the power).
    assert (await call(client, "room:join", {"room": room.slug}))["ok"]
    await call(client, "room:leave")

    status, body = await post(world, f"/api/admin/users/{admin['user']['id']}/role", {"role": "user", "reason": "x"},
                              token=boss["token"])
    assert status == 200, body
    await asyncio.wait_for(dropped.gone.wait(), 5)
    assert dropped.kicked and "role changed" in dropped.kicked[0]["reason"]
    assert not client.connected
    with pytest.raises(socketio.exceptions.BadNamespaceError):
        await call(client, "room:ban", {"room": room.slug, "user_id": victim["user"]["id"]})
    assert await me(world, admin["token"]) == 401
    assert (await connect_refused(world, admin["token"]))["code"] == "unauthorized"

    # Logged in again, as the user they now are: no private room, no bans.
    status, fresh = await post(world, "/api/auth/login", {"username": admin["user"]["username"], "password": PASSWORD},
                               ip=addr())
    assert status == 200 and fresh["user"]["role"] == "user"
    again = await world.connect(fresh["token"])
    assert (await call(again, "room:join", {"room": room.slug}))["error"]["code"] == "forbidden"
    r = await call(again, "room:ban", {"room": room.slug, "user_id": victim["user"]["id"]})
    assert r["error"]["code"] == "forbidden"


async def test_a_ban_ends_old_tokens_and_drops_the_socket(world):
    mod = await world.set_role(await signup(world), "moderator")
    user = await signup(world)
    client = await world.connect(user["token"])
    dropped = Dropped(client)
    assert await me(world, user["token"]) == 200
    status, body = await post(world, "/api/admin/moderation/act",
                              {"user_id": user["user"]["id"], "action": "ban", "reason": "spam bot"}, token=mod["token"])
    assert status == 200, body
    await asyncio.wait_for(dropped.gone.wait(), 5)
    assert any("spam bot" in k["reason"] for k in dropped.kicked)
    assert await me(world, user["token"]) == 401
    assert (await connect_refused(world, user["token"]))["code"] == "banned"  # told why, not just refused
    status, body = await post(world, "/api/auth/login", {"username": user["user"]["username"], "password": PASSWORD},
                              ip=addr())
    assert status == 403 and body["error"]["code"] == "banned"


async def test_a_password_change_ends_older_tokens(world):
    user = await signup(world)
    old_token = user["token"]
    client = await world.connect(old_token)
    dropped = Dropped(client)
    path = "/api/me/password"
    status, body = await post(world, path, {"old_password": "not-my-password", "new_password": "brand-new-9-horse"},
                              token=old_token)
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body = await post(world, path, {"old_password": PASSWORD, "new_password": "password1"}, token=old_token)
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    assert await me(world, old_token) == 200  # refused changes changed nothing

    status, body = await post(world, path, {"old_password": PASSWORD, "new_password": "brand-new-9-horse"},
                              token=old_token)
    assert status == 200, body
    await asyncio.wait_for(dropped.gone.wait(), 5)
    assert "password" in dropped.kicked[0]["reason"]
    assert await me(world, old_token) == 401
    assert await me(world, body["token"]) == 200
    name = user["user"]["username"]
    status, _ = await post(world, "/api/auth/login", {"username": name, "password": PASSWORD}, ip=addr())
    assert status == 401
    status, _ = await post(world, "/api/auth/login", {"username": name, "password": "brand-new-9-horse"}, ip=addr())
    assert status == 200


async def test_a_role_change_on_another_node_process_reaches_this_node(world, db_url):
    """The change is made by a separate database connection (as the CLI or another node would)."""
    import asyncpg

    from server.economy.ledger import Ledger

    user = await signup(world)
    client = await world.connect(user["token"])
    dropped = Dropped(client)
    conn = await asyncpg.connect(Ledger.asyncpg_dsn(db_url))
    try:
        await conn.execute("UPDATE users SET role = 'moderator' WHERE id = $1", uuid.UUID(user["user"]["id"]))
    finally:
        await conn.close()
    await asyncio.wait_for(dropped.gone.wait(), 5)
    assert await me(world, user["token"]) == 401


# -- item 5: names ---------------------------------------------------------------------------------
@pytest.mark.parametrize("username", ["admin\n", "carol\n", "bob\x00x", "ab", "a b c", "ShitLord_9"])
async def test_bad_usernames_are_refused_and_nothing_is_created(world, username):
    before = await user_count(world)
    status, body = await post(world, "/api/auth/register", {"username": username, "password": PASSWORD}, ip=addr())
    assert status == 400 and body["error"]["code"] == "invalid_payload", body
    assert await user_count(world) == before


async def test_control_characters_in_names_are_invalid_payload_not_internal(world):
    status, body = await post(world, "/api/auth/register", {"username": f"d{uuid.uuid4().hex[:8]}",
                                                            "password": PASSWORD, "display_name": "Fern\x00"}, ip=addr())
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    status, body = await post(world, "/api/auth/login", {"username": "fern\x00", "password": PASSWORD}, ip=addr())
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    user = await signup(world)
    client = await world.connect(user["token"])
    r = await call(client, "profile:update", {"display_name": "Fern\x00"})
    assert r["error"]["code"] == "invalid_payload"


# -- item 6: hashing off the loop, signups limited per address ---------------------------------------
async def test_password_hashing_runs_off_the_event_loop(world):
    from argon2 import PasswordHasher

    seen: list[str] = []

    class Recording(PasswordHasher):
        """argon2-cffi's hasher, noting which thread each hash and verify runs on."""

        def hash(self, *a, **kw):
            seen.append(threading.current_thread().name)
            return super().hash(*a, **kw)

        def verify(self, *a, **kw):
            seen.append(threading.current_thread().name)
            return super().verify(*a, **kw)

    accounts = world.ctx.accounts
    real, accounts._hasher = accounts._hasher, Recording()
    try:
        user = await signup(world)
        await post(world, "/api/auth/login", {"username": user["user"]["username"], "password": PASSWORD}, ip=addr())
        await post(world, "/api/auth/login", {"username": "nobody_here_1", "password": PASSWORD}, ip=addr())
    finally:
        accounts._hasher = real
    assert len(seen) >= 3
    assert all(name.startswith("argon2") for name in seen), seen


async def test_signups_are_rate_limited_per_client_address(world):
    ip = addr()
    for _ in range(3):
        await signup(world, ip=ip)
    status, body = await post(world, "/api/auth/register", {"username": f"s{uuid.uuid4().hex[:10]}",
                                                            "password": PASSWORD}, ip=ip)
    assert status == 429 and body["error"]["code"] == "rate_limited"
    await signup(world, ip=addr())  # another address is not affected


# -- item 8: logins ----------------------------------------------------------------------------------
@pytest.mark.parametrize("password", ["password", "qwertyuiop", "iloveyou1", "aaaaaaaaaaaa", "12345678910"])
async def test_common_passwords_are_refused(world, password):
    name = f"c{uuid.uuid4().hex[:10]}"
    status, body = await post(world, "/api/auth/register", {"username": name, "password": password}, ip=addr())
    assert status == 400 and body["error"]["code"] == "invalid_payload", body
    assert await world.ctx.accounts.by_name(name) is None


async def test_unknown_names_take_as_long_as_wrong_passwords(world):
    user = await signup(world)

    async def attempt(name: str) -> float:
        started = time.perf_counter()
        status, _ = await post(world, "/api/auth/login", {"username": name, "password": "wrong-password-7"}, ip=addr())
        assert status == 401
        return time.perf_counter() - started

    await attempt(f"ghost{uuid.uuid4().hex[:6]}")  # warm-up (the dummy hash is made once)
    wrong, unknown = [], []
    for _ in range(7):
        wrong.append(await attempt(user["user"]["username"]))
        unknown.append(await attempt(f"ghost{uuid.uuid4().hex[:6]}"))
    assert statistics.median(unknown) >= 0.5 * statistics.median(wrong), (wrong, unknown)


async def test_a_lockout_from_one_address_does_not_reach_another(world):
    user = await signup(world)
    name, attacker = user["user"]["username"], addr()
    codes = []
    for _ in range(12):
        _, body = await post(world, "/api/auth/login", {"username": name, "password": "wrong-password-7"}, ip=attacker)
        codes.append(body["error"]["code"])
    assert codes[:10] == ["unauthorized"] * 10 and codes[10:] == ["rate_limited"] * 2
    status, body = await post(world, "/api/auth/login", {"username": name, "password": PASSWORD}, ip=addr())
    assert status == 200, body


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(world, db_url, tmp_path_factory):
    # Unit: the right-most untrusted hop; entries a client wrote to the left are not believed.
    trusted = parse_networks(["10.0.0.0/8", "127.0.0.1"])
    assert client_address("10.1.2.3", "198.51.100.7", trusted) == "198.51.100.7"
    assert client_address("10.1.2.3", "1.2.3.4, 198.51.100.7, 10.9.9.9", trusted) == "198.51.100.7"
    assert client_address("198.51.100.9", "1.2.3.4", trusted) == "198.51.100.9"  # not a proxy: ignored
    assert client_address("10.1.2.3", "not-an-ip", trusted) == "10.1.2.3"
    assert client_address("127.0.0.1", "198.51.100.7", []) == "127.0.0.1"

    # End to end: a world that trusts no proxy puts every X-Forwarded-For sender in the peer's bucket.
    other = await start_world(make_settings(tmp_path_factory.mktemp("untrusting"), signup_rate="2/minute"), db_url)
    try:
        for _ in range(2):
            await signup(other)  # each with its own (ignored) X-Forwarded-For
        status, body = await post(other, "/api/auth/register", {"username": f"s{uuid.uuid4().hex[:10]}",
                                                                "password": PASSWORD}, ip=addr())
        assert status == 429 and body["error"]["code"] == "rate_limited"
    finally:
        await other.close_clients()
        await other.runner.cleanup()


def test_compose_believes_only_its_proxy_and_nginx_forwards_the_client():
    from pathlib import Path

    import yaml

    from server.config import Settings

    root = Path(__file__).resolve().parents[2]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    for name in ("world1", "world2"):
        svc = compose["services"][name]
        networks = parse_networks(Settings(trusted_proxies=yaml.safe_load(
            svc["environment"]["TOWNSQUARE_TRUSTED_PROXIES"])).trusted_proxies)
        assert all(n.is_private for n in networks) and networks
        assert "ports" not in svc  # reachable only through the proxy
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in (root / "deploy/nginx.conf").read_text()


async def test_a_role_change_on_one_node_drops_the_socket_on_the_other(db_url, tmp_path_factory, redis_url):
    from tests.conftest import world_fleet

    async with world_fleet(db_url, tmp_path_factory, redis_url) as (a, b):
        await asyncio.wait_for(b.ctx.session_watch.listening.wait(), 10)
        boss = await a.set_role(await a.register(), "admin")
        user = await a.register()
        client = await b.connect(user["token"])
        dropped = Dropped(client)
        status, body = await post(a, f"/api/admin/users/{user['user']['id']}/role", {"role": "moderator",
                                                                                     "reason": "helping out"},
                                  token=boss["token"])
        assert status == 200, body
        await asyncio.wait_for(dropped.gone.wait(), 5)
        assert "role changed to moderator" in dropped.kicked[0]["reason"]
        assert await me(b, user["token"]) == 401


async def test_a_flood_of_hashes_is_refused_as_overloaded_not_queued_without_end():
    from server.accounts.service import Accounts
    from server.protocol import ProtocolError

    accounts = Accounts(None, "k" * 40, token_ttl_s=60, languages=["en"], hash_workers=1)
    try:
        results = await asyncio.gather(*(accounts.hash_password(f"pw-{i}-horse") for i in range(40)),
                                       return_exceptions=True)
    finally:
        accounts.close()
    refused = [r for r in results if isinstance(r, ProtocolError)]
    assert len(refused) == 8 and all(r.code == "overloaded" for r in refused)
    assert all(isinstance(r, str) and r.startswith("$argon2") for r in results if r not in refused)
