"""Rooms: joining and leaving, walking, presence, NPC occupants, and the tick loop (`ctx.rooms`).

How the pieces fit (docs/realtime.md has the long version):
- Membership (who is in which room, capacity) lives in the fleet (`server.realtime.fleet`):
  in-process dicts on one node, Redis with many.
- Each room has one owner node at a time (a Redis lease; on one node, that node). The owner
  drains the room's inbox of operations every tick, walks bodies toward their targets, and
  publishes presence events and ONE `world:tick` per room per tick with the positions that changed.
- Every node fans room events out to its own connections (encode once, `server.realtime.fanout`)
  and keeps a mirror of every room's occupants from them; snapshots on join come from the mirror.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select

from server import audit
from server.accounts.auth import has_role
from server.accounts.models import User
from server.background import Background
from server.protocol import ProtocolError
from server.realtime.frames import Frames, Interest
from server.realtime.hub import Connection, room_channel
from server.world.avatars import Avatars
from server.world.controls import Door, Evict
from server.world.geometry import RoomInfo
from server.world.models import Room, RoomBan, RoomInvite
from server.world.onboarding import Onboarding
from server.world.paths import plan, walkways_of
from server.world.runtime import Body, Mirror, RoomRuntime
from server.world.seed import apply_map
from server.world.spawns import Arrivals, free_spot, nearest_walkable
from server.world.things import find_thing, reading, toss_coin, toss_update, within_reach
from server.world.tiled import MapError, RoomMap, for_clients, parse_map, plain_map

log = logging.getLogger(__name__)


def _uuid(value: Any, what: str = "user_id") -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ProtocolError("invalid_payload", f"{what} is not a valid id") from None


class RoomService:
    def __init__(self, ctx):
        self.ctx = ctx
        self.db = ctx.db
        self.settings = ctx.settings
        self.hub = ctx.hub
        self.node_id = ctx.node_id
        self.realtime = rt = ctx.realtime
        self.fanout, self.fleet, self.bus = rt.fanout, rt.fleet, rt.bus  # this service runs them
        self.mirror = Mirror()
        self.bus.observers.append(self.mirror.observe)
        rt.handle(Evict, self._on_evict)
        rt.handle(Door, self._on_door)
        self.bus.on_resync.append(self._resync_all)
        self.frames = self.bus.frames = Frames(ctx.hub, self.fanout, self.mirror, self.interest_of)
        self.avatars = Avatars(ctx.db, ctx.settings.languages)
        self.infos: dict[str, RoomInfo] = {}
        self._maps: dict[str, tuple[int, RoomMap | None]] = {}  # parsed maps by room, with their revision
        self.arrivals = Arrivals()
        self.onboarding = Onboarding(ctx.world)
        self.owned: dict[str, RoomRuntime] = {}
        self._lease_at: dict[str, float] = {}
        self.tick_hz = ctx.settings.tick_hz
        self.max_step = ctx.settings.move_speed / ctx.settings.tick_hz
        self.lease_ttl = ctx.settings.room_lease_ttl_s
        self.background = Background("rooms")
        self._last_save = time.monotonic()
        self.ticks = 0
        self.tick_overruns = 0

    # == the interface other domains use (residents, moderation, admin) ======================
    async def get_room(self, slug: str) -> RoomInfo | None:
        """The room (cached); None when there is no such room or it is archived."""
        info = self.infos.get(slug)
        if info is None:
            async with self.db.session() as s:
                row = await s.scalar(select(Room).where(Room.slug == slug, Room.archived.is_(False)))
                if row is None:
                    return None
                info = self._remember(await self._info(s, row))
        return info

    async def reload_room(self, slug: str) -> None:
        """An admin changed the room: read it again now (archived: no new joins)."""
        async with self.db.session() as s:
            row = await s.scalar(select(Room).where(Room.slug == slug))
            if row is None or row.archived:
                self.infos.pop(slug, None)
                return
            self._remember(await self._info(s, row))

    # -- maps, doors, named areas, paths (residents use these too) ---------------------------------
    def area(self, slug: str, name: str) -> dict[str, Any] | None:
        """A named area or object of a room ("fountain", "Tobin's stall"): name, kind, x, y,
        width, height, center (a walkable spot to head for), properties; None when unknown."""
        info = self.infos.get(slug)
        place = info.area(name) if info else None
        if place is None:
            return None
        out = place.public()
        out["center"] = list(self._walkable_near(info, place.center))
        return out

    def areas(self, slug: str) -> list[dict[str, Any]]:
        """Every named area and object of a room (see `area`)."""
        info = self.infos.get(slug)
        return [self.area(slug, p.name) for p in (*info.areas, *info.objects)] if info else []

    def doors(self, slug: str) -> list[dict[str, Any]]:
        """The room's doors: name, x, y, width, height, room (where it leads), spawn."""
        info = self.infos.get(slug)
        return [d.public() for d in info.doors] if info else []

    def path(self, slug: str, start: tuple[float, float], goal: tuple[float, float]) -> list[tuple[float, float]] | None:
        """Waypoints from start to goal around obstacles (the goal last); None: unreachable."""
        info = self.infos.get(slug)
        return plan(info, start, goal) if info else None

    async def use_thing(self, conn: Connection, name: str, idempotency_key: str | None) -> dict[str, Any]:
        """Use an object of the room: a fountain within reach takes a coin (wallet:update follows),
        a board or a shelf gives its text and books."""
        slug = conn.require_room()
        info = self.infos.get(slug) or await self._room_or_404(slug)
        place = find_thing(info, name)
        if place.kind != "fountain":
            return reading(place)  # read from anywhere in the room
        if not idempotency_key:
            raise ProtocolError("invalid_payload", "a coin toss needs an idempotency_key")
        here = self.mirror.position(slug, conn.uid)
        if here is None:  # joined a moment ago: the mirror hears of it with the next tick
            record = await self.fleet.record(slug, conn.uid)
            here = (record["x"], record["y"]) if record else None
        if here is None or not within_reach(place, *here):
            raise ProtocolError("forbidden", f"walk up to the {place.name} first")
        paid = await toss_coin(self.ctx.ledger, conn.user_id, info, place, idempotency_key or "")
        if not paid["replayed"]:
            await self.hub.to_user(conn.user_id, "wallet:update", toss_update(paid))
        return {"thing": place.name, "transaction_id": paid["transaction_id"], "balance": paid["balance"],
                "amount": paid["amount"], "replayed": paid["replayed"]}

    def newcomer_tour(self) -> dict[str, Any] | None:
        """The guide's tour for a newcomer's `session` (see server/world/onboarding.py)."""
        room = self.onboarding.room
        return self.onboarding.tour(self.infos.get(room) if room else None, self.infos, self.mirror.rooms.get(room or ""))

    def _walkable_near(self, info: RoomInfo, point: tuple[float, float]) -> tuple[float, float]:
        x, y = info.clamp(*point)
        return nearest_walkable(info, (x, y)) if info.blocked(x, y) else (x, y)

    async def _info(self, s, row: Room) -> RoomInfo:
        """The room as cached: its map parsed once per revision."""
        cached = self._maps.get(row.slug)
        parsed = cached[1] if cached and cached[0] == row.map_rev else None
        if (cached is None or cached[0] != row.map_rev) and row.map_rev:
            doc = await s.scalar(select(Room.map).where(Room.id == row.id))
            if doc is not None:
                try:
                    parsed = parse_map(doc)
                except MapError as e:  # stored before a rule changed: the room still works, without doors
                    log.warning("the map of room %s no longer validates: %s", row.slug, e)
            self._maps[row.slug] = (row.map_rev, parsed)
        return RoomInfo.from_row(row, parsed)

    async def map_document(self, slug: str) -> dict[str, Any]:
        """The room's map as Tiled JSON, tilesets embedded; a plain one for a room without a map."""
        info = await self._room_or_404(slug)
        async with self.db.session() as s:
            doc = await s.scalar(select(Room.map).where(Room.id == info.id))
        if doc is None:
            doc = plain_map(info.width, info.height, info.tiles, (info.spawn_x, info.spawn_y))
        return for_clients(doc)

    async def set_map(self, slug: str, doc: Any, *, actor_id: uuid.UUID | None = None, reason: str = "") -> dict[str, Any]:
        """A new map for a room (an admin's upload). Validated whole first: a bad map changes nothing."""
        try:
            parsed = parse_map(doc)
        except MapError as e:
            raise ProtocolError("invalid_payload", f"the map was refused: {e}") from None
        async with self.db.session() as s:
            row = await s.scalar(select(Room).where(Room.slug == slug))
            if row is None:
                raise ProtocolError("not_found", f"no room {slug!r}")
            targets = {d.room for d in parsed.doors}
            known = set((await s.execute(select(Room.slug).where(Room.slug.in_(targets),
                                                                 Room.archived.is_(False)))).scalars())
            missing = sorted(targets - known)
            if missing:
                raise ProtocolError("invalid_payload",
                                    f"the map was refused: a door leads to a room that does not exist: {', '.join(missing)}")
            apply_map(row, doc, parsed)
            await s.flush()
            await audit.record(s, actor_id=actor_id, action="room.map", target_type="room", target_id=slug,
                               reason=reason, details={"width": parsed.width, "height": parsed.height,
                                                       "map_rev": row.map_rev, "doors": len(parsed.doors)})
            self._maps[slug] = (row.map_rev, parsed)
            info = RoomInfo.from_row(row, parsed)
            archived = row.archived
        if not archived:
            self._remember(info)
        return {"slug": slug, "width": parsed.width, "height": parsed.height, "map_rev": info.map_rev,
                "spawns": sorted(parsed.spawns), "doors": [d.public() for d in parsed.doors],
                "areas": [a.name for a in parsed.areas], "objects": [o.name for o in parsed.objects]}

    def rooms_snapshot(self) -> list[dict[str, Any]]:
        """Every room with the occupants this node sees (users and NPCs)."""
        out = []
        for info in self.infos.values():
            occ = self.mirror.rooms.get(info.slug) or {}
            users = sum(1 for p in occ.values() if p["kind"] == "user")
            out.append({"slug": info.slug, "name": info.name, "access": info.access, "capacity": info.capacity,
                        "occupants": users, "npcs": len(occ) - users})
        return out

    def occupants(self, room_slug: str) -> list[dict[str, Any]]:
        """Users and NPCs in the room: {"id", "kind", "name", "x", "y", "appearance"}."""
        return [dict(p) for p in (self.mirror.rooms.get(room_slug) or {}).values()]

    def room_of_user(self, user_id: uuid.UUID | str) -> str | None:
        return self.mirror.user_room.get(str(user_id))

    async def add_npc(self, room_slug: str, npc_id: str, name: str, appearance: dict | None, x: float, y: float) -> None:
        """Put an NPC in a room (presence:join from the next tick). Moving it to another room:
        remove it from the first."""
        info = await self._room_or_404(room_slug)
        x, y = info.clamp(x, y)
        if info.blocked(x, y):
            x, y = info.spawn()
        x, y = self._arrive(info, (x, y))
        record = {"name": name, "appearance": appearance or {}, "x": x, "y": y}
        await self.fleet.npc_set(room_slug, npc_id, record)
        await self.fleet.push(room_slug, {"op": "join", "id": npc_id, "kind": "npc", **record})

    async def remove_npc(self, room_slug: str, npc_id: str) -> None:
        await self.fleet.npc_set(room_slug, npc_id, None)
        await self.fleet.push(room_slug, {"op": "leave", "id": npc_id})

    async def move_npc(self, room_slug: str, npc_id: str, x: float, y: float) -> tuple[float, float]:
        """A target, walked toward at the same speed as people; returns the accepted target."""
        info = await self._room_or_404(room_slug)
        return await self._target(info, npc_id, x, y, None)

    # == rooms as people see them ============================================================
    async def list_rooms(self, conn: Connection) -> list[dict[str, Any]]:
        """Public rooms, and the private ones this person may enter; counts are fleet-wide."""
        visible = [i for i in self.infos.values() if i.access == "public"]
        private = [i for i in self.infos.values() if i.access == "private"]
        if private:
            if has_role(conn.role, "admin"):
                visible += private
            else:
                async with self.db.session() as s:
                    invited = set((await s.execute(select(RoomInvite.room_id)
                                                   .where(RoomInvite.user_id == conn.user_id))).scalars())
                visible += [i for i in private if i.owner_id == conn.user_id or i.id in invited]
        counts = await self.fleet.counts([i.slug for i in visible])
        return [{"slug": i.slug, "name": i.name, "occupants": counts.get(i.slug, 0), "capacity": i.capacity,
                 "access": i.access, "description": i.description, "inside": self._inside(i.slug)}
                for i in sorted(visible, key=lambda i: i.slug)]

    def _inside(self, slug: str, limit: int = 8) -> list[dict[str, str]]:
        """Who is in a room as this node sees it: residents first, then people, a few names."""
        occ = sorted((self.mirror.rooms.get(slug) or {}).values(), key=lambda p: (p["kind"] != "npc", p["name"]))
        return [{"name": p["name"], "kind": p["kind"]} for p in occ[:limit]]

    async def join(self, conn: Connection, slug: str, spawn: str | None = None, wire: int | None = None) -> dict[str, Any]:
        """`spawn`: a named spawn point of the room's map (a door leads there). `wire`: 2 for
        `world:frame`s instead of `world:tick`s (server/realtime/frames.py); None keeps the connection's."""
        info = await self._room_or_404(slug)
        await self._check_access(info, conn)
        if wire is not None:
            conn.wire = wire
        if conn.room == slug:  # joining where you are: the snapshot again, nothing changes
            history = await self._history(slug, conn)
            you = self.mirror.position(slug, conn.uid) or info.spawn()
            return self._snapshot(info, conn, you, history)
        avatar = await self.avatars.load(conn.user_id)
        if avatar is None:
            raise ProtocolError("unauthorized", "account no longer exists")
        here = self.mirror.position(slug, conn.uid)  # in this room already, from another tab
        if here is not None:
            x, y = here
        elif spawn is None and avatar.room_id == info.id and not info.blocked(avatar.x, avatar.y):
            x, y = info.clamp(avatar.x, avatar.y)
        elif spawn is None and avatar.room_id is None and (
                near := self.onboarding.arrival_near(info, self.mirror.rooms.get(slug))) is not None:
            x, y = self._arrive(info, near)  # a newcomer: beside the guide
        else:
            x, y = self._arrive(info, info.spawn_point(spawn))
        record = {"sid": conn.sid, "node": self.node_id, "name": avatar.display_name,
                  "appearance": avatar.appearance, "x": x, "y": y}
        status, prev_room, old = await self.fleet.claim(slug, conn.uid, record, info.capacity)
        if status == "full":
            raise ProtocolError("room_full", f"{info.name} is full ({info.capacity} people)")
        # From here on the join succeeds: leave whatever this person was in before.
        if conn.room is not None:
            await self._leave_conn(conn)
        if status == "same" and old and old.get("sid") != conn.sid:
            # Another tab of this person was here: this one takes over, the avatar stays put.
            await self._evict(old["sid"], slug, "replaced")
        elif prev_room and prev_room != slug:
            # Another tab was in another room: it leaves that room.
            other = await self.fleet.record(prev_room, conn.uid)
            if other and await self.fleet.release(prev_room, conn.uid, other["sid"]):
                await self._after_release(prev_room, conn.uid)
                await self._evict(other["sid"], prev_room, "replaced")
        if status == "ok":
            await self.fleet.push(slug, {"op": "join", "id": conn.uid, "kind": "user", "name": avatar.display_name,
                                         "appearance": avatar.appearance, "x": x, "y": y})
        conn.display_name = avatar.display_name
        conn.data["appearance"] = avatar.appearance
        conn.room = slug
        await self.realtime.join_channel(conn.sid, room_channel(slug))
        await self.avatars.save_place(conn.user_id, info.id, x, y)
        history = await self._history(slug, conn)
        return self._snapshot(info, conn, (x, y), history)  # no await after this: see docs/realtime.md

    async def leave(self, conn: Connection) -> None:
        await self._leave_conn(conn)

    async def move(self, conn: Connection, x: float, y: float, t: float | None = None) -> tuple[float, float]:
        slug = conn.require_room()
        info = self.infos.get(slug) or await self._room_or_404(slug)
        return await self._target(info, conn.uid, x, y, t)

    async def profile_changed(self, conn: Connection, profile: dict[str, Any]) -> None:
        """Tell the room (presence:join again) and this node's other tabs of the person."""
        for c in self.hub.connections_of(conn.user_id):
            c.display_name = profile["display_name"]
            c.language = profile["language"]
            c.data["appearance"] = profile["appearance"]
        slug = await self.fleet.where(conn.uid)
        if slug:
            await self.fleet.push(slug, {"op": "profile", "id": conn.uid, "name": profile["display_name"],
                                         "appearance": profile["appearance"]})

    async def disconnected(self, conn: Connection) -> None:
        await self._leave_conn(conn)

    def _arrive(self, info: RoomInfo, spawn: tuple[float, float]) -> tuple[float, float]:
        """A free tile at or near the spawn: not where someone stands or has just arrived."""
        taken = {(int(p["x"]), int(p["y"])) for p in (self.mirror.rooms.get(info.slug) or {}).values()}
        x, y = free_spot(info, spawn, taken | self.arrivals.taken(info.slug))
        self.arrivals.hold(info.slug, x, y)
        return x, y

    async def walk_through(self, conn: Connection, room: str, door: dict) -> None:
        """Someone stepped onto a door: the same join as from the menu (capacity, private rooms,
        bans), told as `room:door` with the room's snapshot, or with the refusal, at the door."""
        if conn.room != room:
            return
        base = {"door": door.get("name"), "from": room, "to": door.get("to")}
        try:
            snap = await self.join(conn, door["to"], door.get("spawn"))
        except ProtocolError as e:
            data = {"ok": False, **base, "error": {"code": e.code, "message": e.message}}
        else:
            data = {"ok": True, **base, **snap}
        self.fanout.send_to_sid(conn.sid, [self.fanout.packet("room:door", data)])

    # == owners' tools: invites and bans ======================================================
    async def create_room(self, slug: str, name: str, *, owner_id: uuid.UUID | None = None, access: str = "public",
                          capacity: int = 50, width: int = 32, height: int = 24, tiles: list[str] | None = None,
                          description: str = "", spawn: tuple[float, float] = (1.0, 1.0)) -> RoomInfo:
        if access not in ("public", "private"):
            raise ProtocolError("invalid_payload", "access must be public or private")
        name = await self.ctx.check_public_text(name, kind="room_name")
        owner_id = _uuid(owner_id, "owner_id") if owner_id is not None else None
        async with self.db.session() as s:
            if await s.scalar(select(Room.id).where(Room.slug == slug)):
                raise ProtocolError("conflict", f"there is already a room {slug!r}")
            row = Room(slug=slug, name=name, description=description, owner_id=owner_id, access=access,
                       capacity=capacity, width=width, height=height, tiles=list(tiles or []),
                       spawn_x=float(spawn[0]), spawn_y=float(spawn[1]), settings={})
            s.add(row)
            await s.flush()
            info = RoomInfo.from_row(row)
        return self._remember(info)

    async def invite(self, actor: Connection, slug: str, user_id: Any) -> None:
        info = await self._room_or_404(slug)
        self._require_owner(info, actor)
        uid = _uuid(user_id)
        async with self.db.session() as s:
            if await s.get(User, uid) is None:
                raise ProtocolError("not_found", "no such user")
            if await s.get(RoomInvite, (info.id, uid)) is None:
                s.add(RoomInvite(room_id=info.id, user_id=uid, invited_by=actor.user_id))

    async def uninvite(self, actor: Connection, slug: str, user_id: Any) -> None:
        info = await self._room_or_404(slug)
        self._require_owner(info, actor)
        uid = _uuid(user_id)
        async with self.db.session() as s:
            await s.execute(delete(RoomInvite).where(RoomInvite.room_id == info.id, RoomInvite.user_id == uid))
        if info.access == "private" and uid != info.owner_id:
            await self.remove_user(slug, uid, "uninvited")

    async def ban(self, actor: Connection | None, slug: str, user_id: Any, *, reason: str = "",
                  minutes: int | None = None) -> None:
        """Keep a person out of a room (and put them out now). Actor None: the system (moderation)."""
        info = await self._room_or_404(slug)
        if actor is not None:
            self._require_owner(info, actor, moderators=True)
        uid = _uuid(user_id)
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
        await self.remove_user(slug, uid, "banned")

    async def unban(self, actor: Connection | None, slug: str, user_id: Any) -> None:
        info = await self._room_or_404(slug)
        if actor is not None:
            self._require_owner(info, actor, moderators=True)
        async with self.db.session() as s:
            await s.execute(delete(RoomBan).where(RoomBan.room_id == info.id, RoomBan.user_id == _uuid(user_id)))

    async def remove_user(self, slug: str, user_id: uuid.UUID | str, reason: str) -> bool:
        """Put a person out of a room, whichever node their connection is on."""
        uid = str(user_id)
        rec = await self.fleet.record(slug, uid)
        if rec is None or not await self.fleet.release(slug, uid, rec["sid"]):
            return False
        await self._after_release(slug, uid)
        await self._evict(rec["sid"], slug, reason)
        return True

    # == internals ===========================================================================
    def _remember(self, info: RoomInfo) -> RoomInfo:
        self.infos[info.slug] = info
        rt = self.owned.get(info.slug)
        if rt is not None:
            rt.info = info
        elif not self.fleet.shared:
            self.owned[info.slug] = RoomRuntime(info, self.max_step)
        return info

    async def refresh_rooms(self) -> None:
        async with self.db.session() as s:
            rows = (await s.execute(select(Room).where(Room.archived.is_(False)))).scalars().all()
            fresh = {r.slug for r in rows}
            for r in rows:
                self._remember(await self._info(s, r))
        for slug in list(self.infos):
            if slug not in fresh:
                del self.infos[slug]  # archived: no new joins; those inside stay until they leave

    async def _room_or_404(self, slug: str) -> RoomInfo:
        info = await self.get_room(slug)
        if info is None:
            raise ProtocolError("not_found", f"no room {slug!r}")
        return info

    def _require_owner(self, info: RoomInfo, actor: Connection, moderators: bool = False) -> None:
        if info.owner_id == actor.user_id or has_role(actor.role, "moderator" if moderators else "admin"):
            return
        raise ProtocolError("forbidden", "only the room's owner can do that")

    async def _check_access(self, info: RoomInfo, conn: Connection) -> None:
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

    async def _target(self, info: RoomInfo, body_id: str, x: float, y: float, t: float | None) -> tuple[float, float]:
        x, y = info.clamp(x, y)
        if info.blocked(x, y):
            raise ProtocolError("invalid_payload", f"the tile at ({int(x)}, {int(y)}) is blocked")
        here = self.mirror.position(info.slug, body_id)
        if here is None and info.tiles:  # joined within the last tick: where the join put them
            rec = await self.fleet.record(info.slug, body_id)
            here = (rec["x"], rec["y"]) if rec and "x" in rec else None
        if here is not None and info.tiles and not walkways_of(info).reachable(here, (x, y)):
            raise ProtocolError("invalid_payload", f"there is no way to ({int(x)}, {int(y)}) from here")
        op = {"op": "move", "id": body_id, "x": x, "y": y}
        if t is not None:
            op["t"] = t
        if not self.settings.tick_batching and await self._move_now(info.slug, op):
            return x, y
        await self.fleet.push(info.slug, op)
        return x, y

    async def _move_now(self, slug: str, op: dict) -> bool:
        """Baseline mode (tick_batching off): one world:tick per move, sent at once by the owner."""
        rt = self.owned.get(slug)
        if rt is None or (self.fleet.shared and time.monotonic() - self._lease_at.get(slug, 0) > self.lease_ttl * 0.9):
            return False
        moves = rt.move_now(op)
        if moves is None:
            return False
        if moves:
            await self.bus.publish(slug, [("world:tick", {"room": slug, "t": round(time.time(), 3), "moves": moves})])
        return True

    async def _history(self, slug: str, conn: Connection) -> list[dict]:
        chat = self.ctx.chat
        return await chat.history(slug, conn) if chat is not None else []

    def _snapshot(self, info: RoomInfo, conn: Connection, you: tuple[float, float], history: list) -> dict[str, Any]:
        occ = self.mirror.rooms.get(info.slug) or {}
        users = [dict(p) for p in occ.values() if p["kind"] == "user" and p["id"] != conn.uid]
        users.append({"id": conn.uid, "kind": "user", "name": conn.display_name, "x": you[0], "y": you[1],
                      "appearance": conn.data.get("appearance") or {}})
        npcs = [dict(p) for p in occ.values() if p["kind"] == "npc"]
        me = {"id": conn.uid, "x": you[0], "y": you[1]}
        if conn.wire == 2:  # bodies' numbers, as world:frame names them
            for p in (*users, *npcs, me):
                p["n"] = self.mirror.number(info.slug, p["id"])
        room = info.public(len(users))
        room["speed"] = self.settings.move_speed  # tiles per second: the client predicts its own walking with it
        return {"room": room, "you": me,
                "occupants": users, "npcs": npcs, "history": history}

    async def _leave_conn(self, conn: Connection) -> None:
        slug = conn.room
        if slug is None:
            return
        conn.room = None
        try:
            await self.realtime.leave_channel(conn.sid, room_channel(slug))
        except Exception:  # the connection is already gone
            pass
        if await self.fleet.release(slug, conn.uid, conn.sid):
            await self._after_release(slug, conn.uid)

    async def _after_release(self, slug: str, uid: str) -> None:
        """The membership is gone: tell the owner (presence:leave) and save where they stood."""
        await self.fleet.push(slug, {"op": "leave", "id": uid})
        pos = self.mirror.position(slug, uid)
        info = self.infos.get(slug)
        if pos is not None and info is not None:
            try:
                await self.avatars.save_place(uid, info.id, pos[0], pos[1])
            except Exception:
                log.exception("saving the position of %s failed", uid)

    async def _evict(self, sid: str, slug: str, reason: str) -> None:
        await self.realtime.control(Evict(sid=sid, room=slug, reason=reason))

    async def _on_door(self, msg: Door) -> None:
        for conn in self.hub.connections_of(msg.uid):
            if conn.room == msg.room:
                self.background.spawn(self.walk_through(conn, msg.room, msg.door), "walking through a door")

    async def _on_evict(self, msg: Evict) -> None:
        conn = self.hub.connections.get(msg.sid)
        if conn is None or conn.room != msg.room:
            return
        conn.room = None
        await self.realtime.leave_channel(conn.sid, room_channel(msg.room))
        self.realtime.to_sid_now(conn.sid, "room:left", {"room": msg.room, "reason": msg.reason})

    # -- the owner's loops ---------------------------------------------------------------------
    async def start(self) -> None:
        await self.refresh_rooms()
        await self.bus.start()
        if self.fleet.shared:
            await self._resync_all()
            await self._hold_leases()
            self.background.every(self.lease_ttl / 3, self._hold_leases, "renewing room leases")
        self.background.loop(self._tick_loop(), "ticks")
        self.background.every(10, self.refresh_rooms, "refreshing rooms")

    async def stop(self) -> None:
        """Leave every local connection's room, publish a last tick, save, hand the rooms back."""
        for conn in list(self.hub.connections.values()):
            try:
                await self._leave_conn(conn)
            except Exception:
                log.exception("leaving %s on shutdown failed", conn.sid)
        await self.background.stop()
        try:
            await self.tick_once()
            await self._save_walkers(force=True)
            await self.fleet.release_leases(list(self.owned) if self.fleet.shared else [])
        except Exception:
            log.exception("final tick on shutdown failed")
        await self.background.drain(5)
        await self.bus.stop()

    async def _tick_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.tick_hz
        nxt = loop.time()
        while True:
            nxt += interval
            delay = nxt - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:  # fell behind: tick now, do not burst to catch up
                self.tick_overruns += 1
                nxt = loop.time()
            try:
                await self.tick_once()
                self.frames.flush()
                await self._save_walkers()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("room tick failed")

    async def tick_once(self) -> None:
        now = time.monotonic()
        live = [slug for slug in self.owned if not self.fleet.shared or now - self._lease_at.get(slug, 0) < self.lease_ttl * 0.9]
        if not live:
            return
        ops = await self.fleet.drain(live)
        batches = []
        changes = {}
        wall = time.time()
        for slug in live:
            rt = self.owned.get(slug)
            if rt is None:
                continue
            events = rt.tick(ops.get(slug, ()), wall)
            for uid, door in rt.doors_hit:
                await self.realtime.control(Door(uid=uid, room=slug,
                                                 door={"name": door.name, "to": door.room, "spawn": door.spawn}))
            rt.doors_hit.clear()
            if events:
                batches.append((slug, events, None))
                if self.fleet.shared:
                    # Positions for whoever takes the room over next (see RedisFleet.save_positions).
                    moved, gone = {}, []
                    for name, d in events:
                        if name == "presence:join":
                            moved[d["id"]] = (d["x"], d["y"])
                        elif name == "presence:leave":
                            gone.append(d["id"])
                            moved.pop(d["id"], None)
                        elif name == "world:tick":
                            for m in d["moves"]:
                                moved[m[0]] = (m[1], m[2])
                    changes[slug] = (moved, gone)
        self.ticks += 1
        if batches:
            await self.bus.publish_many(batches)
        if changes:
            await self.fleet.save_positions(changes)

    def interest_of(self, slug: str) -> Interest | None:
        """The room's area of interest for wire-2 frames, or None: everyone sees everyone."""
        s = self.settings
        info = self.infos.get(slug)
        forced = s.interest_rooms.get(slug)
        if forced is False or info is None:
            return None
        w, h = s.interest_view
        if forced is None and (len(self.mirror.rooms.get(slug) or ()) < s.interest_min_people or s.interest_min_people == 0
                               or (info.width <= w + 2 * s.interest_margin and info.height <= h + 2 * s.interest_margin)):
            return None
        return Interest(w, h, s.interest_margin, s.interest_cell, s.interest_far_every)

    async def _save_walkers(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_save < self.settings.avatar_save_s:
            return
        self._last_save = now
        for rt in list(self.owned.values()):
            positions = rt.take_unsaved()
            if positions:
                if force:
                    await self.avatars.save_positions(rt.info.id, positions)
                else:
                    self.background.spawn(self.avatars.save_positions(rt.info.id, positions), "saving positions")

    # -- leases (many nodes) -------------------------------------------------------------------
    async def _hold_leases(self) -> None:
        started = time.monotonic()
        held = await self.fleet.hold_leases(sorted(self.infos), self.lease_ttl)
        for slug in held:
            self._lease_at[slug] = started
            if slug not in self.owned:
                await self._adopt(slug)
        for slug in list(self.owned):
            if slug not in held:
                log.warning("lost the lease of room %s", slug)
                del self.owned[slug]
        await self._reap_dead_members()

    async def _load_bodies(self, slug: str) -> dict[str, Body]:
        members = await self.fleet.members(slug)
        npcs = await self.fleet.npcs(slug)
        pos = await self.fleet.positions(slug)
        bodies = {}
        for kind, group in (("user", members), ("npc", npcs)):
            for bid, rec in group.items():
                x, y = pos.get(bid) or (rec.get("x", 1.0), rec.get("y", 1.0))
                bodies[bid] = Body(bid, kind, rec.get("name") or "?", rec.get("appearance") or {}, x, y)
        return bodies

    async def _adopt(self, slug: str) -> None:
        """This node now owns the room: rebuild it from the fleet and mend what others missed."""
        info = self.infos[slug]
        rt = RoomRuntime(info, self.max_step, bodies=await self._load_bodies(slug))
        seen = self.mirror.rooms.get(slug) or {}
        events = [("presence:leave", {"id": pid}) for pid in seen if pid not in rt.bodies]
        events += [("presence:join", b.presence()) for bid, b in rt.bodies.items() if bid not in seen]
        self.owned[slug] = rt
        log.info("node %s owns room %s (%d inside)", self.node_id, slug, len(rt.bodies))
        if events:
            await self.bus.publish(slug, events)

    async def _reap_dead_members(self) -> None:
        """People whose node died (no heartbeat) are put out of the rooms this node owns."""
        for slug in list(self.owned):
            members = await self.fleet.members(slug)
            nodes = {rec.get("node") for rec in members.values()}
            alive = await self.fleet.alive(nodes)
            for uid, rec in members.items():
                if rec.get("node") not in alive and await self.fleet.release(slug, uid, rec.get("sid")):
                    log.info("user %s left %s with its dead node %s", uid, slug, rec.get("node"))
                    await self._after_release(slug, uid)

    async def _resync_all(self) -> None:
        """Rebuild the mirror from the fleet (start, or after the Redis subscription was lost)."""
        for slug in list(self.infos):
            bodies = await self._load_bodies(slug)
            self.mirror.load(slug, [b.presence() for b in bodies.values()])
