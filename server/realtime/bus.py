"""Room events to every node: applied here at once, and published to the other nodes through Redis.

A room's events (presence, ticks, chat lines, emotes) are published by one node and fanned out
by every node to its own connections in that room, with the encode-once path of `Fanout`.
Observers (the occupant mirror) see each room event on every node, in the order published.
Control messages (`evict` a connection from a room; typed in `server.realtime.control`, read by
`ctx.realtime`) travel on the same channel as flat dicts.

While Redis is away (`RedisLink.up` false) nothing is published: each node's own connections
still get every event of the rooms it runs. Owner events (ticks, presence) of a room whose lease
turned out to be another node's are dropped here (fencing; see fleet.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from server.realtime.fanout import Fanout
from server.realtime.hub import room_channel
from server.realtime.redis_link import REDIS_ERRORS, bounded, link_of

log = logging.getLogger(__name__)

ROOM_TAGGED = frozenset({"presence:join", "presence:leave", "emote"})
# Events only a room's owner publishes: a fenced former owner must not send them.
OWNER_EVENTS = frozenset({"world:tick", "presence:join", "presence:leave"})

Event = tuple[str, Any]
Observer = Callable[[str, list[Event]], None]
ControlHandler = Callable[[dict], Awaitable[None]]


class Bus:
    def __init__(self, fanout: Fanout, node_id: str, redis=None, channel: str = "ts:bus"):
        self.fanout = fanout
        self.node_id = node_id
        self.redis = redis
        self.channel = channel
        self.link = link_of(redis) if redis is not None else None
        self.observers: list[Observer] = []
        self.on_control: list[ControlHandler] = []
        self.on_resync: list[Callable[[], Awaitable[None]]] = []
        self._task: asyncio.Task | None = None
        self._subscribed = asyncio.Event()
        self.frames = None  # server.realtime.frames.Frames: wire-2 connections get world:frame, not world:tick

    # -- publishing -----------------------------------------------------------------------
    async def publish(self, room: str, events: list[Event], skip_sid: str | None = None) -> None:
        await self.publish_many([(room, events, skip_sid)])

    async def publish_many(self, batches: list[tuple[str, list[Event], str | None]]) -> None:
        """Deliver each room's events here, then to the other nodes in one Redis round trip."""
        if self.link is not None and self.link.fenced:
            batches = [(room, [e for e in events if e[0] not in OWNER_EVENTS] if room in self.link.fenced else events,
                        skip_sid) for room, events, skip_sid in batches]
            batches = [b for b in batches if b[1]]
        for room, events, skip_sid in batches:
            self.deliver(room, events, skip_sid)
        if self.redis is not None and batches and self.link.up:
            msgs = [json.dumps({"k": "room", "n": self.node_id, "r": room, "e": events, "s": skip_sid},
                               separators=(",", ":")) for room, events, skip_sid in batches]

            async def send():
                async with self.redis.pipeline(transaction=False) as pipe:
                    for m in msgs:
                        pipe.publish(self.channel, m)
                    return await pipe.execute()
            try:
                await bounded(send, self.link)
            except REDIS_ERRORS:  # this node's people got them; the others are cut off until Redis returns
                pass

    async def control(self, message: dict) -> None:
        """A message for whichever node can act on it (this one included)."""
        message = {**message, "k": "ctl", "n": self.node_id}
        await self._control(message)
        if self.redis is not None and self.link.up:
            try:
                await bounded(lambda: self.redis.publish(self.channel, json.dumps(message)), self.link)
            except REDIS_ERRORS:
                pass

    def deliver(self, room: str, events: list[Event], skip_sid: str | None = None) -> None:
        if self.link is not None:
            self.link.track(room, events)
        for observe in self.observers:
            try:
                observe(room, events)
            except Exception:
                log.exception("room observer failed")
        # Presence and emotes name their room, so a client that just switched rooms can drop a late one.
        frames = self.frames
        channel = room_channel(room)
        packets = []
        for name, data in events:
            if name == "world:tick" and frames is not None:
                if packets:  # what came before the tick goes first, to everyone
                    self.fanout.send(channel, packets, skip_sid)
                    packets = []
                wire2 = frames.tick(room, data, skip_sid)
                self.fanout.send(channel, lambda data=data: [self.fanout.packet("world:tick", data)], skip_sid, exclude=wire2)
                continue
            if name == "presence:join" and frames is not None:  # wire 2 gets the body's number with it
                if packets:
                    self.fanout.send(channel, packets, skip_sid)
                    packets = []
                data = {**data, "room": room}
                wire2 = frames.presence(room, data, skip_sid)
                self.fanout.send(channel, [self.fanout.packet(name, data)], skip_sid, exclude=wire2)
                continue
            if name in ROOM_TAGGED:
                data = {**data, "room": room}
            packets.append(self.fanout.packet(name, data))
        if packets:
            self.fanout.send(channel, packets, skip_sid)

    async def _control(self, message: dict) -> None:
        for handler in self.on_control:
            try:
                await handler(message)
            except Exception:
                log.exception("control handler failed for %s", message.get("op"))

    # -- receiving ------------------------------------------------------------------------
    async def start(self) -> None:
        if self.redis is None:
            return
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="bus-listen")
        await asyncio.wait_for(self._subscribed.wait(), 10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _listen(self) -> None:
        first = True
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                if not first:
                    # Events published while we were away are lost: rebuild what we mirror.
                    for resync in self.on_resync:
                        await resync()
                first = False
                async for msg in pubsub.listen():
                    if msg.get("type") != "message":
                        continue
                    try:
                        data = json.loads(msg["data"])
                    except ValueError:
                        continue
                    if not isinstance(data, dict):  # not ours: dropped, not a lost subscription
                        continue
                    if data.get("n") == self.node_id:
                        continue
                    if data.get("k") == "room":
                        self.deliver(data["r"], [tuple(e) for e in data["e"]], data.get("s"))
                    elif data.get("k") == "ctl":
                        await self._control(data)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("room bus lost Redis (%s); reconnecting", e)
                self.link.failed(e)
                await asyncio.sleep(0.5)
            finally:
                try:  # bounded: closing a pubsub can stall in redis-py (redis/redis-py#3941)
                    await asyncio.wait_for(pubsub.aclose(), 2.0)
                except Exception:
                    pass
