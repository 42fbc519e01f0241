"""Loads the world data file and inserts what is missing; seeding twice changes nothing."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.world.models import Room
from server.world.tiled import RoomMap, parse_map

# A domain's step that seeds its part of the world file (Domain.seed); returns the rows it added.
SeedStep = Callable[[AsyncSession, dict[str, Any]], Awaitable[int]]


def load_world_file(path: Path | None = None) -> dict[str, Any]:
    if path is None:
        text = resources.files("server.data").joinpath("world.yaml").read_text()
    else:
        text = Path(path).read_text()
    data = yaml.safe_load(text) or {}
    if not isinstance(data.get("rooms"), list) or not data["rooms"]:
        raise ValueError("world file has no rooms")
    for r in data["rooms"]:
        if isinstance(r, dict) and isinstance(r.get("map"), str):
            r["map_doc"] = _read_map(r["map"], Path(path).parent if path is not None else None)
            parsed = parse_map(r["map_doc"])
            # what the resident eval's world knows of the map: its size and named places (the server reads the map itself)
            r["map_size"] = [parsed.width, parsed.height]
            r["places"] = [p.public() for p in (*parsed.areas, *parsed.objects)]
    return data


def _read_map(name: str, base: Path | None) -> dict[str, Any]:
    """A room's Tiled map named in the world file: beside the file, else one of the bundled maps."""
    if base is not None and (base / name).is_file():
        return json.loads((base / name).read_text())
    bundled = resources.files("server.data").joinpath("maps", Path(name).name)
    if not bundled.is_file():
        raise ValueError(f"the world file names a map {name!r} that does not exist")
    return json.loads(bundled.read_text())


@dataclass
class SeedReport:
    rooms_added: list[str] = field(default_factory=list)
    extra_added: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.rooms_added or self.extra_added)


def apply_map(room: Room, doc: dict[str, Any], parsed: RoomMap | None = None) -> None:
    """The room takes its size, walls and spawn point from its map."""
    m = parsed or parse_map(doc)
    room.map = doc
    room.width, room.height, room.tiles = m.width, m.height, list(m.rows)
    room.spawn_x, room.spawn_y = m.spawns["default"]
    room.map_rev = (room.map_rev or 0) + 1


def room_from_data(r: dict[str, Any]) -> Room:
    spawn = r.get("spawn") or [1, 1]
    room = Room(
        slug=r["slug"],
        name=r["name"],
        description=(r.get("description") or "").strip(),
        width=int(r.get("width", 32)),
        height=int(r.get("height", 24)),
        capacity=int(r.get("capacity", 50)),
        access=r.get("access", "public"),
        tiles=list(r.get("tiles") or []),
        spawn_x=float(spawn[0]),
        spawn_y=float(spawn[1]),
        settings=dict(r.get("settings") or {}),
    )
    if r.get("map_doc") is not None:
        apply_map(room, r["map_doc"])
    return room


SEED_LOCK = 7_311_002


async def seed_world(session: AsyncSession, world: dict[str, Any], *, rooms: bool = True,
                     steps: Sequence[SeedStep] = ()) -> SeedReport:
    """Inserts what is missing. Concurrent seeders (several nodes starting) serialize on an
    advisory lock. `rooms=False` leaves rooms alone (an admin may have removed one on purpose)
    while domains still add their rows (`steps`, in domain order), e.g. shops for a world seeded
    before the economy existed."""
    from sqlalchemy import text

    await session.execute(text(f"SELECT pg_advisory_xact_lock({SEED_LOCK})"))
    report = SeedReport()
    existing = {row.slug: row for row in (await session.execute(select(Room))).scalars()}
    for r in world["rooms"] if rooms else []:
        if r["slug"] not in existing:
            session.add(room_from_data(r))
            report.rooms_added.append(r["slug"])
    for r in world["rooms"]:
        row = existing.get(r["slug"])
        if row is not None and row.map_rev == 0 and r.get("map_doc") is not None:
            apply_map(row, r["map_doc"])  # a room seeded before rooms had maps gets its map once
            report.extra_added += 1
    await session.flush()
    for step in steps:
        report.extra_added += await step(session, world)
    return report
