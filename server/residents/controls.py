"""The residents' control messages: any node sends them, the node running the resident acts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ai.npc.interface import Offer, Sale
from server.realtime.control import Control


@dataclass(frozen=True)
class Hear(Control):
    """A line said where residents can hear it. `message`: the chat line as delivered (id, room,
    from {id, name}, text, lang, to); `kind`: the speaker's ("user", "npc")."""

    op = "residents:hear"
    npcs: list[str]
    message: dict[str, Any]
    kind: str = "user"
    whisper: bool = False


@dataclass(frozen=True)
class SaleDone(Control):
    """A person confirmed a resident's offer: how the sale went (`offer` as `offer_wire` writes it)."""

    op = "residents:sale"
    npc: str
    user: str
    ok: bool
    user_name: str | None = None
    code: str | None = None
    message: str | None = ""
    transaction_id: str | None = None
    balance: int | None = None
    offer: dict[str, Any] | None = None

    @classmethod
    def of(cls, sale: Sale, user: str, user_name: str | None) -> SaleDone:
        o = sale.offer
        offer = None if o is None else {
            "id": o.id, "npc_id": o.npc_id, "user_id": o.user_id, "sku": o.sku, "name": o.name, "qty": o.qty,
            "price": o.price, "total": o.total, "expires_at": o.expires_at.isoformat()}
        return cls(npc=o.npc_id if o else "", user=user, ok=sale.ok, user_name=user_name, code=sale.code,
                   message=sale.message, transaction_id=sale.transaction_id, balance=sale.balance, offer=offer)

    def sale(self) -> Sale:
        o = self.offer
        offer = Offer(o["id"], o["npc_id"], o["user_id"], o["sku"], o["name"], o["qty"], o["price"], o["total"],
                      datetime.fromisoformat(o["expires_at"])) if o else None
        return Sale(self.ok, offer, self.transaction_id, self.balance, self.code, self.message or "")


@dataclass(frozen=True)
class Declined(Control):
    """A person declined a resident's offer."""

    op = "residents:declined"
    npc: str
    user: str
    user_name: str | None = None


@dataclass(frozen=True)
class Bought(Control):
    """A person bought from a resident's shop without a conversation (the shop's own page)."""

    op = "residents:bought"
    npc: str
    user: str
    user_name: str | None = None
    sku: str | None = None
    name: str | None = None
    qty: int = 1
    total: int = 0


@dataclass(frozen=True)
class Reload(Control):
    """An admin changed the residents: every node reads them again and takes up its share."""

    op = "residents:reload"
