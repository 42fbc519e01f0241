"""World rules and per-room overrides, stored in `moderation_rules` and applied to the Moderator at once.

The world's rules are whole (what an admin PUTs replaces them; the world file's `moderation:`
section is the starting point). A room's override is laid over the world's rules per line
(`ModerationRules.merged`: word lists extend, thresholds merge, the rest replaces).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select

from ai.moderation import ModerationRules
from server.audit import record
from server.db import Database, utcnow
from server.moderation.models import ModerationRuleSet
from server.protocol import ProtocolError

WORLD = "world"


def room_scope(room_id: uuid.UUID | str) -> str:
    return f"room:{room_id}"


def parse_rules(data: Any, base: ModerationRules | None = None) -> ModerationRules:
    """Rules from a mapping (whole, or an override of `base`); bad rules are invalid_payload."""
    if not isinstance(data, dict):
        raise ProtocolError("invalid_payload", "rules must be an object")
    try:
        return base.merged(data) if base is not None else ModerationRules.from_dict(data)
    except (ValueError, TypeError) as e:
        raise ProtocolError("invalid_payload", f"bad moderation rules: {e}") from None


class RulesStore:
    def __init__(self, db: Database, world_file_rules: dict[str, Any] | None = None):
        self.db = db
        self.default = parse_rules(world_file_rules or {})
        self.world: ModerationRules = self.default
        self.default_source = "world file" if world_file_rules else "defaults"
        self.world_source = self.default_source
        self.rooms: dict[str, dict[str, Any]] = {}  # room id -> override
        self.on_change: list = []  # callables(world rules) run after a load

    async def load(self) -> None:
        async with self.db.session() as s:
            rows = (await s.execute(select(ModerationRuleSet))).scalars().all()
        world, rooms, source = self.default, {}, self.default_source
        for row in rows:
            if row.scope == WORLD:
                try:
                    world, source = ModerationRules.from_dict(row.rules), "database"
                except (ValueError, TypeError):
                    pass  # rules saved by a newer version: keep the defaults rather than fail
            elif row.room_id is not None:
                rooms[str(row.room_id)] = dict(row.rules)
        self.world, self.world_source, self.rooms = world, source, rooms
        for fn in self.on_change:
            fn(world)

    def room_override(self, room_id: uuid.UUID | str | None) -> dict[str, Any] | None:
        return self.rooms.get(str(room_id)) if room_id is not None else None

    async def save(self, actor_id: uuid.UUID, rules: dict[str, Any], *, room_id: uuid.UUID | None = None,
                   room_slug: str | None = None, reason: str = "") -> dict[str, Any]:
        """Replace the world's rules, or set (empty: remove) one room's override; audited."""
        if room_id is None:
            parsed = parse_rules(rules)
            stored = parsed.to_dict()
            scope = WORLD
        else:
            parse_rules(rules, self.world)  # validate against today's world rules
            stored = dict(rules)
            scope = room_scope(room_id)
        async with self.db.session() as s:
            row = await s.get(ModerationRuleSet, scope, with_for_update=True)
            before = dict(row.rules) if row is not None else None
            if room_id is not None and not stored:
                await s.execute(delete(ModerationRuleSet).where(ModerationRuleSet.scope == scope))
            elif row is None:
                s.add(ModerationRuleSet(scope=scope, room_id=room_id, rules=stored, updated_by=actor_id,
                                        updated_at=utcnow()))
            else:
                row.rules, row.updated_by, row.updated_at = stored, actor_id, utcnow()
            await record(s, actor_id=actor_id, action="moderation.rules", target_type="room" if room_id else "world",
                         target_id=room_slug or WORLD, reason=reason, details={"before": before, "after": stored})
        await self.load()
        return stored
