"""The wire's door: what reaches the handlers is an authenticated socket sending JSON events.

- A socket that has not authenticated (Socket.IO CONNECT with a good token) within
  `auth_timeout_s` of opening is closed: an engine.io session that never sends CONNECT, or whose
  auth failed, would otherwise be kept (and pinged) forever.
- A frame that does not parse (bad JSON, nesting too deep, a huge number, an event that is not
  `[name, payload?]`) is answered `invalid_payload` when its ack id can be read, and logged as one
  throttled line instead of a traceback per frame; a client that sends `bad_frame_limit` of them
  within `bad_frame_window_s` is disconnected.
- Binary packets are refused: our events are JSON only, and a BINARY_EVENT header whose
  attachments never come would otherwise take every later frame of that socket as an attachment.
- An event nobody handles is acked `not_found` (without an ack the client waits for its timeout).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

import socketio
from prometheus_client import Counter
from socketio import packet as sio_packet

from server.protocol import error

log = logging.getLogger(__name__)

BAD_FRAMES = Counter("townsquare_bad_frames_total", "Client frames refused before any handler", ["why"])
UNAUTHENTICATED_CLOSED = Counter("townsquare_unauthenticated_closed_total",
                                 "Sockets closed for not authenticating in time")

LOG_EVERY_S = 10.0  # at most one bad-frame log line per this many seconds, per process


def same_origins(environ: dict) -> set[str]:
    """The origins a page of this server has: as the request reached us, and as a proxy in front says."""
    scheme, host = environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST")
    if not host:
        return set()
    origins = {f"{scheme}://{host}"}
    if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
        fscheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
        fhost = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        origins.add(f"{fscheme}://{fhost}")
    return origins


def origin_check(allowed: list[str]):
    """engine.io's origin check: a browser's Origin must be this server's own or one of `allowed`
    ("*": any). Requests without Origin (non-browser clients) are never checked by engine.io."""
    extra = frozenset(o.rstrip("/") for o in allowed)
    anyone = "*" in extra

    def check(origin: str | None, environ: dict) -> bool:
        if not origin:
            return False
        return anyone or origin in extra or origin in same_origins(environ)

    return check


def read_header(data: str) -> tuple[int | None, str, int | None]:
    """(packet type, namespace, ack id) of a Socket.IO text packet, read without its JSON, so a
    frame whose body does not parse can still be answered."""
    if not data or not data[0].isdigit():
        return None, "/", None
    kind, rest = int(data[0]), data[1:]
    dash = rest.find("-")
    if 0 < dash <= 10 and rest[:dash].isdigit():  # binary attachment count
        rest = rest[dash + 1:]
    namespace = "/"
    if rest.startswith("/"):
        comma = rest.find(",")
        namespace, rest = (rest, "") if comma == -1 else (rest[:comma], rest[comma + 1:])
        namespace = namespace.split("?", 1)[0]
    digits = 0
    while digits < len(rest) and digits < 19 and rest[digits].isdigit():
        digits += 1
    return kind, namespace, int(rest[:digits]) if digits else None


class WireGuard:
    def __init__(self, sio: socketio.AsyncServer, hub, *, auth_timeout_s: float, bad_frame_limit: int,
                 bad_frame_window_s: float):
        self.sio = sio
        self.hub = hub
        self.auth_timeout_s = auth_timeout_s
        self.bad_frame_limit = bad_frame_limit
        self.bad_frame_window_s = bad_frame_window_s
        self._strikes: dict[str, deque] = {}
        self._closing: set[str] = set()
        self._authenticating: set[str] = set()  # CONNECT received, the connect handler still running
        self._tasks: set[asyncio.Task] = set()
        self._next_log = 0.0
        self._suppressed = 0
        self._eio_connect = sio._handle_eio_connect
        self._eio_disconnect = sio._handle_eio_disconnect

    def install(self) -> None:
        eio = self.sio.eio
        eio.on("connect", self._on_eio_connect)
        eio.on("message", self._on_eio_message)
        eio.on("disconnect", self._on_eio_disconnect)
        eio.ts_guard = self  # the websocket read loop (transport.py) reports engine.io-level garbage here
        self.sio.on("*")(self._unknown_event)

    # -- authentication deadline -------------------------------------------------------------
    async def _on_eio_connect(self, eio_sid: str, environ: dict) -> Any:
        result = await self._eio_connect(eio_sid, environ)
        asyncio.get_running_loop().call_later(self.auth_timeout_s, self._check_authenticated, eio_sid)
        return result

    def _authenticated(self, eio_sid: str) -> bool:
        sid = self.sio.manager.sid_from_eio_sid(eio_sid, "/")
        return sid is not None and sid in self.hub.connections

    def _check_authenticated(self, eio_sid: str) -> None:
        if eio_sid in self._authenticating:  # a slow check (a reconnect storm): judged when it ends
            asyncio.get_running_loop().call_later(self.auth_timeout_s, self._check_authenticated, eio_sid)
            return
        if eio_sid in self.sio.eio.sockets and not self._authenticated(eio_sid):
            UNAUTHENTICATED_CLOSED.inc()
            log.info("closing %s: not authenticated within %.0f s", eio_sid, self.auth_timeout_s)
            self._close(eio_sid)

    async def _on_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        self._strikes.pop(eio_sid, None)
        await self._eio_disconnect(eio_sid, reason)

    # -- frames --------------------------------------------------------------------------------
    async def _on_eio_message(self, eio_sid: str, data: Any) -> None:
        """socketio's `_handle_eio_message` without the binary path, and with bad frames refused."""
        sio = self.sio
        if not isinstance(data, str):
            await self.bad_frame(eio_sid, "binary frame", None)
            return
        try:
            pkt = sio.packet_class(encoded_packet=data)
        except (ValueError, RecursionError, TypeError, IndexError) as e:
            kind, namespace, ack = read_header(data)
            await self.bad_frame(eio_sid, f"undecodable packet ({e.__class__.__name__})",
                                 ack if kind == sio_packet.EVENT else None, namespace)
            return
        kind = pkt.packet_type
        if kind == sio_packet.EVENT:
            d = pkt.data
            if type(d) is not list or not d or type(d[0]) is not str or len(d) > 2:
                await self.bad_frame(eio_sid, "event is not [name, payload]", pkt.id, pkt.namespace)
                return
            await sio._handle_event(eio_sid, pkt.namespace, pkt.id, d)
        elif kind == sio_packet.ACK:
            await sio._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)
        elif kind == sio_packet.CONNECT:
            self._authenticating.add(eio_sid)
            try:
                await sio._handle_connect(eio_sid, pkt.namespace, pkt.data)
            finally:
                self._authenticating.discard(eio_sid)
        elif kind == sio_packet.DISCONNECT:
            await sio._handle_disconnect(eio_sid, pkt.namespace, sio.reason.CLIENT_DISCONNECT)
        elif kind in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK):
            await self.bad_frame(eio_sid, "binary packet (events are JSON only)",
                                 pkt.id if kind == sio_packet.BINARY_EVENT else None, pkt.namespace)
        else:
            await self.bad_frame(eio_sid, f"unexpected packet type {kind}", None)

    async def bad_frame(self, eio_sid: str, why: str, ack: int | None, namespace: str | None = "/") -> None:
        """Answer (when the frame had an ack id), log (throttled) and count a strike."""
        BAD_FRAMES.labels(why.split(" (")[0]).inc()
        namespace = namespace or "/"
        if ack is not None and self.sio.manager.is_connected(self.sio.manager.sid_from_eio_sid(eio_sid, namespace),
                                                             namespace):
            await self.sio._send_packet(eio_sid, self.sio.packet_class(
                sio_packet.ACK, namespace=namespace, id=ack,
                data=[error("invalid_payload", f"malformed frame: {why}")]))
        self._log(eio_sid, why)
        now = time.monotonic()
        strikes = self._strikes.setdefault(eio_sid, deque())
        strikes.append(now)
        while strikes and strikes[0] <= now - self.bad_frame_window_s:
            strikes.popleft()
        if len(strikes) >= self.bad_frame_limit and eio_sid not in self._closing:
            log.warning("closing %s: %d malformed frames within %.0f s", eio_sid, len(strikes),
                        self.bad_frame_window_s)
            self._close(eio_sid)

    def _log(self, eio_sid: str, why: str) -> None:
        now = time.monotonic()
        if now < self._next_log:
            self._suppressed += 1
            return
        more = f" ({self._suppressed} more since the last line)" if self._suppressed else ""
        log.warning("refused a frame from %s: %s%s", eio_sid, why, more)
        self._next_log, self._suppressed = now + LOG_EVERY_S, 0

    def _close(self, eio_sid: str) -> None:
        self._closing.add(eio_sid)
        task = asyncio.get_running_loop().create_task(self._disconnect(eio_sid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _disconnect(self, eio_sid: str) -> None:
        request = (self.sio.environ.get(eio_sid) or {}).get("aiohttp.request")
        try:
            await self.sio.eio.disconnect(eio_sid)  # the CLOSE packet, and the disconnect hooks
            if request is not None and request.transport is not None:
                # A client that ignores CLOSE would keep its websocket open (it is no longer pinged).
                request.transport.close()
        except Exception:
            log.exception("closing %s failed", eio_sid)
        finally:
            self._closing.discard(eio_sid)
            self._strikes.pop(eio_sid, None)

    # -- events nobody handles -------------------------------------------------------------------
    async def _unknown_event(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        return error("not_found", f"no such event: {event[:64]!r}")
