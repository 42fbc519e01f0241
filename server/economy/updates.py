"""`wallet:update` (design.md section 3): the one builder of its payload, and its delivery to every
connection of each party on any node."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from server.economy.ledger import Transfer

Update = tuple[Any, dict[str, Any]]  # (user id, wallet:update payload)


def wallet_update(balance: int, *, transaction_id: Any, kind: str, amount: int, created_at: str, memo: str = "",
                  counterparty: dict[str, Any] | None = None) -> dict[str, Any]:
    """`{"balance", "transaction": {"id", "kind", "amount", "memo", "created_at", "counterparty"?}}`;
    `amount` is signed from the reader's side (negative: money left their wallet)."""
    transaction: dict[str, Any] = {"id": str(transaction_id), "kind": kind, "amount": amount, "memo": memo,
                                   "created_at": created_at}
    if counterparty is not None:
        transaction["counterparty"] = counterparty
    return {"balance": balance, "transaction": transaction}


def transfer_updates(t: Transfer, sender_name: str | None = None) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """The wallet:update each party of a transfer gets."""
    common = {"transaction_id": t.transaction_id, "kind": "transfer", "memo": t.memo,
              "created_at": t.created_at.isoformat()}
    return [
        (t.from_user, wallet_update(t.balance, amount=-t.amount, **common,
                                    counterparty={"kind": "user", "id": str(t.to_user)})),
        (t.to_user, wallet_update(t.to_balance, amount=t.amount, **common,
                                  counterparty={"kind": "user", "id": str(t.from_user), "name": sender_name})),
    ]


def purchase_update(result: dict[str, Any], shop: str, sku: str, qty: int) -> dict[str, Any]:
    """The buyer's wallet:update for `Shops.buy`'s result (a person's own purchase)."""
    return wallet_update(result["balance"], transaction_id=result["transaction_id"], kind="purchase",
                         amount=-result["total"], created_at=result["created_at"], memo=f"{qty} x {sku}",
                         counterparty={"kind": "sink", "key": f"shop:{shop}"})


async def push_updates(realtime, updates: list[Update]) -> None:
    """Each update to every connection of its user (`ctx.realtime`)."""
    await asyncio.gather(*(realtime.to_user(uid, "wallet:update", data) for uid, data in updates))
