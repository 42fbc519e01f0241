"""Residents in the world: the chat stage that lets them hear, their socket events, admin REST,
and the hooks they add to chat, shops and the bus (thin: validate, call ResidentService, reply).

Events (client -> server, acked like every event):
  npc:whisper  {"npc": id|key, "text"}   -> {"message_id", "action"}   a private line to a resident
  npc:confirm  {"offer_id"}              -> {"transaction_id", "balance", "inventory", "offer_id"}
  npc:decline  {"offer_id"}              -> {}
  npc:info     {"npc": id|key}           -> {"npc": {"id", "key", "name", "role", "room", "shop", "status"}}
Server -> client: npc:offer (a resident offers a sale), npc:sale (the offer's outcome), npc:status
{"id", "status"} (what a resident in the room is doing now, on every change), plus the
usual chat:message, presence, world:tick, emote and wallet:update. See docs/npc.md.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from server.accounts.auth import CURRENT_USER
from server.chat.pipeline import ChatDraft, ChatStage
from server.db import utcnow
from server.protocol import ProtocolError
from server.realtime.hub import Connection, Payload
from server.residents.seed import seed_residents
from server.residents.service import ResidentService


class ResidentsStage(ChatStage):
    """Order 50, after moderation (10) and translation (20): residents hear what was delivered."""

    name = "residents"
    order = 50

    def __init__(self, service: ResidentService):
        self.service = service

    async def after_deliver(self, message: dict, draft: ChatDraft) -> None:
        await self.service.dispatch(message, sender_kind=draft.sender_kind,
                                    whisper_to=message.get("to") if message.get("to") in self.service.records else None)


# -- payloads -------------------------------------------------------------------------------------
class NpcIn(Payload):
    npc: str = Field(min_length=1, max_length=64)


class OfferIn(Payload):
    offer_id: str = Field(min_length=1, max_length=64)


def whisper_schema(max_len: int) -> type[Payload]:
    class WhisperIn(Payload):
        npc: str = Field(min_length=1, max_length=64)
        text: str = Field(min_length=1, max_length=max_len)

    return WhisperIn


class PersonaIn(BaseModel):
    identity: str = Field("", max_length=1000)
    traits: list[str] = Field(default_factory=list, max_length=20)
    goals: list[str] = Field(default_factory=list, max_length=20)
    style: str = Field("", max_length=500)
    knowledge: list[str] = Field(default_factory=list, max_length=100)
    language: str = Field("en", max_length=8)


class PersonaPatch(BaseModel):
    identity: str | None = Field(None, max_length=1000)
    traits: list[str] | None = Field(None, max_length=20)
    goals: list[str] | None = Field(None, max_length=20)
    style: str | None = Field(None, max_length=500)
    knowledge: list[str] | None = Field(None, max_length=100)
    language: str | None = Field(None, max_length=8)


Brain = Literal["auto", "llm", "retrieval"]


class ResidentCreate(BaseModel):
    key: str = Field(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")
    name: str = Field(min_length=1, max_length=32)
    role: str = Field("resident", max_length=40)
    home: str = Field(min_length=1, max_length=48)
    persona: PersonaIn = PersonaIn()
    routine: list[dict[str, str]] = Field(default_factory=list, max_length=24)
    appearance: dict[str, str] = Field(default_factory=dict)
    position: list[float] | None = Field(None, min_length=2, max_length=2)
    shop: str | None = Field(None, max_length=48)
    brain: Brain = "auto"
    reason: str = Field("", max_length=500)


class ResidentUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=32)
    role: str | None = Field(None, max_length=40)
    home: str | None = Field(None, min_length=1, max_length=48)
    persona: PersonaPatch | None = None
    routine: list[dict[str, str]] | None = Field(None, max_length=24)
    appearance: dict[str, str] | None = None
    position: list[float] | None = Field(None, min_length=2, max_length=2)
    shop: str | None = Field(None, max_length=48)
    brain: Brain | None = None
    reason: str = Field("", max_length=500)


class Reason(BaseModel):
    reason: str = Field("", max_length=500)


class MemoryQuery(BaseModel):
    q: str | None = Field(None, max_length=500)
    kind: Literal["observation", "conversation", "reflection", "digest"] | None = None
    person: str | None = Field(None, max_length=64)
    before: int | None = None
    limit: int = Field(50, ge=1, le=200)


def setup(ctx) -> None:
    svc = ctx.residents = ResidentService(ctx)
    ctx.chat.pipeline.add(ResidentsStage(svc))
    ctx.realtime.observe(svc.observe)
    for kind, handler in svc.control_handlers():
        ctx.realtime.handle(kind, handler)
    ctx.live_figures["residents"] = svc.figures
    hook_shops(ctx)
    hub, api = ctx.hub, ctx.api

    def resident(npc: str):
        rec = svc.resolve(npc)
        if rec is None:
            raise ProtocolError("not_found", f"no resident {npc!r}")
        return rec

    WhisperIn = whisper_schema(ctx.settings.chat_max_len)

    @hub.on("npc:whisper", WhisperIn, rate=ctx.settings.chat_rate)
    async def npc_whisper(conn: Connection, p):
        room = conn.require_room()
        rec = resident(p.npc)
        if svc.room_of(rec.id) != room:
            raise ProtocolError("not_found", f"{rec.name} is not in this room")
        draft = ChatDraft(room=room, sender_id=conn.uid, sender_name=conn.display_name, sender_kind="user",
                          text=p.text, original_text=p.text, conn=conn, meta={"to_npc": rec.id})
        await ctx.chat.pipeline.check(draft)  # moderation (a muted person is refused), language id
        reply: dict[str, Any] = {"action": draft.action}
        if draft.reason:
            reply["reason"] = draft.reason
        if draft.action == "block" or draft.hold:
            return reply
        message = {"id": str(uuid.uuid4()), "room": room,
                   "from": {"id": conn.uid, "name": conn.display_name, "kind": "user"}, "text": draft.text,
                   "lang": draft.lang or conn.language, "to": rec.id, "created_at": utcnow().isoformat(),
                   "moderation": draft.action}
        await ctx.hub.to_user(conn.uid, "chat:message", message)
        await svc.dispatch(message, sender_kind="user", whisper_to=rec.id)
        return {**reply, "message_id": message["id"]}

    @hub.on("npc:confirm", OfferIn, rate="5/second")
    async def npc_confirm(conn: Connection, p: OfferIn):
        sale = await svc.confirm(conn, p.offer_id)
        if not sale.ok:
            raise ProtocolError(sale.code or "internal", sale.message or "the sale failed")
        return {"offer_id": p.offer_id, "transaction_id": sale.transaction_id, "balance": sale.balance,
                "inventory": sale.inventory or [], "replayed": sale.replayed}

    @hub.on("npc:decline", OfferIn, rate="5/second")
    async def npc_decline(conn: Connection, p: OfferIn):
        if not await svc.decline(conn, p.offer_id):
            raise ProtocolError("not_found", "that offer is not open")
        return {}

    @hub.on("npc:info", NpcIn, rate="10/second")
    async def npc_info(conn: Connection, p: NpcIn):
        rec = resident(p.npc)
        return {"npc": {"id": rec.id, "key": rec.key, "name": rec.name, "role": rec.role,
                        "room": svc.room_of(rec.id), "shop": rec.shop_key is not None,
                        "status": svc.statuses.get(rec.id)}}

    # -- admin REST ---------------------------------------------------------------------------------
    @api.route("GET", "/api/admin/residents", auth="moderator", tag="admin")
    async def admin_residents(request):
        """Every resident (retired ones too), with its brain, room and memory count."""
        return {"residents": await svc.list_all(), "node": ctx.node_id, "clock": svc.clock.label()}

    @api.route("POST", "/api/admin/residents", body=ResidentCreate, auth="admin", tag="admin")
    async def admin_resident_create(request, body: ResidentCreate):
        """Create a resident: it moves into its routine's room at once."""
        data = body.model_dump(exclude={"shop", "brain", "reason"})
        rec = await svc.create(request[CURRENT_USER].id, data, shop=body.shop, brain=body.brain, reason=body.reason)
        return {"resident": await svc.describe(rec.id)}

    @api.route("GET", "/api/admin/residents/{rid}", auth="moderator", tag="admin")
    async def admin_resident(request):
        """One resident: persona, routine, brain in use and why, live figures."""
        return {"resident": await svc.describe(request.match_info["rid"])}

    @api.route("PATCH", "/api/admin/residents/{rid}", body=ResidentUpdate, auth="admin", tag="admin")
    async def admin_resident_update(request, body: ResidentUpdate):
        """Edit a resident's name, persona, routine, appearance, shop or brain (applies at once)."""
        changes = body.model_dump(exclude={"reason"}, exclude_unset=True)
        if "persona" in changes and changes["persona"] is not None:
            changes["persona"] = {k: v for k, v in changes["persona"].items() if v is not None}
        if not changes:
            raise ProtocolError("invalid_payload", "nothing to change")
        rec = await svc.update(request[CURRENT_USER].id, request.match_info["rid"], changes, reason=body.reason)
        return {"resident": await svc.describe(rec.id)}

    @api.route("POST", "/api/admin/residents/{rid}/retire", body=Reason, auth="admin", tag="admin")
    async def admin_resident_retire(request, body: Reason):
        """Retire a resident: it leaves the world; its memories are kept."""
        rec = await svc.retire(request[CURRENT_USER].id, request.match_info["rid"], reason=body.reason)
        return {"resident": await svc.describe(rec.id)}

    @api.route("POST", "/api/admin/residents/{rid}/restore", body=Reason, auth="admin", tag="admin")
    async def admin_resident_restore(request, body: Reason):
        """Bring a retired resident back."""
        rec = await svc.restore(request[CURRENT_USER].id, request.match_info["rid"], reason=body.reason)
        return {"resident": await svc.describe(rec.id)}

    @api.route("GET", "/api/admin/residents/{rid}/memories", query=MemoryQuery, auth="admin", tag="admin")
    async def admin_resident_memories(request, query: MemoryQuery):
        """A resident's memory stream, newest first; with q, what it would recall for q (scored)."""
        return await svc.memories(request.match_info["rid"], q=query.q, kind=query.kind, before=query.before,
                                  limit=query.limit, person=query.person)


def hook_shops(ctx) -> None:
    """Shops know residents by their ids, and shopkeepers notice purchases made at their shop
    without them (shop:buy)."""
    svc = ctx.residents

    async def shop_of(npc: str) -> str | None:
        rec = svc.resolve(npc)
        return rec.shop_key if rec is not None else None

    def purchased(user_id, shop_key: str, sku: str, qty: int, result: dict) -> None:
        svc.spawn(svc.purchased(user_id, shop_key, sku, qty, result))

    ctx.shops.npc_resolvers.append(shop_of)
    ctx.shops.on_purchase.append(purchased)


async def startup(ctx) -> None:
    # A world seeded before residents existed still gets them (idempotent).
    async with ctx.db.session() as s:
        await seed_residents(s, ctx.world)
    await ctx.residents.start()


async def shutdown(ctx) -> None:
    await ctx.residents.stop()
