"""EventService (`ctx` holds none; the events domain keeps it): events on the world clock, who
joined them, what each person did (their activity), and the quests that activity advances.

A tick (every second) starts an event whose window opened: one node wins the row's
`started_day` (a conditional UPDATE), so in a fleet an event starts and is announced once. The
host resident says the announcement where it stands (its words go through chat like anyone's),
every room hears `event:started`, and the event ends with `event:ended` from the same node.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, text, update

from server.audit import record as audit
from server.events import clock as wclock
from server.events.models import PersonActivity, PersonPrefs, WorldEvent
from server.events.quests import Budget, Quests
from server.events.specs import EventSpec
from server.protocol import ProtocolError
from server.world.things import find_thing

log = logging.getLogger(__name__)

TICK_S = 1.0


def event_json(e: WorldEvent, clock) -> dict[str, Any]:
    running, day, until = wclock.window(clock, e.start_min, e.duration_min)
    on = running and e.status == "scheduled"
    return {"id": str(e.id), "key": e.key, "kind": e.kind, "title": e.title, "description": e.description,
            "room": e.room, "host": e.host, "at": wclock.hhmm(e.start_min), "duration_min": e.duration_min,
            "discount_pct": e.discount_pct, "quest": e.quest_key, "status": e.status, "source": e.source,
            "running": on, "starts_in_min": None if on else round(until), "announcement": e.announcement}


class EventService:
    def __init__(self, ctx, clock):
        self.ctx = ctx
        self.db = ctx.db
        self.clock = clock  # ai.npc.WorldClock: the residents' own, so events and routines agree
        self.budget = Budget(ctx.db, ctx.ledger)
        self.quests = Quests(ctx.db, self.budget, ctx.hub)
        self.events: list[WorldEvent] = []
        self.started_here: dict[uuid.UUID, int] = {}  # events this node started -> their world day
        self._tasks: list[asyncio.Task] = []
        self._bg: set[asyncio.Task] = set()
        self.counts = {"started": 0, "announced": 0, "rebates": 0}

    # == life cycle ================================================================================
    async def load(self) -> None:
        async with self.db.session() as s:
            self.events = list((await s.execute(select(WorldEvent).order_by(WorldEvent.start_min))).scalars())
        await self.quests.load()

    async def start(self) -> None:
        await self.load()
        self._tasks.append(asyncio.create_task(self._loop(), name="world-events"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._bg:
            await asyncio.wait(set(self._bg), timeout=5)

    async def _loop(self) -> None:
        n = 0
        while True:
            await asyncio.sleep(TICK_S)
            n += 1
            try:
                if n % 10 == 0:
                    await self.load()
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("world events tick failed")

    def spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._bg.add(task)

        def done(t: asyncio.Task) -> None:
            self._bg.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("events: %r", t.exception(), exc_info=t.exception())

        task.add_done_callback(done)

    # == the clock =================================================================================
    async def tick(self) -> None:
        for e in self.events:
            running, day, _ = wclock.window(self.clock, e.start_min, e.duration_min)
            if e.status == "scheduled" and running and e.started_day != day:
                async with self.db.session() as s:
                    won = await s.scalar(update(WorldEvent).where(WorldEvent.id == e.id, WorldEvent.status == "scheduled")
                                         .where(WorldEvent.started_day.is_distinct_from(day))
                                         .values(started_day=day).returning(WorldEvent.id))
                e.started_day = day
                if won is not None:
                    self.started_here[e.id] = day
                    await self._started(e)
            elif e.id in self.started_here and (not running or e.status != "scheduled"
                                                or self.started_here[e.id] != day):
                del self.started_here[e.id]
                await self._broadcast("event:ended", {"id": str(e.id), "key": e.key, "title": e.title, "room": e.room})

    async def _started(self, e: WorldEvent) -> None:
        self.counts["started"] += 1
        log.info("event %s starts in %s at world time %s", e.key, e.room, self.clock.label())
        await self._broadcast("event:started", event_json(e, self.clock))
        residents = self.ctx.residents
        host = residents.resolve(e.host) if residents is not None and e.host else None
        if host is not None and await residents.world.say(host.id, e.announcement or e.title):
            self.counts["announced"] += 1

    async def _broadcast(self, name: str, data: dict) -> None:
        rooms = self.ctx.rooms
        for slug in list(rooms.infos) if rooms is not None else []:
            await self.ctx.hub.to_room(slug, name, data)

    def running(self) -> list[WorldEvent]:
        return [e for e in self.events if e.status == "scheduled"
                and wclock.window(self.clock, e.start_min, e.duration_min)[0]]

    def list_public(self) -> list[dict[str, Any]]:
        return [event_json(e, self.clock) for e in self.events if e.status == "scheduled"]

    def by_ref(self, ref: str) -> WorldEvent:
        e = next((e for e in self.events if e.key == ref or str(e.id) == ref), None)
        if e is None:
            raise ProtocolError("not_found", f"no event {ref!r}")
        return e

    # == people ====================================================================================
    async def join(self, conn, ref: str) -> dict[str, Any]:
        """Take part in a running event: be in its room while it runs."""
        e = self.by_ref(ref)
        running, day, _ = wclock.window(self.clock, e.start_min, e.duration_min)
        if e.status != "scheduled" or not running:
            raise ProtocolError("conflict", f"{e.title} is not on now")
        if conn.room != e.room:
            raise ProtocolError("forbidden", f"{e.title} is in {e.room}: go there first")
        async with self.db.session() as s:
            await s.execute(text("INSERT INTO event_joins (event_id, user_id, day) VALUES (:e, :u, :d) "
                                 "ON CONFLICT DO NOTHING"), {"e": e.id, "u": conn.user_id, "d": day})
        await self.noticed(conn.user_id, "join", e.key, e.title, room=conn.room)
        return {"event": event_json(e, self.clock)}

    async def suggestions_on(self, user_id: uuid.UUID) -> bool:
        async with self.db.session() as s:
            row = await s.get(PersonPrefs, user_id)
            return True if row is None else row.suggestions

    async def set_suggestions(self, user_id: uuid.UUID, on: bool) -> dict[str, Any]:
        """Off also forgets the activity kept for suggestions (on starts afresh)."""
        async with self.db.session() as s:
            await s.execute(text("INSERT INTO person_prefs (user_id, suggestions) VALUES (:u, :on) "
                                 "ON CONFLICT (user_id) DO UPDATE SET suggestions = :on, updated_at = now()"),
                            {"u": user_id, "on": on})
            if not on:
                await s.execute(delete(PersonActivity).where(PersonActivity.user_id == user_id))
        return {"suggestions": on}

    async def noticed(self, user_id: uuid.UUID, kind: str, target: str, label: str = "", *,
                      room: str | None = None) -> None:
        """Something a person did: kept for their suggestions (if on) and matched against quest steps."""
        # One statement reads the preference and keeps the activity: a round trip per act, not two sessions.
        async with self.db.session() as s:
            await s.execute(text("INSERT INTO person_activity (user_id, kind, target, label, at) "
                                 "SELECT :u, :k, :t, :l, :at WHERE COALESCE("
                                 "(SELECT suggestions FROM person_prefs WHERE user_id = :u), true)"),
                            {"u": user_id, "k": kind, "t": target, "l": label[:200], "at": datetime.now(UTC)})
        await self.quests.advance(user_id, kind, target, room)

    async def find(self, conn, thing: str) -> dict[str, Any]:
        """A person looked for an object in the room they are in (a quest's find step)."""
        slug = conn.require_room()
        info = self.ctx.rooms.infos.get(slug)
        if info is None:
            raise ProtocolError("not_found", "no such room")
        place = find_thing(info, thing)
        moved = await self.quests.advance(conn.user_id, "find", place.name, slug)
        return {"thing": place.name, "room": slug, "quests": moved}

    # == hooks =====================================================================================
    def on_room_events(self, room: str, events: list) -> None:
        """realtime.observe: a person arriving in a room visits it (counted on their own node)."""
        for name, data in events:
            if name == "presence:join" and data.get("kind") == "user" and self.ctx.hub.connections_of(data["id"]):
                self.spawn(self.noticed(uuid.UUID(data["id"]), "visit", room, room, room=room))

    def on_purchase(self, user_id: Any, shop_key: str, sku: str, qty: int, result: dict[str, Any]) -> None:
        """shops.on_purchase: a purchase advances buy steps; on market day the host's shop gives some back."""
        uid = uuid.UUID(str(user_id))
        self.spawn(self.noticed(uid, "buy", f"{shop_key}:{sku}", sku))
        for e in self.running():
            host = self.ctx.residents.resolve(e.host) if self.ctx.residents is not None and e.host else None
            if e.kind == "market_day" and e.discount_pct and host is not None and host.shop_key == shop_key:
                back = int(result.get("total") or 0) * e.discount_pct // 100
                if back > 0:
                    self.spawn(self._rebate(uid, back, result["transaction_id"], e))

    async def _rebate(self, uid: uuid.UUID, amount: int, tx: str, e: WorldEvent) -> None:
        try:
            paid = await self.budget.pay(uid, amount, key=f"rebate:{tx}", memo=f"{e.title}: {e.discount_pct}% back")
        except ProtocolError as err:
            log.info("no market-day rebate for %s: %s", uid, err.message)
            return
        self.counts["rebates"] += 1
        await self.ctx.hub.to_user(uid, "wallet:update", {"balance": paid["balance"], "transaction": {
            "id": paid["transaction_id"], "kind": "reward", "amount": paid["amount"], "memo": paid["memo"],
            "created_at": paid["created_at"], "counterparty": {"kind": "system", "key": "treasury"}}})

    # == admin =====================================================================================
    async def all(self) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rows = (await s.execute(select(WorldEvent).order_by(WorldEvent.start_min))).scalars().all()
            joins = dict((await s.execute(text("SELECT event_id, count(*) FROM event_joins GROUP BY event_id"))).all())
        return [{**event_json(e, self.clock), "joined": int(joins.get(e.id, 0)),
                 "created_at": e.created_at.isoformat()} for e in rows]

    async def _check(self, spec: EventSpec) -> None:
        if self.ctx.rooms is not None and await self.ctx.rooms.get_room(spec.room) is None:
            raise ProtocolError("invalid_payload", f"no room {spec.room!r}")
        if spec.host and self.ctx.residents is not None and self.ctx.residents.resolve(spec.host) is None:
            raise ProtocolError("invalid_payload", f"no resident {spec.host!r}")
        await self.ctx.check_public_text(spec.title, kind="name")
        if spec.announcement:
            await self.ctx.check_public_text(spec.announcement, kind="description")

    async def create(self, actor_id: uuid.UUID | None, spec: EventSpec, reason: str, *, source: str = "admin",
                     status: str | None = None) -> dict[str, Any]:
        await self._check(spec)
        async with self.db.session() as s:
            if await s.scalar(select(WorldEvent.id).where(WorldEvent.key == spec.key)):
                raise ProtocolError("conflict", f"there is already an event {spec.key!r}")
            row = WorldEvent(**{**spec.row_values(), "status": status or spec.status}, source=source)
            s.add(row)
            await s.flush()
            await audit(s, actor_id=actor_id, action="events.create", target_type="event", target_id=row.id,
                        reason=reason, details={"key": row.key, "source": source, "status": row.status})
            out = event_json(row, self.clock)
        await self.load()
        return out

    async def set_status(self, actor_id: uuid.UUID, ref: str, status: str, reason: str, *,
                         at: str | None = None, duration_min: int | None = None) -> dict[str, Any]:
        """Schedule (also approves a generated one), pause or reject; `at` moves it on the clock."""
        async with self.db.session() as s:
            row = await s.scalar(select(WorldEvent).where(
                (WorldEvent.key == ref) | (text("CAST(world_events.id AS text) = :ref"))).params(ref=ref))
            if row is None:
                raise ProtocolError("not_found", f"no event {ref!r}")
            before = {"status": row.status, "at": wclock.hhmm(row.start_min), "duration_min": row.duration_min}
            row.status = status
            if at is not None:
                try:
                    row.start_min = wclock.parse_hhmm(at)
                except ValueError as e:
                    raise ProtocolError("invalid_payload", str(e)) from None
                row.started_day = None
            if duration_min is not None:
                row.duration_min = duration_min
            await audit(s, actor_id=actor_id, action=f"events.{status}", target_type="event", target_id=row.id,
                        reason=reason, details={"key": row.key, "before": before})
            out = event_json(row, self.clock)
        await self.load()
        return out

    def figures(self) -> dict[str, Any]:
        return {"clock": self.clock.label(), "running": [e.key for e in self.running()], **self.counts,
                "at": datetime.now(UTC).isoformat()}
