"""Shops: money, stock and inventory move together or not at all."""

from __future__ import annotations

import asyncio

import pytest

from server.economy.shops import seed_shops
from server.protocol import ProtocolError
from server.world.seed import load_world_file
from tests.economy.conftest import key, make_users


async def stock(shops, shop: str, sku: str) -> int:
    return {i["sku"]: i["stock"] for i in await shops.items(shop)}[sku]


async def code_of(coro) -> str:
    with pytest.raises(ProtocolError) as e:
        await coro
    return e.value.code


async def test_seeding_is_idempotent_and_lists_the_world_file(db, shops):
    async with db.session() as s:
        assert await seed_shops(s, load_world_file()) == 0
    items = await shops.items("tobin")
    assert {i["sku"]: (i["name"], i["price"]) for i in items}["lantern"] == ("Brass lantern", 120)
    assert await shops.resolve_npc("tobin") == "tobin"
    assert await shops.resolve_npc("mira") is None  # a resident without a shop
    assert await code_of(shops.items("nobody")) == "not_found"


async def test_purchase_moves_money_stock_and_inventory_together(shops, ledger):
    (u,) = await make_users(ledger, 1)
    before = await stock(shops, "tobin", "lantern")
    k = key()
    r = await shops.buy(u, "tobin", "lantern", 2, k)
    assert (r["balance"], r["total"], r["replayed"]) == (760, 240, False)
    assert r["inventory"] == [{"shop": "tobin", "sku": "lantern", "name": "Brass lantern", "qty": 2}]
    assert await stock(shops, "tobin", "lantern") == before - 2
    assert await ledger.balance(u) == 760
    # a retry returns the first result and moves nothing
    again = await shops.buy(u, "tobin", "lantern", 2, k)
    assert again["transaction_id"] == r["transaction_id"] and again["replayed"] and again["balance"] == 760
    assert await stock(shops, "tobin", "lantern") == before - 2 and await shops.inventory(u) == r["inventory"]
    assert await code_of(shops.buy(u, "tobin", "lantern", 3, k)) == "conflict"
    await shops.buy(u, "tobin", "tea", 1, key(), kind="npc_sale")
    assert {i["sku"]: i["qty"] for i in await shops.inventory(u)} == {"lantern": 2, "tea": 1}
    (tx,) = await ledger.search(user_id=u, kind="npc_sale")
    assert sorted(e["amount"] for e in tx["entries"]) == [-5, 5]
    assert (await ledger.audit()).ok


async def test_refused_purchases_change_nothing(shops, ledger):
    (u,) = await make_users(ledger, 1)
    lanterns = await stock(shops, "tobin", "lantern")
    assert await code_of(shops.buy(u, "tobin", "lantern", 9, key())) == "insufficient_funds"  # 1080 > 1000
    assert await code_of(shops.buy(u, "tobin", "lantern", lanterns + 1, key())) in ("conflict", "insufficient_funds")
    assert await code_of(shops.buy(u, "tobin", "unicorn", 1, key())) == "not_found"
    assert await code_of(shops.buy(u, "nobody", "tea", 1, key())) == "not_found"
    for qty in (0, -1, 1.0, True, 1001, "2"):
        assert await code_of(shops.buy(u, "tobin", "tea", qty, key())) == "invalid_payload"
    assert await code_of(shops.buy(u, "tobin", "tea", 1, key(), kind="gift")) == "invalid_payload"
    assert await ledger.balance(u) == 1000 and await shops.inventory(u) == []
    assert await stock(shops, "tobin", "lantern") == lanterns


async def test_out_of_stock_is_refused_and_concurrent_buyers_never_oversell(db, shops, ledger):
    world = {"residents": [{"key": "zed", "name": "Zed", "shop": [{"sku": "gem", "name": "Gem", "price": 10, "stock": 5}]}]}
    async with db.session() as s:
        assert await seed_shops(s, world) == 3  # revenue account, shop, item
    buyers = await make_users(ledger, 12)
    results = await asyncio.gather(*[shops.buy(b, "zed", "gem", 1, key()) for b in buyers], return_exceptions=True)
    ok = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, ProtocolError)]
    assert len(ok) == 5 and len(refused) == 7 and {e.code for e in refused} == {"conflict"}
    assert "out of stock" in refused[0].message
    assert await stock(shops, "zed", "gem") == 0
    assert sorted([await ledger.balance(b) for b in buyers]) == [990] * 5 + [1000] * 7
    assert {x["key"]: x["balance"] for x in await ledger.system_accounts()}["shop:zed"] == 50
    assert (await ledger.audit()).ok


async def test_reversing_a_purchase_returns_the_goods(shops, ledger):
    admin, u = await make_users(ledger, 2)
    maps = await stock(shops, "tobin", "map")
    r = await shops.buy(u, "tobin", "map", 3, key())
    rev = await ledger.reverse(r["transaction_id"], actor_id=admin, reason="refund: wrong map", idempotency_key=key())
    assert rev["reverses"] == r["transaction_id"]
    assert await ledger.balance(u) == 1000 and await shops.inventory(u) == []
    assert await stock(shops, "tobin", "map") == maps
    # goods given away (here: gone from the inventory) cannot be refunded
    r2 = await shops.buy(u, "tobin", "oil", 1, key())
    pool = await ledger.pool()
    await pool.execute("DELETE FROM inventory_items WHERE user_id = $1", u)
    with pytest.raises(ProtocolError) as e:
        await ledger.reverse(r2["transaction_id"], actor_id=admin, reason="refund", idempotency_key=key())
    assert e.value.code == "conflict" and "no longer holds" in e.value.message
    assert await ledger.balance(u) == 985
    assert (await ledger.audit()).ok
