"""Which node runs which resident: a Redis lease per resident, as rooms have (server/realtime/fleet.py).

The same take-or-renew script as the room leases, on keys `{prefix}resident:{id}:lease`: a node
takes every free lease and renews its own; a lease not renewed within the TTL lapses and another
node takes the resident over. With no Redis there is one node and it runs every resident.
While Redis is unreachable a lease counts as held only until 0.9 x TTL after its last renewal
(`LeaseSet`), so a resident stops here before another node can take it over.
"""

from __future__ import annotations

from server.realtime.fleet import LeaseSet


class LocalLeases:
    shared = False

    async def hold(self, ids: list[str], ttl_s: float) -> set[str]:
        return set(ids)

    async def release(self, ids: list[str]) -> None:
        pass

    async def owner(self, resident_id: str) -> str | None:
        return None


class RedisLeases:
    shared = True

    def __init__(self, redis, node_id: str, prefix: str = "ts:"):
        self.redis = redis
        self.node_id = node_id
        self.prefix = prefix
        self._set = LeaseSet(redis, node_id, self.key)

    def key(self, resident_id: str) -> str:
        return f"{self.prefix}resident:{resident_id}:lease"

    async def hold(self, ids: list[str], ttl_s: float) -> set[str]:
        if not ids:
            return set()
        return await self._set.hold(ids, ttl_s)

    async def release(self, ids: list[str]) -> None:
        await self._set.release(ids)

    async def owner(self, resident_id: str) -> str | None:
        v = await self.redis.get(self.key(resident_id))
        return v.decode() if isinstance(v, bytes) else v
