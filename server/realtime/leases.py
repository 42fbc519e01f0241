"""Which node runs which thing (a resident): one Redis lease per thing, as rooms have (fleet.py).

The fleet's take-or-renew script (`LeaseSet`) on keys `{prefix}{kind}:{id}:lease`: a node takes
every free lease and renews its own; a lease not renewed within the TTL lapses and another node
takes the thing over. With no Redis there is one node and it runs everything. While Redis is
unreachable a lease counts as held only until 0.9 x TTL after its last renewal, so a thing stops
here before another node can take it over.
"""

from __future__ import annotations

from typing import Protocol

from server.realtime.fleet import LeaseSet
from server.realtime.keeper import LeaseKeeper


class Leases(Protocol):
    shared: bool

    async def hold(self, ids: list[str], ttl_s: float) -> set[str]: ...

    async def release(self, ids: list[str]) -> None: ...

    async def owner(self, id_: str) -> str | None: ...


class LocalLeases:
    shared = False

    async def hold(self, ids: list[str], ttl_s: float) -> set[str]:
        return set(ids)

    async def release(self, ids: list[str]) -> None:
        pass

    async def owner(self, id_: str) -> str | None:
        return None


class RedisLeases:
    shared = True

    def __init__(self, redis, node_id: str, kind: str, prefix: str = "ts:"):
        self.redis = redis
        self.node_id = node_id
        self.kind = kind
        self.prefix = prefix
        self._set = LeaseSet(redis, node_id, self.key)

    def key(self, id_: str) -> str:
        return f"{self.prefix}{self.kind}:{id_}:lease"

    async def hold(self, ids: list[str], ttl_s: float) -> set[str]:
        if not ids:
            return set()
        return await self._set.hold(ids, ttl_s)

    async def release(self, ids: list[str]) -> None:
        await self._set.release(ids)

    def keeper(self, url: str, ttl_s: float) -> LeaseKeeper:
        """The thread that renews the leases held here while this node's loop is busy (keeper.py)."""
        return self._set.keeper(url, ttl_s)

    async def owner(self, id_: str) -> str | None:
        v = await self.redis.get(self.key(id_))
        return v.decode() if isinstance(v, bytes) else v
