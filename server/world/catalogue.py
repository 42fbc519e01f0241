"""The rooms as stored: every node's cache of them (`RoomInfo`, maps parsed once per revision),
creating one, a room's map (read, replace), and what a map names (areas, objects, doors, paths)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

from server import audit
from server.db import Database
from server.protocol import ProtocolError
from server.world.geometry import RoomInfo
from server.world.models import Room
from server.world.paths import plan
from server.world.seed import apply_map
from server.world.spawns import nearest_walkable
from server.world.tiled import MapError, RoomMap, for_clients, parse_map, plain_map

log = logging.getLogger(__name__)


def as_id(value: Any, what: str = "user_id") -> uuid.UUID:
    """A UUID from a client's or caller's value; `invalid_payload` when it is not one."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ProtocolError("invalid_payload", f"{what} is not a valid id") from None


class Catalogue:
    def __init__(self, db: Database, check_public_text: Callable[..., Awaitable[str]]):
        self.db = db
        self.check_public_text = check_public_text
        self.infos: dict[str, RoomInfo] = {}  # the rooms open to joins, by slug
        self._maps: dict[str, tuple[int, RoomMap | None]] = {}  # parsed maps by room, with their revision
        # Called with each room read or changed (the owner's runtime follows the new info).
        self.on_change: list[Callable[[RoomInfo], None]] = []

    async def get_room(self, slug: str) -> RoomInfo | None:
        """The room (cached); None when there is no such room or it is archived."""
        info = self.infos.get(slug)
        if info is None:
            async with self.db.session() as s:
                row = await s.scalar(select(Room).where(Room.slug == slug, Room.archived.is_(False)))
                if row is None:
                    return None
                info = self.remember(await self._info(s, row))
        return info

    async def room_or_404(self, slug: str) -> RoomInfo:
        info = await self.get_room(slug)
        if info is None:
            raise ProtocolError("not_found", f"no room {slug!r}")
        return info

    async def reload_room(self, slug: str) -> None:
        """An admin changed the room: read it again now (archived: no new joins)."""
        async with self.db.session() as s:
            row = await s.scalar(select(Room).where(Room.slug == slug))
            if row is None or row.archived:
                self.infos.pop(slug, None)
                return
            self.remember(await self._info(s, row))

    async def refresh_rooms(self) -> None:
        async with self.db.session() as s:
            rows = (await s.execute(select(Room).where(Room.archived.is_(False)))).scalars().all()
            fresh = {r.slug for r in rows}
            for r in rows:
                self.remember(await self._info(s, r))
        for slug in list(self.infos):
            if slug not in fresh:
                del self.infos[slug]  # archived: no new joins; those inside stay until they leave

    def remember(self, info: RoomInfo) -> RoomInfo:
        self.infos[info.slug] = info
        for hook in self.on_change:
            hook(info)
        return info

    async def _info(self, s, row: Room) -> RoomInfo:
        """The room as cached: its map parsed once per revision."""
        cached = self._maps.get(row.slug)
        parsed = cached[1] if cached and cached[0] == row.map_rev else None
        if (cached is None or cached[0] != row.map_rev) and row.map_rev:
            doc = await s.scalar(select(Room.map).where(Room.id == row.id))
            if doc is not None:
                try:
                    parsed = parse_map(doc)
                except MapError as e:  # stored before a rule changed: the room still works, without doors
                    log.warning("the map of room %s no longer validates: %s", row.slug, e)
            self._maps[row.slug] = (row.map_rev, parsed)
        return RoomInfo.from_row(row, parsed)

    async def create_room(self, slug: str, name: str, *, owner_id: uuid.UUID | None = None, access: str = "public",
                          capacity: int = 50, width: int = 32, height: int = 24, tiles: list[str] | None = None,
                          description: str = "", spawn: tuple[float, float] = (1.0, 1.0)) -> RoomInfo:
        if access not in ("public", "private"):
            raise ProtocolError("invalid_payload", "access must be public or private")
        name = await self.check_public_text(name, kind="room_name")
        owner_id = as_id(owner_id, "owner_id") if owner_id is not None else None
        async with self.db.session() as s:
            if await s.scalar(select(Room.id).where(Room.slug == slug)):
                raise ProtocolError("conflict", f"there is already a room {slug!r}")
            row = Room(slug=slug, name=name, description=description, owner_id=owner_id, access=access,
                       capacity=capacity, width=width, height=height, tiles=list(tiles or []),
                       spawn_x=float(spawn[0]), spawn_y=float(spawn[1]), settings={})
            s.add(row)
            await s.flush()
            info = RoomInfo.from_row(row)
        return self.remember(info)

    # -- maps -----------------------------------------------------------------------------------------
    async def map_document(self, slug: str) -> dict[str, Any]:
        """The room's map as Tiled JSON, tilesets embedded; a plain one for a room without a map."""
        info = await self.room_or_404(slug)
        async with self.db.session() as s:
            doc = await s.scalar(select(Room.map).where(Room.id == info.id))
        if doc is None:
            doc = plain_map(info.width, info.height, info.tiles, (info.spawn_x, info.spawn_y))
        return for_clients(doc)

    async def set_map(self, slug: str, doc: Any, *, actor_id: uuid.UUID | None = None, reason: str = "") -> dict[str, Any]:
        """A new map for a room (an admin's upload). Validated whole first: a bad map changes nothing."""
        try:
            parsed = parse_map(doc)
        except MapError as e:
            raise ProtocolError("invalid_payload", f"the map was refused: {e}") from None
        async with self.db.session() as s:
            row = await s.scalar(select(Room).where(Room.slug == slug))
            if row is None:
                raise ProtocolError("not_found", f"no room {slug!r}")
            targets = {d.room for d in parsed.doors}
            known = set((await s.execute(select(Room.slug).where(Room.slug.in_(targets),
                                                                 Room.archived.is_(False)))).scalars())
            missing = sorted(targets - known)
            if missing:
                raise ProtocolError("invalid_payload",
                                    f"the map was refused: a door leads to a room that does not exist: {', '.join(missing)}")
            apply_map(row, doc, parsed)
            await s.flush()
            await audit.record(s, actor_id=actor_id, action="room.map", target_type="room", target_id=slug,
                               reason=reason, details={"width": parsed.width, "height": parsed.height,
                                                       "map_rev": row.map_rev, "doors": len(parsed.doors)})
            self._maps[slug] = (row.map_rev, parsed)
            info = RoomInfo.from_row(row, parsed)
            archived = row.archived
        if not archived:
            self.remember(info)
        return {"slug": slug, "width": parsed.width, "height": parsed.height, "map_rev": info.map_rev,
                "spawns": sorted(parsed.spawns), "doors": [d.public() for d in parsed.doors],
                "areas": [a.name for a in parsed.areas], "objects": [o.name for o in parsed.objects]}

    # -- what a map names: areas, objects, doors, paths (residents and the assistant use these) ------
    def area(self, slug: str, name: str) -> dict[str, Any] | None:
        """A named area or object of a room ("fountain", "Tobin's stall"): name, kind, x, y,
        width, height, center (a walkable spot to head for), properties; None when unknown."""
        info = self.infos.get(slug)
        place = info.area(name) if info else None
        return _public_place(info, place) if place is not None else None

    def areas(self, slug: str) -> list[dict[str, Any]]:
        """Every named area and object of a room (see `area`), each its own (an area and an object may share a name)."""
        info = self.infos.get(slug)
        return [_public_place(info, p) for p in (*info.areas, *info.objects)] if info else []

    def doors(self, slug: str) -> list[dict[str, Any]]:
        """The room's doors: name, x, y, width, height, room (where it leads), spawn."""
        info = self.infos.get(slug)
        return [d.public() for d in info.doors] if info else []

    def path(self, slug: str, start: tuple[float, float], goal: tuple[float, float]) -> list[tuple[float, float]] | None:
        """Waypoints from start to goal around obstacles (the goal last); None: unreachable."""
        info = self.infos.get(slug)
        return plan(info, start, goal) if info else None


def walkable_near(info: RoomInfo, point: tuple[float, float]) -> tuple[float, float]:
    x, y = info.clamp(*point)
    return nearest_walkable(info, (x, y)) if info.blocked(x, y) else (x, y)


def _public_place(info, place) -> dict[str, Any]:
    out = place.public()
    out["center"] = list(walkable_near(info, place.center))
    return out
