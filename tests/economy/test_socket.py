"""Wallet, shop and inventory events through a real world server and real Socket.IO clients."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import Inbox, call
from tests.economy.conftest import key


def err(reply: dict) -> str:
    assert reply["ok"] is False and reply["error"]["message"], reply
    return reply["error"]["code"]


async def test_new_users_start_with_the_grant(world):
    account, client = await world.user()
    assert await call(client, "wallet:balance") == {"ok": True, "balance": 1000, "currency": "coins"}
    reply = await call(client, "wallet:history", {})
    assert [(e["kind"], e["amount"]) for e in reply["entries"]] == [("grant", 1000)]


async def test_transfer_updates_both_parties_and_a_retry_moves_nothing(world):
    alice, a = await world.user()
    bob, b = await world.user()
    inbox_a, inbox_b = Inbox(a, "wallet:update"), Inbox(b, "wallet:update")
    k = key()
    payload = {"to": bob["user"]["id"], "amount": 250, "memo": "for the lantern", "idempotency_key": k}
    reply = await call(a, "wallet:transfer", payload)
    assert reply["ok"] and reply["balance"] == 750
    tx = reply["transaction_id"]
    got_b = await inbox_b.wait_for("wallet:update", lambda d: d["transaction"]["id"] == tx)
    got_a = await inbox_a.wait_for("wallet:update", lambda d: d["transaction"]["id"] == tx)
    assert got_b["balance"] == 1250 and got_b["transaction"]["amount"] == 250
    assert got_b["transaction"]["counterparty"]["id"] == alice["user"]["id"]
    assert got_b["transaction"]["memo"] == "for the lantern"
    assert got_a["balance"] == 750 and got_a["transaction"]["amount"] == -250
    # the reply was lost; the client sends the same request again
    again = await call(a, "wallet:transfer", payload)
    assert again == reply
    assert (await call(b, "wallet:balance"))["balance"] == 1250
    assert err(await call(a, "wallet:transfer", {**payload, "amount": 251})) == "conflict"
    history = (await call(b, "wallet:history", {"limit": 1}))["entries"]
    assert history[0]["transaction_id"] == tx and history[0]["balance"] == 1250
    assert len(inbox_b.items["wallet:update"]) == 1


@pytest.mark.parametrize("change", [
    {"amount": 0}, {"amount": -3}, {"amount": 1.5}, {"amount": 2.0}, {"amount": True}, {"amount": "10"},
    {"amount": 10**13}, {"amount": 10**40}, {"amount": None}, {"to": "nobody"}, {"idempotency_key": ""},
    {"memo": "x" * 201}, {"extra": 1}, {"idempotency_key": None},
])
async def test_bad_transfer_payloads_are_refused_and_change_nothing(world, change):
    _, a = await world.user()
    bob, b = await world.user()
    payload = {"to": bob["user"]["id"], "amount": 5, "idempotency_key": key(), **change}
    assert err(await call(a, "wallet:transfer", payload)) == "invalid_payload"
    assert a.connected
    assert (await call(a, "wallet:balance"))["balance"] == 1000
    assert (await call(b, "wallet:balance"))["balance"] == 1000


async def test_transfer_refusals(world):
    me, a = await world.user()
    bob, _ = await world.user()
    to = bob["user"]["id"]
    assert err(await call(a, "wallet:transfer", {"to": to, "amount": 1001, "idempotency_key": key()})) \
        == "insufficient_funds"
    assert err(await call(a, "wallet:transfer", {"to": str(uuid.uuid4()), "amount": 1, "idempotency_key": key()})) \
        == "not_found"
    assert err(await call(a, "wallet:transfer", {"to": me["user"]["id"], "amount": 1, "idempotency_key": key()})) \
        == "invalid_payload"
    assert err(await call(a, "wallet:history", {"limit": 1000})) == "invalid_payload"
    assert (await call(a, "wallet:balance"))["balance"] == 1000


async def test_shop_list_buy_and_inventory(world):
    _, c = await world.user()
    inbox = Inbox(c, "wallet:update")
    items = (await call(c, "shop:list", {"npc": "tobin"}))["items"]
    assert {"sku": "tea", "name": "Cup of mint tea", "price": 5, "stock": items[0]["stock"]} in items
    tea = next(i for i in items if i["sku"] == "tea")
    reply = await call(c, "shop:buy", {"npc": "tobin", "sku": "tea", "qty": 3, "idempotency_key": key()})
    assert reply["ok"] and reply["balance"] == 985
    assert reply["inventory"] == [{"shop": "tobin", "sku": "tea", "name": "Cup of mint tea", "qty": 3}]
    update = await inbox.wait_for("wallet:update", lambda d: d["transaction"]["id"] == reply["transaction_id"])
    assert update["balance"] == 985 and update["transaction"]["amount"] == -15
    after = {i["sku"]: i["stock"] for i in (await call(c, "shop:list", {"npc": "tobin"}))["items"]}
    assert after["tea"] == tea["stock"] - 3
    assert (await call(c, "inventory:list"))["items"] == reply["inventory"]
    assert err(await call(c, "shop:list", {"npc": "mira"})) == "not_found"
    assert err(await call(c, "shop:buy", {"npc": "tobin", "sku": "dragon", "qty": 1, "idempotency_key": key()})) \
        == "not_found"
    assert err(await call(c, "shop:buy", {"npc": "tobin", "sku": "tea", "qty": 0, "idempotency_key": key()})) \
        == "invalid_payload"
    assert err(await call(c, "shop:buy", {"npc": "tobin", "sku": "lantern", "qty": 9, "idempotency_key": key()})) \
        == "insufficient_funds"
    assert (await call(c, "wallet:balance"))["balance"] == 985


async def test_an_npc_resolver_hook_names_shops(world):
    _, c = await world.user()
    shops = world.ctx.shops
    npc_id = str(uuid.uuid4())

    async def by_uuid(npc: str):
        return "tobin" if npc == npc_id else None

    shops.npc_resolvers.append(by_uuid)
    try:
        assert (await call(c, "shop:list", {"npc": npc_id}))["ok"]
        assert (await call(c, "shop:list", {"npc": "tobin"}))["ok"]  # a shop key still names its shop
        assert err(await call(c, "shop:list", {"npc": str(uuid.uuid4())})) == "not_found"
    finally:
        shops.npc_resolvers.remove(by_uuid)


async def test_npc_sale_through_ctx_shops(world):
    account, c = await world.user()
    r = await world.ctx.shops.buy(account["user"]["id"], "tobin", "map", 1, key(), kind="npc_sale")
    assert r["balance"] == 960 and (await call(c, "wallet:balance"))["balance"] == 960
    assert (await world.ctx.ledger.audit()).ok


async def test_a_memo_refused_by_moderation_moves_nothing(world):
    from server.protocol import ProtocolError

    _, a = await world.user()
    bob, b = await world.user()
    seen = []

    async def strict(text, **kw):
        seen.append(kw.get("kind"))
        if "rude" in text:
            raise ProtocolError("invalid_payload", "that memo is not allowed")
        return text

    world.ctx.public_text_checks.append(strict)
    try:
        payload = {"to": bob["user"]["id"], "amount": 5, "memo": "rude words", "idempotency_key": key()}
        assert err(await call(a, "wallet:transfer", payload)) == "invalid_payload"
        assert (await call(a, "wallet:transfer", {**payload, "memo": "thanks", "idempotency_key": key()}))["ok"]
    finally:
        world.ctx.public_text_checks.remove(strict)
    assert seen == ["memo", "memo"]
    assert (await call(b, "wallet:balance"))["balance"] == 1005
