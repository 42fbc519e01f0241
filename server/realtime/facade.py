"""How domains reach people and other nodes: one object built in app.py over the fan-out, the
fleet, the bus and leases. Services send through it (`ctx.realtime`) instead of reaching through
the rooms service, and none of them holds the Socket.IO server. Control messages are typed
(`server.realtime.control`) and handled per type."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from server.realtime.bus import Bus, Event, Observer
from server.realtime.control import BadControl, Control
from server.realtime.fanout import Fanout
from server.realtime.fleet import LocalFleet, RedisFleet
from server.realtime.frames import Frames, Interest
from server.realtime.leases import Leases, LocalLeases, RedisLeases

if TYPE_CHECKING:
    import socketio

    from server.realtime.hub import Connection, Hub

C = TypeVar("C", bound=Control)

log = logging.getLogger(__name__)


class Realtime:
    """A thin facade: the parts stay as they are (`fanout`, `fleet`, `bus`); the world's room
    services run the fleet, every domain sends through the methods below."""

    def __init__(self, sio: socketio.AsyncServer, hub: Hub, node_id: str, redis=None, *, prefix: str = "ts:",
                 send_queue_limit: int = 256):
        self._sio = sio
        self.hub = hub
        self.node_id = node_id
        self._redis = redis
        self._prefix = prefix
        self.fanout = Fanout(sio, send_queue_limit)
        self.fleet = RedisFleet(redis, node_id, prefix) if redis is not None else LocalFleet(node_id)
        self.bus = Bus(self.fanout, node_id, redis, channel=f"{prefix}bus")
        self._kinds: dict[str, type[Control]] = {}  # op -> its message type
        self._handlers: dict[str, list[Callable[[Any], Awaitable[None]]]] = {}
        self.bus.on_control.append(self._dispatch)
        self.frames: Frames | None = None

    @property
    def shared(self) -> bool:
        """Several nodes share the world (Redis)."""
        return self.fleet.shared

    # -- sending ----------------------------------------------------------------------------------
    async def to_room(self, room: str, events: list[Event], skip_sid: str | None = None) -> None:
        """Room events to everyone in the room on every node, in order (the bus)."""
        await self.bus.publish(room, events, skip_sid)

    async def to_rooms(self, batches: list[tuple[str, list[Event], str | None]]) -> None:
        """Several rooms' events (room, events, skip_sid) in one round trip: a tick's."""
        await self.bus.publish_many(batches)

    async def to_user(self, user_id: Any, event: str, data: Any) -> None:
        """One event to every socket of a person, on any node."""
        await self.hub.to_user(user_id, event, data)

    def to_sid_now(self, sid: str, event: str, data: Any) -> bool:
        """Straight onto one local socket's queue, ahead of anything sent after (a kick before its disconnect)."""
        return self.fanout.send_to_sid(sid, [self.fanout.packet(event, data)])

    async def drop(self, sid: str, event: str, data: Any) -> None:
        """Tell a local socket why (`event`), then close it."""
        self.to_sid_now(sid, event, data)
        await self._sio.disconnect(sid)

    async def join_channel(self, sid: str, channel: str) -> None:
        await self._sio.enter_room(sid, channel)

    async def leave_channel(self, sid: str, channel: str) -> None:
        await self._sio.leave_room(sid, channel)

    # -- local connections --------------------------------------------------------------------------
    def connection(self, sid: str | None) -> Connection | None:
        return self.hub.connections.get(sid) if sid is not None else None

    def connections_of(self, user_id: Any) -> list[Connection]:
        """This node's connections of a person."""
        return self.hub.connections_of(user_id) if user_id is not None else []

    def connections(self) -> list[Connection]:
        """Every connection on this node."""
        return list(self.hub.connections.values())

    # -- control messages: to every node (this one too), handled per type -------------------------
    async def control(self, message: Control) -> None:
        """Every node's handlers of this message's type run (this node's first, here)."""
        await self.bus.control(message.to_wire())

    def handle(self, kind: type[C], handler: Callable[[C], Awaitable[None]]) -> None:
        """Run `handler(message)` for each control message of this type (on every node)."""
        known = self._kinds.setdefault(kind.op, kind)
        if known is not kind:
            raise ValueError(f"control op {kind.op!r} is {known.__qualname__} already, not {kind.__qualname__}")
        self._handlers.setdefault(kind.op, []).append(handler)

    async def _dispatch(self, raw: dict) -> None:
        op = raw.get("op")
        kind = self._kinds.get(op) if isinstance(op, str) else None
        if kind is None:  # a newer node's message, or a domain not run here: nothing to do with it
            log.warning("control message with unknown op %r dropped", op)
            return
        try:
            message = kind.from_wire(raw)
        except BadControl as e:
            log.warning("malformed control message dropped: %s", e)
            return
        for handler in self._handlers[op]:
            try:
                await handler(message)
            except Exception:  # one handler's failure must not keep the others from the message
                log.exception("control handler %s failed for %s", getattr(handler, "__qualname__", handler), op)

    # -- hearing the rooms ------------------------------------------------------------------------
    def observe(self, observer: Observer) -> None:
        """`observer(room, events)` sees each room's events on every node, in published order."""
        self.bus.observers.append(observer)

    def on_resync(self, fn: Callable[[], Awaitable[None]]) -> None:
        """`fn()` after this node's bus subscription came back: room events published meanwhile are lost."""
        self.bus.on_resync.append(fn)

    # -- wire 2 ---------------------------------------------------------------------------------------
    def use_frames(self, mirror, interest_of: Callable[[str], Interest | None]) -> None:
        """Wire-2 connections get `world:frame`s (server/realtime/frames.py), numbered by `mirror`."""
        self.frames = self.bus.frames = Frames(self.hub, self.fanout, mirror, interest_of)

    def flush_frames(self) -> None:
        """End of a tick: the frames due (folded acks included) go out."""
        if self.frames is not None:
            self.frames.flush()

    # -- the bus's life -------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.bus.start()

    async def stop(self) -> None:
        await self.bus.stop()

    # -- who is where -----------------------------------------------------------------------------
    async def where(self, user_id: str) -> str | None:
        """The room a person is in, on any node."""
        return await self.fleet.where(user_id)

    async def members(self, room: str) -> dict[str, dict]:
        """The people in a room (id -> record), on every node."""
        return await self.fleet.members(room)

    # -- leases -----------------------------------------------------------------------------------
    def leases(self, kind: str) -> Leases:
        """Which node runs which `kind` of thing ("resident"): Redis leases with several nodes, all
        local with one."""
        if self._redis is None:
            return LocalLeases()
        return RedisLeases(self._redis, self.node_id, kind, self._prefix)
