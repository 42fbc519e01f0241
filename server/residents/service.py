"""ResidentService (`ctx.residents`): the residents of the world and the agents this node runs.

- Records: every active resident (from the database; the world file seeds them), on every node.
- Agents: `ai.npc.ResidentAgent`s for the residents whose lease this node holds (with no Redis,
  all of them). A lease loop takes free leases and renews held ones; a lost lease stops the agent
  and the node that takes the lease over starts it again, memories intact (they are in the database).
- Hearing: the chat stage (after_deliver, on the sender's node) sends each line said in a room
  with residents, or whispered to one, on the room bus's control channel; the node running the
  resident hands it to the agent. Arrivals come from the room events every node observes.
- Admin: create, edit, retire, inspect memories (REST in handlers.py), audited.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text

from ai.inference import InferenceError, Overloaded, Priority
from ai.npc import (
    AgentConfig,
    Budgets,
    Heard,
    LLMBrain,
    MemoryStream,
    Person,
    Persona,
    PersonaError,
    ResidentAgent,
    RetrievalBrain,
    Sale,
    StreamConfig,
    WorldClock,
)
from server.audit import record as audit
from server.background import Background
from server.protocol import ProtocolError
from server.realtime.control import Control
from server.residents.controls import Bought, Declined, Hear, Reload, SaleDone
from server.residents.models import Resident
from server.residents.store import PgMemoryStore
from server.residents.world import ServerWorld

log = logging.getLogger(__name__)

# An embedding costs this fraction of one model call in the budgets (a generate call costs 1).
EMBED_COST = 0.05


@dataclass
class ResidentRecord:
    id: str
    key: str
    name: str
    role: str
    home: str
    persona: Persona
    appearance: dict = field(default_factory=dict)
    shop_key: str | None = None
    brain: str = "auto"
    status: str = "active"


def record_of(row: Resident) -> ResidentRecord:
    data = {"key": row.key, "name": row.name, "role": row.role, "home": row.home, "persona": dict(row.persona or {}),
            "routine": list(row.routine or []), "appearance": dict(row.appearance or {}), "position": row.position}
    persona = Persona.from_dict(data)
    return ResidentRecord(str(row.id), row.key, row.name, row.role, row.home, persona, dict(row.appearance or {}),
                          row.shop_key, row.brain, row.status)


def row_values(persona: Persona) -> dict[str, Any]:
    d = persona.to_dict()
    return {"key": d["key"], "name": d["name"], "role": d["role"], "home": d["home"], "persona": d["persona"],
            "routine": d["routine"], "appearance": d["appearance"], "position": d["position"]}


class ResidentService:
    def __init__(self, ctx):
        self.ctx = ctx
        self.settings = s = ctx.settings
        self.store = PgMemoryStore(ctx.db)
        self.world = ServerWorld(ctx, self)
        self.records: dict[str, ResidentRecord] = {}
        self.agents: dict[str, ResidentAgent] = {}
        self._room: dict[str, str | None] = {}
        self.statuses: dict[str, str] = {}  # resident id -> what it is doing now (its plan, a conversation)
        self.leases = ctx.realtime.leases("resident")  # keys ts:resident:<id>:lease, as before
        self.keeper = None  # Redis fleets: renews the leases while the loop is busy (realtime/keeper.py)
        self.clock = WorldClock(s.residents_clock, s.residents_clock_rate, s.residents_clock_offset_min)

        def depth() -> int:
            inf = ctx.inference
            return sum(inf.queue_depth().values()) if inf is not None else 0

        self.budgets = Budgets(s.residents_calls_per_minute, s.residents_world_calls_per_minute, queue_depth=depth,
                               busy_queue=max(ctx.settings.models.max_queue // 2, 4))
        self.retrieval = RetrievalBrain()
        self.llm: LLMBrain | None = None
        self.background = Background("residents")
        self._ticks = 0
        self._lock = asyncio.Lock()
        self.started = False
        self.agent_config = AgentConfig(
            hear_radius=s.residents_hear_radius, hold_s=min(s.residents_hold_s, s.residents_reply_deadline_s),
            reply_deadline_s=s.residents_reply_deadline_s, conversation_idle_s=s.residents_conversation_idle_s,
            greet=s.residents_greet, idle_chatter_s=s.residents_idle_chatter_s, wander_s=s.residents_wander_s)
        # memories are written in batches at most once a second (one embedding call, one INSERT)
        self.stream_config = StreamConfig(max_rows=s.residents_memory_max, flush_delay_s=1.0,
                                          reflection_threshold=s.residents_reflection_threshold)

    # == who lives here ============================================================================
    def room_of(self, npc_id: str) -> str | None:
        agent = self.agents.get(npc_id)
        if agent is not None and agent.room is not None:
            return agent.room
        if npc_id in self._room:
            return self._room[npc_id]
        rooms = self.ctx.rooms
        if rooms is not None:
            for slug, occ in rooms.mirror.rooms.items():
                if npc_id in occ:
                    return slug
        return None

    def placed(self, npc_id: str, room: str | None) -> None:
        self._room[npc_id] = room

    def shop_of(self, npc_id: str) -> str | None:
        r = self.records.get(npc_id)
        return r.shop_key if r else None

    def by_key(self, key: str) -> ResidentRecord | None:
        return next((r for r in self.records.values() if r.key == key), None)

    def resolve(self, npc: str) -> ResidentRecord | None:
        """A resident by id or key."""
        return self.records.get(npc) or self.by_key(npc)

    def others(self) -> list[tuple[str, str, str]]:
        return [(r.name, r.role, self.room_of(r.id) or r.home) for r in self.records.values()]

    def brain_of(self, rec: ResidentRecord) -> tuple[str, str]:
        """("llm" | "retrieval", why) for this resident on this node."""
        pref = rec.brain if rec.brain != "auto" else self.settings.residents_brain
        inf = self.ctx.inference
        has_llm = inf is not None and any(s.name == "npc" for s in inf.specs)
        if pref == "retrieval":
            return "retrieval", "chosen (brain: retrieval)"
        if not has_llm:
            return "retrieval", "no npc model configured (models.npc / models.npc_base_url)"
        if not inf.available("npc"):
            state = next((s for s in inf.status() if s["name"] == "npc"), {})
            return "retrieval", f"npc model {state.get('state', 'unavailable')}: {state.get('reason', '')}".strip()
        return "llm", f"npc model {next(s.model_id for s in inf.specs if s.name == 'npc')}"

    async def load(self) -> None:
        async with self.ctx.db.session() as s:
            rows = (await s.execute(select(Resident).where(Resident.status == "active"))).scalars().all()
        fresh: dict[str, ResidentRecord] = {}
        for row in rows:
            try:
                fresh[str(row.id)] = record_of(row)
            except PersonaError as e:
                log.error("resident %s has a bad persona: %s", row.key, e)
        for rid, rec in fresh.items():
            old = self.records.get(rid)
            self.records[rid] = rec
            agent = self.agents.get(rid)
            if agent is not None and old is not None and old.persona != rec.persona:
                agent.persona = rec.persona
        for rid in [r for r in self.records if r not in fresh]:
            del self.records[rid]
            await self._stop_agent(rid, leave=True)

    # == life cycle ================================================================================
    async def start(self) -> None:
        inf = self.ctx.inference
        if inf is not None and any(s.name == "npc" for s in inf.specs):
            self.llm = LLMBrain(inf, "npc", fallback=self.retrieval)
        await self.load()
        self.started = True
        await self._hold_leases()
        if self.leases.shared:
            self.background.every(self.settings.residents_lease_ttl_s / 3, self._hold_leases, "renewing resident leases")
            self.keeper = self.leases.keeper(self.settings.redis_url, self.settings.residents_lease_ttl_s)
            self.keeper.start()
        self.background.every(1.0, self._tick, "housekeeping")
        self.background.every(10, self._refresh, "refreshing residents")

    async def stop(self) -> None:
        if self.keeper is not None:
            self.keeper.stop()
        await self.background.stop()
        ids = list(self.agents)
        for rid in ids:
            await self._stop_agent(rid, leave=False)
        try:
            await self.leases.release(ids)
        except Exception:
            log.exception("releasing resident leases failed")
        await self.background.drain(5)

    async def _hold_leases(self) -> None:
        async with self._lock:
            ids = sorted(self.records)
            held = await self.leases.hold(ids, self.settings.residents_lease_ttl_s)
            for rid in ids:
                if rid in held and rid not in self.agents:
                    await self._start_agent(self.records[rid])
            for rid in list(self.agents):
                if rid not in held and rid in self.records:
                    log.warning("lost the lease of resident %s", self.records[rid].key)
                    await self._stop_agent(rid, leave=False)

    async def _tick(self) -> None:
        """Each agent's tick (one agent's failure is logged and the others still tick), then housekeeping."""
        self._ticks += 1
        for agent in list(self.agents.values()):
            try:
                await agent.tick()
            except Exception:
                log.exception("residents: resident %s tick failed", agent.persona.key)
        if self._ticks % 30 == 0:
            await self.world.expire_offers()
        if self._ticks % 20 == 0:
            for agent in list(self.agents.values()):
                if self.budgets.take(agent.id, Priority.BACKGROUND, EMBED_COST, "embed"):
                    await agent.stream.backfill(32)

    async def _refresh(self) -> None:
        async with self._lock:
            await self.load()

    def _embedder(self, rid: str):
        inf = self.ctx.inference

        async def embed(texts: list[str], priority: Priority, deadline: float) -> list[list[float]]:
            if inf is None or not inf.available("embed"):
                raise InferenceError("no embedder")
            if not self.budgets.take(rid, priority, EMBED_COST, "embed"):
                raise Overloaded("model-call budget spent")
            return await inf.embed("embed", texts, priority=priority, deadline=deadline)

        return embed

    async def _start_agent(self, rec: ResidentRecord) -> None:
        kind, _ = self.brain_of(rec)
        brain = self.llm if kind == "llm" and self.llm is not None else self.retrieval
        embed = self._embedder(rec.id)

        async def reflector(memories):
            use = brain if brain.kind == "llm" and self.budgets.take(rec.id, Priority.BACKGROUND) else self.retrieval
            return await use.reflect(rec.persona, memories)

        scorer = None
        if brain.kind == "llm":
            async def scorer(drafts):
                if not self.budgets.take(rec.id, Priority.BACKGROUND):
                    raise Overloaded("model-call budget spent")
                return await brain.importance(drafts)

        stream = MemoryStream(rec.id, self.store, embed, config=self.stream_config, scorer=scorer, reflector=reflector)
        agent = ResidentAgent(rec.id, rec.persona, world=self.world, stream=stream, brain=brain, people=self.store,
                              budgets=self.budgets, clock=self.clock, config=self.agent_config, embed=embed,
                              retrieval=self.retrieval, residents=self.others)
        self.agents[rec.id] = agent
        target = rec.persona.room_at(self.clock.minute())
        if await self.ctx.rooms.get_room(target) is None:
            target = rec.home
        # a stale place (another node, an earlier run) is cleared first
        for slug, occ in list(self.ctx.rooms.mirror.rooms.items()):
            if rec.id in occ and slug != target:
                await self.ctx.rooms.remove_npc(slug, rec.id)
        try:
            await agent.start(target)
        except Exception:
            log.exception("resident %s could not start", rec.key)
            self.agents.pop(rec.id, None)
            return
        log.info("resident %s (%s brain) lives in %s on node %s", rec.key, brain.kind, agent.room, self.ctx.node_id)

    async def _stop_agent(self, rid: str, *, leave: bool) -> None:
        agent = self.agents.pop(rid, None)
        if agent is not None:
            try:
                await agent.stop()
            except Exception:
                log.exception("stopping resident %s failed", agent.persona.key)
        if leave:
            room = self.room_of(rid)
            if room is not None:
                await self.ctx.rooms.remove_npc(room, rid)
            self._room.pop(rid, None)

    def spawn(self, coro) -> None:
        self.background.spawn(coro, "a resident's background work")

    # == what residents perceive ===================================================================
    async def dispatch(self, message: dict, *, sender_kind: str, whisper_to: str | None = None) -> None:
        """A delivered line: send it to the node(s) running the residents who can hear it."""
        room = message["room"]
        if whisper_to is not None:
            npcs = [whisper_to] if whisper_to in self.records else []
        elif message.get("to"):
            return  # a whisper between two others
        else:
            npcs = [p["id"] for p in self.ctx.rooms.occupants(room) if p.get("kind") == "npc" and p["id"] in self.records
                    and p["id"] != message["from"]["id"]]
        if not npcs:
            return
        await self.ctx.realtime.control(Hear(npcs=npcs, message=message, kind=sender_kind,
                                             whisper=whisper_to is not None))

    def control_handlers(self) -> list[tuple[type[Control], Callable[[Any], Awaitable[None]]]]:
        """The residents' control messages (any node sends, the node running the resident acts), by type."""
        return [(Hear, self._on_hear), (SaleDone, self._on_sale), (Declined, self._on_declined),
                (Bought, self._on_bought), (Reload, self._on_reload)]

    async def _on_hear(self, msg: Hear) -> None:
        m = msg.message
        pos = self.ctx.rooms.mirror.position(m["room"], m["from"]["id"]) or (0.0, 0.0)
        speaker = Person(m["from"]["id"], m["from"].get("name") or "?", msg.kind, pos[0], pos[1])
        for npc in msg.npcs:
            agent = self.agents.get(npc)
            if agent is None:
                continue
            agent.hear(Heard(m["id"], m["room"], speaker, m.get("text", ""), m.get("lang"),
                             whisper=msg.whisper, to=m.get("to")))

    async def _on_sale(self, msg: SaleDone) -> None:
        agent = self.agents.get(msg.npc)
        if agent is not None:
            self.spawn(agent.sale_done(Person(msg.user, msg.user_name or "friend"), msg.sale()))

    async def _on_declined(self, msg: Declined) -> None:
        agent = self.agents.get(msg.npc)
        if agent is not None:
            self.spawn(agent.declined(msg.user))

    async def _on_bought(self, msg: Bought) -> None:
        agent = self.agents.get(msg.npc)
        if agent is not None:
            self.spawn(agent.observed_purchase(Person(msg.user, msg.user_name or "someone"),
                                               msg.name or msg.sku, msg.qty or 1, msg.total or 0))

    async def _on_reload(self, msg: Reload) -> None:
        async with self._lock:
            await self.load()
            await self._hold_leases_unlocked()

    async def _hold_leases_unlocked(self) -> None:
        ids = sorted(self.records)
        held = await self.leases.hold(ids, self.settings.residents_lease_ttl_s)
        for rid in ids:
            if rid in held and rid not in self.agents:
                await self._start_agent(self.records[rid])

    def observe(self, room: str, events: list) -> None:
        """Room events (every node sees every room's): arrivals and departures for local agents."""
        if not self.agents:
            return
        for name, data in events:
            if name == "presence:join" and data.get("kind") == "user":
                person = Person(data["id"], data.get("name") or "?", "user", float(data.get("x", 0)), float(data.get("y", 0)))
                agents = [a for a in self.agents.values() if a.room == room]
                if agents:
                    self.spawn(self._arrived(person, room, agents))
            elif name == "presence:leave":
                for agent in self.agents.values():
                    if agent.room == room and data.get("id") in agent.conversations:
                        self.spawn(agent.left(data["id"]))

    async def _arrived(self, person: Person, room: str, agents: list) -> None:
        """Tell the room's residents someone arrived, with the language their greeting should speak."""
        book = self.ctx.translation.book if self.ctx.translation is not None else None
        if book is not None:
            try:
                person.language = (await book.of([person.id])).get(person.id)
            except Exception:  # a greeting in the resident's own language is fine; a lost arrival is not
                log.warning("no language for %s's greeting", person.id, exc_info=True)
        for agent in agents:
            self.spawn(agent.arrived(person, room))

    async def purchased(self, user_id: Any, shop_key: str, sku: str, qty: int, result: dict) -> None:
        """A purchase at a resident's shop made without it (shop:buy): the shopkeeper notices."""
        rec = next((r for r in self.records.values() if r.shop_key == shop_key), None)
        if rec is None:
            return
        name = None
        try:
            items = await self.ctx.shops.items(shop_key)
            name = next((i["name"] for i in items if i["sku"] == sku), sku)
        except ProtocolError:
            name = sku
        user = await self.ctx.accounts.get(uuid.UUID(str(user_id)))
        uname = user.username if user else "someone"
        conns = self.ctx.hub.connections_of(user_id)
        if conns:
            uname = conns[0].display_name
        await self.ctx.realtime.control(Bought(npc=rec.id, user=str(user_id), user_name=uname, sku=sku, name=name,
                                               qty=qty, total=int(result.get("total") or 0)))

    # == people's acts on offers (from any node) ===================================================
    async def confirm(self, conn, offer_id: str) -> Sale:
        sale = await self.world.confirm(None, offer_id, conn.uid)
        if sale.offer is not None and not sale.replayed:
            await self.ctx.realtime.control(SaleDone.of(sale, conn.uid, conn.display_name))
        return sale

    async def decline(self, conn, offer_id: str) -> bool:
        from server.residents.models import ResidentOffer

        try:
            oid = uuid.UUID(str(offer_id))
        except ValueError:
            raise ProtocolError("invalid_payload", "offer_id is not a valid id") from None
        async with self.ctx.db.session() as s:
            row = await s.get(ResidentOffer, oid)
        if row is None or str(row.user_id) != conn.uid:
            raise ProtocolError("not_found", "no such offer")
        ok = await self.world.decline(str(row.resident_id), offer_id, conn.uid)
        if ok:
            await self.ctx.realtime.control(Declined(npc=str(row.resident_id), user=conn.uid,
                                                     user_name=conn.display_name))
        return ok

    # == admin =====================================================================================
    async def _room_exists(self, slug: str) -> bool:
        return await self.ctx.rooms.get_room(slug) is not None

    async def _check_persona(self, persona: Persona) -> None:
        for slug in persona.rooms():
            if not await self._room_exists(slug):
                raise ProtocolError("invalid_payload", f"no room {slug!r} (home and routine rooms must exist)")
        await self.ctx.check_public_text(persona.name, kind="name")

    async def _check_shop(self, shop_key: str | None) -> None:
        if shop_key is None:
            return
        async with self.ctx.db.session() as s:
            found = await s.scalar(text("SELECT to_regclass('public.shops') IS NOT NULL"))
            if not found or not await s.scalar(text("SELECT 1 FROM shops WHERE key = :k"), {"k": shop_key}):
                raise ProtocolError("invalid_payload", f"no shop {shop_key!r}")

    async def create(self, actor_id: uuid.UUID, data: dict[str, Any], *, shop: str | None, brain: str,
                     reason: str) -> ResidentRecord:
        try:
            persona = Persona.from_dict(data)
        except PersonaError as e:
            raise ProtocolError("invalid_payload", str(e)) from None
        await self._check_persona(persona)
        await self._check_shop(shop)
        async with self.ctx.db.session() as s:
            if await s.scalar(select(Resident.id).where(Resident.key == persona.key)):
                raise ProtocolError("conflict", f"there is already a resident {persona.key!r}")
            row = Resident(id=uuid.uuid4(), shop_key=shop, brain=brain, status="active", **row_values(persona))
            s.add(row)
            await s.flush()
            await audit(s, actor_id=actor_id, action="resident.create", target_type="resident", target_id=row.id,
                        reason=reason, details={"key": persona.key, "name": persona.name, "home": persona.home})
            rec = record_of(row)
        await self._changed()
        return rec

    async def update(self, actor_id: uuid.UUID, rid: str, changes: dict[str, Any], *, reason: str) -> ResidentRecord:
        async with self.ctx.db.session() as s:
            row = await self._row(s, rid)
            current = record_of(row).persona.to_dict()
            merged = {**current, **{k: v for k, v in changes.items() if k in ("name", "role", "home", "routine",
                                                                               "appearance", "position")}}
            if "persona" in changes:
                merged["persona"] = {**current["persona"], **changes["persona"]}
            merged["key"] = row.key
            try:
                persona = Persona.from_dict(merged)
            except PersonaError as e:
                raise ProtocolError("invalid_payload", str(e)) from None
            await self._check_persona(persona)
            if "shop" in changes:
                await self._check_shop(changes["shop"])
                row.shop_key = changes["shop"]
            if "brain" in changes:
                row.brain = changes["brain"]
            for k, v in row_values(persona).items():
                if k != "key":
                    setattr(row, k, v)
            row.updated_at = datetime.now(UTC)
            await audit(s, actor_id=actor_id, action="resident.update", target_type="resident", target_id=row.id,
                        reason=reason, details={"changed": sorted(changes)})
            rec = record_of(row)
        await self._changed(restart=rid)
        return rec

    async def retire(self, actor_id: uuid.UUID, rid: str, *, reason: str) -> ResidentRecord:
        async with self.ctx.db.session() as s:
            row = await self._row(s, rid)
            if row.status == "retired":
                raise ProtocolError("conflict", f"{row.name} is already retired")
            row.status = "retired"
            row.retired_at = datetime.now(UTC)
            await audit(s, actor_id=actor_id, action="resident.retire", target_type="resident", target_id=row.id,
                        reason=reason, details={"key": row.key})
            rec = record_of(row)
        async with self._lock:
            self.records.pop(rec.id, None)
            await self._stop_agent(rec.id, leave=True)
        await self.ctx.realtime.control(Reload())
        return rec

    async def restore(self, actor_id: uuid.UUID, rid: str, *, reason: str) -> ResidentRecord:
        async with self.ctx.db.session() as s:
            row = await self._row(s, rid)
            if row.status == "active":
                raise ProtocolError("conflict", f"{row.name} is not retired")
            row.status = "active"
            row.retired_at = None
            await audit(s, actor_id=actor_id, action="resident.restore", target_type="resident", target_id=row.id,
                        reason=reason, details={"key": row.key})
            rec = record_of(row)
        await self._changed()
        return rec

    async def _row(self, s, rid: str) -> Resident:
        try:
            key = uuid.UUID(str(rid))
            row = await s.get(Resident, key)
        except ValueError:
            row = await s.scalar(select(Resident).where(Resident.key == rid))
        if row is None:
            raise ProtocolError("not_found", f"no resident {rid!r}")
        return row

    async def _changed(self, restart: str | None = None) -> None:
        async with self._lock:
            if restart is not None and restart in self.agents:
                old = self.agents[restart]
                room = old.room
                await self._stop_agent(restart, leave=False)
                self._room[restart] = room
            await self.load()
            if self.started:
                await self._hold_leases_unlocked()
        await self.ctx.realtime.control(Reload())

    async def describe(self, rid: str) -> dict[str, Any]:
        async with self.ctx.db.session() as s:
            row = await self._row(s, rid)
            rec = record_of(row)
        kind, why = self.brain_of(rec)
        out = {**rec.persona.to_dict(), "id": rec.id, "shop": rec.shop_key, "brain": rec.brain,
               "brain_in_use": kind, "brain_why": why, "status": row.status,
               "room": self.room_of(rec.id) if row.status == "active" else None,
               "activity": self.statuses.get(rec.id),
               "memories": await self.store.count(rec.id), "people_met": await self.store.people_count(rec.id),
               "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
               "retired_at": row.retired_at.isoformat() if row.retired_at else None}
        agent = self.agents.get(rec.id)
        if agent is not None:
            out["live"] = agent.snapshot()
        return out

    async def list_all(self) -> list[dict[str, Any]]:
        async with self.ctx.db.session() as s:
            rows = (await s.execute(select(Resident).order_by(Resident.key))).scalars().all()
        counts = await self.store.counts()
        out = []
        for row in rows:
            rec = record_of(row)
            kind, why = self.brain_of(rec)
            out.append({"id": rec.id, "key": rec.key, "name": rec.name, "role": rec.role, "home": rec.home,
                        "status": row.status, "shop": rec.shop_key, "brain": rec.brain, "brain_in_use": kind,
                        "room": self.room_of(rec.id) if row.status == "active" else None,
                        "memories": sum(counts.get(rec.id, {}).values()), "memories_by_kind": counts.get(rec.id, {})})
        return out

    async def memories(self, rid: str, *, q: str | None, kind: str | None, before: int | None, limit: int,
                       person: str | None) -> dict[str, Any]:
        async with self.ctx.db.session() as s:
            row = await self._row(s, rid)
        rec_id = str(row.id)
        if q:
            stream = MemoryStream(rec_id, self.store, self._embedder(rec_id), config=self.stream_config)
            found = await stream.retrieve(q, k=limit, subject_id=person, touch=False, deadline=5.0)
            return {"query": q, "memories": [m.to_json() for m in found]}
        found = await self.store.list(rec_id, kind=kind, before=before, limit=limit, subject_id=person)
        return {"memories": [m.to_json() for m in found],
                "next_before": found[-1].id if len(found) == limit else None}

    # == figures ===================================================================================
    def _by_key(self, snap: dict[str, Any]) -> dict[str, Any]:
        """Budget figures keyed by the resident's key ("mira"), not its id: what an admin reads."""
        key = {rid: r.key for rid, r in self.records.items()}

        def rename(d: dict) -> dict:
            return {key.get(k.split(":")[0], k.split(":")[0]) + (k[k.index(":"):] if ":" in k else ""): v for k, v in d.items()}
        return {k: rename(v) if isinstance(v, dict) else v for k, v in snap.items()}

    def figures(self) -> dict[str, Any]:
        return {"node": self.ctx.node_id, "running": sorted(a.persona.key for a in self.agents.values()),
                "residents": len(self.records), "clock": self.clock.label(), "budgets": self._by_key(self.budgets.snapshot()),
                "world": self.world.figures(),
                "agents": {a.persona.key: a.snapshot() for a in self.agents.values()}}
