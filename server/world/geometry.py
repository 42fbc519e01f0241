"""A room's shape: bounds, blocked tiles, and walking a straight line toward a target."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any


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

    @classmethod
    def from_row(cls, room) -> "RoomInfo":
        return cls(id=room.id, slug=room.slug, name=room.name, description=room.description or "",
                   width=room.width, height=room.height, capacity=room.capacity, access=room.access,
                   owner_id=room.owner_id, tiles=tuple(room.tiles or ()), spawn_x=room.spawn_x, spawn_y=room.spawn_y)

    # Positions are floats in tile units; tile (col, row) covers [col, col+1) x [row, row+1).
    # A position is kept within [0, width-1] x [0, height-1].
    def clamp(self, x: float, y: float) -> tuple[float, float]:
        return (round(min(max(x, 0.0), self.width - 1.0), 2), round(min(max(y, 0.0), self.height - 1.0), 2))

    def blocked(self, x: float, y: float) -> bool:
        """Rows are strings of "." (walkable) and "#" (blocked); rows or columns past the list walk."""
        row, col = int(y), int(x)
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
            nx, ny, state = x + dx / dist * max_step, y + dy / dist * max_step, "walk"
        # Check the segment at quarter-tile spacing so a wall corner is never cut through.
        seg = min(dist, max_step)
        n = max(1, int(seg / 0.25) + 1)
        for i in range(1, n + 1):
            f = i / n
            if self.blocked(x + (nx - x) * f, y + (ny - y) * f):
                return x, y, "blocked"
        return round(nx, 2), round(ny, 2), state

    def public(self, occupants: int) -> dict[str, Any]:
        """The room as `room:join` describes it."""
        return {"slug": self.slug, "name": self.name, "description": self.description, "width": self.width,
                "height": self.height, "capacity": self.capacity, "access": self.access, "tiles": list(self.tiles),
                "occupants": occupants, "owner_id": str(self.owner_id) if self.owner_id else None}
