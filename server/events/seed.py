"""Seeds the world file's `events:` and `quests:` sections; a key already there is left as it is
(an admin may have changed it)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.events.models import Quest, WorldEvent
from server.events.specs import EventSpec, QuestSpec


def parse_templates(world: dict[str, Any]) -> tuple[list[EventSpec], list[QuestSpec]]:
    """The world file's events and quests; a bad one is a ValueError naming it."""
    events, quests = [], []
    for raw in world.get("events") or []:
        try:
            events.append(EventSpec.model_validate(raw))
        except ValidationError as e:
            raise ValueError(f"event {raw.get('key')!r} in the world file: {e.errors()[0]['msg']}") from None
    for raw in world.get("quests") or []:
        try:
            quests.append(QuestSpec.model_validate(raw))
        except ValidationError as e:
            raise ValueError(f"quest {raw.get('key')!r} in the world file: {e.errors()[0]['msg']}") from None
    return events, quests


async def seed_events(session: AsyncSession, world: dict[str, Any]) -> int:
    events, quests = parse_templates(world)
    have_q = set((await session.execute(select(Quest.key))).scalars())
    have_e = set((await session.execute(select(WorldEvent.key))).scalars())
    added = 0
    for q in quests:
        if q.key not in have_q:
            session.add(Quest(key=q.key, title=q.title, description=q.description, reward=q.reward, status=q.status,
                              steps=[s.model_dump(exclude_none=True) for s in q.steps], source="template"))
            added += 1
    for e in events:
        if e.key not in have_e:
            session.add(WorldEvent(**e.row_values(), source="template"))
            added += 1
    await session.flush()
    return added
