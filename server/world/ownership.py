"""The rooms this node runs: each room has one owner node at a time (a Redis lease; on one node,
that node). The owner drains the room's inbox of operations every tick, walks bodies toward their
targets, publishes presence events and ONE `world:tick` per room per tick with the positions that
changed, saves walkers' positions, and puts out the people of nodes that died.

Leases: held and renewed every `room_lease_ttl_s / 3`; a room whose lease this node gains is
adopted (rebuilt from the fleet, the mirror mended), one it loses is dropped."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from server.background import Background
from server.config import Settings
from server.realtime.facade import Realtime
from server.world.avatars import Avatars
from server.world.catalogue import Catalogue
from server.world.controls import Door
from server.world.geometry import RoomInfo
from server.world.runtime import Body, Mirror, RoomRuntime

log = logging.getLogger(__name__)


class Ownership:
    def __init__(self, realtime: Realtime, settings: Settings, node_id: str, catalogue: Catalogue, mirror: Mirror,
                 avatars: Avatars, background: Background):
        self.realtime = realtime
        self.fleet = realtime.fleet
        self.settings = settings
        self.node_id = node_id
        self.catalogue = catalogue
        self.mirror = mirror
        self.avatars = avatars
        self.background = background
        self.owned: dict[str, RoomRuntime] = {}
        self._lease_at: dict[str, float] = {}
        self.tick_hz = settings.tick_hz
        self.max_step = settings.move_speed / settings.tick_hz
        self.lease_ttl = settings.room_lease_ttl_s
        self._last_save = time.monotonic()
        self.ticks = 0
        self.tick_overruns = 0
        self.keeper = None  # Redis fleets: renews the leases while the loop is busy (realtime/keeper.py)
        catalogue.on_change.append(self._room_changed)

    def _room_changed(self, info: RoomInfo) -> None:
        rt = self.owned.get(info.slug)
        if rt is not None:
            rt.info = info
        elif not self.fleet.shared:  # one node owns every room
            self.owned[info.slug] = RoomRuntime(info, self.max_step)

    async def start(self) -> None:
        if self.fleet.shared:
            await self._hold_leases()
            self.background.every(self.lease_ttl / 3, self._hold_leases, "renewing room leases")
            self.keeper = self.fleet.lease_keeper(self.settings.redis_url, self.lease_ttl)
            self.keeper.start()
        self.background.loop(self._tick_loop(), "ticks")

    async def finish(self) -> None:
        """Shutdown, after the loops stopped: a last tick, every walker saved, the leases handed back."""
        if self.keeper is not None:
            self.keeper.stop()
        await self.tick_once()
        await self._save_walkers(force=True)
        await self.fleet.release_leases(list(self.owned) if self.fleet.shared else [])

    # -- a member is gone ---------------------------------------------------------------------------
    async def released(self, slug: str, uid: str) -> None:
        """The membership is gone: tell the owner (presence:leave) and save where they stood."""
        await self.fleet.push(slug, {"op": "leave", "id": uid})
        pos = self.mirror.position(slug, uid)
        info = self.catalogue.infos.get(slug)
        if pos is not None and info is not None:
            try:
                await self.avatars.save_place(uid, info.id, pos[0], pos[1])
            except Exception:
                log.exception("saving the position of %s failed", uid)

    # -- ticks ----------------------------------------------------------------------------------------
    async def move_now(self, slug: str, op: dict[str, Any]) -> bool:
        """Baseline mode (tick_batching off): one world:tick per move, sent at once by the owner."""
        rt = self.owned.get(slug)
        if rt is None or (self.fleet.shared and time.monotonic() - self._lease_at.get(slug, 0) > self.lease_ttl * 0.9):
            return False
        moves = rt.move_now(op)
        if moves is None:
            return False
        if moves:
            await self.realtime.to_room(slug, [("world:tick", {"room": slug, "t": round(time.time(), 3), "moves": moves})])
        return True

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
                self.realtime.flush_frames()
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
            await self.realtime.to_rooms(batches)
        if changes:
            await self.fleet.save_positions(changes)

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

    # -- leases (many nodes) --------------------------------------------------------------------------
    async def _hold_leases(self) -> None:
        started = time.monotonic()
        held = await self.fleet.hold_leases(sorted(self.catalogue.infos), self.lease_ttl)
        for slug in held:
            self._lease_at[slug] = started
            if slug not in self.owned:
                await self._adopt(slug)
        for slug in list(self.owned):
            if slug not in held:
                log.warning("lost the lease of room %s", slug)
                del self.owned[slug]
        await self._reap_dead_members()

    async def load_bodies(self, slug: str) -> dict[str, Body]:
        """The room's people and NPCs as the fleet has them, where they last stood."""
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
        info = self.catalogue.infos[slug]
        rt = RoomRuntime(info, self.max_step, bodies=await self.load_bodies(slug))
        seen = self.mirror.rooms.get(slug) or {}
        events = [("presence:leave", {"id": pid}) for pid in seen if pid not in rt.bodies]
        events += [("presence:join", b.presence()) for bid, b in rt.bodies.items() if bid not in seen]
        self.owned[slug] = rt
        log.info("node %s owns room %s (%d inside)", self.node_id, slug, len(rt.bodies))
        if events:
            await self.realtime.to_room(slug, events)

    async def _reap_dead_members(self) -> None:
        """People whose node died (no heartbeat) are put out of the rooms this node owns: two round
        trips for all of them (two per room made the lease round seconds long under a crowd)."""
        if not self.owned:
            return
        by_room = await self.fleet.members_of(list(self.owned))
        alive = await self.fleet.alive({rec.get("node") for members in by_room.values() for rec in members.values()})
        for slug, members in by_room.items():
            for uid, rec in members.items():
                if rec.get("node") not in alive and await self.fleet.release(slug, uid, rec.get("sid")):
                    log.info("user %s left %s with its dead node %s", uid, slug, rec.get("node"))
                    await self.released(slug, uid)
