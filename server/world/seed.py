"""Loads the world data file and inserts what is missing; seeding twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Awaitable, Callable

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.world.models import Room

# Other domains (residents, shops) register a step that seeds their part of the world file.
SeedStep = Callable[[AsyncSession, dict[str, Any]], Awaitable[int]]
_extra_steps: list[SeedStep] = []


def register_seed_step(step: SeedStep) -> None:
    if step not in _extra_steps:
        _extra_steps.append(step)


def load_world_file(path: Path | None = None) -> dict[str, Any]:
    if path is None:
        text = resources.files("server.data").joinpath("world.yaml").read_text()
    else:
        text = Path(path).read_text()
    data = yaml.safe_load(text) or {}
    if not isinstance(data.get("rooms"), list) or not data["rooms"]:
        raise ValueError("world file has no rooms")
    return data


@dataclass
class SeedReport:
    rooms_added: list[str] = field(default_factory=list)
    extra_added: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.rooms_added or self.extra_added)


def room_from_data(r: dict[str, Any]) -> Room:
    spawn = r.get("spawn") or [1, 1]
    return Room(
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


SEED_LOCK = 7_311_002


async def seed_world(session: AsyncSession, world: dict[str, Any], *, rooms: bool = True) -> SeedReport:
    """Inserts what is missing. Concurrent seeders (several nodes starting) serialize on an
    advisory lock. `rooms=False` leaves rooms alone (an admin may have removed one on purpose)
    while domains still add their rows, e.g. shops for a world seeded before the economy existed."""
    from sqlalchemy import text

    await session.execute(text(f"SELECT pg_advisory_xact_lock({SEED_LOCK})"))
    report = SeedReport()
    existing = set((await session.execute(select(Room.slug))).scalars())
    for r in world["rooms"] if rooms else []:
        if r["slug"] not in existing:
            session.add(room_from_data(r))
            report.rooms_added.append(r["slug"])
    await session.flush()
    for step in _extra_steps:
        report.extra_added += await step(session, world)
    return report
