"""A newcomer's first steps: a new account lands in the start room (the Plaza) beside the guide
resident, and its `session` says what the guide's short tour is (walk to the market door, say
hello, check the wallet). The guide's greeting itself is the residents' own (they greet who walks
in); the tour's steps are checked off by the client, which sees them happen."""

from __future__ import annotations

from typing import Any

from server.world.geometry import RoomInfo


class Onboarding:
    """Reads the world file once: which room newcomers start in, who guides them, and which
    door the tour walks to (the one toward the shopkeepers' room, else the first)."""

    def __init__(self, world: dict[str, Any] | None):
        world = world or {}
        rooms = [r.get("slug") for r in world.get("rooms") or [] if isinstance(r, dict)]
        residents = [r for r in world.get("residents") or [] if isinstance(r, dict)]
        guide = next((r for r in residents if r.get("role") == "guide"), None)
        self.guide_name: str | None = guide.get("name") if guide else None
        start = world.get("start") or (guide or {}).get("home") or ("plaza" if "plaza" in rooms else None)
        self.room: str | None = start or (rooms[0] if rooms else None)
        self.shop_rooms = {r.get("home") for r in residents if r.get("shop")}

    def guide_position(self, occupants: dict[str, dict[str, Any]] | None) -> tuple[str, float, float] | None:
        """(id, x, y) of the guide when it is in the room (its presence records), else None."""
        for p in (occupants or {}).values():
            if p.get("kind") == "npc" and p.get("name") == self.guide_name:
                return p["id"], float(p["x"]), float(p["y"])
        return None

    def arrival_near(self, info: RoomInfo, occupants: dict[str, dict[str, Any]] | None) -> tuple[float, float] | None:
        """Where a first arrival in the start room should stand: a tile beside the guide (the
        caller spreads it to a free one); None elsewhere or when the guide is not in."""
        if info.slug != self.room:
            return None
        guide = self.guide_position(occupants)
        if guide is None:
            return None
        _, gx, gy = guide
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            x, y = info.clamp(gx + dx, gy + dy)
            if not info.blocked(x, y):
                return x, y
        return gx, gy

    def tour(self, info: RoomInfo | None, rooms: dict[str, RoomInfo],
             occupants: dict[str, dict[str, Any]] | None) -> dict[str, Any] | None:
        """The `onboarding` part of a newcomer's `session`: the start room, the guide and the
        door the tour leads to (with its rectangle, so the client sees when it is reached)."""
        if info is None:
            return None
        door = next((d for d in info.doors if d.room in self.shop_rooms), None) or (info.doors[0] if info.doors else None)
        guide = self.guide_position(occupants)
        out: dict[str, Any] = {"room": info.slug, "room_name": info.name,
                               "guide": {"name": self.guide_name, "id": guide[0] if guide else None} if self.guide_name else None,
                               "steps": ["door", "say", "wallet"] if door else ["say", "wallet"]}
        if door is not None:
            target = rooms.get(door.room)
            out["door"] = {**door.public(), "room_name": target.name if target else door.room}
        return out
