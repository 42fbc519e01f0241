"""Admin REST for the economy: role-checked, every act audited with who, what and why."""

from __future__ import annotations

import uuid

import aiohttp
import pytest
import pytest_asyncio

from server.audit import recent
from tests.conftest import Inbox, call
from tests.economy.conftest import key

ROUTES = [
    ("POST", "/api/admin/economy/mint", {"amount": 5, "reason": "test", "idempotency_key": "k"}),
    ("POST", "/api/admin/economy/burn", {"amount": 5, "reason": "test", "idempotency_key": "k"}),
    ("POST", "/api/admin/economy/freeze", {"reason": "test", "account": "fees"}),
    ("POST", "/api/admin/economy/unfreeze", {"reason": "test", "account": "fees"}),
    ("POST", "/api/admin/economy/reverse", {"transaction_id": str(uuid.uuid4()), "reason": "test",
                                            "idempotency_key": "k"}),
    ("GET", "/api/admin/economy/audit", None),
    ("GET", "/api/admin/economy/accounts", None),
    ("GET", "/api/admin/economy/transactions", None),
    ("GET", f"/api/admin/economy/transactions/{uuid.uuid4()}", None),
    ("GET", f"/api/admin/economy/users/{uuid.uuid4()}", None),
    ("GET", "/api/admin/economy/shops", None),
    ("POST", "/api/admin/economy/shops", {"key": "stall", "name": "Stall", "reason": "test"}),
    ("PUT", "/api/admin/economy/shops/tobin/items/lantern", {"price": 1, "reason": "test"}),
]


class Admin:
    def __init__(self, world, http, token, user):
        self.world, self.http, self.user = world, http, user
        self.headers = {"Authorization": f"Bearer {token}"}

    async def req(self, method: str, path: str, body=None, params=None) -> tuple[int, dict]:
        async with self.http.request(method, self.world.url + path, json=body, params=params,
                                     headers=self.headers) as r:
            return r.status, await r.json()


@pytest_asyncio.fixture(loop_scope="session")
async def admin(world):
    account = await world.register()
    await world.set_role(account, "admin")
    async with aiohttp.ClientSession() as http:
        yield Admin(world, http, account["token"], account["user"])


@pytest.mark.parametrize("method,path,body", ROUTES)
async def test_admin_routes_refuse_users_and_strangers(world, method, path, body):
    account = await world.register()
    async with aiohttp.ClientSession() as http:
        async with http.request(method, world.url + path, json=body,
                                headers={"Authorization": f"Bearer {account['token']}"}) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "forbidden"
        async with http.request(method, world.url + path, json=body) as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "unauthorized"
    client = await world.connect(account["token"])
    assert (await call(client, "wallet:balance"))["balance"] == 1000  # nothing moved


async def audit_rows(world, target_id: str) -> list[dict]:
    async with world.ctx.db.session() as s:
        return await recent(s, action_prefix="economy.", target_id=target_id)


async def test_mint_burn_freeze_reverse_are_done_and_audited(world, admin):
    user, client = await world.user()
    uid = user["user"]["id"]
    inbox = Inbox(client, "wallet:update")
    k = key()
    status, minted = await admin.req("POST", "/api/admin/economy/mint",
                                     {"amount": 400, "reason": "quest reward", "idempotency_key": k, "user_id": uid})
    assert status == 200 and not minted["replayed"]
    update = await inbox.wait_for("wallet:update", lambda d: d["transaction"]["id"] == minted["transaction_id"])
    assert update["balance"] == 1400 and update["transaction"]["kind"] == "mint"
    status, again = await admin.req("POST", "/api/admin/economy/mint",
                                    {"amount": 400, "reason": "quest reward", "idempotency_key": k, "user_id": uid})
    assert status == 200 and again["replayed"] and again["transaction_id"] == minted["transaction_id"]
    status, burned = await admin.req("POST", "/api/admin/economy/burn",
                                     {"amount": 100, "reason": "duplicate reward", "idempotency_key": key(),
                                      "user_id": uid})
    assert status == 200
    status, body = await admin.req("POST", "/api/admin/economy/freeze", {"reason": "investigation", "user_id": uid})
    assert status == 200 and body["frozen"]
    other, _ = await world.user()
    reply = await call(client, "wallet:transfer", {"to": other["user"]["id"], "amount": 1, "idempotency_key": key()})
    assert reply["error"]["code"] == "frozen"
    status, body = await admin.req("POST", "/api/admin/economy/unfreeze", {"reason": "cleared", "user_id": uid})
    assert status == 200 and not body["frozen"]
    reply = await call(client, "wallet:transfer", {"to": other["user"]["id"], "amount": 300, "idempotency_key": key()})
    status, rev = await admin.req("POST", "/api/admin/economy/reverse",
                                  {"transaction_id": reply["transaction_id"], "reason": "sent by mistake",
                                   "idempotency_key": key()})
    assert status == 200 and rev["reverses"] == reply["transaction_id"]
    status, body = await admin.req("POST", "/api/admin/economy/reverse",
                                   {"transaction_id": reply["transaction_id"], "reason": "again",
                                    "idempotency_key": key()})
    assert status == 409 and body["error"]["code"] == "conflict"
    assert (await call(client, "wallet:balance"))["balance"] == 1300

    rows = await audit_rows(world, uid)
    assert [(r["action"], r["actor_id"], r["reason"]) for r in reversed(rows)] == [
        ("economy.mint", admin.user["id"], "quest reward"), ("economy.burn", admin.user["id"], "duplicate reward"),
        ("economy.freeze", admin.user["id"], "investigation"), ("economy.unfreeze", admin.user["id"], "cleared")]
    (rev_row,) = await audit_rows(world, reply["transaction_id"])
    assert (rev_row["action"], rev_row["reason"]) == ("economy.reverse", "sent by mistake")
    assert rev_row["details"]["reversal_id"] == rev["transaction_id"]


async def test_bad_admin_bodies(world, admin):
    user, _ = await world.user()
    uid = user["user"]["id"]
    for body in ({"amount": 1.5, "reason": "x" * 5, "idempotency_key": "k", "user_id": uid},
                 {"amount": True, "reason": "x" * 5, "idempotency_key": "k", "user_id": uid},
                 {"amount": -1, "reason": "x" * 5, "idempotency_key": "k", "user_id": uid},
                 {"amount": 10**13, "reason": "x" * 5, "idempotency_key": "k", "user_id": uid},
                 {"amount": 5, "idempotency_key": "k", "user_id": uid},
                 {"amount": 5, "reason": "", "idempotency_key": "k", "user_id": uid},
                 {"amount": 5, "reason": "ok reason", "user_id": uid},
                 {"amount": 5, "reason": "ok reason", "idempotency_key": "k", "user_id": uid, "account": "fees"}):
        status, reply = await admin.req("POST", "/api/admin/economy/mint", body)
        assert status == 400 and reply["error"]["code"] == "invalid_payload", (body, reply)
    status, reply = await admin.req("POST", "/api/admin/economy/mint",
                                    {"amount": 5, "reason": "ok reason", "idempotency_key": "k",
                                     "user_id": str(uuid.uuid4())})
    assert status == 404 and reply["error"]["code"] == "not_found"
    status, reply = await admin.req("POST", "/api/admin/economy/burn",
                                    {"amount": 5000, "reason": "too much", "idempotency_key": key(), "user_id": uid})
    assert status == 409 and reply["error"]["code"] == "insufficient_funds"
    status, reply = await admin.req("POST", "/api/admin/economy/freeze", {"reason": "nobody"})
    assert status == 400
    assert not await audit_rows(world, uid)  # refusals are not acts


async def test_audit_search_and_user_views(world, admin):
    alice, a = await world.user()
    bob, _ = await world.user()
    reply = await call(a, "wallet:transfer", {"to": bob["user"]["id"], "amount": 7, "idempotency_key": key()})
    status, report = await admin.req("GET", "/api/admin/economy/audit")
    assert status == 200 and report["ok"] and {c["name"] for c in report["checks"]} >= {
        "balanced", "cached_balances", "no_negative_balance", "supply"}
    assert report["figures"]["supply"] == report["figures"]["minted"] - report["figures"]["burned"]
    status, found = await admin.req("GET", "/api/admin/economy/transactions",
                                    params={"user_id": alice["user"]["id"], "kind": "transfer"})
    assert status == 200 and [t["id"] for t in found["transactions"]] == [reply["transaction_id"]]
    status, found = await admin.req("GET", "/api/admin/economy/transactions", params={"kind": "bogus"})
    assert status == 400
    status, tx = await admin.req("GET", f"/api/admin/economy/transactions/{reply['transaction_id']}")
    assert status == 200 and sorted(e["amount"] for e in tx["entries"]) == [-7, 7]
    status, _ = await admin.req("GET", f"/api/admin/economy/transactions/{uuid.uuid4()}")
    assert status == 404
    status, view = await admin.req("GET", f"/api/admin/economy/users/{bob['user']['id']}", params={"limit": "1"})
    assert status == 200 and view["balance"] == 1007 and not view["frozen"]
    assert [h["transaction_id"] for h in view["history"]] == [reply["transaction_id"]]
    status, _ = await admin.req("GET", f"/api/admin/economy/users/{uuid.uuid4()}")
    assert status == 404
    status, accounts = await admin.req("GET", "/api/admin/economy/accounts")
    assert {"mint", "treasury", "fees", "shop:tobin"} <= {x["key"] for x in accounts["accounts"]}


async def test_openapi_documents_the_economy_routes(world):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world.url}/api/openapi.json") as r:
            doc = await r.json()
    assert "post" in doc["paths"]["/api/admin/economy/mint"]
    assert "get" in doc["paths"]["/api/admin/economy/transactions/{transaction_id}"]
    assert "IssueIn" in doc["components"]["schemas"]


async def test_admin_opens_a_shop_stocks_it_and_people_buy_at_the_new_price(world, admin):
    shop = f"stall{uuid.uuid4().hex[:6]}"
    status, body = await admin.req("POST", "/api/admin/economy/shops", {"key": shop, "name": "Stall", "reason": "market day"})
    assert status == 200 and body["account"] == f"shop:{shop}"
    status, body = await admin.req("POST", "/api/admin/economy/shops", {"key": shop, "name": "Again", "reason": "twice"})
    assert status == 409 and body["error"]["code"] == "conflict"

    path = f"/api/admin/economy/shops/{shop}/items/kite"
    status, body = await admin.req("PUT", path, {"stock": 3, "reason": "no price"})
    assert status == 400 and body["error"]["code"] == "invalid_payload"  # a new item needs name and price
    for bad in ({"name": "Kite", "price": 0, "reason": "free?"}, {"name": "Kite", "price": 5, "stock": -1, "reason": "x" * 3},
                {"name": "Kite", "price": 5}, {"name": "Kite", "price": 5.5, "reason": "float"}):
        status, body = await admin.req("PUT", path, bad)
        assert status == 400 and body["error"]["code"] == "invalid_payload", bad
    status, body = await admin.req("PUT", f"/api/admin/economy/shops/nosuch{shop}/items/kite",
                                   {"name": "Kite", "price": 5, "reason": "nowhere"})
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = await admin.req("PUT", path, {"name": "Kite", "price": 40, "stock": 2, "reason": "new stock"})
    assert status == 200 and body == {"shop": shop, "sku": "kite", "name": "Kite", "price": 40, "stock": 2}
    status, body = await admin.req("PUT", path, {"price": 25, "reason": "sale"})
    assert status == 200 and (body["price"], body["stock"]) == (25, 2)

    user, client = await world.user()
    listed = await call(client, "shop:list", {"npc": shop})
    assert [(i["sku"], i["price"], i["stock"]) for i in listed["items"]] == [("kite", 25, 2)]
    bought = await call(client, "shop:buy", {"npc": shop, "sku": "kite", "qty": 2, "idempotency_key": key()})
    assert bought["ok"] and bought["balance"] == 1000 - 50
    refused = await call(client, "shop:buy", {"npc": shop, "sku": "kite", "qty": 1, "idempotency_key": key()})
    assert refused["error"]["code"] == "conflict"  # out of stock

    status, body = await admin.req("GET", "/api/admin/economy/shops")
    mine = next(s for s in body["shops"] if s["key"] == shop)
    assert mine["balance"] == 50 and mine["items"] == [{"sku": "kite", "name": "Kite", "price": 25, "stock": 0}]
    rows = await audit_rows(world, shop)
    assert [r["action"] for r in rows] == ["economy.shop_item", "economy.shop_item", "economy.shop_create"]
    assert rows[0]["reason"] == "sale" and rows[0]["details"]["before"]["price"] == 40
    assert rows[0]["actor_id"] == admin.user["id"]
    status, body = await admin.req("GET", "/api/admin/economy/audit")
    assert body["ok"], body
