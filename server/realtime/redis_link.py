"""Is Redis there, as this node sees it: one `RedisLink` per Redis client, shared by the fleet,
the room bus, the resident leases and the Socket.IO manager.

When a Redis call fails the link goes `down` and everything that uses it serves this node's own
people from memory (see fleet.py); nothing retries Redis on the hot path until the fleet's lease
loop finds it again (`probe`), brings this node's part of the shared state back and says `up`.
`/healthz` and the admin console's live figures show `figures()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any

import socketio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# What a lost Redis looks like from redis-py: its own errors, a refused or reset socket, a timeout.
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
# Every Redis call on the fleet's paths is bounded by this: a Redis that hangs is a Redis that is down.
# Not shorter: a busy 2-core box stalls an event loop for a second or two, which is not an outage.
CALL_TIMEOUT_S = 5.0
# How often a pending call's clock checks whether this node's own event loop kept time.
_CLOCK_SLICE_S = 0.25


class RedisLink:
    def __init__(self) -> None:
        self.up = True
        self.down_since: float | None = None
        self.last_error: str | None = None
        self.outages = 0
        self.last_outage_s: float | None = None
        # Last position of every body this node saw in room events: where an island starts people.
        self.last_pos: dict[str, dict[str, tuple[float, float]]] = {}
        # Rooms whose lease this node found taken by another: their owner events are not published.
        self.fenced: set[str] = set()

    def failed(self, exc: BaseException | str) -> None:
        self.last_error = exc if isinstance(exc, str) else f"{exc.__class__.__name__}: {exc}"
        if self.up:
            self.up = False
            self.down_since = time.time()
            self.outages += 1
            log.warning("Redis unreachable (%s): serving this node's people on their own until it returns",
                        self.last_error)

    def recovered(self) -> None:
        if not self.up:
            self.last_outage_s = round(time.time() - (self.down_since or time.time()), 3)
            log.warning("Redis is back after %.1f s: fleet-wide rooms, presence and leases restored",
                        self.last_outage_s)
        self.up = True
        self.down_since = None

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": "ok" if self.up else "down", "outages": self.outages}
        if not self.up:
            out["down_for_s"] = round(time.time() - (self.down_since or time.time()), 1)
            out["since"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.down_since or 0))
            out["mode"] = "each node serves its own people; no fleet-wide fan-out, presence or leases"
        if self.last_error:
            out["last_error"] = self.last_error
        if self.last_outage_s is not None:
            out["last_outage_s"] = self.last_outage_s
        return out

    def track(self, room: str, events: list) -> None:
        """Keep the last position of each body from room events (the bus calls this on every node)."""
        pos = self.last_pos.setdefault(room, {})
        for name, data in events:
            if name == "world:tick":
                for m in data["moves"]:
                    pos[m[0]] = (m[1], m[2])
            elif name == "presence:join":
                pos[data["id"]] = (data["x"], data["y"])
            elif name == "presence:leave":
                pos.pop(data["id"], None)


async def patient(aw, budget: float | None = None):
    """`await aw`, raising TimeoutError once it has taken `budget` seconds (CALL_TIMEOUT_S) of time
    this node's event loop kept: while the loop is busy elsewhere (a thousand people joining one
    room) its timers fire late, Redis's reply waits unread, and that lateness is not counted
    against Redis. A loop that was never late gives up after `budget` seconds, as wait_for would."""
    loop = asyncio.get_running_loop()
    left = CALL_TIMEOUT_S if budget is None else budget
    async with asyncio.timeout(None) as deadline:
        def check(due: float, since: float) -> None:
            nonlocal left, handle
            left -= due - since  # the time the loop had; how late this check runs is the loop's own
            now = loop.time()
            if left <= 0:
                deadline.reschedule(now)
            else:
                step = min(_CLOCK_SLICE_S, left)
                handle = loop.call_at(now + step, check, now + step, now)
        start = loop.time()
        step = min(_CLOCK_SLICE_S, left)
        handle = loop.call_at(start + step, check, start + step, start)
        try:
            return await aw
        finally:
            handle.cancel()


async def bounded(fn, link: RedisLink):
    """`await fn()` within CALL_TIMEOUT_S (of `patient` time), once more on a fresh connection when
    a pooled one from before an outage fails; any failure marks the link down and is raised."""
    for attempt in range(2):
        try:
            return await patient(fn())
        except RedisConnectionError as e:
            if attempt:
                link.failed(e)
                raise
        except REDIS_ERRORS as e:
            link.failed(e)
            raise


_LINKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def link_of(redis) -> RedisLink:
    """The link of one Redis client (created on first use)."""
    link = _LINKS.get(redis)
    if link is None:
        link = _LINKS[redis] = RedisLink()
    return link


class ResilientRedisManager(socketio.AsyncRedisManager):
    """python-socketio's Redis manager, minus its outage behaviour that hurt us: it retried a
    publish (a connect each time) on every emit while Redis was gone, and its listener backed off
    up to 60 s, so cross-node `to_user` stayed dark for up to a minute after Redis came back.
    Local delivery is unaffected: `emit` hands the message to this node's clients first."""

    def __init__(self, url: str, link: RedisLink, **kw):
        kw.setdefault("redis_options", {"socket_connect_timeout": CALL_TIMEOUT_S})
        super().__init__(url, **kw)
        self.link = link

    async def _publish(self, data):
        if not self.link.up:
            return  # the fleet's probe says when to try again
        for attempt in range(2):  # a connection left over from before an outage fails once: retry on a fresh one
            try:
                if not self.connected:
                    self._redis_connect()
                return await patient(self.redis.publish(self.channel, self.json.dumps(data)))
            except Exception as exc:
                self.connected = False
                if attempt:
                    self.link.failed(exc)

    async def _redis_listen_with_retries(self):  # pragma: no cover - exercised by the chaos tests
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.link.failed(exc)
                subscribed = False
                await asyncio.sleep(0.5)  # a fixed short pause: Redis back means fan-out back within a second
