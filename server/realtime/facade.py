"""How domains reach people and other nodes: one object built in app.py over the fan-out, the
fleet, the bus and leases. Services send through it (`ctx.realtime`) instead of reaching through
the rooms service, and none of them holds the Socket.IO server."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from server.realtime.bus import Bus, ControlHandler, Event, Observer
from server.realtime.fanout import Fanout
from server.realtime.fleet import LocalFleet, RedisFleet
from server.realtime.leases import Leases, LocalLeases, RedisLeases

if TYPE_CHECKING:
    import socketio

    from server.realtime.hub import Hub

log = logging.getLogger(__name__)


class Realtime:
    """A thin facade: the parts stay as they are (`fanout`, `fleet`, `bus`) for the rooms service
    that runs them; every other domain uses the methods below."""

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
        self._ops: dict[str, list[ControlHandler]] = {}
        self.bus.on_control.append(self._dispatch)

    @property
    def shared(self) -> bool:
        """Several nodes share the world (Redis)."""
        return self.fleet.shared

    # -- sending ----------------------------------------------------------------------------------
    async def to_room(self, room: str, events: list[Event], skip_sid: str | None = None) -> None:
        """Room events to everyone in the room on every node, in order (the bus)."""
        await self.bus.publish(room, events, skip_sid)

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

    # -- control messages: to every node (this one too), handled per op ---------------------------
    async def control(self, message: dict) -> None:
        """`message["op"]` names it; every node's handlers for that op run."""
        await self.bus.control(message)

    def handle(self, op: str, handler: Callable[[dict], Awaitable[None]]) -> None:
        """Run `handler(message)` for each control message of this op (on every node)."""
        self._ops.setdefault(op, []).append(handler)

    async def _dispatch(self, message: dict) -> None:
        for handler in self._ops.get(message.get("op"), ()):
            try:
                await handler(message)
            except Exception:  # one handler's failure must not keep the others from the message
                log.exception("control handler %s failed for %s", getattr(handler, "__qualname__", handler),
                              message.get("op"))

    # -- hearing the rooms ------------------------------------------------------------------------
    def observe(self, observer: Observer) -> None:
        """`observer(room, events)` sees each room's events on every node, in published order."""
        self.bus.observers.append(observer)

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
