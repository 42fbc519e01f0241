"""Rooms (`ctx.rooms`): the world's room services put together, and the calls other domains make.

The parts, one concept each (docs/realtime.md has the long version):
- `catalogue` (server/world/catalogue.py): the rooms as stored, cached on every node; maps, areas, paths.
- `access` (access.py): private rooms, invites, bans: who may enter.
- `presence` (presence.py): joins, leaves, moves, occupants and snapshots, NPCs, putting someone out.
- `ownership` (ownership.py): the rooms this node runs: leases, ticks, saving walkers, reaping.
They reach connections and other nodes through `ctx.realtime` only; none holds a Socket.IO object.

This class builds them, composes what spans two (a ban is recorded, then the person is put out;
a coin in the fountain), starts and stops them, and keeps in one place the few calls that many
domains make. The world's own handlers call the parts.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from server.background import Background
from server.realtime.hub import Connection
from server.world.access import Access
from server.world.avatars import Avatars
from server.world.catalogue import Catalogue
from server.world.geometry import RoomInfo
from server.world.onboarding import Onboarding
from server.world.ownership import Ownership
from server.world.presence import Presence
from server.world.runtime import Mirror
from server.world.things import use_thing

log = logging.getLogger(__name__)


class RoomService:
    def __init__(self, ctx):
        rt = self.realtime = ctx.realtime
        self.mirror = Mirror()  # every room's occupants as this node sees them (from the room events)
        rt.observe(self.mirror.observe)
        self.avatars = Avatars(ctx.db, ctx.settings.languages)
        self.background = Background("rooms")
        self.catalogue = Catalogue(ctx.db, ctx.check_public_text)
        self.access = Access(ctx.db, self.catalogue)
        self.ownership = Ownership(rt, ctx.settings, ctx.node_id, self.catalogue, self.mirror, self.avatars,
                                   self.background)

        async def history(slug: str, conn: Connection) -> list[dict]:
            chat = ctx.chat  # set by the chat domain, which comes after this one
            return await chat.history(slug, conn) if chat is not None else []

        self.presence = Presence(rt, ctx.settings, ctx.node_id, catalogue=self.catalogue, access=self.access,
                                 ownership=self.ownership, avatars=self.avatars, mirror=self.mirror,
                                 onboarding=Onboarding(ctx.world), background=self.background, history=history)
        rt.use_frames(self.mirror, self.presence.interest_of)
        self._ledger = lambda: ctx.ledger  # the economy domain comes after this one

    # == what other domains call =====================================================================
    @property
    def infos(self) -> dict[str, RoomInfo]:
        """The rooms open to joins, by slug (this node's cache)."""
        return self.catalogue.infos

    async def get_room(self, slug: str) -> RoomInfo | None:
        return await self.catalogue.get_room(slug)

    async def create_room(self, slug: str, name: str, **kw: Any) -> RoomInfo:
        return await self.catalogue.create_room(slug, name, **kw)

    def area(self, slug: str, name: str) -> dict[str, Any] | None:
        return self.catalogue.area(slug, name)

    def areas(self, slug: str) -> list[dict[str, Any]]:
        return self.catalogue.areas(slug)

    def doors(self, slug: str) -> list[dict[str, Any]]:
        return self.catalogue.doors(slug)

    def path(self, slug: str, start: tuple[float, float], goal: tuple[float, float]) -> list[tuple[float, float]] | None:
        return self.catalogue.path(slug, start, goal)

    def occupants(self, room_slug: str) -> list[dict[str, Any]]:
        return self.presence.occupants(room_slug)

    def occupant_names(self, room_slug: str) -> list[str]:
        """Display names of the room's users and NPCs, without copying each record as occupants() does
        (translation asks for them on every line)."""
        return [p.get("name") for p in (self.mirror.rooms.get(room_slug) or {}).values()]

    def room_of_user(self, user_id: uuid.UUID | str) -> str | None:
        return self.presence.room_of_user(user_id)

    async def add_npc(self, room_slug: str, npc_id: str, name: str, appearance: dict | None, x: float, y: float) -> None:
        await self.presence.add_npc(room_slug, npc_id, name, appearance, x, y)

    async def remove_npc(self, room_slug: str, npc_id: str) -> None:
        await self.presence.remove_npc(room_slug, npc_id)

    async def move_npc(self, room_slug: str, npc_id: str, x: float, y: float) -> tuple[float, float]:
        return await self.presence.move_npc(room_slug, npc_id, x, y)

    async def join(self, conn: Connection, slug: str, spawn: str | None = None, wire: int | None = None) -> dict[str, Any]:
        return await self.presence.join(conn, slug, spawn, wire)

    async def move(self, conn: Connection, x: float, y: float, t: float | None = None) -> tuple[float, float]:
        return await self.presence.move(conn, x, y, t)

    async def list_rooms(self, conn: Connection) -> list[dict[str, Any]]:
        return await self.presence.list_rooms(conn)

    async def remove_user(self, slug: str, user_id: uuid.UUID | str, reason: str) -> bool:
        return await self.presence.remove_user(slug, user_id, reason)

    # == spanning two parts ==========================================================================
    async def uninvite(self, actor: Connection, slug: str, user_id: Any) -> None:
        """The invite is gone; someone inside a private room is put out."""
        out = await self.access.uninvite(actor, slug, user_id)
        if out is not None:
            await self.presence.remove_user(slug, out, "uninvited")

    async def ban(self, actor: Connection | None, slug: str, user_id: Any, *, reason: str = "",
                  minutes: int | None = None) -> None:
        """Keep a person out of a room and put them out now. Actor None: the system (moderation)."""
        uid = await self.access.ban(actor, slug, user_id, reason=reason, minutes=minutes)
        await self.presence.remove_user(slug, uid, "banned")

    async def unban(self, actor: Connection | None, slug: str, user_id: Any) -> None:
        await self.access.unban(actor, slug, user_id)

    async def use_thing(self, conn: Connection, name: str, idempotency_key: str | None) -> dict[str, Any]:
        """Use an object of the room (server/world/things.py): a fountain takes a coin, a board is read."""
        slug = conn.require_room()
        info = self.catalogue.infos.get(slug) or await self.catalogue.room_or_404(slug)
        return await use_thing(conn, info, name, idempotency_key, ledger=self._ledger(), realtime=self.realtime,
                               position=self.presence.position)

    # == life ========================================================================================
    async def start(self) -> None:
        await self.catalogue.refresh_rooms()
        await self.realtime.start()
        if self.realtime.shared:
            await self.presence.resync()
        await self.ownership.start()
        self.background.every(10, self.catalogue.refresh_rooms, "refreshing rooms")

    async def stop(self) -> None:
        """Leave every local connection's room, publish a last tick, save, hand the rooms back."""
        await self.presence.leave_all()
        await self.background.stop()
        try:
            await self.ownership.finish()
        except Exception:
            log.exception("final tick on shutdown failed")
        await self.background.drain(5)
        await self.realtime.stop()
