"""An in-memory world for the resident eval: the seeded world's rooms, residents and shops, a
purse per person, offers that expire on the eval's own clock, and memory / people stores that
outlive an agent (so a restart is a new agent over the same stores).

It implements `ai.npc.interface.World` with the same rules the server's does (an offer first,
money only on a confirmation, stock checked, whispers private) and records every act, so each
turn of a case can be checked: what was said, offered, sold, declined, where it pointed.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ai.npc.brain import Acquaintance
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
from ai.npc.memory import Memory, MemoryDraft


@dataclass
class Said:
    npc_id: str
    text: str
    to: str | None
    lang: str | None
    room: str | None


@dataclass
class Act:
    kind: str  # offer | sale | failed_sale | decline | move | emote | enter
    npc_id: str
    data: dict[str, Any] = field(default_factory=dict)


class EvalWorld:
    def __init__(self, world: dict, *, offer_ttl_s: float = 120.0, purse: int = 500,
                 translate: Any = None):
        self.data = world
        self.room_facts = [RoomFact(r["slug"], r["name"], r.get("description") or "", r.get("access", "public"),
                                    *map(float, r.get("map_size") or (0, 0)), place_facts(r.get("places") or []))
                           for r in world.get("rooms", [])]
        self.names: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.where: dict[str, str | None] = {}
        self.pos: dict[str, tuple[float, float]] = {}
        self.shops: dict[str, dict[str, Item]] = {}
        self.shop_of: dict[str, str] = {}
        self.roles: dict[str, tuple[str, str]] = {}  # npc id -> (role, home)
        self.clock: Any = None  # the case's world clock (events run on it)
        self.offers: dict[str, tuple[Offer, str]] = {}  # id -> (offer, status)
        self.purses: dict[str, int] = {}
        self.start_purse = purse
        self.offer_ttl_s = offer_ttl_s
        self.skew = timedelta()  # the eval's clock runs ahead to expire offers
        self.said: list[Said] = []
        self.acts: list[Act] = []
        self.translator = translate
        self.changed = asyncio.Event()
        self.statuses: dict[str, str] = {}
        self.on_say: Any = None  # the eval routes residents' lines to the others in the room

    # -- set-up -----------------------------------------------------------------------------------
    def add_resident(self, npc_id: str, entry: dict) -> None:
        self.names[npc_id] = entry["name"]
        self.kinds[npc_id] = "npc"
        self.roles[npc_id] = (entry.get("role") or "resident", entry.get("home") or "")
        if entry.get("shop"):
            self.shop_of[npc_id] = entry["key"]
            self.shops[entry["key"]] = {i["sku"]: Item(i["sku"], i["name"], int(i["price"]), int(i["stock"]))
                                        for i in entry["shop"]}

    def add_person(self, pid: str, name: str, room: str) -> Person:
        self.names[pid] = name
        self.kinds[pid] = "user"
        self.where[pid] = room
        self.purses.setdefault(pid, self.start_purse)
        spawn = self._room(room)
        self.pos[pid] = tuple(spawn.get("spawn") or (1, 1)) if spawn else (1.0, 1.0)
        return Person(pid, name, "user", *self.pos[pid])

    def now(self) -> datetime:
        return datetime.now(UTC) + self.skew

    def _room(self, slug: str) -> dict | None:
        return next((r for r in self.data.get("rooms", []) if r["slug"] == slug), None)

    # -- World ------------------------------------------------------------------------------------
    def surroundings_now(self, npc_id: str) -> Surroundings | None:
        room = self.where.get(npc_id)
        if room is None:
            return None
        people = [Person(i, self.names[i], self.kinds[i], *self.pos.get(i, (0.0, 0.0)))
                  for i, r in self.where.items() if r == room]
        me = self.pos.get(npc_id, (0.0, 0.0))
        info = self._room(room)
        return Surroundings(room, info["name"] if info else room, me[0], me[1], people)

    async def look_around(self, npc_id: str) -> Surroundings:
        return self.surroundings_now(npc_id) or Surroundings(None)

    async def enter(self, npc_id: str, room: str, x: float | None = None, y: float | None = None) -> None:
        info = self._room(room)
        if info is None:
            raise ActionRefused("not_found", f"no room {room!r}")
        self.where[npc_id] = room
        sx, sy = info.get("spawn") or (1, 1)
        self.pos[npc_id] = (x if x is not None else sx + 2.0, y if y is not None else sy)
        self._act("enter", npc_id, room=room)

    async def move(self, npc_id: str, x: float, y: float) -> tuple[float, float]:
        self.pos[npc_id] = (x, y)
        return x, y

    async def say(self, npc_id: str, text: str, *, to: str | None = None, lang: str | None = None) -> bool:
        said = Said(npc_id, text, to, lang, self.where.get(npc_id))
        self.said.append(said)
        self.changed.set()
        if self.on_say is not None:
            self.on_say(said)
        return True

    async def emote(self, npc_id: str, name: str) -> None:
        self._act("emote", npc_id, name=name)

    async def rooms(self) -> list[RoomFact]:
        return list(self.room_facts)

    async def shop(self, npc_id: str) -> list[Item] | None:
        key = self.shop_of.get(npc_id)
        if key is None:
            return None
        return [Item(i.sku, i.name, i.price, i.stock) for i in self.shops[key].values()]

    async def happenings(self) -> list[Happening]:
        if self.clock is None:
            return []
        now = self.clock.minute()
        out = []
        for e in self.data.get("events") or []:
            h, m = (int(x) for x in str(e["at"]).split(":"))
            start, dur = h * 60 + m, int(e.get("duration_min", 60))
            elapsed = (now - start) % 1440
            running = elapsed < dur
            out.append(Happening(e["title"], f"{h:02d}:{m:02d}", e["room"], e.get("description") or "", running,
                                 None if running else round(1440 - elapsed)))
        return out

    async def stalls(self, npc_id: str) -> list[Stall]:
        return [Stall(self.names[rid], self.roles[rid][0], self.where.get(rid) or self.roles[rid][1],
                      [Item(i.sku, i.name, i.price, i.stock) for i in self.shops[key].values()])
                for rid, key in self.shop_of.items() if rid != npc_id]

    async def offer(self, npc_id: str, user_id: str, sku: str, qty: int) -> Offer:
        key = self.shop_of.get(npc_id)
        item = self.shops.get(key or "", {}).get(sku)
        if item is None:
            raise ActionRefused("not_found", f"I don't sell {sku}")
        if item.stock < qty:
            raise ActionRefused("conflict", f"I have only {item.stock} {item.name} left")
        for oid, (o, status) in list(self.offers.items()):
            if o.npc_id == npc_id and o.user_id == user_id and status == "open":
                self.offers[oid] = (o, "expired")
        o = Offer(str(uuid.uuid4()), npc_id, user_id, sku, item.name, qty, item.price, item.price * qty,
                  self.now() + timedelta(seconds=self.offer_ttl_s))
        self.offers[o.id] = (o, "open")
        self._act("offer", npc_id, user=user_id, sku=sku, qty=qty, total=o.total)
        return o

    async def pending_offer(self, npc_id: str, user_id: str) -> Offer | None:
        for o, status in reversed(list(self.offers.values())):
            if o.npc_id == npc_id and o.user_id == user_id and status == "open" and o.expires_at > self.now():
                return o
        return None

    async def confirm(self, npc_id: str, offer_id: str, user_id: str) -> Sale:
        found = self.offers.get(offer_id)
        if found is None or found[0].user_id != user_id:
            return Sale(False, code="not_found", message="no such offer")
        o, status = found
        if status != "open" or o.expires_at <= self.now():
            return Sale(False, o, code="not_found", message="that offer lapsed")
        item = self.shops[self.shop_of[o.npc_id]][o.sku]
        if self.purses[user_id] < o.total:
            self._act("failed_sale", npc_id, user=user_id, sku=o.sku, code="insufficient_funds")
            return Sale(False, o, code="insufficient_funds", message="not enough coins")
        if item.stock < o.qty:
            self._act("failed_sale", npc_id, user=user_id, sku=o.sku, code="conflict")
            return Sale(False, o, code="conflict", message="out of stock")
        item.stock -= o.qty
        self.purses[user_id] -= o.total
        self.offers[offer_id] = (o, "sold")
        self._act("sale", npc_id, user=user_id, sku=o.sku, qty=o.qty, total=o.total)
        return Sale(True, o, transaction_id=str(uuid.uuid4()), balance=self.purses[user_id])

    async def decline(self, npc_id: str, offer_id: str, user_id: str) -> bool:
        found = self.offers.get(offer_id)
        if found is None or found[1] != "open":
            return False
        self.offers[offer_id] = (found[0], "declined")
        self._act("decline", npc_id, user=user_id, sku=found[0].sku)
        return True

    async def translate(self, text: str, source: str, target: str) -> str | None:
        if self.translator is None or source == target:
            return None
        return await self.translator(text, source, target)

    async def status(self, npc_id: str, status: str) -> None:
        self.statuses[npc_id] = status

    def figures(self) -> dict[str, Any]:
        return {"said": len(self.said), "acts": len(self.acts)}

    def _act(self, kind: str, npc_id: str, **data: Any) -> None:
        self.acts.append(Act(kind, npc_id, data))


class MemoryBook:
    """`MemoryStore` and `PeopleStore` in memory, kept across agents (a restart keeps them)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Memory, list[float] | None]]] = {}
        self.people: dict[tuple[str, str], Acquaintance] = {}
        self.reflected: dict[str, datetime] = {}
        self._ids = itertools.count(1)

    async def add(self, resident_id: str, drafts: Sequence[MemoryDraft], embeddings) -> list[int]:
        out = []
        for d, e in zip(drafts, embeddings):
            at = d.created_at or datetime.now(UTC)
            m = Memory(next(self._ids), d.kind, d.text, float(d.importance or 2.0), at, at, d.subject_id,
                       d.subject_name, list(d.evidence), dict(d.meta))
            self.rows.setdefault(resident_id, []).append((m, e))
            out.append(m.id)
        return out

    async def candidates(self, resident_id: str, query, *, subject_id, k_relevant, k_recent, k_subject) -> list[Memory]:
        rows = self.rows.get(resident_id, [])
        picked: dict[int, Memory] = {}
        if query is not None:
            scored = [(sum(a * b for a, b in zip(query, e)), m) for m, e in rows if e is not None]
            for s, m in sorted(scored, key=lambda x: -x[0])[:k_relevant]:
                m.similarity = s
                picked[m.id] = m
        for m, _ in rows[-k_recent:]:
            picked.setdefault(m.id, m)
        if subject_id:
            for m, _ in [r for r in rows if r[0].subject_id == subject_id][-k_subject:]:
                picked.setdefault(m.id, m)
        return list(picked.values())

    async def touch(self, resident_id: str, ids) -> None:
        now = datetime.now(UTC)
        for m, _ in self.rows.get(resident_id, []):
            if m.id in ids:
                m.last_accessed = now

    async def count(self, resident_id: str) -> int:
        return len(self.rows.get(resident_id, []))

    async def recent(self, resident_id: str, *, after, limit, kinds=None) -> list[Memory]:
        ms = [m for m, _ in self.rows.get(resident_id, []) if (after is None or m.created_at > after)
              and (kinds is None or m.kind in kinds)]
        return ms[-limit:]

    async def importance_since(self, resident_id: str, after) -> float:
        return sum(m.importance for m in await self.recent(resident_id, after=after, limit=10 ** 6))

    async def last_reflection(self, resident_id: str):
        return self.reflected.get(resident_id)

    async def mark_reflected(self, resident_id: str, at) -> None:
        self.reflected[resident_id] = at

    async def victims(self, resident_id: str, *, n, below, kinds, keep_recent) -> list[Memory]:
        return []

    async def fold(self, resident_id: str, groups) -> int:
        return 0

    async def missing_embeddings(self, resident_id: str, limit: int):
        return []

    async def set_embeddings(self, resident_id: str, rows) -> None:
        return None

    def about(self, resident_id: str, text: str) -> list[Memory]:
        return [m for m, _ in self.rows.get(resident_id, []) if text.lower() in m.text.lower()]

    # -- people -----------------------------------------------------------------------------------
    async def get(self, resident_id: str, person_id: str) -> Acquaintance | None:
        a = self.people.get((resident_id, person_id))
        return Acquaintance(a.id, a.name, a.times_met, a.first_met, a.last_seen, dict(a.facts)) if a else None

    async def meet(self, resident_id: str, person_id: str, name: str, *, visit: bool = False,
                   facts: dict | None = None) -> Acquaintance:
        now = datetime.now(UTC)
        a = self.people.get((resident_id, person_id))
        if a is None:
            a = self.people[(resident_id, person_id)] = Acquaintance(person_id, name, 1, now, now, {})
        elif visit:
            a.times_met += 1
        a.last_seen = now
        a.facts.update(facts or {})
        return await self.get(resident_id, person_id)


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.dist(a, b)
