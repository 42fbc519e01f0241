"""Who is in which room, fleet-wide; each room's inbox of operations; which node owns which room.

Two implementations with one interface:
- `LocalFleet`: one process, plain dicts; this node owns every room.
- `RedisFleet`: many processes sharing Redis. Membership is a hash per room (capacity is checked
  and the member added in one Lua call), operations go to a list per room that the owner drains
  each tick, and ownership is a lease (SET NX PX, renewed by the owner, taken over when it lapses)
  with a fencing token: the owner's writes (draining the inbox, saving positions) are refused in
  Redis once the lease is someone else's, and its owner events stop (bus.py).

When Redis goes away (docs/realtime.md, "Redis outages") a `RedisFleet` keeps serving this node's
own people from a shadow `LocalFleet` it keeps all along: each room they are in runs here as an
island (this node's people only, nothing shared written). When the lease loop finds Redis again
it writes this node's part back (members, NPCs, positions, a join op per person so the owner
re-announces them), drops its islands, and takes leases again from the next round.

A membership record is a dict: {"sid", "node", "name", "appearance", "x", "y"}.
An operation is a dict with "op" in join / leave / move / profile (see server/world/runtime.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from server.realtime.keeper import LeaseKeeper
from server.realtime.redis_link import REDIS_ERRORS, RedisLink, bounded, link_of, patient

log = logging.getLogger(__name__)

Record = dict[str, Any]


class LocalFleet:
    """Everything in this process: the default, single-node world."""

    shared = False

    def __init__(self, node_id: str):
        self.node_id = node_id
        self._members: dict[str, dict[str, Record]] = {}
        self._where: dict[str, str] = {}
        self._npcs: dict[str, dict[str, Record]] = {}
        self._inbox: dict[str, list[dict]] = {}

    # -- membership -----------------------------------------------------------------------
    async def claim(self, room: str, uid: str, record: Record, capacity: int) -> tuple[str, str | None, Record | None]:
        """Add `uid` to `room` unless it is full. Returns (status, room the user was in, old record):
        status "ok", "full", or "same" (already a member: the record is replaced, a take-over)."""
        members = self._members.setdefault(room, {})
        prev = self._where.get(uid)
        old = members.get(uid)
        if old is not None:
            members[uid] = record
            self._where[uid] = room
            return "same", prev, old
        if len(members) >= capacity:
            return "full", prev, None
        members[uid] = record
        self._where[uid] = room
        return "ok", prev, None

    async def release(self, room: str, uid: str, sid: str) -> bool:
        """Remove `uid` from `room` if its record is still the one of connection `sid`."""
        members = self._members.get(room) or {}
        old = members.get(uid)
        if old is None or old.get("sid") != sid:
            return False
        del members[uid]
        if self._where.get(uid) == room:
            del self._where[uid]
        return True

    def put(self, room: str, uid: str, record: Record) -> None:
        """Record a member Redis already admitted (the shadow of a RedisFleet)."""
        self._members.setdefault(room, {})[uid] = record
        self._where[uid] = room

    async def where(self, uid: str) -> str | None:
        return self._where.get(uid)

    async def record(self, room: str, uid: str) -> Record | None:
        return (self._members.get(room) or {}).get(uid)

    async def members(self, room: str) -> dict[str, Record]:
        return dict(self._members.get(room) or {})

    async def members_of(self, rooms: list[str]) -> dict[str, dict[str, Record]]:
        """`members` of several rooms at once."""
        return {r: dict(self._members.get(r) or {}) for r in rooms}

    async def counts(self, rooms: list[str]) -> dict[str, int]:
        return {r: len(self._members.get(r) or {}) for r in rooms}

    async def npc_set(self, room: str, npc_id: str, record: Record | None) -> None:
        npcs = self._npcs.setdefault(room, {})
        if record is None:
            npcs.pop(npc_id, None)
        else:
            npcs[npc_id] = record

    async def npcs(self, room: str) -> dict[str, Record]:
        return dict(self._npcs.get(room) or {})

    async def save_positions(self, changes: dict[str, tuple[dict[str, tuple[float, float]], list[str]]]) -> None:
        """The owner's positions, for a node that takes the room over (here: nobody else)."""

    async def positions(self, room: str) -> dict[str, tuple[float, float]]:
        return {}

    # -- operations -----------------------------------------------------------------------
    async def push(self, room: str, op: dict) -> None:
        self._inbox.setdefault(room, []).append(op)

    def push_now(self, room: str, op: dict) -> None:
        """`push` without a coroutine: the inbox is in this process (the move fast path, transport.py)."""
        self._inbox.setdefault(room, []).append(op)

    async def drain(self, rooms: list[str]) -> dict[str, list[dict]]:
        out = {}
        for r in rooms:
            ops = self._inbox.get(r)
            if ops:
                out[r] = ops
                self._inbox[r] = []
        return out

    # -- ownership ------------------------------------------------------------------------
    async def hold_leases(self, rooms: list[str], ttl_s: float) -> set[str]:
        return set(rooms)

    async def release_leases(self, rooms: list[str]) -> None:
        pass

    async def alive(self, nodes: set[str]) -> set[str]:
        return set(nodes)


_CLAIM = """
local prev = redis.call('GET', KEYS[2])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('SET', KEYS[2], ARGV[4])
  return {'same', prev or '', old}
end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return {'full', prev or '', ''}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[4])
return {'ok', prev or '', ''}
"""

_RELEASE = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
if cjson.decode(old)['sid'] ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
"""

# Kept for callers of the unfenced form; the fleet and the residents use _FENCED_LEASES.
_DRAIN = """
local out = {}
for i, k in ipairs(KEYS) do
  local items = redis.call('LRANGE', k, 0, -1)
  if #items > 0 then redis.call('DEL', k) end
  out[i] = items
end
return out
"""

# Inbox, lease and fence key per room; ARGV[1] the node, ARGV[1 + i] its token for room i.
# A room whose lease or token is no longer ours answers 0 and its inbox stays for the real owner.
_FENCED_DRAIN = """
local out = {}
for i = 1, #KEYS / 3 do
  local inbox, lease, fence = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  if redis.call('GET', lease) == ARGV[1] and redis.call('GET', fence) == ARGV[i + 1] then
    local items = redis.call('LRANGE', inbox, 0, -1)
    if #items > 0 then redis.call('DEL', inbox) end
    out[i] = items
  else
    out[i] = 0
  end
end
return out
"""

# The owner's positions for one room, written only while its lease and token are still ours.
_FENCED_POSITIONS = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
for k, v in pairs(cjson.decode(ARGV[3])) do redis.call('HSET', KEYS[3], k, v) end
for _, k in ipairs(cjson.decode(ARGV[4])) do redis.call('HDEL', KEYS[3], k) end
return 1
"""

# Take every free lease, renew the ones we hold; 1 where this node holds the lease afterwards.
# (The unfenced form, kept for older callers.)
_LEASES = """
local res = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2]); res[i] = 1
  elseif not v then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[2]); res[i] = 1
  else
    res[i] = 0
  end
end
return res
"""

# Lease and fence key per id: take every free lease (a new token from INCR on its fence key),
# renew the ones we hold (same token); the token where this node holds the lease afterwards, else 0.
# ARGV[3] "1": Redis started less than a TTL ago, so it may have forgotten leases whose holders still
# act on them until their own 0.9 x TTL guard runs out: renew only, take nothing new yet.
_FENCED_LEASES = """
local res = {}
local young = ARGV[3] == '1'
for i = 1, #KEYS / 2 do
  local lease, fence = KEYS[2 * i - 1], KEYS[2 * i]
  local v = redis.call('GET', lease)
  if v == ARGV[1] then
    redis.call('PEXPIRE', lease, ARGV[2])
    local t = redis.call('GET', fence)
    if not t then t = redis.call('INCR', fence) end
    res[i] = tonumber(t)
  elseif not v and not young then
    redis.call('SET', lease, ARGV[1], 'PX', ARGV[2])
    res[i] = redis.call('INCR', fence)
  else
    res[i] = 0
  end
end
return res
"""

_UNLEASE = """
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 1
"""


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else v


class LeaseSet:
    """Leases on a set of ids (rooms, residents) for one node, each taken with a fencing token.

    The lease key holds the node id (what operators and tests read); its fence key a counter that
    goes up at every taking. When Redis cannot be reached a lease counts as held only until 0.9 x
    its TTL after Redis last confirmed it, so a node stops acting for an id before another node can
    have taken it: there is never a moment with two owners.
    """

    def __init__(self, redis, node_id: str, key: Callable[[str], str], link: RedisLink | None = None):
        self.redis = redis
        self.node_id = node_id
        self.key = key
        self.link = link or link_of(redis)
        self.tokens: dict[str, int] = {}
        self.confirmed: dict[str, float] = {}
        self._take = redis.register_script(_FENCED_LEASES)
        self._unlease = redis.register_script(_UNLEASE)

    def fence(self, id_: str) -> str:
        return self.key(id_) + ":fence"

    async def take(self, ids: list[str], ttl_s: float, heartbeat: str | None = None) -> set[str]:
        """Take or renew in one round trip (with this node's heartbeat key, if given); raises when
        Redis is not there."""
        ttl_ms = max(1, int(ttl_s * 1000))
        started = time.monotonic()
        uptime = (await patient(self.redis.info("server"))).get("uptime_in_seconds", 1e9)
        young = "1" if float(uptime) < ttl_s else "0"
        async with self.redis.pipeline(transaction=False) as pipe:  # `async with`: reset even when it fails
            if heartbeat:
                pipe.set(heartbeat, str(time.time()), px=ttl_ms)
            if ids:
                keys = []
                for i in ids:
                    keys += [self.key(i), self.fence(i)]
                await self._take(keys=keys, args=[self.node_id, ttl_ms, young], client=pipe)
            res = await patient(pipe.execute())
        tokens = res[-1] if ids else []
        held = set()
        for i, t in zip(ids, tokens):
            if t:
                held.add(i)
                self.tokens[i] = int(t)
                self.confirmed[i] = started
            else:
                self.tokens.pop(i, None)
                self.confirmed.pop(i, None)
        return held

    def still_held(self, ids: list[str], ttl_s: float) -> set[str]:
        """The leases that cannot have lapsed yet (Redis unreachable: nothing renews them)."""
        now = time.monotonic()
        return {i for i in ids if now - self.confirmed.get(i, -1e9) < 0.9 * ttl_s}

    async def hold(self, ids: list[str], ttl_s: float) -> set[str]:
        """Take or renew; when Redis is not there, the leases that cannot have lapsed yet."""
        try:
            return await bounded(lambda: self.take(ids, ttl_s), self.link)
        except REDIS_ERRORS:
            return self.still_held(ids, ttl_s)

    async def release(self, ids: list[str]) -> None:
        for i in ids:
            self.tokens.pop(i, None)
            self.confirmed.pop(i, None)
        if ids:
            await patient(self._unlease(keys=[self.key(i) for i in ids], args=[self.node_id]))

    def forget(self) -> None:
        self.tokens.clear()
        self.confirmed.clear()

    def keeper(self, url: str, ttl_s: float, heartbeat: str | None = None) -> LeaseKeeper:
        """The thread that renews the leases held here (and `heartbeat`) while the node's loop is busy."""
        return LeaseKeeper(url, self.node_id, lambda: [self.key(i) for i in list(self.tokens)], ttl_s, heartbeat)


# At most one outbox RPUSH per this many seconds (a quiet node's op goes at once): a move waits
# ~5 ms on average, an owner's tick is 100 ms.
OUTBOX_GATHER_S = 0.01


def _ops(items: list) -> list[dict]:
    """A room's inbox entries in order: an op (a JSON object) or a node's batch of them (a JSON array)."""
    out: list[dict] = []
    for x in items:
        v = json.loads(x)
        if type(v) is list:
            out.extend(v)
        else:
            out.append(v)
    return out


class _Down(Exception):
    """Redis is not there: answer from the shadow."""


class RedisFleet:
    """The same interface over Redis, for several world processes; this node's own part is kept
    in a shadow `LocalFleet` too, which serves it alone while Redis is away."""

    shared = True

    def __init__(self, redis, node_id: str, prefix: str = "ts:"):
        self.redis = redis
        self.node_id = node_id
        self.p = prefix
        self.link = link_of(redis)
        self.local = LocalFleet(node_id)  # this node's members and NPCs; the islands' inboxes
        self.leases = LeaseSet(redis, node_id, self._lease, self.link)
        self.island = False  # serving this node's people on their own since Redis went away
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._drain = redis.register_script(_FENCED_DRAIN)
        self._positions = redis.register_script(_FENCED_POSITIONS)
        self._outbox: dict[str, list[dict]] = {}  # room -> moves waiting for the next RPUSH
        self._pushing: asyncio.Task | None = None
        self._outbox_done: asyncio.Future | None = None
        self._pushed_at = float("-inf")  # loop time of the last RPUSH of the outbox

    def _users(self, room: str) -> str:
        return f"{self.p}room:{room}:users"

    def _npcs_key(self, room: str) -> str:
        return f"{self.p}room:{room}:npcs"

    def _inbox(self, room: str) -> str:
        return f"{self.p}room:{room}:inbox"

    def _lease(self, room: str) -> str:
        return f"{self.p}room:{room}:lease"

    def _user(self, uid: str) -> str:
        return f"{self.p}user:{uid}:room"

    def _node(self, node: str) -> str:
        return f"{self.p}node:{node}"

    def _pos(self, room: str) -> str:
        return f"{self.p}room:{room}:pos"

    async def _r(self, fn: Callable, force: bool = False):
        """One bounded Redis call; `_Down` (and the link marked down) when Redis is not there.
        While the link is down nothing tries Redis but the lease loop's probe (`force`)."""
        if not (self.link.up or force):
            raise _Down()
        try:
            return await bounded(fn, self.link)
        except REDIS_ERRORS as e:
            raise _Down() from e

    # -- membership -----------------------------------------------------------------------
    async def claim(self, room, uid, record, capacity):
        try:
            status, prev, old = await self._r(lambda: self._claim(
                keys=[self._users(room), self._user(uid)], args=[uid, json.dumps(record), capacity, room]))
        except _Down:
            return await self.local.claim(room, uid, record, capacity)
        prev, old, status = _s(prev), _s(old), _s(status)
        if status != "full":
            self.local.put(room, uid, record)
        return status, (prev or None), (json.loads(old) if old else None)

    async def release(self, room, uid, sid):
        mine = await self.local.release(room, uid, sid)
        try:
            return bool(await self._r(lambda: self._release(keys=[self._users(room), self._user(uid)],
                                                            args=[uid, sid, room])))
        except _Down:
            return mine

    async def where(self, uid):
        try:
            v = await self._r(lambda: self.redis.get(self._user(uid)))
        except _Down:
            return await self.local.where(uid)
        return _s(v) if v else None

    async def record(self, room, uid):
        try:
            v = await self._r(lambda: self.redis.hget(self._users(room), uid))
        except _Down:
            return await self.local.record(room, uid)
        return json.loads(v) if v else None

    async def members(self, room):
        try:
            raw = await self._r(lambda: self.redis.hgetall(self._users(room)))
        except _Down:
            return await self.local.members(room)
        return {_s(k): json.loads(v) for k, v in raw.items()}

    async def _per_room(self, rooms: list[str], command: Callable) -> list:
        """`command(pipe, room)` for each room, in one round trip; `_Down` as `_r`."""
        async def run():
            async with self.redis.pipeline(transaction=False) as pipe:
                for r in rooms:
                    command(pipe, r)
                return await pipe.execute()
        return await self._r(run)

    async def members_of(self, rooms):
        try:
            raws = await self._per_room(rooms, lambda pipe, r: pipe.hgetall(self._users(r)))
        except _Down:
            return await self.local.members_of(rooms)
        return {r: {_s(k): json.loads(v) for k, v in raw.items()} for r, raw in zip(rooms, raws)}

    async def counts(self, rooms):
        try:
            return dict(zip(rooms, await self._per_room(rooms, lambda pipe, r: pipe.hlen(self._users(r)))))
        except _Down:
            return await self.local.counts(rooms)

    async def npc_set(self, room, npc_id, record):
        await self.local.npc_set(room, npc_id, record)
        try:
            if record is None:
                await self._r(lambda: self.redis.hdel(self._npcs_key(room), npc_id))
            else:
                await self._r(lambda: self.redis.hset(self._npcs_key(room), npc_id, json.dumps(record)))
        except _Down:
            pass  # written back when Redis returns (`_restore`)

    async def npcs(self, room):
        try:
            raw = await self._r(lambda: self.redis.hgetall(self._npcs_key(room)))
        except _Down:
            return await self.local.npcs(room)
        return {_s(k): json.loads(v) for k, v in raw.items()}

    async def save_positions(self, changes):
        """{room: ({id: (x, y)} moved, [ids] gone)} in one round trip, each room's only while its
        lease and token are still ours (an island writes nothing: the link keeps its positions)."""
        rooms = [r for r in changes if r in self.leases.tokens]
        if not rooms or self.island:
            return

        async def run():
            async with self.redis.pipeline(transaction=False) as pipe:
                for room in rooms:
                    moved, gone = changes[room]
                    await self._positions(keys=[self._lease(room), self._lease(room) + ":fence", self._pos(room)],
                                          args=[self.node_id, str(self.leases.tokens[room]),
                                                json.dumps({k: f"{x},{y}" for k, (x, y) in moved.items()}) if moved else "{}",
                                                json.dumps(list(gone)) if gone else "[]"], client=pipe)
                return await pipe.execute()
        try:
            res = await self._r(run)
        except _Down:
            return
        self._fenced([r for r, ok in zip(rooms, res) if not ok])

    async def positions(self, room):
        try:
            raw = await self._r(lambda: self.redis.hgetall(self._pos(room)))
        except _Down:
            return dict(self.link.last_pos.get(room) or {})
        out = {}
        for k, v in raw.items():
            x, y = _s(v).split(",")
            out[_s(k)] = (float(x), float(y))
        return out

    # -- operations -----------------------------------------------------------------------
    async def push(self, room, op):
        """Returns once its op is in Redis (or in the island's inbox)."""
        self.push_now(room, op)
        await asyncio.shield(self._outbox_done)

    def push_now(self, room: str, op: dict) -> None:
        """`push` without waiting for the round trip (the move fast path, transport.py).

        Coalesced: the ops pushed while one RPUSH is in flight, or within `OUTBOX_GATHER_S` of the
        last one, go in the next, one entry per room (a busy room's moves were one round trip each
        and exhausted the connection pool; then ~3 per round trip, ~900 RPUSHes a second from a
        worker at 500 movers); an op joins the outbox behind everything pushed before it, so the
        inbox keeps their order."""
        loop = asyncio.get_running_loop()
        if not self._outbox:
            self._outbox_done = loop.create_future()
        self._outbox.setdefault(room, []).append(op)
        if self._pushing is None or self._pushing.done():
            self._pushing = loop.create_task(self._push_out())

    async def _push_out(self) -> None:
        loop = asyncio.get_running_loop()
        while self._outbox:
            wait = self._pushed_at + OUTBOX_GATHER_S - loop.time()
            if wait > 0:  # a busy node: gather the moves of the next few ms into one RPUSH
                await asyncio.sleep(wait)
            self._pushed_at = loop.time()
            batch, done, self._outbox = self._outbox, self._outbox_done, {}
            try:
                await self._r(lambda batch=batch: self._rpush_all(batch))
            except _Down:
                for room, ops in batch.items():  # an island's inbox
                    for op in ops:
                        await self.local.push(room, op)
            except Exception:
                log.exception("pushing %d rooms' moves to Redis failed", len(batch))
            finally:
                if not done.done():
                    done.set_result(None)

    async def _rpush_all(self, batch: dict[str, list[dict]]):
        # A room's ops as one inbox entry, a JSON array: one argument and one encode per room, where an
        # entry per op cost a redis-py argument and a json.dumps each (a busy worker's top cost).
        async with self.redis.pipeline(transaction=False) as pipe:
            for room, ops in batch.items():
                pipe.rpush(self._inbox(room), json.dumps(ops, separators=(",", ":")))
            return await pipe.execute()

    async def drain(self, rooms):
        if not rooms:
            return {}
        if self.island:
            return await self.local.drain(rooms)
        mine = [r for r in rooms if r in self.leases.tokens]
        if not mine:
            return {}
        keys = []
        for r in mine:
            keys += [self._inbox(r), self._lease(r), self._lease(r) + ":fence"]
        try:
            lists = await self._r(lambda: self._drain(keys=keys, args=[self.node_id] + [
                str(self.leases.tokens[r]) for r in mine]))
        except _Down:
            return {}
        self._fenced([r for r, items in zip(mine, lists) if items == 0])
        return {r: _ops(items) for r, items in zip(mine, lists) if items and items != 0}

    def _fenced(self, rooms: list[str]) -> None:
        """Rooms whose lease turned out to be someone else's: stop acting as their owner at once."""
        for r in rooms:
            if r not in self.link.fenced:
                log.warning("room %s: lease taken by another node; this node's owner writes are fenced off", r)
            self.link.fenced.add(r)
            self.leases.tokens.pop(r, None)
            self.leases.confirmed.pop(r, None)

    # -- ownership ------------------------------------------------------------------------
    async def hold_leases(self, rooms, ttl_s):
        """The rooms this node runs now: those whose lease it holds, or while Redis is away the
        islands of its own people. Returns nothing once at each switch, so the rooms are rebuilt."""
        if self.link.up:
            try:
                held = await self._r(lambda: self.leases.take(rooms, ttl_s, heartbeat=self._node(self.node_id)))
            except _Down:
                pass
            else:
                self.link.fenced.difference_update(held)
                return held
        elif await self._probe():
            try:
                await self._restore(rooms, ttl_s)
            except REDIS_ERRORS as e:
                self.link.last_error = f"{e.__class__.__name__}: {e}"
                return self._islands(rooms)
            self.island = False
            self.link.fenced.clear()
            self.link.recovered()
            return set()  # islands end here; leases are taken from the next round on
        if not self.island:
            self.island = True
            self.leases.forget()
            return set()  # whatever this node owned is rebuilt as an island of its own people
        return self._islands(rooms)

    def lease_keeper(self, url: str, ttl_s: float) -> LeaseKeeper:
        """The thread that renews this node's room leases and heartbeat while its loop is busy."""
        return self.leases.keeper(url, ttl_s, heartbeat=self._node(self.node_id))

    def _islands(self, rooms: list[str]) -> set[str]:
        return {r for r in rooms if self.local._members.get(r) or self.local._npcs.get(r)}

    async def _probe(self) -> bool:
        try:  # connections opened before the outage are dead: start the pool afresh
            await self.redis.connection_pool.disconnect(inuse_connections=False)
        except Exception:
            pass
        try:
            await self._r(self.redis.ping, force=True)
            return True
        except _Down:
            return False

    async def _restore(self, rooms: list[str], ttl_s: float) -> None:
        """Redis is back (perhaps empty): write this node's part of the fleet back, and queue a
        join for each of its people and NPCs so the room's owner announces them to every node."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for r in rooms:
                pipe.hgetall(self._users(r))
            there_all = await patient(pipe.execute())
        async with self.redis.pipeline(transaction=False) as pipe:
            self._restore_into(pipe, rooms, there_all)
            pipe.set(self._node(self.node_id), str(time.time()), px=max(1, int(ttl_s * 1000)))
            await patient(pipe.execute())
        self.local._inbox.clear()  # the islands' pending moves: superseded by the owner's rebuild

    def _restore_into(self, pipe, rooms: list[str], there_all: list) -> None:
        restored = 0
        for room, raw in zip(rooms, there_all):
            there = {_s(k): json.loads(v) for k, v in raw.items()}
            mine = self.local._members.get(room) or {}
            pos = self.link.last_pos.get(room) or {}
            for uid, rec in list(mine.items()):
                other = there.get(uid)
                if other is not None and other.get("sid") != rec.get("sid"):
                    del mine[uid]  # another tab of this person took the avatar over meanwhile
                    if self.local._where.get(uid) == room:
                        del self.local._where[uid]
                    continue
                x, y = pos.get(uid) or (rec.get("x", 1.0), rec.get("y", 1.0))
                rec = mine[uid] = {**rec, "x": x, "y": y}
                pipe.hset(self._users(room), uid, json.dumps(rec))
                pipe.set(self._user(uid), room)
                pipe.hset(self._pos(room), uid, f"{x},{y}")
                pipe.rpush(self._inbox(room), json.dumps({"op": "join", "id": uid, "kind": "user", "name": rec.get("name"),
                                                          "appearance": rec.get("appearance") or {}, "x": x, "y": y}))
                restored += 1
            for uid, rec in there.items():
                if rec.get("node") == self.node_id and uid not in mine:
                    pipe.hdel(self._users(room), uid)  # left while Redis was away
                    pipe.rpush(self._inbox(room), json.dumps({"op": "leave", "id": uid}))
            for npc_id, rec in (self.local._npcs.get(room) or {}).items():
                x, y = pos.get(npc_id) or (rec.get("x", 1.0), rec.get("y", 1.0))
                pipe.hset(self._npcs_key(room), npc_id, json.dumps(rec))
                pipe.rpush(self._inbox(room), json.dumps({"op": "join", "id": npc_id, "kind": "npc", **rec, "x": x, "y": y}))
        log.info("node %s wrote %d people back to Redis", self.node_id, restored)

    async def release_leases(self, rooms):
        if self.island or not self.link.up:
            return
        try:
            await self._r(lambda: self.redis.delete(self._node(self.node_id)))
            await self._r(lambda: self.leases.release(list(rooms)))
        except _Down:
            pass

    async def alive(self, nodes):
        nodes = sorted(nodes)
        if not nodes:
            return set()
        try:
            vals = await self._r(lambda: self.redis.mget([self._node(n) for n in nodes]))
        except _Down:
            return set(nodes)  # nobody is judged dead on a Redis that is not there
        return {n for n, v in zip(nodes, vals) if v is not None or n == self.node_id}
