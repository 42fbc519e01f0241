"""The small world interface a resident acts through: look around, move, say, sell.

`ai.npc` declares it; the server implements it (`server/residents/world.py`) on rooms, chat and
the shops. Nothing here knows about Socket.IO, HTTP or SQL: a resident only ever sees these
plain records, and every act goes through the same rules people are held to (moderation for
what it says, the ledger for what it sells, server-side movement for where it walks).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass
class Person:
    id: str
    name: str
    kind: str = "user"  # "user" | "npc"
    x: float = 0.0
    y: float = 0.0
    language: str | None = None  # their profile's language, where the world knows it (a greeting speaks it)


@dataclass
class Surroundings:
    room: str | None
    room_name: str = ""
    x: float = 0.0
    y: float = 0.0
    people: list[Person] = field(default_factory=list)

    def find(self, person_id: str) -> Person | None:
        return next((p for p in self.people if p.id == person_id), None)


@dataclass
class PlaceFact:
    """A named spot of a room (its map's area or object: "fountain", "Tobin's stall"), in tiles."""

    name: str
    x: float
    y: float
    width: float = 1.0
    height: float = 1.0
    at: tuple[float, float] | None = None  # a walkable spot by it (where a guide stops); None: its centre
    text: str = ""  # what is written on it or said of it (a notice board's notice), as the map has it


def place_facts(records: Iterable[dict[str, Any]]) -> list[PlaceFact]:
    """A room's named places from its map's area and object records (name, x, y, width, height, center,
    properties), one per name: where an area and an object share a name, the object's text goes with it."""
    out: dict[str, PlaceFact] = {}
    for p in records:
        cx, cy = p["center"]
        fact = out.setdefault(p["name"].casefold(), PlaceFact(p["name"], float(p["x"]), float(p["y"]), float(p["width"]),
                                                             float(p["height"]), (float(cx), float(cy))))
        text = (p.get("properties") or {}).get("text")
        if isinstance(text, str) and text and not fact.text:
            fact.text = text
    return list(out.values())


@dataclass
class RoomFact:
    slug: str
    name: str
    description: str = ""
    access: str = "public"
    width: float = 0.0  # tiles; 0: unknown (a place is then told without a side of the room)
    height: float = 0.0
    places: list[PlaceFact] = field(default_factory=list)


@dataclass
class Item:
    sku: str
    name: str
    price: int
    stock: int


@dataclass
class Stall:
    """Another resident's shop, as the town knows it: who keeps it, where they are, what it has."""

    seller: str
    role: str
    room: str
    items: list[Item]


@dataclass
class Happening:
    """An event on the world's calendar, as residents may tell people about it."""

    title: str
    at: str  # "HH:MM", world time
    room: str
    description: str = ""
    running: bool = False
    starts_in_min: int | None = None  # world minutes until its next start (None while it runs)


@dataclass
class Offer:
    id: str
    npc_id: str
    user_id: str
    sku: str
    name: str
    qty: int
    price: int
    total: int
    expires_at: datetime


@dataclass
class Sale:
    ok: bool
    offer: Offer | None = None
    transaction_id: str | None = None
    balance: int | None = None
    code: str | None = None  # the protocol's error code when not ok
    message: str = ""
    replayed: bool = False
    inventory: list | None = None


class ActionRefused(Exception):
    """The world refused an act (no such item, out of stock, no such room ...); `code` is the protocol's."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class World(Protocol):
    async def look_around(self, npc_id: str) -> Surroundings:
        """The room the resident is in, where it stands, and who is there."""

    async def enter(self, npc_id: str, room: str, x: float | None = None, y: float | None = None) -> None:
        """Appear in `room` (leaving the room it was in); x/y None: its usual spot or the room's spawn."""

    async def move(self, npc_id: str, x: float, y: float) -> tuple[float, float]:
        """Walk toward (x, y) in its room at people's speed; returns the accepted target."""

    async def say(self, npc_id: str, text: str, *, to: str | None = None, lang: str | None = None) -> bool:
        """Speak in its room (to: whisper to that person). False when moderation kept it back."""

    async def emote(self, npc_id: str, name: str) -> None: ...

    async def rooms(self) -> list[RoomFact]:
        """The real rooms of the world (public ones: what a resident may point people to)."""

    async def shop(self, npc_id: str) -> list[Item] | None:
        """This resident's wares with live prices and stock; None when it keeps no shop."""

    async def happenings(self) -> list[Happening]:
        """The world's events: what runs now and when the others start."""

    async def stalls(self, npc_id: str) -> list[Stall]:
        """The other residents' shops with live prices and stock (what a resident may recommend)."""

    async def offer(self, npc_id: str, user_id: str, sku: str, qty: int) -> Offer:
        """Put an offer to a person (they confirm before money moves); raises ActionRefused."""

    async def confirm(self, npc_id: str, offer_id: str, user_id: str) -> Sale:
        """The person said yes: the real purchase through the ledger."""

    async def decline(self, npc_id: str, offer_id: str, user_id: str) -> bool: ...

    async def pending_offer(self, npc_id: str, user_id: str) -> Offer | None: ...

    async def translate(self, text: str, source: str, target: str) -> str | None:
        """Machine translation when the world has it, else None."""

    async def status(self, npc_id: str, status: str) -> None:
        """What it is doing now ("selling at the stall"), for the people in its room to see."""

    def figures(self) -> dict[str, Any]: ...
