"""A room as its owner runs it (bodies walking toward targets, one tick at a time), and the
occupant mirror every node keeps from the room events it sees.

Operations (from the room's inbox, in order):
  {"op": "join", "id", "kind", "name", "appearance", "x", "y"}   add or update; presence:join
  {"op": "leave", "id"}                                           remove; presence:leave
  {"op": "move", "id", "x", "y", "t"?}                            new target (already clamped); the
                                                                  owner plans the path from where the body is
  {"op": "profile", "id", "name"?, "appearance"?}                 presence:join again (an upsert)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from server.world.geometry import RoomInfo
from server.world.paths import plan
from server.world.tiled import Door

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
    path: list[tuple[float, float]] = field(default_factory=list)  # waypoints still ahead, the target last

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
    doors_hit: list[tuple[str, Door]] = field(default_factory=list)  # people who stepped onto a door this tick

    def apply(self, ops: Iterable[dict]) -> list[Event]:
        events: list[Event] = []
        bodies = self.bodies
        for op in ops:
            kind = op.get("op")
            if kind == "move":
                b = bodies.get(op["id"])
                if b is not None and self._aim(b, op):
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
        if not self._aim(b, op):
            return []
        entry, walking = self._step_body(b)
        if walking:
            self.moving.add(b.id)
        else:
            self.moving.discard(b.id)
        return [entry] if entry is not None else []

    def _aim(self, b: Body, op: dict) -> bool:
        """A new target: plan the way there from where the body stands (once per move, not per tick)."""
        route = plan(self.info, (b.x, b.y), (op["x"], op["y"]))
        if route is None:
            return False  # no way from here (the mover's node checked a tick-old position)
        b.tx, b.ty, b.t, b.path = op["x"], op["y"], op.get("t"), route
        return True

    def _walk(self, b: Body) -> tuple[float, float, str]:
        """One tick along the waypoints: the full step length, turning corners within the tick."""
        budget, x, y = self.max_step, b.x, b.y
        path = b.path or [(b.tx, b.ty)]
        while True:
            tx, ty = path[0]
            nx, ny, state = self.info.step(x, y, tx, ty, budget)
            if state == "blocked":
                return x, y, "blocked" if (x, y) == (b.x, b.y) else "walk"
            budget -= math.hypot(nx - x, ny - y)
            x, y = nx, ny
            if state != "arrived":
                return x, y, "walk"
            path.pop(0)
            if not path:
                return x, y, "arrived"
            if budget <= 0.005:
                return x, y, "walk"

    def _step_body(self, b: Body) -> tuple[list | None, bool]:
        ox, oy = b.x, b.y
        x, y, state = self._walk(b)
        entry = None
        if x != b.x or y != b.y:
            b.x, b.y = x, y
            if b.kind == "user" and self.info.doors and (int(x), int(y)) != (int(ox), int(oy)):
                door = self.info.door_at(x, y)
                if door is not None and self.info.door_at(ox, oy) is None:
                    self.doors_hit.append((b.id, door))
            entry = [b.id, x, y]
            if state == "arrived" and b.t is not None:
                entry.append(b.t)
            if b.kind == "user":
                self.unsaved.add(b.id)
        if state != "walk":
            b.tx = b.ty = b.t = None
            b.path = []
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
        # Each body's small number in a room on this node (wire-2 frames name bodies by it; `n` in presence).
        self.numbers: dict[str, dict[str, int]] = {}
        self._next_number: dict[str, int] = {}

    def numbering(self, room: str) -> dict[str, int]:
        return self.numbers.get(room) or {}

    def number(self, room: str, pid: str) -> int:
        """The body's number in the room, given on first use (kept while it is in the room)."""
        nums = self.numbers.get(room)
        if nums is None:
            nums = self.numbers[room] = {}
        n = nums.get(pid)
        if n is None:
            n = nums[pid] = self._next_number[room] = self._next_number.get(room, 0) + 1
        return n

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
                self.number(room, data["id"])
                if data.get("kind") == "user":
                    self.user_room[data["id"]] = room
            elif name == "presence:leave":
                occ.pop(data["id"], None)
                self.numbers.get(room, {}).pop(data["id"], None)
                if self.user_room.get(data["id"]) == room:
                    del self.user_room[data["id"]]

    def load(self, room: str, presences: Iterable[dict]) -> None:
        for pid, slug in list(self.user_room.items()):
            if slug == room:
                del self.user_room[pid]
        occ = self.rooms[room] = {}
        for p in presences:
            occ[p["id"]] = dict(p)
            self.number(room, p["id"])
            if p.get("kind") == "user":
                self.user_room[p["id"]] = room

    def position(self, room: str, pid: str) -> tuple[float, float] | None:
        p = (self.rooms.get(room) or {}).get(pid)
        return (p["x"], p["y"]) if p else None
