"""Where an arrival stands: the spawn point, or the nearest free walkable tile to it, so that
two people who arrive together never stand on one tile."""

from __future__ import annotations

import time
from collections import deque

from server.world.geometry import RoomInfo

Tile = tuple[int, int]


def free_spot(info: RoomInfo, spawn: tuple[float, float], taken: set[Tile], limit: int = 4000) -> tuple[float, float]:
    """The spawn when its tile is free, else the nearest free walkable tile (breadth-first, so
    arrivals fan out around the spawn), keeping the spawn's offset within the tile."""
    sx, sy = spawn
    col, row = int(sx), int(sy)
    fx, fy = round(sx - col, 2), round(sy - row, 2)
    seen = {(col, row)}
    todo = deque([(col, row)])
    while todo and len(seen) < limit:
        c, r = todo.popleft()
        if (c, r) not in taken and not info.tile_blocked(c, r):
            return info.clamp(c + fx, r + fy)
        for n in ((c + 1, r), (c - 1, r), (c, r + 1), (c, r - 1)):
            if 0 <= n[0] < info.width and 0 <= n[1] < info.height and n not in seen and not info.tile_blocked(*n):
                seen.add(n)
                todo.append(n)
    return spawn  # a full room: stand on the spawn after all


class Arrivals:
    """Tiles handed to arrivals in the last moments, before their presence reaches the mirror."""

    def __init__(self, hold_s: float = 2.0):
        self.hold_s = hold_s
        self._held: dict[str, dict[Tile, float]] = {}

    def taken(self, room: str) -> set[Tile]:
        now = time.monotonic()
        held = self._held.get(room) or {}
        for tile in [t for t, until in held.items() if until < now]:
            del held[tile]
        return set(held)

    def hold(self, room: str, x: float, y: float) -> None:
        self._held.setdefault(room, {})[(int(x), int(y))] = time.monotonic() + self.hold_s


def nearest_walkable(info: RoomInfo, point: tuple[float, float]) -> tuple[float, float]:
    """The centre of the walkable tile nearest to a point (a fountain's middle: its edge)."""
    col, row = int(point[0]), int(point[1])
    seen = {(col, row)}
    todo = deque([(col, row)])
    while todo:
        c, r = todo.popleft()
        if not info.tile_blocked(c, r):
            return info.clamp(c + 0.5, r + 0.5)
        for n in ((c + 1, r), (c - 1, r), (c, r + 1), (c, r - 1)):
            if 0 <= n[0] < info.width and 0 <= n[1] < info.height and n not in seen:
                seen.add(n)
                todo.append(n)
    return point
