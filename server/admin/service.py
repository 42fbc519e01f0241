"""Room and user administration: the rules, with every act written to the audit log."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import func, or_, select

from server.accounts.models import ROLES, User
from server.audit import record
from server.db import Database
from server.protocol import ProtocolError
from server.world.models import Avatar, Room

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,46}$")


def room_json(r: Room) -> dict[str, Any]:
    return {"id": str(r.id), "slug": r.slug, "name": r.name, "description": r.description, "width": r.width,
            "height": r.height, "capacity": r.capacity, "access": r.access, "archived": r.archived,
            "owner_id": str(r.owner_id) if r.owner_id else None, "tiles": r.tiles}


def user_admin_json(u: User, a: Avatar | None) -> dict[str, Any]:
    return {"id": str(u.id), "username": u.username, "role": u.role, "language": u.language,
            "display_name": a.display_name if a else u.username, "created_at": u.created_at.isoformat(),
            "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}


class RoomAdmin:
    def __init__(self, db: Database):
        self.db = db

    async def list(self, include_archived: bool = True) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            q = select(Room).order_by(Room.slug)
            if not include_archived:
                q = q.where(Room.archived.is_(False))
            return [room_json(r) for r in (await s.execute(q)).scalars()]

    async def create(self, actor: User, data: dict[str, Any], reason: str = "") -> dict[str, Any]:
        if not SLUG_RE.match(data["slug"]):
            raise ProtocolError("invalid_payload", "slug must be 2-47 lowercase letters, digits or -")
        async with self.db.session() as s:
            if await s.scalar(select(Room.id).where(Room.slug == data["slug"])):
                raise ProtocolError("conflict", f"a room {data['slug']!r} exists")
            room = Room(**{k: v for k, v in data.items() if v is not None})
            room.spawn_x, room.spawn_y = room.width / 2, room.height / 2
            s.add(room)
            await s.flush()
            await record(s, actor_id=actor.id, action="room.create", target_type="room", target_id=room.slug,
                         reason=reason, details=room_json(room))
            return room_json(room)

    async def update(self, actor: User, slug: str, changes: dict[str, Any], reason: str = "") -> dict[str, Any]:
        async with self.db.session() as s:
            room = await s.scalar(select(Room).where(Room.slug == slug).with_for_update())
            if room is None:
                raise ProtocolError("not_found", f"no room {slug!r}")
            before = {k: getattr(room, k) for k in changes}
            for k, v in changes.items():
                setattr(room, k, v)
            await s.flush()
            await record(s, actor_id=actor.id, action="room.update", target_type="room", target_id=slug,
                         reason=reason, details={"before": before, "after": changes})
            return room_json(room)


class UserAdmin:
    def __init__(self, db: Database):
        self.db = db

    async def search(self, q: str = "", limit: int = 50) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            stmt = select(User, Avatar).join(Avatar, Avatar.user_id == User.id, isouter=True)
            if q:
                like = f"%{q.lower()}%"
                stmt = stmt.where(or_(func.lower(User.username).like(like), func.lower(Avatar.display_name).like(like)))
            rows = (await s.execute(stmt.order_by(User.username).limit(min(limit, 200)))).all()
            return [user_admin_json(u, a) for u, a in rows]

    async def get(self, user_id: uuid.UUID) -> dict[str, Any]:
        async with self.db.session() as s:
            user = await s.get(User, user_id)
            if user is None:
                raise ProtocolError("not_found", "no such user")
            return user_admin_json(user, await s.get(Avatar, user.id))

    async def set_role(self, actor: User, user_id: uuid.UUID, role: str, reason: str) -> dict[str, Any]:
        if role not in ROLES:
            raise ProtocolError("invalid_payload", f"role must be one of {', '.join(ROLES)}")
        if user_id == actor.id:
            raise ProtocolError("forbidden", "you cannot change your own role")
        async with self.db.session() as s:
            user = await s.get(User, user_id, with_for_update=True)
            if user is None:
                raise ProtocolError("not_found", "no such user")
            before = user.role
            user.role = role
            await record(s, actor_id=actor.id, action="user.role", target_type="user", target_id=user.id,
                         reason=reason, details={"before": before, "after": role})
            return user_admin_json(user, await s.get(Avatar, user.id))
