"""Who is in which room: joining (and the snapshot that answers it), leaving, walking, profile
changes, NPCs put in and taken out, a connection put out of a room, the occupants as seen here.

Membership (who is in which room, capacity) lives in the fleet (`server.realtime.fleet`):
in-process dicts on one node, Redis with many. Joins, leaves and moves are operations pushed to
the room's inbox for its owner (server/world/ownership.py). Every node keeps a mirror of every
room's occupants from the room events it sees (`Mirror`); snapshots on join come from it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from server.background import Background
from server.config import Settings
from server.protocol import ProtocolError
from server.realtime.facade import Realtime
from server.realtime.frames import Interest
from server.realtime.hub import Connection, room_channel
from server.world.access import Access
from server.world.avatars import Avatars
from server.world.catalogue import Catalogue
from server.world.controls import Door, Evict
from server.world.geometry import RoomInfo
from server.world.onboarding import Onboarding
from server.world.ownership import Ownership
from server.world.paths import walkways_of
from server.world.runtime import Mirror
from server.world.spawns import Arrivals, free_spot

log = logging.getLogger(__name__)

History = Callable[[str, Connection], Awaitable[list[dict]]]


class Presence:
    def __init__(self, realtime: Realtime, settings: Settings, node_id: str, *, catalogue: Catalogue,
                 access: Access, ownership: Ownership, avatars: Avatars, mirror: Mirror, onboarding: Onboarding,
                 background: Background, history: History):
        self.realtime = realtime
        self.fleet = realtime.fleet
        self.settings = settings
        self.node_id = node_id
        self.catalogue = catalogue
        self.access = access
        self.ownership = ownership
        self.avatars = avatars
        self.mirror = mirror
        self.onboarding = onboarding
        self.background = background
        self.history = history  # the room's last chat lines this reader may see (the chat domain's)
        self.arrivals = Arrivals()
        realtime.handle(Evict, self._on_evict)
        realtime.handle(Door, self._on_door)
        realtime.on_resync(self.resync)

    # == what other domains read =====================================================================
    def occupants(self, room_slug: str) -> list[dict[str, Any]]:
        """Users and NPCs in the room: {"id", "kind", "name", "x", "y", "appearance"}."""
        return [dict(p) for p in (self.mirror.rooms.get(room_slug) or {}).values()]

    def room_of_user(self, user_id: uuid.UUID | str) -> str | None:
        return self.mirror.user_room.get(str(user_id))

    def rooms_snapshot(self) -> list[dict[str, Any]]:
        """Every room with the occupants this node sees (users and NPCs)."""
        out = []
        for info in self.catalogue.infos.values():
            occ = self.mirror.rooms.get(info.slug) or {}
            users = sum(1 for p in occ.values() if p["kind"] == "user")
            out.append({"slug": info.slug, "name": info.name, "access": info.access, "capacity": info.capacity,
                        "occupants": users, "npcs": len(occ) - users})
        return out

    async def position(self, slug: str, uid: str) -> tuple[float, float] | None:
        """Where a body stands; one that joined a moment ago (not in the mirror until the next
        tick) where the join put it."""
        here = self.mirror.position(slug, uid)
        if here is None:
            record = await self.fleet.record(slug, uid)
            here = (record["x"], record["y"]) if record else None
        return here

    def newcomer_tour(self) -> dict[str, Any] | None:
        """The guide's tour for a newcomer's `session` (see server/world/onboarding.py)."""
        room = self.onboarding.room
        infos = self.catalogue.infos
        return self.onboarding.tour(infos.get(room) if room else None, infos, self.mirror.rooms.get(room or ""))

    def interest_of(self, slug: str) -> Interest | None:
        """The room's area of interest for wire-2 frames, or None: everyone sees everyone."""
        s = self.settings
        info = self.catalogue.infos.get(slug)
        forced = s.interest_rooms.get(slug)
        if forced is False or info is None:
            return None
        w, h = s.interest_view
        if forced is None and (len(self.mirror.rooms.get(slug) or ()) < s.interest_min_people or s.interest_min_people == 0
                               or (info.width <= w + 2 * s.interest_margin and info.height <= h + 2 * s.interest_margin)):
            return None
        fw, fh = s.interest_far_view
        return Interest(w, h, s.interest_margin, s.interest_cell, s.interest_far_every, s.interest_far_step,
                        fw, fh, s.interest_far_all_every)

    # == rooms as people see them ====================================================================
    async def list_rooms(self, conn: Connection) -> list[dict[str, Any]]:
        """Public rooms, and the private ones this person may enter; counts are fleet-wide."""
        visible = await self.access.visible(conn)
        counts = await self.fleet.counts([i.slug for i in visible])
        return [{"slug": i.slug, "name": i.name, "occupants": counts.get(i.slug, 0), "capacity": i.capacity,
                 "access": i.access, "description": i.description, "inside": self._inside(i.slug)}
                for i in sorted(visible, key=lambda i: i.slug)]

    def _inside(self, slug: str, limit: int = 8) -> list[dict[str, str]]:
        """Who is in a room as this node sees it: residents first, then people, a few names."""
        occ = sorted((self.mirror.rooms.get(slug) or {}).values(), key=lambda p: (p["kind"] != "npc", p["name"]))
        return [{"name": p["name"], "kind": p["kind"]} for p in occ[:limit]]

    def set_view(self, conn: Connection, view: tuple[float, float]) -> None:
        """What the client's screen shows (tiles): its area in interest-managed rooms, up to interest_view_max."""
        mw, mh = self.settings.interest_view_max
        conn.view = (min(view[0], mw), min(view[1], mh))

    async def join(self, conn: Connection, slug: str, spawn: str | None = None, wire: int | None = None,
                   view: tuple[float, float] | None = None) -> dict[str, Any]:
        """`spawn`: a named spawn point of the room's map (a door leads there). `wire`: 2 for
        `world:frame`s instead of `world:tick`s (server/realtime/frames.py); `view`: the tiles the
        client's screen shows, its area in interest-managed rooms; None keeps the connection's."""
        info = await self.catalogue.room_or_404(slug)
        await self.access.check(info, conn)
        if wire is not None:
            conn.wire = wire
        if view is not None:
            self.set_view(conn, view)
        if conn.room == slug:  # joining where you are: the snapshot again, nothing changes
            history = await self.history(slug, conn)
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
                await self.ownership.released(prev_room, conn.uid)
                await self._evict(other["sid"], prev_room, "replaced")
        if status == "ok":
            await self.fleet.push(slug, {"op": "join", "id": conn.uid, "kind": "user", "name": avatar.display_name,
                                         "appearance": avatar.appearance, "x": x, "y": y})
        conn.display_name = avatar.display_name
        conn.data["appearance"] = avatar.appearance
        conn.room = slug
        await self.realtime.join_channel(conn.sid, room_channel(slug))
        await self.avatars.save_place(conn.user_id, info.id, x, y)
        history = await self.history(slug, conn)
        return self._snapshot(info, conn, (x, y), history)  # no await after this: see docs/realtime.md

    async def leave(self, conn: Connection) -> None:
        await self._leave_conn(conn)

    async def disconnected(self, conn: Connection) -> None:
        await self._leave_conn(conn)

    async def leave_all(self, at_once: int = 32) -> None:
        """Shutdown: every local connection leaves its room, `at_once` at a time: each leave waits on
        Redis and a database write, and one by one 1,500 people outlast the shutdown's 10 s."""

        async def leave(conn: Connection) -> None:
            try:
                await self._leave_conn(conn)
            except Exception:
                log.exception("leaving %s on shutdown failed", conn.sid)

        conns = list(self.realtime.connections())
        for i in range(0, len(conns), at_once):
            await asyncio.gather(*(leave(c) for c in conns[i:i + at_once]))

    async def move(self, conn: Connection, x: float, y: float, t: float | None = None) -> tuple[float, float]:
        slug = conn.require_room()
        info = self.catalogue.infos.get(slug) or await self.catalogue.room_or_404(slug)
        return await self._target(info, conn.uid, x, y, t)

    def move_ready(self, conn: Connection) -> bool:
        """`move_now` can take this connection's move without waiting on anything (checked before any
        side effect, so a False leaves the move to `move`, in order): the room is cached, moves are
        batched per tick (the fleet's `push_now` takes them, in process or into the next RPUSH), and
        where the body stands is known if the room has walls."""
        if conn.room is None:
            return True  # move_now answers not_found at once
        if not self.settings.tick_batching:
            return False
        info = self.catalogue.infos.get(conn.room)
        return info is not None and (not info.tiles or self.mirror.position(info.slug, conn.uid) is not None)

    def move_now(self, conn: Connection, x: float, y: float, t: float | None = None) -> tuple[float, float]:
        """`move` in the caller's stack, for a connection `move_ready` said yes to (same rules, same errors)."""
        info = self.catalogue.infos[conn.require_room()]
        here = self.mirror.position(info.slug, conn.uid) if info.tiles else None  # only walls ask where from
        op = self._move_op(info, conn.uid, x, y, t, here)
        self.fleet.push_now(info.slug, op)
        return op["x"], op["y"]

    async def profile_changed(self, conn: Connection, profile: dict[str, Any]) -> None:
        """Tell the room (presence:join again) and this node's other tabs of the person."""
        for c in self.realtime.connections_of(conn.user_id):
            c.display_name = profile["display_name"]
            c.language = profile["language"]
            c.data["appearance"] = profile["appearance"]
        slug = await self.fleet.where(conn.uid)
        if slug:
            await self.fleet.push(slug, {"op": "profile", "id": conn.uid, "name": profile["display_name"],
                                         "appearance": profile["appearance"]})

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
        self.realtime.to_sid_now(conn.sid, "room:door", data)

    async def remove_user(self, slug: str, user_id: uuid.UUID | str, reason: str) -> bool:
        """Put a person out of a room, whichever node their connection is on."""
        uid = str(user_id)
        rec = await self.fleet.record(slug, uid)
        if rec is None or not await self.fleet.release(slug, uid, rec["sid"]):
            return False
        await self.ownership.released(slug, uid)
        await self._evict(rec["sid"], slug, reason)
        return True

    # == NPCs (the residents put theirs in and walk them) ===========================================
    async def add_npc(self, room_slug: str, npc_id: str, name: str, appearance: dict | None, x: float, y: float) -> None:
        """Put an NPC in a room (presence:join from the next tick). Moving it to another room:
        remove it from the first."""
        info = await self.catalogue.room_or_404(room_slug)
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
        info = await self.catalogue.room_or_404(room_slug)
        return await self._target(info, npc_id, x, y, None)

    # == internals ===================================================================================
    def _arrive(self, info: RoomInfo, spawn: tuple[float, float]) -> tuple[float, float]:
        """A free tile at or near the spawn: not where someone stands or has just arrived."""
        taken = {(int(p["x"]), int(p["y"])) for p in (self.mirror.rooms.get(info.slug) or {}).values()}
        x, y = free_spot(info, spawn, taken | self.arrivals.taken(info.slug))
        self.arrivals.hold(info.slug, x, y)
        return x, y

    async def _target(self, info: RoomInfo, body_id: str, x: float, y: float, t: float | None) -> tuple[float, float]:
        here = self.mirror.position(info.slug, body_id)
        if here is None and info.tiles:  # joined within the last tick: where the join put them
            rec = await self.fleet.record(info.slug, body_id)
            here = (rec["x"], rec["y"]) if rec and "x" in rec else None
        op = self._move_op(info, body_id, x, y, t, here)
        if self.settings.tick_batching or not await self.ownership.move_now(info.slug, op):  # else the owner took it
            await self.fleet.push(info.slug, op)
        return op["x"], op["y"]

    @staticmethod
    def _move_op(info: RoomInfo, body_id: str, x: float, y: float, t: float | None,
                 here: tuple[float, float] | None) -> dict[str, Any]:
        """The room's rules for a target (clamped, not blocked, reachable from `here`), shared by `move`
        and `move_now`: the op to push, or ProtocolError."""
        x, y = info.clamp(x, y)
        if info.blocked(x, y):
            raise ProtocolError("invalid_payload", f"the tile at ({int(x)}, {int(y)}) is blocked")
        if here is not None and info.tiles and not walkways_of(info).reachable(here, (x, y)):
            raise ProtocolError("invalid_payload", f"there is no way to ({int(x)}, {int(y)}) from here")
        op = {"op": "move", "id": body_id, "x": x, "y": y}
        if t is not None:  # millisecond precision is all a latency or interpolation needs; every tick entry carries it
            op["t"] = math.floor(t * 1000 + 0.5) / 1000  # round(t, 3) without its decimal conversion
        return op

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
            await self.ownership.released(slug, conn.uid)

    async def _evict(self, sid: str, slug: str, reason: str) -> None:
        await self.realtime.control(Evict(sid=sid, room=slug, reason=reason))

    async def _on_door(self, msg: Door) -> None:
        for conn in self.realtime.connections_of(msg.uid):
            if conn.room == msg.room:
                self.background.spawn(self.walk_through(conn, msg.room, msg.door), "walking through a door")

    async def _on_evict(self, msg: Evict) -> None:
        conn = self.realtime.connection(msg.sid)
        if conn is None or conn.room != msg.room:
            return
        conn.room = None
        await self.realtime.leave_channel(conn.sid, room_channel(msg.room))
        self.realtime.to_sid_now(conn.sid, "room:left", {"room": msg.room, "reason": msg.reason})

    async def resync(self) -> None:
        """Rebuild the mirror from the fleet (start, or after the Redis subscription was lost)."""
        for slug in list(self.catalogue.infos):
            bodies = await self.ownership.load_bodies(slug)
            self.mirror.load(slug, [b.presence() for b in bodies.values()])
