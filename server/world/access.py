"""Who may enter a room: private rooms and their invites, bans, the owner's and staff's rights.

This module keeps the records and says no; putting someone out of a room now is presence's
(the RoomService composes the two: a ban is recorded here, then the person is put out)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select

from server.accounts.auth import has_role
from server.accounts.models import User
from server.db import Database
from server.protocol import ProtocolError
from server.realtime.hub import Connection
from server.world.catalogue import Catalogue, as_id
from server.world.geometry import RoomInfo
from server.world.models import RoomBan, RoomInvite


class Access:
    def __init__(self, db: Database, catalogue: Catalogue):
        self.db = db
        self.catalogue = catalogue

    async def check(self, info: RoomInfo, conn: Connection) -> None:
        """May this person enter? `banned` or `forbidden` (private, not invited) if not; admins always may."""
        if has_role(conn.role, "admin"):
            return
        now = datetime.now(UTC)
        async with self.db.session() as s:
            banned = await s.scalar(select(RoomBan.user_id).where(
                RoomBan.room_id == info.id, RoomBan.user_id == conn.user_id,
                or_(RoomBan.until.is_(None), RoomBan.until > now)))
            if banned:
                raise ProtocolError("banned", f"you are banned from {info.name}")
            if info.access == "private" and info.owner_id != conn.user_id:
                invited = await s.get(RoomInvite, (info.id, conn.user_id))
                if invited is None:
                    raise ProtocolError("forbidden", f"{info.name} is private: ask its owner for an invite")

    async def visible(self, conn: Connection) -> list[RoomInfo]:
        """Public rooms, and the private ones this person may enter (owner, invited, admin)."""
        infos = self.catalogue.infos.values()
        visible = [i for i in infos if i.access == "public"]
        private = [i for i in infos if i.access == "private"]
        if private:
            if has_role(conn.role, "admin"):
                visible += private
            else:
                async with self.db.session() as s:
                    invited = set((await s.execute(select(RoomInvite.room_id)
                                                   .where(RoomInvite.user_id == conn.user_id))).scalars())
                visible += [i for i in private if i.owner_id == conn.user_id or i.id in invited]
        return visible

    def require_owner(self, info: RoomInfo, actor: Connection, moderators: bool = False) -> None:
        if info.owner_id == actor.user_id or has_role(actor.role, "moderator" if moderators else "admin"):
            return
        raise ProtocolError("forbidden", "only the room's owner can do that")

    # -- owners' tools: invites and bans (uninvite and ban return whom to put out of the room now) --
    async def invite(self, actor: Connection, slug: str, user_id: Any) -> None:
        info = await self.catalogue.room_or_404(slug)
        self.require_owner(info, actor)
        uid = as_id(user_id)
        async with self.db.session() as s:
            if await s.get(User, uid) is None:
                raise ProtocolError("not_found", "no such user")
            if await s.get(RoomInvite, (info.id, uid)) is None:
                s.add(RoomInvite(room_id=info.id, user_id=uid, invited_by=actor.user_id))

    async def uninvite(self, actor: Connection, slug: str, user_id: Any) -> uuid.UUID | None:
        """The invite is gone; returns the person if they may no longer be inside (a private room)."""
        info = await self.catalogue.room_or_404(slug)
        self.require_owner(info, actor)
        uid = as_id(user_id)
        async with self.db.session() as s:
            await s.execute(delete(RoomInvite).where(RoomInvite.room_id == info.id, RoomInvite.user_id == uid))
        return uid if info.access == "private" and uid != info.owner_id else None

    async def ban(self, actor: Connection | None, slug: str, user_id: Any, *, reason: str = "",
                  minutes: int | None = None) -> uuid.UUID:
        """Keep a person out of a room; returns them (to be put out now). Actor None: the system (moderation)."""
        info = await self.catalogue.room_or_404(slug)
        if actor is not None:
            self.require_owner(info, actor, moderators=True)
        uid = as_id(user_id)
        until = datetime.now(UTC) + timedelta(minutes=minutes) if minutes else None
        async with self.db.session() as s:
            target = await s.get(User, uid)
            if target is None:
                raise ProtocolError("not_found", "no such user")
            if uid == info.owner_id or has_role(target.role, "moderator"):
                raise ProtocolError("forbidden", "the room's owner and staff cannot be banned from it")
            ban = await s.get(RoomBan, (info.id, uid))
            if ban is None:
                s.add(RoomBan(room_id=info.id, user_id=uid, banned_by=actor.user_id if actor else None,
                              reason=reason, until=until))
            else:
                ban.reason, ban.until = reason, until
        return uid

    async def unban(self, actor: Connection | None, slug: str, user_id: Any) -> None:
        info = await self.catalogue.room_or_404(slug)
        if actor is not None:
            self.require_owner(info, actor, moderators=True)
        async with self.db.session() as s:
            await s.execute(delete(RoomBan).where(RoomBan.room_id == info.id, RoomBan.user_id == as_id(user_id)))
