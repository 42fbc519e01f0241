"""Admin REST: rooms, users, the audit log and live figures (moderation and economy add theirs)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from server.accounts.auth import CURRENT_USER
from server.admin.service import RoomAdmin, UserAdmin
from server.audit import recent
from server.protocol import ProtocolError


class RoomCreate(BaseModel):
    slug: str = Field(min_length=2, max_length=47)
    name: str = Field(min_length=1, max_length=80)
    description: str = Field("", max_length=2000)
    width: int = Field(32, ge=4, le=200)
    height: int = Field(24, ge=4, le=200)
    capacity: int = Field(50, ge=1, le=5000)
    access: Literal["public", "private"] = "public"
    reason: str = Field("", max_length=500)


class RoomUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=80)
    description: str | None = Field(None, max_length=2000)
    capacity: int | None = Field(None, ge=1, le=5000)
    access: Literal["public", "private"] | None = None
    archived: bool | None = None
    reason: str = Field("", max_length=500)


class RoleChange(BaseModel):
    role: Literal["user", "moderator", "admin"]
    reason: str = Field(min_length=1, max_length=500)


class UserQuery(BaseModel):
    q: str = Field("", max_length=64)
    limit: int = Field(50, ge=1, le=200)


class AuditQuery(BaseModel):
    before: int | None = None
    limit: int = Field(100, ge=1, le=500)
    action: str | None = Field(None, max_length=64)
    target: str | None = Field(None, max_length=64)


def parse_uuid(value: str, what: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ProtocolError("invalid_payload", f"{what} is not a valid id") from None


def setup(ctx) -> None:
    api = ctx.api
    rooms, users = RoomAdmin(ctx.db), UserAdmin(ctx.db)

    async def room_changed(slug: str) -> None:
        # The live room (capacity, access, archived) follows the database at once.
        if ctx.rooms is not None:
            await ctx.rooms.catalogue.reload_room(slug)

    @api.route("GET", "/api/admin/rooms", auth="moderator", tag="admin")
    async def admin_rooms(request):
        """Every room, archived ones included."""
        return {"rooms": await rooms.list()}

    @api.route("POST", "/api/admin/rooms", body=RoomCreate, auth="admin", tag="admin")
    async def admin_room_create(request, body: RoomCreate):
        """Create a room."""
        await ctx.check_public_text(body.name, kind="room")
        await ctx.check_public_text(body.description, kind="room")
        data = body.model_dump(exclude={"reason"})
        room = await rooms.create(request[CURRENT_USER], data, body.reason)
        await room_changed(room["slug"])
        return {"room": room}

    @api.route("PATCH", "/api/admin/rooms/{slug}", body=RoomUpdate, auth="admin", tag="admin")
    async def admin_room_update(request, body: RoomUpdate):
        """Edit a room's name, description, capacity or access, or archive it."""
        changes = body.model_dump(exclude={"reason"}, exclude_none=True)
        if not changes:
            raise ProtocolError("invalid_payload", "nothing to change")
        for key in ("name", "description"):
            if key in changes:
                await ctx.check_public_text(changes[key], kind="room")
        slug = request.match_info["slug"]
        room = await rooms.update(request[CURRENT_USER], slug, changes, body.reason)
        await room_changed(slug)
        return {"room": room}

    @api.route("GET", "/api/admin/users", query=UserQuery, auth="moderator", tag="admin")
    async def admin_users(request, query: UserQuery):
        """Search users by name."""
        return {"users": await users.search(query.q, query.limit)}

    @api.route("GET", "/api/admin/users/{user_id}", auth="moderator", tag="admin")
    async def admin_user(request):
        """One user: account, role, avatar, and the room they are in now on any node (null: none)."""
        uid = parse_uuid(request.match_info["user_id"], "user id")
        out = await users.get(uid)
        out["in_room"] = ctx.rooms.room_of_user(uid) if ctx.rooms is not None else None
        return {"user": out}

    @api.route("POST", "/api/admin/users/{user_id}/role", body=RoleChange, auth="admin", tag="admin")
    async def admin_user_role(request, body: RoleChange):
        """Make a user a moderator or admin, or take the role away."""
        uid = parse_uuid(request.match_info["user_id"], "user id")
        return {"user": await users.set_role(request[CURRENT_USER], uid, body.role, body.reason)}

    @api.route("GET", "/api/admin/audit", query=AuditQuery, auth="moderator", tag="admin")
    async def admin_audit(request, query: AuditQuery):
        """The audit log, newest first."""
        async with ctx.db.session() as s:
            entries = await recent(s, limit=query.limit, before=query.before, action_prefix=query.action,
                                   target_id=query.target)
        return {"entries": entries}

    @api.route("GET", "/api/admin/live", auth="moderator", tag="admin")
    async def admin_live(request):
        """Live figures: connections, rooms, inference queue depth and whatever domains add."""
        out = {}
        for name, fn in ctx.live_figures.items():
            try:
                out[name] = fn()
            except Exception as e:  # a broken figure must not hide the others
                out[name] = f"error: {e.__class__.__name__}"
        return {"figures": out, "node": ctx.node_id}
