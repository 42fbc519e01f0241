"""Who is in which room, fleet-wide; each room's inbox of operations; which node owns which room.

Two implementations with one interface:
- `LocalFleet`: one process, plain dicts; this node owns every room.
- `RedisFleet`: many processes sharing Redis. Membership is a hash per room (capacity is checked
  and the member added in one Lua call), operations go to a list per room that the owner drains
  each tick, and ownership is a lease (SET NX PX, renewed by the owner, taken over when it lapses).

A membership record is a dict: {"sid", "node", "name", "appearance", "x", "y"}.
An operation is a dict with "op" in join / leave / move / profile (see server/world/runtime.py).
"""

from __future__ import annotations

import json
import time
from typing import Any

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

    async def where(self, uid: str) -> str | None:
        return self._where.get(uid)

    async def record(self, room: str, uid: str) -> Record | None:
        return (self._members.get(room) or {}).get(uid)

    async def members(self, room: str) -> dict[str, Record]:
        return dict(self._members.get(room) or {})

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

_DRAIN = """
local out = {}
for i, k in ipairs(KEYS) do
  local items = redis.call('LRANGE', k, 0, -1)
  if #items > 0 then redis.call('DEL', k) end
  out[i] = items
end
return out
"""

# Take every free lease, renew the ones we hold; 1 where this node holds the lease afterwards.
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

_UNLEASE = """
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 1
"""


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else v


class RedisFleet:
    """The same interface over Redis, for several world processes."""

    shared = True

    def __init__(self, redis, node_id: str, prefix: str = "ts:"):
        self.redis = redis
        self.node_id = node_id
        self.p = prefix
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._drain = redis.register_script(_DRAIN)
        self._leases = redis.register_script(_LEASES)
        self._unlease = redis.register_script(_UNLEASE)

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

    async def claim(self, room, uid, record, capacity):
        status, prev, old = await self._claim(keys=[self._users(room), self._user(uid)],
                                              args=[uid, json.dumps(record), capacity, room])
        prev, old = _s(prev), _s(old)
        return _s(status), (prev or None), (json.loads(old) if old else None)

    async def release(self, room, uid, sid):
        return bool(await self._release(keys=[self._users(room), self._user(uid)], args=[uid, sid, room]))

    async def where(self, uid):
        v = await self.redis.get(self._user(uid))
        return _s(v) if v else None

    async def record(self, room, uid):
        v = await self.redis.hget(self._users(room), uid)
        return json.loads(v) if v else None

    async def members(self, room):
        raw = await self.redis.hgetall(self._users(room))
        return {_s(k): json.loads(v) for k, v in raw.items()}

    async def counts(self, rooms):
        pipe = self.redis.pipeline(transaction=False)
        for r in rooms:
            pipe.hlen(self._users(r))
        return dict(zip(rooms, await pipe.execute()))

    async def npc_set(self, room, npc_id, record):
        if record is None:
            await self.redis.hdel(self._npcs_key(room), npc_id)
        else:
            await self.redis.hset(self._npcs_key(room), npc_id, json.dumps(record))

    async def npcs(self, room):
        raw = await self.redis.hgetall(self._npcs_key(room))
        return {_s(k): json.loads(v) for k, v in raw.items()}

    def _pos(self, room: str) -> str:
        return f"{self.p}room:{room}:pos"

    async def save_positions(self, changes):
        """{room: ({id: (x, y)} moved, [ids] gone)} in one round trip."""
        if not changes:
            return
        pipe = self.redis.pipeline(transaction=False)
        for room, (moved, gone) in changes.items():
            if moved:
                pipe.hset(self._pos(room), mapping={k: f"{x},{y}" for k, (x, y) in moved.items()})
            if gone:
                pipe.hdel(self._pos(room), *gone)
        await pipe.execute()

    async def positions(self, room):
        raw = await self.redis.hgetall(self._pos(room))
        out = {}
        for k, v in raw.items():
            x, y = _s(v).split(",")
            out[_s(k)] = (float(x), float(y))
        return out

    async def push(self, room, op):
        await self.redis.rpush(self._inbox(room), json.dumps(op, separators=(",", ":")))

    async def drain(self, rooms):
        if not rooms:
            return {}
        lists = await self._drain(keys=[self._inbox(r) for r in rooms])
        return {r: [json.loads(x) for x in items] for r, items in zip(rooms, lists) if items}

    async def hold_leases(self, rooms, ttl_s):
        ttl_ms = max(1, int(ttl_s * 1000))
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self._node(self.node_id), str(time.time()), px=ttl_ms)
        if rooms:
            await self._leases(keys=[self._lease(r) for r in rooms], args=[self.node_id, ttl_ms], client=pipe)
        res = await pipe.execute()
        held = res[1] if rooms else []
        return {r for r, h in zip(rooms, held) if h}

    async def release_leases(self, rooms):
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(self._node(self.node_id))
        if rooms:
            await self._unlease(keys=[self._lease(r) for r in rooms], args=[self.node_id], client=pipe)
        await pipe.execute()

    async def alive(self, nodes):
        nodes = sorted(nodes)
        if not nodes:
            return set()
        vals = await self.redis.mget([self._node(n) for n in nodes])
        return {n for n, v in zip(nodes, vals) if v is not None or n == self.node_id}
