"""Economy over Socket.IO (wallet, shop, inventory); thin: validate, call the service, shape the ack.

Admin REST routes are in `routes.py`. `wallet:update` reaches every connection of both parties,
on whichever node they are (`server/economy/updates.py`, through `ctx.realtime`).
"""

from __future__ import annotations

import uuid

from pydantic import Field, StrictInt

from server.economy import routes
from server.economy.ledger import MAX_AMOUNT, MAX_KEY, MAX_MEMO, Ledger
from server.economy.shops import MAX_QTY, Shops, seed_shops
from server.economy.updates import purchase_update, transfer_updates
from server.economy.updates import push_updates as push
from server.realtime.hub import Connection, Empty, Payload
from server.text import SafeText


class TransferIn(Payload):
    to: uuid.UUID
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    memo: str = Field("", max_length=MAX_MEMO)
    idempotency_key: SafeText = Field(min_length=1, max_length=MAX_KEY)


class HistoryIn(Payload):
    before: uuid.UUID | None = None
    limit: StrictInt = Field(20, ge=1, le=100)


class ShopListIn(Payload):
    npc: SafeText = Field(min_length=1, max_length=64)


class ShopBuyIn(Payload):
    npc: SafeText = Field(min_length=1, max_length=64)
    sku: SafeText = Field(min_length=1, max_length=64)
    qty: StrictInt = Field(1, ge=1, le=MAX_QTY)
    idempotency_key: SafeText = Field(min_length=1, max_length=MAX_KEY)


def setup(ctx) -> None:
    ledger = Ledger(ctx.db, starting_grant=ctx.settings.starting_grant, currency=ctx.settings.currency,
                    grant_policy={"daily_budget": ctx.settings.grant_daily_budget,
                                  "per_address_per_day": ctx.settings.grant_per_address_per_day})
    shops = Shops(ledger)
    ctx.ledger, ctx.shops = ledger, shops
    ctx.accounts.on_user_created.append(ledger.on_user_created)
    hub = ctx.hub

    @hub.on("wallet:balance", Empty, rate="10/second")
    async def wallet_balance(conn: Connection, payload: Empty) -> dict:
        return {"balance": await ledger.balance(conn.user_id), "currency": ledger.currency}

    @hub.on("wallet:transfer", TransferIn, rate="10/second")
    async def wallet_transfer(conn: Connection, p: TransferIn) -> dict:
        # A memo is text another person reads: moderation may refuse it (ctx.check_public_text).
        memo = await ctx.check_public_text(p.memo, kind="memo") if p.memo else ""
        t = await ledger.transfer(conn.user_id, p.to, p.amount, memo=memo, idempotency_key=p.idempotency_key)
        if not t.replayed:
            await push(ctx.realtime, transfer_updates(t, conn.display_name))
        return {"transaction_id": str(t.transaction_id), "balance": t.balance}

    @hub.on("wallet:history", HistoryIn, rate="5/second")
    async def wallet_history(conn: Connection, p: HistoryIn) -> dict:
        return {"entries": await ledger.history(conn.user_id, before=p.before, limit=p.limit)}

    @hub.on("shop:list", ShopListIn, rate="10/second")
    async def shop_list(conn: Connection, p: ShopListIn) -> dict:
        return {"items": await shops.items(await shops.shop_for(p.npc))}

    @hub.on("shop:buy", ShopBuyIn, rate="5/second")
    async def shop_buy(conn: Connection, p: ShopBuyIn) -> dict:
        shop = await shops.shop_for(p.npc)
        r = await shops.buy(conn.user_id, shop, p.sku, p.qty, p.idempotency_key)
        if not r["replayed"]:
            await push(ctx.realtime, [(conn.user_id, purchase_update(r, shop, p.sku, p.qty))])
        return {"transaction_id": r["transaction_id"], "balance": r["balance"], "inventory": r["inventory"]}

    @hub.on("inventory:list", Empty, rate="10/second")
    async def inventory_list(conn: Connection, payload: Empty) -> dict:
        return {"items": await shops.inventory(conn.user_id)}

    routes.setup(ctx)


async def startup(ctx) -> None:
    await ctx.ledger.start()
    # A world seeded before the economy existed still gets its shops (idempotent).
    async with ctx.db.session() as s:
        await seed_shops(s, ctx.world)


async def shutdown(ctx) -> None:
    await ctx.ledger.close()
