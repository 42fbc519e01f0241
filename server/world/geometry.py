"""A room's shape: bounds, blocked tiles, and walking a straight line toward a target."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from server.protocol import cents
from server.world.tiled import Door, Place, RoomMap


@dataclass
class RoomInfo:
    """What every node knows about a room (read from the rooms table, cached)."""

    id: uuid.UUID
    slug: str
    name: str
    description: str
    width: int
    height: int
    capacity: int
    access: str
    owner_id: uuid.UUID | None
    tiles: tuple[str, ...] = field(default_factory=tuple)
    spawn_x: float = 1.0
    spawn_y: float = 1.0
    map_rev: int = 0
    # From the room's Tiled map (server/world/tiled.py); a room without one has only its spawn.
    spawns: dict[str, tuple[float, float]] = field(default_factory=dict)
    doors: tuple[Door, ...] = ()
    areas: tuple[Place, ...] = ()
    objects: tuple[Place, ...] = ()

    @classmethod
    def from_row(cls, room, parsed: RoomMap | None = None) -> RoomInfo:
        info = cls(id=room.id, slug=room.slug, name=room.name, description=room.description or "",
                   width=room.width, height=room.height, capacity=room.capacity, access=room.access,
                   owner_id=room.owner_id, tiles=tuple(room.tiles or ()), spawn_x=room.spawn_x, spawn_y=room.spawn_y,
                   map_rev=room.map_rev or 0)
        if parsed is not None:
            info.spawns, info.doors, info.areas, info.objects = dict(parsed.spawns), parsed.doors, parsed.areas, parsed.objects
        return info

    def door_at(self, x: float, y: float) -> Door | None:
        col, row = int(x), int(y)
        return next((d for d in self.doors if d.covers(col, row)), None)

    def area(self, name: str) -> Place | None:
        """A named area or object ("fountain", "Tobin's stall"), case-insensitively."""
        key = name.strip().casefold()
        return next((p for p in (*self.areas, *self.objects) if p.name.casefold() == key), None)

    def spawn_point(self, name: str | None = None) -> tuple[float, float]:
        """A named spawn point of the map (a door's target), else the room's spawn."""
        if name and name in self.spawns:
            x, y = self.clamp(*self.spawns[name])
            if not self.blocked(x, y):
                return x, y
        return self.spawn()

    # Positions are floats in tile units; tile (col, row) covers [col, col+1) x [row, row+1).
    # A position is kept within [0, width-1] x [0, height-1].
    def clamp(self, x: float, y: float) -> tuple[float, float]:
        return cents(min(max(x, 0.0), self.width - 1.0)), cents(min(max(y, 0.0), self.height - 1.0))

    def blocked(self, x: float, y: float) -> bool:
        """Rows are strings of "." (walkable) and "#" (blocked); rows or columns past the list walk."""
        return self.tile_blocked(int(x), int(y))

    def tile_blocked(self, col: int, row: int) -> bool:
        if row < 0 or col < 0 or row >= len(self.tiles):
            return False
        line = self.tiles[row]
        return col < len(line) and line[col] == "#"

    def spawn(self) -> tuple[float, float]:
        x, y = self.clamp(self.spawn_x, self.spawn_y)
        if not self.blocked(x, y):
            return x, y
        for row in range(self.height):  # a badly drawn map: the first walkable tile
            for col in range(self.width):
                if not self.blocked(col, row):
                    return float(col), float(row)
        return x, y

    def step(self, x: float, y: float, tx: float, ty: float, max_step: float) -> tuple[float, float, str]:
        """Walk from (x, y) toward (tx, ty) by at most `max_step` tiles.
        Returns (x, y, state): state "walk" (on the way), "arrived", or "blocked" (a blocked tile
        lies on this step: the walker stays where it was; there is no path finding)."""
        dx, dy = tx - x, ty - y
        dist = math.hypot(dx, dy)
        if dist <= max_step:
            nx, ny, state = tx, ty, "arrived"
        else:
            nx, ny, state = cents(x + dx / dist * max_step), cents(y + dy / dist * max_step), "walk"
        if self.tiles and not self.clear(x, y, nx, ny):
            return x, y, "blocked"
        return nx, ny, state

    def clear(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        """The segment enters no blocked tile and never slips between two blocked tiles that meet at
        a corner. Walks the tiles the segment crosses exactly (Amanatides & Woo), not by sampling."""
        col, row = math.floor(x0), math.floor(y0)
        end_col, end_row = math.floor(x1), math.floor(y1)
        dx, dy = x1 - x0, y1 - y0
        step_c = 1 if dx > 0 else -1
        step_r = 1 if dy > 0 else -1
        # t (0..1 along the segment) of the next vertical / horizontal grid line, and between lines.
        t_x = ((col + 1 - x0) / dx if dx > 0 else (x0 - col) / -dx) if dx else math.inf
        t_y = ((row + 1 - y0) / dy if dy > 0 else (y0 - row) / -dy) if dy else math.inf
        dt_x = abs(1 / dx) if dx else math.inf
        dt_y = abs(1 / dy) if dy else math.inf
        for _ in range(abs(end_col - col) + abs(end_row - row)):
            if col == end_col and row == end_row:
                break
            if abs(t_x - t_y) < 1e-9:  # through a grid corner: the two tiles beside it must not both be walls
                if self.tile_blocked(col + step_c, row) and self.tile_blocked(col, row + step_r):
                    return False
                col, row, t_x, t_y = col + step_c, row + step_r, t_x + dt_x, t_y + dt_y
            elif t_x < t_y:
                col, t_x = col + step_c, t_x + dt_x
            else:
                row, t_y = row + step_r, t_y + dt_y
            if self.tile_blocked(col, row):
                return False
        return True

    def public(self, occupants: int) -> dict[str, Any]:
        """The room as `room:join` describes it."""
        return {"slug": self.slug, "name": self.name, "description": self.description, "width": self.width,
                "height": self.height, "capacity": self.capacity, "access": self.access, "tiles": list(self.tiles),
                "occupants": occupants, "owner_id": str(self.owner_id) if self.owner_id else None,
                "map": f"/api/rooms/{self.slug}/map?rev={self.map_rev}",
                "doors": [d.public() for d in self.doors], "objects": [o.public() for o in self.objects]}
