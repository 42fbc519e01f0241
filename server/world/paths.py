"""Ways through a room: which tiles connect, and a path of waypoints around obstacles.

A* comes from the `pathfinding` package (diagonal steps only where neither side is blocked, so
a path never slips between two walls that meet at a corner). One `Walkways` per room layout,
cached: planning is per click, never per tick. Residents plan the same way (`plan`).
"""

from __future__ import annotations

import math
from collections import deque
from functools import lru_cache

from pathfinding.core.diagonal_movement import DiagonalMovement
from pathfinding.core.grid import Grid
from pathfinding.finder.a_star import AStarFinder

from server.world.geometry import RoomInfo

Point = tuple[float, float]


class Walkways:
    """The walkable tiles of one room layout: connected regions and A* over them."""

    def __init__(self, width: int, height: int, rows: tuple[str, ...]):
        self.width, self.height = width, height
        self.open = [[not (r < len(rows) and c < len(rows[r]) and rows[r][c] == "#") for c in range(width)]
                     for r in range(height)]
        self.grid = Grid(matrix=[[1 if ok else 0 for ok in row] for row in self.open])
        self.finder = AStarFinder(diagonal_movement=DiagonalMovement.only_when_no_obstacle)
        self.region = self._regions()

    def _regions(self) -> list[list[int]]:
        """Each walkable tile's connected region (4-neighbour flood fill); -1 for blocked tiles."""
        region = [[-1] * self.width for _ in range(self.height)]
        n = 0
        for r in range(self.height):
            for c in range(self.width):
                if not self.open[r][c] or region[r][c] >= 0:
                    continue
                region[r][c] = n
                todo = deque([(c, r)])
                while todo:
                    x, y = todo.popleft()
                    for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                        if 0 <= nx < self.width and 0 <= ny < self.height and self.open[ny][nx] and region[ny][nx] < 0:
                            region[ny][nx] = n
                            todo.append((nx, ny))
                n += 1
        return region

    def _tile(self, x: float, y: float) -> tuple[int, int]:
        return min(max(int(x), 0), self.width - 1), min(max(int(y), 0), self.height - 1)

    def reachable(self, start: Point, goal: Point) -> bool:
        """Whether a walker at `start` can get to `goal`. A walker standing on a blocked tile (a
        map changed under it) may go anywhere: it has to be able to get out."""
        sc, sr = self._tile(*start)
        gc, gr = self._tile(*goal)
        if self.region[gr][gc] < 0:
            return False
        return self.region[sr][sc] < 0 or self.region[sr][sc] == self.region[gr][gc]

    def route(self, start: Point, goal: Point) -> list[Point] | None:
        """Tile centres from the start's tile to the goal's tile (A*), or None when there is no way."""
        sc, sr = self._tile(*start)
        gc, gr = self._tile(*goal)
        if not self.reachable(start, goal) or not self.open[sr][sc]:
            return None
        grid = self.grid
        grid.cleanup()
        found, _ = self.finder.find_path(grid.node(sc, sr), grid.node(gc, gr), grid)
        if not found:
            return None
        return [(n.x + 0.5, n.y + 0.5) for n in found]


@lru_cache(maxsize=256)
def walkways(width: int, height: int, rows: tuple[str, ...]) -> Walkways:
    return Walkways(width, height, rows)


def walkways_of(info: RoomInfo) -> Walkways:
    return walkways(info.width, info.height, tuple(info.tiles))


def plan(info: RoomInfo, start: Point, goal: Point) -> list[Point] | None:
    """Waypoints from `start` to `goal` (the goal last), straight lines between them clear of
    walls; [goal] when the straight line is clear; None when the goal cannot be reached."""
    if not info.tiles or info.clear(start[0], start[1], goal[0], goal[1]) or info.blocked(*start):
        return [goal]  # a walker stuck on a blocked tile (a new map) walks straight out, as before maps
    ways = walkways_of(info)
    centres = ways.route(start, goal)
    if centres is None:
        return None
    # Through every tile centre on the way, the goal's own included (a goal on a tile's corner may
    # be out of sight from the tile before), then the goal; string-pulling drops what is not needed.
    points = [*centres[1:], goal] if goal != centres[-1] else centres[1:] or [goal]
    # String-pulling: from each point, go straight to the farthest waypoint in sight.
    out: list[Point] = []
    here = start
    i = 0
    while i < len(points):
        j = len(points) - 1
        while j > i and not info.clear(here[0], here[1], points[j][0], points[j][1]):
            j -= 1
        if j == i and not info.clear(here[0], here[1], points[i][0], points[i][1]):
            # The start is off a tile centre and the first leg grazes a corner: go by the centre.
            out.append(centres[0])
            here = centres[0]
            if not info.clear(here[0], here[1], points[i][0], points[i][1]):
                return None
            continue
        out.append(points[j])
        here = points[j]
        i = j + 1
    return out


def path_length(start: Point, points: list[Point]) -> float:
    total, here = 0.0, start
    for p in points:
        total += math.hypot(p[0] - here[0], p[1] - here[1])
        here = p
    return total
