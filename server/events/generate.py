"""Events the world proposes for itself from its rooms and residents: by the npc model when one
is configured (its JSON checked like an admin's), else composed from a resident's room and role.
Either way it waits as `pending` until an admin schedules it."""

from __future__ import annotations

import json
import logging
import random
import re
from typing import Any

from pydantic import ValidationError

from server.events.specs import EventSpec

log = logging.getLogger(__name__)

KIND_OF_ROLE = {"shopkeeper": "market_day", "librarian": "story_hour", "guide": "treasure_hunt"}


def composed(rooms: list[tuple[str, str]], residents: list[tuple[str, str, str, str]], rng: random.Random) -> dict:
    """(slug, name) rooms and (key, name, role, home) residents -> an event template."""
    key, name, role, home = rng.choice(residents)
    room_name = dict(rooms).get(home, home)
    kind = KIND_OF_ROLE.get(role, "gathering")
    hour = rng.randrange(9, 20)
    return {"key": f"gen-{key}-{hour:02d}{rng.randrange(100):02d}", "kind": kind,
            "title": f"{name}'s {kind.replace('_', ' ')}", "room": home, "host": key, "at": f"{hour:02d}:00",
            "duration_min": 60, "description": f"{name} invites everyone to {room_name}.",
            "announcement": f"Friends, join me in {room_name}: the {kind.replace('_', ' ')} begins now!"}


async def propose(ctx, rng: random.Random | None = None) -> tuple[EventSpec, str]:
    """(the proposed event, "model" | "composed")."""
    rng = rng or random.Random()
    rooms = [(i.slug, i.name) for i in ctx.rooms.infos.values()] if ctx.rooms is not None else []
    residents = [(r.key, r.name, r.role, r.home) for r in ctx.residents.records.values()] if ctx.residents else []
    if not residents:
        raise ValueError("the world has no residents to host an event")
    inf = ctx.inference
    if inf is not None and any(s.name == "npc" for s in inf.specs) and inf.available("npc"):
        prompt = ("Invent one short event for a small virtual town. Rooms: "
                  + ", ".join(f"{s} ({n})" for s, n in rooms) + ". Residents: "
                  + ", ".join(f"{k} ({n}, {r}, lives in {h})" for k, n, r, h in residents)
                  + '. Answer with JSON only: {"key": "lowercase-key", "kind": "market_day|story_hour|treasure_hunt|'
                  'gathering", "title": "...", "room": "<room slug>", "host": "<resident key>", "at": "HH:MM", '
                  '"duration_min": 60, "description": "...", "announcement": "..."}')
        try:
            out = await inf.generate("npc", [{"role": "user", "content": prompt}], max_new_tokens=200, deadline=20.0)
            found = re.search(r"\{.*\}", out.text, re.S)
            data: dict[str, Any] = json.loads(found.group(0)) if found else {}
            return EventSpec.model_validate({**data, "key": f"gen-{str(data.get('key', 'event'))[:40]}"}), "model"
        except (ValidationError, ValueError, Exception) as e:  # a model's answer is never trusted to parse
            log.info("the npc model's event did not parse (%s); composing one", e)
    return EventSpec.model_validate(composed(rooms, residents, rng)), "composed"
