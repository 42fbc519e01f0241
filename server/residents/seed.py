"""Seeds the world file's residents: missing ones are added with a fresh UUID; existing ones (edited
or retired by an admin since) are left alone, so seeding twice changes nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ai.npc import Persona
from server.residents.service import row_values


async def seed_residents(session: AsyncSession, world: dict[str, Any]) -> int:
    added = 0
    for data in world.get("residents") or []:
        persona = Persona.from_dict(data)  # a bad entry is a bad world file: raise
        v = row_values(persona)
        got = await session.scalar(text(
            "INSERT INTO residents (id, key, name, role, home, persona, routine, appearance, position, shop_key) "
            "VALUES (:id, :key, :name, :role, :home, CAST(:persona AS jsonb), CAST(:routine AS jsonb), "
            "CAST(:appearance AS jsonb), CAST(:position AS jsonb), :shop) ON CONFLICT (key) DO NOTHING RETURNING id"),
            {"id": uuid.uuid4(), "key": v["key"], "name": v["name"], "role": v["role"], "home": v["home"],
             "persona": json.dumps(v["persona"]), "routine": json.dumps(v["routine"]),
             "appearance": json.dumps(v["appearance"]), "position": json.dumps(v["position"]),
             "shop": v["key"] if data.get("shop") else None})
        if got is not None:
            added += 1
    return added
