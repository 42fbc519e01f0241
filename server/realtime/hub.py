"""The event router: every client -> server event goes through `Hub.on`.

It validates the payload with pydantic, applies the per-user rate limit, calls the handler and
shapes the ack as design.md section 3 says. Handlers stay a few lines; rules live in services.
"""

from __future__ import annotations

import logging
import time
import uuid
import zlib
from bisect import bisect_right
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
from limits import RateLimitItem, RateLimitItemPerSecond, parse
from prometheus_client import REGISTRY
from pydantic import BaseModel, ConfigDict, ValidationError

from server.protocol import ProtocolError, error, ok
from server.realtime.eventstats import EventStats
from server.rest import check_json, validation_message

log = logging.getLogger(__name__)

EVENT_STATS = EventStats()  # townsquare_socket_events_total and townsquare_socket_event_seconds
REGISTRY.register(EVENT_STATS)


class Payload(BaseModel):
    """Base for event payloads: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Empty(Payload):
    pass


@dataclass(slots=True)  # one per connected socket: no per-instance __dict__
class Connection:
    """One Socket.IO connection of an authenticated user, on this node."""

    sid: str
    user_id: uuid.UUID
    username: str
    role: str
    language: str
    display_name: str
    room: str | None = None  # slug of the room this connection is in
    wire: int = 1  # 2: room ticks as compact `world:frame`s, acks of `s`-tagged moves folded in (frames.py)
    acks: list = field(default_factory=list)  # folded acks waiting for this connection's next frame
    area: tuple | None = None  # (room, cell size and view, cells, keep box) of its last interest-managed frame (frames.py)
    view: tuple[float, float] | None = None  # the tiles its screen shows (w, h), as the client said (room:join, view)
    connected_at: float = field(default_factory=time.monotonic)
    data: dict[str, Any] = field(default_factory=dict)
    # str(user_id), once: the move path and every tick read it per connection (a UUID's str is ~0.5 us)
    uid: str = field(init=False, repr=False, compare=False)
    # a stable number per connection that staggers periodic sends over the clients (frames.py's far updates)
    spread: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.uid = str(self.user_id)
        self.spread = zlib.crc32(self.sid.encode())

    def require_room(self) -> str:
        if self.room is None:
            raise ProtocolError("not_found", "join a room first")
        return self.room


Handler = Callable[[Connection, Any], Awaitable[dict[str, Any] | None]]


class RateLimiter:
    """Moving-window limits per (event, user), in this process.

    limits' async MemoryStorage sweeps expired entries with one thread hop per key, over and
    over while requests keep coming: at hundreds of people moving that kept a core busy. This
    does the same moving window with a list of hit times per key (at most the limit's amount,
    a few: a list is ~90 bytes where an empty deque is 760, per person and event) and a sweep once
    a minute.
    """

    SWEEP_S = 60.0

    def __init__(self) -> None:
        self._windows: dict[str, tuple[dict[str, list[float]], float]] = {}  # event -> (who -> hit times, period)
        self._next_sweep = time.monotonic() + self.SWEEP_S

    def window(self, limit: RateLimitItem, event: str) -> Callable[[str], bool]:
        """`hit(who)` for one event's limit, its amount and period read once rather than per hit."""
        amount, period = limit.amount, limit.get_expiry()
        entry = self._windows.get(event)
        if entry is None or entry[1] != period:
            entry = self._windows[event] = ({}, period)
        table = entry[0]
        monotonic = time.monotonic

        def hit(who: str) -> bool:
            now = monotonic()
            if now >= self._next_sweep:
                self._sweep(now)
            hits = table.get(who)
            if hits is None:
                hits = table[who] = []
            elif hits and hits[0] <= now - period:
                del hits[:bisect_right(hits, now - period)]  # hit times are appended in order
            if len(hits) >= amount:
                return False
            hits.append(now)
            return True

        return hit

    def hit(self, limit: RateLimitItem, event: str, who: str) -> bool:
        return self.window(limit, event)(who)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.SWEEP_S
        for table, period in self._windows.values():
            for who in [w for w, hits in table.items() if not hits or hits[-1] <= now - period]:
                del table[who]


def numbers_only(schema: type[BaseModel]) -> bool:
    """Every field of the schema is a number, a bool or null (no text anywhere in it)."""
    try:
        props = schema.model_json_schema().get("properties", {})
    except Exception:  # a type JSON Schema cannot describe: treat it as text
        return False

    def plain(node: dict) -> bool:
        if "anyOf" in node:
            return all(plain(n) for n in node["anyOf"])
        return node.get("type") in ("number", "integer", "boolean", "null")

    return all(plain(p) for p in props.values())


def user_channel(user_id: uuid.UUID | str) -> str:
    """The Socket.IO room every connection of a user joins: reaches them on any node."""
    return f"user:{user_id}"


def room_channel(slug: str) -> str:
    return f"room:{slug}"


class Hub:
    def __init__(self, sio: socketio.AsyncServer):
        self.sio = sio
        self.connections: dict[str, Connection] = {}
        self._limiter = RateLimiter()
        self.handlers: dict[str, Handler] = {}
        self.schemas: dict[str, type[BaseModel]] = {}  # each event's payload schema
        self.folded: set[str] = set()  # sids with folded acks waiting for a frame (server/realtime/frames.py)
        # event -> dispatch_now(sid, data) -> bool: the event handled in the caller's stack (Hub.on's `now`)
        self.now: dict[str, Callable[[str, Any], bool]] = {}
        # Lifecycle hooks domains add to: a connect hook may refuse with ProtocolError.
        self.on_connect: list[Callable[[Connection], Awaitable[None]]] = []
        self.on_disconnect: list[Callable[[Connection], Awaitable[None]]] = []

    def on(self, event: str, schema: type[BaseModel] = Empty, *, rate: str | None = None, fold: bool = False,
           now: tuple[Callable[[Connection], bool], Callable[[Connection, Any], dict | None]] | None = None):
        """Register `handler(conn, payload)`; `rate` is a limits string such as "5/second".

        `fold`: a wire-2 client may tag the event with `"s"` (its sequence number) instead of asking
        for a Socket.IO ack; the reply then rides in its next `world:frame` as `[s, reply]`.

        `now = (ready, handler_now)`: a synchronous twin of the handler. For an un-acked event read in
        the socket's data_received (transport.py), `self.now[event](sid, data)` runs the same checks
        (in the same order, with the same errors, counts and rate limit) and `handler_now` in the
        caller's stack, no task or coroutine; it returns False without side effects when
        `ready(conn)` says the handler may have to wait (the event then goes the usual way)."""
        hit = self._limiter.window(parse(rate), event) if rate else None
        # Payloads with text in them go through the text rule as a whole (server/rest.check_json) before
        # the schema's own types; a numbers-only payload (move) skips that walk.
        textual = not numbers_only(schema)
        tally = EVENT_STATS.tally(event).add  # (result, seconds): counted and timed for /metrics
        validate = schema.__pydantic_validator__.validate_python  # model_validate without its Python wrapper

        def deco(fn: Handler) -> Handler:
            def split(data: Any) -> tuple[Any, Any]:
                """A folded ack's number `s` taken out of the payload: (payload, seq or None)."""
                if fold and type(data) is dict and "s" in data:
                    data = dict(data)
                    return data, data.pop("s")
                return data, None

            def fold_ack(conn: Connection, sid: str, seq: Any, reply: dict[str, Any]) -> None:
                """A tagged event's reply, for its wire-2 client's next frame (callers pass a seq only)."""
                if conn.wire == 2:
                    conn.acks.append([seq, reply])
                    self.folded.add(sid)

            async def dispatch(sid: str, data: Any = None) -> dict[str, Any] | None:
                data, seq = split(data)
                reply = await run(sid, data, seq)
                if seq is not None and (conn := self.connections.get(sid)) is not None:
                    fold_ack(conn, sid, seq, reply)
                return reply

            def admit(conn: Connection, data: Any, seq: Any) -> Any:
                """The checks before the handler, shared by both paths: the payload, or ProtocolError."""
                if seq is not None and (type(seq) is not int or not 0 <= seq < 2**31 or conn.wire != 2):
                    raise ProtocolError("invalid_payload", "s is a folded ack's number (0 to 2^31-1), for wire 2 only")
                if hit is not None and not hit(conn.uid):
                    raise ProtocolError("rate_limited", f"too many {event} requests, slow down")
                if textual and data is not None:
                    check_json(data)
                try:
                    return validate({} if data is None else data)
                except ValidationError as e:
                    raise ProtocolError("invalid_payload", validation_message(e)) from None

            async def run(sid: str, data: Any, seq: Any) -> dict[str, Any]:
                started = time.perf_counter()
                result = "ok"
                try:
                    conn = self.connections.get(sid)
                    if conn is None:
                        result = "unauthorized"
                        return error("unauthorized", "not authenticated")
                    reply = await fn(conn, admit(conn, data, seq))
                    return ok(**(reply or {}))
                except ProtocolError as e:
                    result = e.code
                    return {"ok": False, "error": e.to_dict()}
                except Exception:
                    result = "internal"
                    log.exception("event %s failed", event)
                    return error("internal", "internal error")
                finally:
                    tally(result, time.perf_counter() - started)

            if now is not None:
                ready, fn_now = now

                def dispatch_now(sid: str, data: Any) -> bool:
                    conn = self.connections.get(sid)
                    if conn is None or not ready(conn):
                        return False
                    data, seq = split(data)
                    started = time.perf_counter()
                    result = "ok"
                    try:
                        reply = fn_now(conn, admit(conn, data, seq))
                        if seq is not None:  # an un-tagged event's reply goes nowhere: not built
                            reply = ok(**(reply or {}))
                    except ProtocolError as e:
                        result = e.code
                        reply = {"ok": False, "error": e.to_dict()}
                    except Exception:
                        result = "internal"
                        log.exception("event %s failed", event)
                        reply = error("internal", "internal error")
                    finally:
                        tally(result, time.perf_counter() - started)
                    if seq is not None:
                        fold_ack(conn, sid, seq, reply)
                    return True

                self.now[event] = dispatch_now
            self.handlers[event] = fn
            self.schemas[event] = schema
            self.sio.on(event)(dispatch)
            return fn

        return deco

    def connections_of(self, user_id: uuid.UUID | str) -> list[Connection]:
        uid = str(user_id)
        return [c for c in self.connections.values() if c.uid == uid]

    async def to_user(self, user_id: uuid.UUID | str, event: str, data: Any) -> None:
        """Deliver to every connection of a user, on whichever node they are."""
        await self.sio.emit(event, data, room=user_channel(user_id))

    async def to_room(self, slug: str, event: str, data: Any, *, skip_sid: str | None = None) -> None:
        await self.sio.emit(event, data, room=room_channel(slug), skip_sid=skip_sid)


__all__ = ["Hub", "Connection", "Payload", "Empty", "user_channel", "room_channel", "RateLimitItemPerSecond"]
