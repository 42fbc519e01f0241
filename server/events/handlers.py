"""Events, quests and suggestions over the wire (thin: the rules are in service.py, quests.py,
suggestions.py) and the admin's REST routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ai.npc import WorldClock
from server.accounts.auth import CURRENT_USER
from server.events.generate import propose
from server.events.seed import seed_events
from server.events.service import EventService
from server.events.specs import EventSpec, QuestSpec
from server.events.suggestions import suggest
from server.events.talk import TalkStage
from server.protocol import ProtocolError
from server.realtime.hub import Connection, Empty, Payload
from server.text import SafeText


class RefIn(Payload):
    event: SafeText = Field(min_length=1, max_length=64)


class QuestIn(Payload):
    quest: SafeText = Field(min_length=1, max_length=64)


class FindIn(Payload):
    thing: SafeText = Field(min_length=1, max_length=64)


class Reasoned(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500)


class EventCreate(EventSpec):
    reason: str = Field(min_length=3, max_length=500)


class QuestCreate(QuestSpec):
    reason: str = Field(min_length=3, max_length=500)


class EventStatus(Reasoned):
    status: Literal["scheduled", "paused", "rejected"]
    at: str | None = None
    duration_min: int | None = Field(None, gt=0, le=1440)


class QuestStatus(Reasoned):
    status: Literal["active", "paused", "rejected"]


class BudgetIn(Reasoned):
    budget: int = Field(ge=0, le=10**12)


class PrefsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suggestions: bool


def setup(ctx) -> None:
    s = ctx.settings
    clock = ctx.residents.clock if ctx.residents is not None else \
        WorldClock(s.residents_clock, s.residents_clock_rate, s.residents_clock_offset_min)
    svc = EventService(ctx, clock)
    ctx.events = svc
    ctx.realtime.observe(svc.on_room_events)
    ctx.shops.on_purchase.append(svc.on_purchase)
    ctx.chat.pipeline.add(TalkStage(ctx, svc))
    ctx.live_figures["events"] = svc.figures
    hub, api = ctx.hub, ctx.api

    @hub.on("event:list", Empty, rate="5/second")
    async def event_list(conn: Connection, p: Empty):
        return {"events": svc.list_public(), "clock": svc.clock.label()}

    @hub.on("event:join", RefIn, rate="5/second")
    async def event_join(conn: Connection, p: RefIn):
        return await svc.join(conn, p.event)

    @hub.on("quest:list", Empty, rate="5/second")
    async def quest_list(conn: Connection, p: Empty):
        return {"quests": await svc.quests.of_person(conn.user_id)}

    @hub.on("quest:find", FindIn, rate="5/second")
    async def quest_find(conn: Connection, p: FindIn):
        return await svc.find(conn, p.thing)

    @hub.on("quest:complete", QuestIn, rate="5/second")
    async def quest_complete(conn: Connection, p: QuestIn):
        return await svc.quests.complete(conn.user_id, p.quest)

    @hub.on("suggest:list", Empty, rate="2/second")
    async def suggest_list(conn: Connection, p: Empty):
        return await suggest(svc, conn.user_id, conn.language)

    # -- the person's own REST ---------------------------------------------------------------------
    @api.route("GET", "/api/me/suggestions", auth="user", tag="me")
    async def my_suggestions(request):
        """Rooms, events and people suggested from your own activity, each with why."""
        user = request[CURRENT_USER]
        return await suggest(svc, user.id, user.language)

    @api.route("GET", "/api/me/preferences", auth="user", tag="me")
    async def my_prefs(request):
        return {"suggestions": await svc.suggestions_on(request[CURRENT_USER].id)}

    @api.route("PUT", "/api/me/preferences", body=PrefsIn, auth="user", tag="me")
    async def my_prefs_set(request, body: PrefsIn):
        """Suggestions on or off; off also forgets the activity kept for them."""
        return await svc.set_suggestions(request[CURRENT_USER].id, body.suggestions)

    # -- admin REST -------------------------------------------------------------------------------
    @api.route("GET", "/api/admin/events", auth="moderator", tag="admin")
    async def admin_events(request):
        """Every event (pending, paused, rejected too), whether it runs now and how many joined."""
        return {"events": await svc.all(), "clock": svc.clock.label(), "figures": svc.figures()}

    @api.route("POST", "/api/admin/events", body=EventCreate, auth="admin", tag="admin")
    async def admin_event_create(request, body: EventCreate):
        spec = EventSpec.model_validate(body.model_dump(exclude={"reason"}))
        return {"event": await svc.create(request[CURRENT_USER].id, spec, body.reason)}

    @api.route("POST", "/api/admin/events/generate", body=Reasoned, auth="admin", tag="admin")
    async def admin_event_generate(request, body: Reasoned):
        """The world proposes an event (the npc model, else composed); it waits for approval as pending."""
        try:
            spec, how = await propose(ctx)
        except ValueError as e:
            raise ProtocolError("conflict", str(e)) from None
        return {"event": await svc.create(request[CURRENT_USER].id, spec, body.reason, source="generated",
                                          status="pending"), "generated_by": how}

    @api.route("POST", "/api/admin/events/{ref}/status", body=EventStatus, auth="admin", tag="admin")
    async def admin_event_status(request, body: EventStatus):
        """Schedule (approve), pause or reject an event; `at` (world time HH:MM) reschedules it."""
        return {"event": await svc.set_status(request[CURRENT_USER].id, request.match_info["ref"], body.status,
                                              body.reason, at=body.at, duration_min=body.duration_min)}

    @api.route("GET", "/api/admin/quests", auth="moderator", tag="admin")
    async def admin_quests(request):
        """Every quest with how many people are on it, completions and what it paid; the budget."""
        return {"quests": await svc.quests.all(), "budget": await svc.budget.get()}

    @api.route("POST", "/api/admin/quests", body=QuestCreate, auth="admin", tag="admin")
    async def admin_quest_create(request, body: QuestCreate):
        spec = QuestSpec.model_validate(body.model_dump(exclude={"reason"}))
        return {"quest": await svc.quests.create(request[CURRENT_USER].id, spec, body.reason)}

    @api.route("POST", "/api/admin/quests/{ref}/status", body=QuestStatus, auth="admin", tag="admin")
    async def admin_quest_status(request, body: QuestStatus):
        return {"quest": await svc.quests.set_status(request[CURRENT_USER].id, request.match_info["ref"],
                                                     body.status, body.reason)}

    @api.route("PUT", "/api/admin/quests/budget", body=BudgetIn, auth="admin", tag="admin")
    async def admin_quest_budget(request, body: BudgetIn):
        """What quest rewards and market-day discounts may pay out in all (never below what was paid)."""
        return {"budget": await svc.budget.set(request[CURRENT_USER].id, body.budget, body.reason)}


async def startup(ctx) -> None:
    # A world seeded before events existed still gets the world file's (idempotent).
    async with ctx.db.session() as s:
        await seed_events(s, ctx.world)
    await ctx.events.start()


async def shutdown(ctx) -> None:
    await ctx.events.stop()
