"""The server's side of `ai.npc.interface.World`: rooms, chat, shops and the ledger for residents.

Everything a resident does goes through the same services people use: `ctx.rooms` for presence
and server-side movement, `ctx.chat.send` for speech (moderated like anyone's), `ctx.shops.buy`
for sales (a real ledger purchase, kind "npc_sale", only after the person confirms).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text, update

from ai.npc.interface import (
    ActionRefused,
    Happening,
    Item,
    Offer,
    Person,
    RoomFact,
    Sale,
    Stall,
    Surroundings,
    place_facts,
)
from server.chat.pipeline import ChatDraft
from server.economy.updates import wallet_update
from server.protocol import ProtocolError
from server.residents.models import ResidentOffer
from server.world.models import Room

if TYPE_CHECKING:
    from server.residents.service import ResidentService

log = logging.getLogger(__name__)


def _uuid(v: Any) -> uuid.UUID:
    return v if isinstance(v, uuid.UUID) else uuid.UUID(str(v))


class ServerWorld:
    def __init__(self, ctx, service: ResidentService):
        self.ctx = ctx
        self.service = service
        self.counts = {"said": 0, "kept_back": 0, "moves": 0, "offers": 0, "sales": 0, "failed_sales": 0}

    def figures(self) -> dict[str, Any]:
        return dict(self.counts)

    # -- seeing ---------------------------------------------------------------------------------
    def surroundings_now(self, npc_id: str) -> Surroundings | None:
        room = self.service.room_of(npc_id)
        if room is None or self.ctx.rooms is None:
            return None
        people = [Person(p["id"], p.get("name") or "?", p.get("kind", "user"), float(p.get("x", 0)), float(p.get("y", 0)))
                  for p in self.ctx.rooms.occupants(room)]
        me = next((p for p in people if p.id == npc_id), None)
        info = self.ctx.rooms.infos.get(room)
        return Surroundings(room, info.name if info else room, me.x if me else 0.0, me.y if me else 0.0, people)

    async def look_around(self, npc_id: str) -> Surroundings:
        return self.surroundings_now(npc_id) or Surroundings(None)

    async def rooms(self) -> list[RoomFact]:
        """The rooms of the database as the room service keeps them (new ones at once, archived
        ones gone within its refresh)."""
        infos = self.ctx.rooms.infos if self.ctx.rooms is not None else {}
        if not infos:
            async with self.ctx.db.session() as s:
                rows = (await s.execute(select(Room.slug, Room.name, Room.description, Room.access)
                                        .where(Room.archived.is_(False)).order_by(Room.slug))).all()
            return [RoomFact(r.slug, r.name, r.description or "", r.access) for r in rows]
        return [RoomFact(i.slug, i.name, i.description or "", i.access, float(i.width), float(i.height),
                         place_facts(self.ctx.rooms.areas(i.slug))) for i in sorted(infos.values(), key=lambda i: i.slug)]

    # -- moving ---------------------------------------------------------------------------------
    async def enter(self, npc_id: str, room: str, x: float | None = None, y: float | None = None) -> None:
        rooms = self.ctx.rooms
        info = await rooms.get_room(room)
        if info is None:
            raise ActionRefused("not_found", f"no room {room!r}")
        if x is None or y is None:
            sx, sy = info.spawn()
            x, y = sx + 2.0, sy
        r = self.service.records.get(npc_id)
        current = self.service.room_of(npc_id)
        if current is not None and current != room:
            await rooms.remove_npc(current, npc_id)
        await rooms.add_npc(room, npc_id, r.name if r else "?", r.appearance if r else {}, x, y)
        self.service.placed(npc_id, room)

    async def leave(self, npc_id: str) -> None:
        current = self.service.room_of(npc_id)
        if current is not None:
            await self.ctx.rooms.remove_npc(current, npc_id)
        self.service.placed(npc_id, None)

    async def move(self, npc_id: str, x: float, y: float) -> tuple[float, float]:
        room = self.service.room_of(npc_id)
        if room is None:
            raise ActionRefused("not_found", "not in a room")
        try:
            self.counts["moves"] += 1
            return await self.ctx.rooms.move_npc(room, npc_id, x, y)
        except ProtocolError as e:
            raise ActionRefused(e.code, e.message) from None

    # -- speaking -------------------------------------------------------------------------------
    async def say(self, npc_id: str, text: str, *, to: str | None = None, lang: str | None = None) -> bool:
        room = self.service.room_of(npc_id)
        r = self.service.records.get(npc_id)
        if room is None or r is None or self.ctx.chat is None:
            return True
        draft = ChatDraft(room=room, sender_id=npc_id, sender_name=r.name, sender_kind="npc", text=text,
                          original_text=text, to=to, lang=lang, meta={"resident": r.key})
        try:
            await self.ctx.chat.send(draft)
        except ProtocolError as e:
            if to is not None and e.code == "not_found":  # they left: say it aloud instead
                return await self.say(npc_id, text, to=None, lang=lang)
            log.warning("resident %s could not say %r: %s", r.key, text[:60], e.message)
            return True
        self.counts["said"] += 1
        if draft.action == "block" or draft.hold:
            self.counts["kept_back"] += 1
            return False
        return True

    async def emote(self, npc_id: str, name: str) -> None:
        room = self.service.room_of(npc_id)
        if room is not None:
            await self.ctx.realtime.to_room(room, [("emote", {"id": npc_id, "name": name})])

    async def status(self, npc_id: str, status: str) -> None:
        """What the resident is doing now: kept for npc:info, shown to its room as npc:status."""
        self.service.statuses[npc_id] = status
        room = self.service.room_of(npc_id)
        if room is not None:
            await self.ctx.hub.to_room(room, "npc:status", {"id": npc_id, "status": status})

    async def translate(self, text: str, source: str, target: str) -> str | None:
        tr = self.ctx.translation
        if tr is None or not source or source == target:
            return None
        try:
            return await tr.translate_text(text, source, target)
        except Exception:
            return None

    # -- selling --------------------------------------------------------------------------------
    async def shop(self, npc_id: str) -> list[Item] | None:
        key = self.service.shop_of(npc_id)
        if key is None or self.ctx.shops is None:
            return None
        try:
            items = await self.ctx.shops.items(key)
        except ProtocolError:
            return None
        return [Item(i["sku"], i["name"], int(i["price"]), int(i["stock"])) for i in items]

    async def happenings(self) -> list[Happening]:
        events = getattr(self.ctx, "events", None)
        if events is None:
            return []
        return [Happening(e["title"], e["at"], e["room"], e.get("description") or "", bool(e["running"]),
                          e.get("starts_in_min")) for e in events.list_public()]

    async def stalls(self, npc_id: str) -> list[Stall]:
        out = []
        for rid, rec in list(self.service.records.items()):
            if rid == npc_id or rec.shop_key is None:
                continue
            items = await self.shop(rid)
            if items is not None:
                out.append(Stall(rec.name, rec.role or "resident", self.service.room_of(rid) or rec.home, items))
        return out

    async def offer(self, npc_id: str, user_id: str, sku: str, qty: int) -> Offer:
        key = self.service.shop_of(npc_id)
        items = {i.sku: i for i in (await self.shop(npc_id) or [])}
        item = items.get(sku)
        if key is None or item is None:
            raise ActionRefused("not_found", f"I don't sell {sku}")
        if item.stock < qty:
            raise ActionRefused("conflict", f"I have only {item.stock} {item.name} left")
        expires = datetime.now(UTC) + timedelta(seconds=self.service.settings.residents_offer_ttl_s)
        async with self.ctx.db.session() as s:
            await s.execute(update(ResidentOffer).where(
                ResidentOffer.resident_id == _uuid(npc_id), ResidentOffer.user_id == _uuid(user_id),
                ResidentOffer.status == "open").values(status="expired"))
            row = ResidentOffer(resident_id=_uuid(npc_id), user_id=_uuid(user_id), shop_key=key, sku=item.sku,
                                name=item.name, qty=qty, price=item.price, expires_at=expires)
            s.add(row)
            await s.flush()
            offer = _offer(row)
        self.counts["offers"] += 1
        r = self.service.records.get(npc_id)
        await self.ctx.hub.to_user(user_id, "npc:offer", offer_json(offer, r.name if r else "", self.ctx))
        return offer

    async def pending_offer(self, npc_id: str, user_id: str) -> Offer | None:
        async with self.ctx.db.session() as s:
            row = await s.scalar(select(ResidentOffer).where(
                ResidentOffer.resident_id == _uuid(npc_id), ResidentOffer.user_id == _uuid(user_id),
                ResidentOffer.status == "open", ResidentOffer.expires_at > datetime.now(UTC))
                .order_by(ResidentOffer.created_at.desc()).limit(1))
        return _offer(row) if row is not None else None

    async def decline(self, npc_id: str, offer_id: str, user_id: str) -> bool:
        async with self.ctx.db.session() as s:
            res = await s.execute(update(ResidentOffer).where(
                ResidentOffer.id == _uuid(offer_id), ResidentOffer.user_id == _uuid(user_id),
                ResidentOffer.status == "open").values(status="declined"))
        if res.rowcount:
            await self.ctx.hub.to_user(user_id, "npc:sale", {"offer_id": str(offer_id), "status": "declined"})
        return bool(res.rowcount)

    async def confirm(self, npc_id: str | None, offer_id: str, user_id: str) -> Sale:
        """The real purchase. Idempotent per offer: the offer id is the ledger's idempotency key,
        so a repeated or concurrent confirmation never charges twice."""
        try:
            oid = _uuid(offer_id)
        except ValueError:
            return Sale(False, code="invalid_payload", message="offer_id is not a valid id")
        async with self.ctx.db.session() as s:
            row = await s.get(ResidentOffer, oid)
            if row is None or str(row.user_id) != str(user_id) or (npc_id is not None and str(row.resident_id) != str(npc_id)):
                return Sale(False, code="not_found", message="no such offer")
            offer = _offer(row)
            if row.status == "open" and row.expires_at <= datetime.now(UTC):
                row.status = "expired"
                status = "expired"
            else:
                status = row.status
        if status not in ("open", "sold"):
            return Sale(False, offer, code="not_found", message=f"that offer is {status}")
        if self.ctx.shops is None:
            return Sale(False, offer, code="internal", message="the economy is not running")
        try:
            r = await self.ctx.shops.buy(user_id, row.shop_key, offer.sku, offer.qty,
                                         f"npc-offer:{offer.id}", kind="npc_sale")
        except ProtocolError as e:
            self.counts["failed_sales"] += 1
            async with self.ctx.db.session() as s:
                await s.execute(update(ResidentOffer).where(ResidentOffer.id == oid, ResidentOffer.status == "open")
                                .values(status="failed"))
            await self.ctx.hub.to_user(user_id, "npc:sale", {"offer_id": str(offer.id), "status": "failed",
                                                             "error": {"code": e.code, "message": e.message}})
            return Sale(False, offer, code=e.code, message=e.message)
        async with self.ctx.db.session() as s:
            await s.execute(update(ResidentOffer).where(ResidentOffer.id == oid)
                            .values(status="sold", transaction_id=r["transaction_id"]))
        if not r["replayed"]:
            self.counts["sales"] += 1
            rec = self.service.records.get(str(row.resident_id))
            await self.ctx.realtime.to_user(user_id, "wallet:update", wallet_update(
                r["balance"], transaction_id=r["transaction_id"], kind="npc_sale", amount=-r["total"],
                created_at=r["created_at"], memo=f"{offer.qty} x {offer.sku}",
                counterparty={"kind": "npc", "id": str(row.resident_id), "name": rec.name if rec else ""}))
            await self.ctx.hub.to_user(user_id, "npc:sale", {
                "offer_id": str(offer.id), "status": "sold", "transaction_id": r["transaction_id"],
                "balance": r["balance"], "inventory": r["inventory"]})
        return Sale(True, offer, transaction_id=r["transaction_id"], balance=r["balance"], replayed=r["replayed"],
                    inventory=r.get("inventory"))

    async def expire_offers(self) -> int:
        async with self.ctx.db.session() as s:
            res = await s.execute(text("UPDATE resident_offers SET status = 'expired' "
                                       "WHERE status = 'open' AND expires_at <= now()"))
        return res.rowcount or 0


def _offer(row: ResidentOffer) -> Offer:
    return Offer(id=str(row.id), npc_id=str(row.resident_id), user_id=str(row.user_id), sku=row.sku, name=row.name,
                 qty=row.qty, price=int(row.price), total=int(row.price) * row.qty, expires_at=row.expires_at)


def offer_json(o: Offer, npc_name: str, ctx) -> dict[str, Any]:
    return {"offer_id": o.id, "npc": {"id": o.npc_id, "name": npc_name}, "sku": o.sku, "name": o.name, "qty": o.qty,
            "price": o.price, "total": o.total, "currency": ctx.settings.currency,
            "expires_at": o.expires_at.isoformat()}
