"""The starting grant under abuse (issue 13 item 7): per-address cap, daily treasury budget, audit."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import aiohttp
import pytest_asyncio

from server.audit import recent
from tests.conftest import call, make_settings, start_world

PASSWORD = "correct-horse-9"
GRANT = 1000


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db_url, tmp_path_factory):
    """Behind a trusted proxy (127.0.0.1), two grants per address a day, no budget to start with."""
    settings = make_settings(tmp_path_factory.mktemp("grants"), trusted_proxies=["127.0.0.1/32"],
                             starting_grant=GRANT, grant_per_address_per_day=2, grant_daily_budget=None)
    server = await start_world(settings, db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


_ADDRESSES = itertools.count(1)


def addr() -> str:
    """A fresh client address, never one used before in this run: IPv4 (TEST-NET) then documentation IPv6."""
    n = next(_ADDRESSES)
    return f"198.51.100.{n}" if n < 250 else f"2001:db8:{n:x}::1"


async def request(world, method: str, path: str, body: dict | None = None, *, token: str | None = None,
                  ip: str | None = None) -> tuple[int, dict]:
    headers = {"X-Forwarded-For": ip or addr()}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as http:
        async with http.request(method, world.url + path, json=body, headers=headers) as r:
            return r.status, await r.json()


async def signup(world, ip: str | None = None) -> dict:
    status, body = await request(world, "POST", "/api/auth/register",
                                 {"username": f"g{uuid.uuid4().hex[:10]}", "password": PASSWORD}, ip=ip)
    assert status == 200, body
    return body


async def balance(world, account: dict) -> int:
    return await world.ctx.ledger.balance(account["user"]["id"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def admin(world):
    return await world.set_role(await signup(world), "admin")


async def set_policy(world, admin, **body) -> dict:
    status, out = await request(world, "PUT", "/api/admin/economy/grants", {"reason": "test", **body},
                                token=admin["token"])
    assert status == 200, out
    return out


async def test_the_per_address_cap_holds(world, admin):
    ip = addr()
    people = [await signup(world, ip) for _ in range(4)]
    assert [await balance(world, p) for p in people] == [GRANT, GRANT, 0, 0]
    other = await signup(world, addr())
    assert await balance(world, other) == GRANT
    # An IPv6 subscriber's /64 is one address: a new interface id does not reset the cap.
    v6 = [await signup(world, f"2001:db8:77:1::{i}") for i in range(1, 4)]
    assert [await balance(world, p) for p in v6] == [GRANT, GRANT, 0]


async def test_puppets_cannot_farm_coins(world, admin):
    farmer = await signup(world)
    before = await balance(world, farmer)
    ip = addr()
    puppets = [await signup(world, ip) for _ in range(20)]
    for p in puppets:
        client = await world.connect(p["token"])
        have = (await call(client, "wallet:balance"))["balance"]
        if have:
            r = await call(client, "wallet:transfer", {"to": farmer["user"]["id"], "amount": have,
                                                       "idempotency_key": str(uuid.uuid4())})
            assert r["ok"], r
        await client.disconnect()
    assert await balance(world, farmer) - before == 2 * GRANT  # not 20 x


async def test_the_daily_budget_stops_grants_once_spent(world, admin):
    today = (await set_policy(world, admin, daily_budget=None))["today"]["granted"]
    policy = await set_policy(world, admin, daily_budget=today + 3 * GRANT)
    assert policy["today"]["remaining"] == 3 * GRANT and policy["daily_budget"] == today + 3 * GRANT
    # Ten at once from ten addresses: grants are serialized under the treasury's lock, so exactly three.
    people = await asyncio.gather(*(signup(world, addr()) for _ in range(10)))
    got = sorted([await balance(world, p) for p in people], reverse=True)
    assert got == [GRANT] * 3 + [0] * 7
    status, shown = await request(world, "GET", "/api/admin/economy/grants", token=admin["token"])
    assert status == 200 and shown["today"]["remaining"] == 0 and shown["today"]["refused_budget"] >= 7
    assert shown["amount"] == GRANT and shown["per_address_per_day"] == 2
    # A wallet opened lazily (an account made without the hook, as the CLI does) is held to it too.
    uid = uuid.uuid4()
    pool = await world.ctx.ledger.pool()
    await pool.execute("INSERT INTO users (id, username, password_hash) VALUES ($1, $2, 'x')", uid, f"cli{uid.hex[:8]}")
    assert await world.ctx.ledger.balance(uid) == 0

    # Raising it lets the next ones through again; the change is audited.
    await set_policy(world, admin, daily_budget=today + 4 * GRANT)
    assert await balance(world, await signup(world, addr())) == GRANT
    async with world.ctx.db.session() as s:
        rows = await recent(s, action_prefix="economy.grant_policy")
    assert rows and rows[0]["details"]["after"]["daily_budget"] == today + 4 * GRANT
    await set_policy(world, admin, daily_budget=None)


async def test_grant_policy_input_is_checked_and_admin_only(world, admin):
    user = await signup(world)
    status, body = await request(world, "PUT", "/api/admin/economy/grants", {"daily_budget": 5, "reason": "mine"},
                                 token=user["token"])
    assert status == 403 and body["error"]["code"] == "forbidden"
    before = (await request(world, "GET", "/api/admin/economy/grants", token=admin["token"]))[1]
    for bad in ({"daily_budget": -1, "reason": "neg"}, {"daily_budget": 1.5, "reason": "float"},
                {"daily_budget": "9", "reason": "str"}, {"per_address_per_day": 2, "reason": "x"},
                {"daily_budget": 10, "reason": "ok", "extra": 1}):
        status, body = await request(world, "PUT", "/api/admin/economy/grants", bad, token=admin["token"])
        assert status == 400 and body["error"]["code"] == "invalid_payload", (bad, body)
    after = (await request(world, "GET", "/api/admin/economy/grants", token=admin["token"]))[1]
    assert after["daily_budget"] == before["daily_budget"] and after["per_address_per_day"] == 2


async def test_the_audit_passes_with_grants_and_refusals(world, admin):
    report = await world.ctx.ledger.audit()
    assert report.ok, report.format()
    assert "grants_recorded" in {c.name for c in report.checks}


async def test_the_audit_finds_a_grant_paid_around_the_rules(world, admin):
    """A grant posted straight through ledger_post (no claim, so no cap or budget) is reported."""
    user = await signup(world)
    pool = await world.ctx.ledger.pool()
    wallet = (await world.ctx.ledger.wallet(user["user"]["id"]))["account_id"]
    treasury = await pool.fetchval("SELECT id FROM ledger_accounts WHERE key = 'treasury'")
    tx = await pool.fetchval("SELECT tx_id FROM ledger_post('grant', $1, 'sneaky', NULL, 'sneaky', $2, $3)",
                             uuid.UUID(user["user"]["id"]), [treasury, wallet], [-5, 5])
    report = await world.ctx.ledger.audit()
    check = next(c for c in report.checks if c.name == "grants_recorded")
    assert not report.ok and not check.ok
    assert [row["transaction_id"] for row in check.offending] == [str(tx)]
