"""A room as its owner runs it (bodies walking toward targets, one tick at a time), and the
occupant mirror every node keeps from the room events it sees.

Operations (from the room's inbox, in order):
  {"op": "join", "id", "kind", "name", "appearance", "x", "y"}   add or update; presence:join
  {"op": "leave", "id"}                                           remove; presence:leave
  {"op": "move", "id", "x", "y", "t"?}                            new target (already clamped)
  {"op": "profile", "id", "name"?, "appearance"?}                 presence:join again (an upsert)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from server.world.geometry import RoomInfo

Event = tuple[str, Any]


@dataclass(slots=True)
class Body:
    id: str
    kind: str  # "user" | "npc"
    name: str
    appearance: dict
    x: float
    y: float
    tx: float | None = None
    ty: float | None = None
    t: float | None = None  # the client's timestamp of the move that set the target

    def presence(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name, "x": self.x, "y": self.y,
                "appearance": self.appearance}


@dataclass
class RoomRuntime:
    info: RoomInfo
    max_step: float  # tiles per tick
    bodies: dict[str, Body] = field(default_factory=dict)
    moving: set[str] = field(default_factory=set)
    unsaved: set[str] = field(default_factory=set)  # users moved since their position was last saved

    def apply(self, ops: Iterable[dict]) -> list[Event]:
        events: list[Event] = []
        bodies = self.bodies
        for op in ops:
            kind = op.get("op")
            if kind == "move":
                b = bodies.get(op["id"])
                if b is not None:
                    b.tx, b.ty, b.t = op["x"], op["y"], op.get("t")
                    self.moving.add(b.id)
            elif kind == "join":
                b = bodies.get(op["id"])
                if b is None:
                    b = bodies[op["id"]] = Body(op["id"], op.get("kind", "user"), op["name"],
                                                op.get("appearance") or {}, op["x"], op["y"])
                else:  # a take-over or a repeated join: same body, fresh details
                    b.name, b.appearance = op["name"], op.get("appearance") or {}
                events.append(("presence:join", b.presence()))
            elif kind == "leave":
                b = bodies.pop(op["id"], None)
                if b is not None:
                    self.moving.discard(b.id)
                    self.unsaved.discard(b.id)
                    events.append(("presence:leave", {"id": b.id}))
            elif kind == "profile":
                b = bodies.get(op["id"])
                if b is not None:
                    if op.get("name"):
                        b.name = op["name"]
                    if op.get("appearance") is not None:
                        b.appearance = op["appearance"]
                    events.append(("presence:join", b.presence()))
        return events

    def step(self) -> list[list]:
        """Advance every walker by one tick; returns the `moves` of world:tick."""
        moves: list[list] = []
        if not self.moving:
            return moves
        done = []
        for bid in self.moving:
            b = self.bodies.get(bid)
            if b is None or b.tx is None:
                done.append(bid)
                continue
            entry, walking = self._step_body(b)
            if entry is not None:
                moves.append(entry)
            if not walking:
                done.append(bid)
        for bid in done:
            self.moving.discard(bid)
        return moves

    def move_now(self, op: dict) -> list[list] | None:
        """Tick batching off (a baseline for benchmarks): set the target and take the first
        step at once. None when the body is not here yet (the op then waits for the tick)."""
        b = self.bodies.get(op["id"])
        if b is None:
            return None
        b.tx, b.ty, b.t = op["x"], op["y"], op.get("t")
        entry, walking = self._step_body(b)
        if walking:
            self.moving.add(b.id)
        else:
            self.moving.discard(b.id)
        return [entry] if entry is not None else []

    def _step_body(self, b: Body) -> tuple[list | None, bool]:
        x, y, state = self.info.step(b.x, b.y, b.tx, b.ty, self.max_step)
        entry = None
        if x != b.x or y != b.y:
            b.x, b.y = x, y
            entry = [b.id, x, y]
            if state == "arrived" and b.t is not None:
                entry.append(b.t)
            if b.kind == "user":
                self.unsaved.add(b.id)
        if state != "walk":
            b.tx = b.ty = b.t = None
            return entry, False
        return entry, True

    def tick(self, ops: Iterable[dict], now: float) -> list[Event]:
        events = self.apply(ops)
        moves = self.step()
        if moves:
            events.append(("world:tick", {"room": self.info.slug, "t": round(now, 3), "moves": moves}))
        return events

    def take_unsaved(self) -> dict[str, tuple[float, float]]:
        out = {}
        for uid in self.unsaved:
            b = self.bodies.get(uid)
            if b is not None:
                out[uid] = (b.x, b.y)
        self.unsaved.clear()
        return out


class Mirror:
    """Every node's view of every room's occupants, kept from the room events (eventually
    consistent within a tick). Presence dicts: {"id", "kind", "name", "x", "y", "appearance"}."""

    def __init__(self) -> None:
        self.rooms: dict[str, dict[str, dict]] = {}
        self.user_room: dict[str, str] = {}

    def observe(self, room: str, events: list[Event]) -> None:
        occ = self.rooms.get(room)
        if occ is None:
            occ = self.rooms[room] = {}
        for name, data in events:
            if name == "world:tick":
                for m in data["moves"]:
                    p = occ.get(m[0])
                    if p is not None:
                        p["x"], p["y"] = m[1], m[2]
            elif name == "presence:join":
                occ[data["id"]] = dict(data)
                if data.get("kind") == "user":
                    self.user_room[data["id"]] = room
            elif name == "presence:leave":
                occ.pop(data["id"], None)
                if self.user_room.get(data["id"]) == room:
                    del self.user_room[data["id"]]

    def load(self, room: str, presences: Iterable[dict]) -> None:
        for pid, slug in list(self.user_room.items()):
            if slug == room:
                del self.user_room[pid]
        occ = self.rooms[room] = {}
        for p in presences:
            occ[p["id"]] = dict(p)
            if p.get("kind") == "user":
                self.user_room[p["id"]] = room

    def position(self, room: str, pid: str) -> tuple[float, float] | None:
        p = (self.rooms.get(room) or {}).get(pid)
        return (p["x"], p["y"]) if p else None
