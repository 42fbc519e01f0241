"""Shops: residents who sell items for coins, and what each person owns.

A shop is keyed by the resident key in world.yaml (`residents[].shop`); seeding adds missing
shops and items and never touches existing ones (stock and prices may have changed since).
A purchase moves money, stock and inventory in one database transaction (the `shop_buy`
SQL function) or not at all, with the same idempotency rules as any ledger movement.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.economy.ledger import MAX_AMOUNT, MAX_REASON, Ledger, as_uuid, check_key, check_text, fingerprint
from server.protocol import ProtocolError

log = logging.getLogger(__name__)

MAX_QTY = 1000
PURCHASE_KINDS = ("purchase", "npc_sale")

# npc id (as the client names it) -> shop key, or None when this resolver does not know it.
NpcResolver = Callable[[str], Awaitable[str | None]]
# (user id, shop key, sku, qty, buy's result) after a person's own purchase committed; must not block.
PurchaseHook = Callable[[Any, str, str, int, dict[str, Any]], None]

SQL_BUY = ("SELECT * FROM shop_buy($1::uuid, $2::text, $3::text, $4::integer, $5::text, $6::bytea, $7::text, "
           "$8::bigint)")
SQL_INVENTORY = """
SELECT i.shop_key, i.sku, s.name, i.qty FROM inventory_items i
  JOIN shop_items s ON s.shop_key = i.shop_key AND s.sku = i.sku
 WHERE i.user_id = $1 AND i.qty > 0 ORDER BY i.shop_key, i.sku
"""


def check_qty(qty: Any) -> int:
    if type(qty) is not int or not 1 <= qty <= MAX_QTY:
        raise ProtocolError("invalid_payload", f"qty must be a whole number from 1 to {MAX_QTY}")
    return qty


class Shops:
    """Offers two hooks: `npc_resolvers` (residents map their npc ids to shop keys) and
    `on_purchase` (shopkeepers notice a purchase made at their shop)."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.npc_resolvers: list[NpcResolver] = []
        self.on_purchase: list[PurchaseHook] = []

    async def resolve_npc(self, npc: str) -> str | None:
        """The shop key of the npc the client names: the first resolver that knows it, else the
        npc id is taken as the shop key itself."""
        for resolver in self.npc_resolvers:
            key = await resolver(npc)
            if key is not None:
                return key
        return await self.shop_exists(npc)

    async def shop_exists(self, key: str) -> str | None:
        if not isinstance(key, str):
            return None
        found = await self.ledger._fetchrow("SELECT key FROM shops WHERE key = $1", key)
        return found["key"] if found else None

    async def shop_for(self, npc: str) -> str:
        key = await self.resolve_npc(npc)
        if key is None:
            raise ProtocolError("not_found", f"{npc!r} keeps no shop")
        return key

    async def items(self, shop_key: str) -> list[dict[str, Any]]:
        rows = await self.ledger._fetch(
            "SELECT i.sku, i.name, i.price, i.stock FROM shops s LEFT JOIN shop_items i ON i.shop_key = s.key "
            "WHERE s.key = $1 ORDER BY i.price, i.sku", shop_key)
        if not rows:
            raise ProtocolError("not_found", f"no shop {shop_key!r}")
        return [dict(r) for r in rows if r["sku"] is not None]

    async def buy(self, user_id: Any, shop_key: str, sku: str, qty: Any, idempotency_key: Any, *,
                  kind: str = "purchase") -> dict[str, Any]:
        """Buy `qty` of `sku`; returns {"transaction_id", "balance", "total", "inventory", "replayed"}.
        NPCs selling on a person's confirmation call this with kind="npc_sale"."""
        if kind not in PURCHASE_KINDS:
            raise ProtocolError("invalid_payload", f"kind must be one of {', '.join(PURCHASE_KINDS)}")
        uid = as_uuid(user_id)
        qty = check_qty(qty)
        key = check_key(idempotency_key)
        if not isinstance(shop_key, str) or not isinstance(sku, str):
            raise ProtocolError("invalid_payload", "shop and sku must be strings")
        fp = fingerprint("buy", kind, shop_key, sku, qty)
        row = await self.ledger._fetchrow(SQL_BUY, uid, shop_key, sku, qty, key, fp, kind,
                                          self.ledger.starting_grant)
        result = {"transaction_id": str(row["tx_id"]), "balance": row["wallet_balance"], "total": row["total"],
                  "replayed": row["was_replayed"], "created_at": row["tx_created_at"].isoformat(),
                  "inventory": await self.inventory(uid)}
        if kind == "purchase" and not result["replayed"]:
            for hook in self.on_purchase:
                hook(user_id, shop_key, sku, qty, result)
        return result

    async def inventory(self, user_id: Any) -> list[dict[str, Any]]:
        rows = await self.ledger._fetch(SQL_INVENTORY, as_uuid(user_id))
        return [{"shop": r["shop_key"], "sku": r["sku"], "name": r["name"], "qty": r["qty"]} for r in rows]

    # -- administration (each act audited in its own transaction) --------------------------------
    async def all_shops(self) -> list[dict[str, Any]]:
        """Every shop with its revenue balance and items."""
        shops = await self.ledger._fetch(
            "SELECT s.key, s.name, a.key AS account, a.balance FROM shops s "
            "JOIN ledger_accounts a ON a.id = s.account_id ORDER BY s.key")
        out = []
        for sh in shops:
            items = await self.ledger._fetch(
                "SELECT sku, name, price, stock FROM shop_items WHERE shop_key = $1 ORDER BY sku", sh["key"])
            out.append({**dict(sh), "items": [dict(i) for i in items]})
        return out

    async def create_shop(self, key: str, name: str, *, actor_id: Any, reason: Any) -> dict[str, Any]:
        """A new shop with its revenue account (`shop:KEY`); `conflict` if the key is taken."""
        reason = check_text(reason, "reason", MAX_REASON, required=True)
        actor = as_uuid(actor_id, "actor id")

        async def op(s: AsyncSession) -> dict[str, Any]:
            if await s.scalar(text("SELECT 1 FROM shops WHERE key = :k"), {"k": key}):
                raise ProtocolError("conflict", f"a shop {key!r} exists already")
            account = await s.scalar(text(
                "INSERT INTO ledger_accounts (kind, key) VALUES ('sink', :k) ON CONFLICT (key) DO UPDATE "
                "SET key = EXCLUDED.key RETURNING id"), {"k": f"shop:{key}"})
            await s.execute(text("INSERT INTO shops (key, name, account_id) VALUES (:k, :n, :a)"),
                            {"k": key, "n": name, "a": account})
            await record(s, actor_id=actor, action="economy.shop_create", target_type="shop", target_id=key,
                         reason=reason, details={"name": name})
            return {"key": key, "name": name, "account": f"shop:{key}", "items": []}

        return await self.ledger._in_session(op)

    async def set_item(self, shop_key: str, sku: str, *, actor_id: Any, reason: Any, name: str | None = None,
                       price: int | None = None, stock: int | None = None) -> dict[str, Any]:
        """Add an item or change its name, price or stock. A purchase in flight keeps the price it
        read: `shop_buy` refuses to charge a price that changed under it."""
        reason = check_text(reason, "reason", MAX_REASON, required=True)
        actor = as_uuid(actor_id, "actor id")
        if price is not None and not 0 < price <= MAX_AMOUNT:
            raise ProtocolError("invalid_payload", f"price must be from 1 to {MAX_AMOUNT}")
        if stock is not None and not 0 <= stock <= 10**9:
            raise ProtocolError("invalid_payload", "stock must be from 0 to 1000000000")

        async def op(s: AsyncSession) -> dict[str, Any]:
            if not await s.scalar(text("SELECT 1 FROM shops WHERE key = :k"), {"k": shop_key}):
                raise ProtocolError("not_found", f"no shop {shop_key!r}")
            before = (await s.execute(text(
                "SELECT name, price, stock FROM shop_items WHERE shop_key = :k AND sku = :sku FOR UPDATE"),
                {"k": shop_key, "sku": sku})).mappings().first()
            if before is None:
                if name is None or price is None:
                    raise ProtocolError("invalid_payload", "a new item needs a name and a price")
                after = {"name": name, "price": price, "stock": stock or 0}
                await s.execute(text("INSERT INTO shop_items (shop_key, sku, name, price, stock) "
                                     "VALUES (:k, :sku, :name, :price, :stock)"), {"k": shop_key, "sku": sku, **after})
            else:
                after = {"name": before["name"] if name is None else name,
                         "price": before["price"] if price is None else price,
                         "stock": before["stock"] if stock is None else stock}
                await s.execute(text("UPDATE shop_items SET name = :name, price = :price, stock = :stock "
                                     "WHERE shop_key = :k AND sku = :sku"), {"k": shop_key, "sku": sku, **after})
            await record(s, actor_id=actor, action="economy.shop_item", target_type="shop", target_id=shop_key,
                         reason=reason, details={"sku": sku, "before": dict(before) if before else None,
                                                 "after": after})
            return {"shop": shop_key, "sku": sku, **after}

        return await self.ledger._in_session(op)


# -- seeding ------------------------------------------------------------------------------------
def _shop_items(resident: dict[str, Any]) -> list[dict[str, Any]]:
    items = []
    for it in resident.get("shop") or []:
        sku, name, price, stock = it.get("sku"), it.get("name"), it.get("price"), it.get("stock", 0)
        if not (isinstance(sku, str) and sku and isinstance(name, str) and type(price) is int and 0 < price <= 10**12
                and type(stock) is int and stock >= 0):
            raise ValueError(f"world file: bad shop item of resident {resident.get('key')!r}: {it!r}")
        items.append({"sku": sku, "name": name, "price": price, "stock": stock})
    return items


async def seed_shops(session: AsyncSession, world: dict[str, Any]) -> int:
    """Adds missing shops (with their revenue account) and items; returns rows added."""
    added = 0
    for resident in world.get("residents") or []:
        if not resident.get("shop"):
            continue
        key = resident["key"]
        items = _shop_items(resident)
        account = await session.scalar(
            text("INSERT INTO ledger_accounts (kind, key) VALUES ('sink', :k) ON CONFLICT (key) DO NOTHING RETURNING id"),
            {"k": f"shop:{key}"})
        if account is None:
            account = await session.scalar(text("SELECT id FROM ledger_accounts WHERE key = :k"), {"k": f"shop:{key}"})
        else:
            added += 1
        if await session.scalar(
                text("INSERT INTO shops (key, name, account_id) VALUES (:k, :n, :a) ON CONFLICT (key) DO NOTHING "
                     "RETURNING key"),
                {"k": key, "n": f"{resident.get('name', key)}'s shop", "a": account}):
            added += 1
        for it in items:
            if await session.scalar(
                    text("INSERT INTO shop_items (shop_key, sku, name, price, stock) VALUES (:k, :sku, :name, :price, "
                         ":stock) ON CONFLICT (shop_key, sku) DO NOTHING RETURNING sku"), {"k": key, **it}):
                added += 1
    return added

