"""Engine.IO transport tuning that python-socketio does not expose.

1. WebSocket permessage-deflate is off: aiohttp compresses every frame for every recipient with
   that connection's own deflate context, so a world:tick encoded once would be compressed once
   per person, ten times a second. Uncompressed ticks cost bandwidth instead (a few KB per tick
   in a busy room); a proxy in front may compress if bandwidth matters more.

2. Direct writes. engine.io sends every packet through a per-socket queue and writer task:
   each packet wakes that task, which starts a new `wait_for` task for the next get. For a
   websocket client whose queue is empty and whose TCP stream is not backed up, a packet is
   written to the socket at once instead (same bytes, same order), as one frame built once per
   packet and shared by every recipient (aiohttp would write a large frame's header and payload
   apart, two syscalls per recipient). When the stream backs up
   (the client reads slowly), packets go to the queue as before, and `Fanout` drops the client
   if that backlog passes its bound.

3. engine.io's per-message task is skipped (`eio.async_handlers = False`): Socket.IO still runs
   each event handler in its own task, so a slow handler never blocks the connection, except
   the events in INLINE_EVENTS (`move`): short handlers that never wait on anything slow, run
   in the connection's receive loop without a task of their own.

4. A client that opens with websocket is read by `_websocket_loop`: engine.io's loop without the
   task and `wait_for` it starts for every inbound packet (engine.io's service task still closes
   a client that stops answering pings). At N=800 movers: CPU 58-60 % vs 72 %, p99 133-137 ms vs
   182-248 ms in alternating runs. Such a connection keeps no other task while idle: its queue
   gets a writer task only while packets wait in it, and the next PING is an entry in the server's
   `PingClock` (one timer for every socket) rather than a task asleep for ping_interval (most
   connections are idle: docs/inference.md, world process memory).

5. Socket.IO's JSON decoding builds a new JSONDecoder per packet (it passes `parse_int`); one
   decoder with the same guard is built once instead.

6. An un-acked `move` (`42["move",{...}]`, what wire-2 clients send five times a second) read by
   `_websocket_loop` goes straight to its handler: decoded once, without engine.io's and Socket.IO's
   packet objects and event dispatch in between. Anything else, or a frame that does not decode to
   `[name, payload]`, takes the usual way (and the wire guard).

7. What an idle socket keeps is trimmed: its send queue is a `SendQueue` (sendqueue.py, storage only
   while used) and the environ python-socketio keeps for it holds the request and a few small keys,
   not a copy of every header. It is served by one coroutine (`_websocket_loop`), not three nested
   ones, and aiohttp's HTTP parser is dropped once upgraded (`drop_http_parser`).

8. That move (6.) is taken where aiohttp's websocket reader hands over the message (`FastQueue.feed_data`,
   in the socket's data_received), when the read loop is waiting with nothing queued ahead of it: no
   task wakes, the read loop stays asleep, and the handler's synchronous twin (`Hub.on(now=...)`) runs
   with the same checks, errors, rate limit and folded ack. A move it cannot take at once (the room
   not cached, moves going to Redis) is queued for the read loop as before, in order.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
from collections import deque

import socketio
from aiohttp import WSMsgType, web_ws
from aiohttp._websocket.reader import WebSocketDataQueue
from aiohttp.web import WebSocketResponse
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as eio_aiohttp

from server.realtime import sendqueue


def ws_frame(pkt) -> bytes:
    """The whole websocket frame (header and payload) of an engine.io packet, built once and
    cached on the packet: every recipient gets the same bytes in one write (servers do not mask)."""
    cached = getattr(pkt, "ts_frame", None)
    if cached is not None:
        return cached
    enc = pkt.encode()
    data, opcode = (enc, WSMsgType.BINARY) if isinstance(enc, bytes) else (enc.encode("utf-8"), WSMsgType.TEXT)
    frame = ws_header(len(data), opcode) + data
    try:
        pkt.ts_frame = frame
    except AttributeError:  # pragma: no cover - packets with __slots__
        pass
    return frame


def ws_header(n: int, opcode: int = WSMsgType.TEXT) -> bytes:
    """A final, unmasked websocket frame's header for an n-byte payload."""
    first = 0x80 | opcode
    if n < 126:
        return struct.pack("!BB", first, n)
    if n < 65536:
        return struct.pack("!BBH", first, 126, n)
    return struct.pack("!BBQ", first, 127, n)


def backed_up(sock) -> bool:
    """The client is not reading: its TCP stream is full (or it polls and has not polled)."""
    ws = getattr(sock, "ts_ws", None)
    writer = ws._writer if ws is not None else None
    if writer is None:
        return not sock.upgraded  # long-polling: a backlog means it has not come back for it
    transport = writer.transport
    return bool(writer.protocol._paused or (transport is not None and transport.get_write_buffer_size() > 0))


def _direct(sock):
    """The client's transport if a write may go straight to it (nothing queued ahead, not backed up)."""
    ws = getattr(sock, "ts_ws", None)
    if ws is None or sock.ts_pending or not sock.upgraded or sock.upgrading or sock.closed or sock.closing:
        return None
    if sock.queue.qsize():
        return None
    writer = ws._writer
    if writer is None or writer._closing or writer.protocol._paused:
        return None
    transport = writer.transport
    if transport is None or transport.is_closing():
        return None
    return transport


def write_direct(sock, packets) -> bool:
    """Write packets straight to the client's websocket if nothing is queued ahead of them (several
    packets in one write)."""
    return write_frame(sock, ws_frame(packets[0]) if len(packets) == 1 else b"".join(map(ws_frame, packets)))


def write_frame(sock, frame: bytes) -> bool:
    """Websocket frames (`ws_frame` of packets: a tick's one frame is shared by every recipient)
    straight to the client if nothing is queued ahead of them."""
    transport = _direct(sock)
    if transport is None:
        return False
    try:
        transport.write(frame)
    except Exception:  # the connection is going away; the queue path will notice
        return False
    return True


def write_parts(sock, parts: list[bytes]) -> bool:
    """One text message whose payload is `parts` joined (an encoded engine.io packet, "4..."), written
    straight to the client's websocket as one frame without joining them: a shared part (a tick's far
    updates, tens of KB) is not copied per client in Python (writelines is one writev)."""
    transport = _direct(sock)
    if transport is None:
        return False
    try:
        transport.writelines([ws_header(sum(map(len, parts))), *parts])
    except Exception:  # the connection is going away; the queue path will notice
        return False
    return True


def enqueue(sock, packets) -> None:
    for p in packets:
        sock.queue.put_nowait(p)
        if hasattr(sock, "ts_pending"):
            sock.ts_pending += 1
    if getattr(sock, "ts_lazy", False):
        _start_writer(sock)


def _start_writer(sock) -> None:
    """A writer task for a websocket read by `_websocket_loop`, only while packets wait for it."""
    if sock.ts_writer is None:
        sock.ts_writer = asyncio.ensure_future(_drain(sock))


async def _drain(sock) -> None:
    """Write what is queued, in order, then end; close the websocket once engine.io closed the socket
    (after its CLOSE packet) or the read loop asked (a None in the queue)."""
    ws = sock.ts_wrapper
    stop = False
    try:
        while True:
            try:
                pkt = sock.queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            sock.queue.task_done()
            if pkt is None:
                stop = True
                break
            await ws.send(pkt.encode())
    except Exception:  # the connection is going away: as engine.io's writer, stop and close
        stop = True
    finally:
        sock.ts_writer = None
    if stop or sock.closed:
        while not sock.queue.empty():  # what was never sent: let close(wait=True)'s join() return
            sock.queue.get_nowait()
            sock.queue.task_done()
        await ws.close()
    elif not sock.queue.empty():  # queued while this task was ending
        _start_writer(sock)


def _schedule_ping(self) -> None:
    """AsyncSocket.schedule_ping on the server's PingClock instead of a task that sleeps ping_interval."""
    if self.last_ping:
        self.last_ping = None
        self.server.ts_pings.add(self)


class PingClock:
    """The next PING of every websocket read by `_websocket_loop`, on one loop timer for all: they
    share one ping_interval, so due times come in the order they were added (a deque, not a heap),
    ~90 bytes a socket where a timer of its own was ~500."""

    __slots__ = ("_due", "_timer")

    def __init__(self) -> None:
        self._due: deque[tuple[float, object]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, sock) -> None:
        loop = asyncio.get_running_loop()
        self._due.append((loop.time() + sock.server.ping_interval, sock))
        if self._timer is None:
            self._timer = loop.call_at(self._due[0][0], self._fire, loop)

    def _fire(self, loop) -> None:
        self._timer = None
        due, now = self._due, loop.time() + 0.001  # a timer may fire a hair early
        while due and due[0][0] <= now:
            _send_ping(due.popleft()[1])
        if due:
            self._timer = loop.call_at(due[0][0], self._fire, loop)


def _send_ping(sock) -> None:
    if not sock.closing and not sock.closed:
        sock.last_ping = time.time()
        ping = eio_packet.Packet(eio_packet.PING)
        if not write_direct(sock, (ping,)):
            enqueue(sock, (ping,))


ENVIRON_KEPT = ("aiohttp.request", "REQUEST_METHOD", "QUERY_STRING", "PATH_INFO", "wsgi.url_scheme", "REMOTE_ADDR")


def slim_environ(environ: dict) -> None:
    """Keep only what is read after the handshake (the request, for its transport: guard.py,
    fanout.py); python-socketio keeps this dict for the socket's life, and its header copies are
    ~2 KB per connection. The headers stay readable on the request itself."""
    kept = {k: environ[k] for k in ENVIRON_KEPT if k in environ}
    environ.clear()
    environ.update(kept)


def drop_http_parser(request) -> None:
    """Once upgraded, aiohttp reads the connection with the websocket reader only: its HTTP parser
    (~0.8 KB each) is dropped, the state aiohttp itself leaves after connection_lost. Private
    (`_parser`): tests/realtime/test_idle_connections.py fails if aiohttp's shape changes."""
    protocol = request.protocol
    if protocol is not None and protocol._upgraded and protocol._payload_parser is not None:
        protocol._parser = None


class FastWebSocket(eio_aiohttp.WebSocket):  # pragma: no cover - exercised by every ws test
    def __call__(self, environ):
        """What engine.io awaits for the websocket's whole life. Not a coroutine itself: a client
        that opens with websocket is served by one coroutine (`_websocket_loop`, which prepares the
        response and reads), not two nested ones kept alive for hours (~0.3 KB a connection)."""
        sock = getattr(self.handler, "__self__", None)  # the engine.io AsyncSocket
        if sock is not None and not sock.connected:
            return _websocket_loop(sock, self, environ)
        return self._upgrade(sock, environ)

    async def _prepare(self, sock, environ) -> None:
        self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(environ["aiohttp.request"])
        self.environ = environ
        if sock is not None:
            sock.ts_ws = self._sock
            sock.ts_pending = 0
            sock.send = _fast_send.__get__(sock)

    async def _upgrade(self, sock, environ):
        """An upgrade from long-polling: engine.io's own handler does the probe dance."""
        await self._prepare(sock, environ)
        await self.handler(self)
        return self._sock

    async def send(self, message):
        # Called by engine.io's writer task for queued packets.
        try:
            await super().send(message)
        finally:
            sock = getattr(self.handler, "__self__", None)
            if sock is not None and getattr(sock, "ts_pending", 0) > 0:
                sock.ts_pending -= 1


class FastQueue(WebSocketDataQueue):
    """aiohttp's queue of a websocket's received messages; `ts_fast(text)` may take a message before it
    is queued (True: taken). Only while nothing is queued ahead of it, so messages stay in order."""

    __slots__ = ("ts_fast",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ts_fast = None

    def feed_data(self, data, size) -> None:
        fast = self.ts_fast
        if fast is not None and not self._buffer:
            text = data[1]
            if type(text) is str and text.startswith(FAST_PREFIX) and fast(text):
                return
        _queue_feed(self, data, size)


_queue_feed = WebSocketDataQueue.feed_data


async def _websocket_loop(sock, ws: FastWebSocket, environ: dict) -> WebSocketResponse:
    """engine.io's websocket handler for a client that opened with websocket, reading without a
    new task and `wait_for` per inbound packet: a client that goes silent is still closed by
    engine.io's service task (ping timeout), which closes the websocket and ends the read here.
    An idle connection holds no task but this one: queued packets get a writer task only while
    they wait (`_drain`), and the next PING is a timer, not a sleeping task."""
    await ws._prepare(sock, environ)
    drop_http_parser(environ["aiohttp.request"])
    slim_environ(environ)
    sock.ts_wrapper, sock.ts_writer, sock.ts_lazy = ws, None, True
    sock.schedule_ping = _schedule_ping.__get__(sock)
    response = ws._sock
    sock.connected = True
    sock.upgraded = True
    limit = sock.server.max_http_buffer_size
    fast = getattr(sock.server, "ts_fast", None)
    fast_now = getattr(sock.server, "ts_fast_now", None)
    if fast_now is not None and isinstance(response._reader, FastQueue):
        sock.ts_nsid = None
        # Only while this loop waits in receive(): a message it is still handling is not overtaken.
        response._reader.ts_fast = lambda text: response._waiting and fast_now(sock, text)
    if not sock.queue.empty():  # engine.io's OPEN packet, queued before this loop took over
        _start_writer(sock)
    try:
        while True:
            try:
                # The response's receive itself, not engine.io's wait() around it: one frame less per idle socket.
                data = (await response.receive()).data
            except (asyncio.CancelledError, Exception):  # closed, reset, or the server stops
                break
            if type(data) is not str and type(data) is not bytes:  # closing: wait() raised OSError here
                break
            if len(data) > limit:
                break
            if fast is not None and type(data) is str and data.startswith(FAST_PREFIX) and await fast(sock.sid, data):
                continue
            try:
                await sock.receive(eio_packet.Packet(encoded_packet=data))
            except eio_exceptions.SocketIsClosedError:
                break
            except Exception as e:  # a frame engine.io cannot read: one throttled line and a strike, not a traceback
                guard = getattr(sock.server, "ts_guard", None)
                if guard is None:
                    sock.server.logger.exception("Unknown receive error")
                else:
                    await guard.bad_frame(sock.sid, f"undecodable engine.io packet ({e.__class__.__name__})", None)
    finally:
        sock.queue.put_nowait(None)  # the writer closes the websocket after what is already queued
        _start_writer(sock)
        writer = sock.ts_writer
        if writer is not None:
            await writer
        await sock.close(wait=False, abort=True, reason=sock.server.reason.TRANSPORT_CLOSE)
    return response


async def _fast_send(self, pkt) -> None:
    """AsyncSocket.send, writing directly when it can (bound to each websocket's AsyncSocket).

    Only MESSAGE packets (and the PING timer's) skip the queue: a CLOSE goes behind what is queued,
    and the writer closes the websocket after it."""
    if not await self.check_ping_timeout():
        return
    if pkt.packet_type != eio_packet.MESSAGE or not write_direct(self, (pkt,)):
        enqueue(self, (pkt,))


INLINE_EVENTS = frozenset({"move"})
FAST_PREFIX = '42["move",'  # engine.io MESSAGE + Socket.IO EVENT, default namespace, no ack id


def _safe_int(s: str) -> int:
    if len(s) > 100:  # engine.io's guard against huge integer literals
        raise ValueError("Integer is too large")
    return int(s)


class FastJson:
    """engineio.json's behaviour (same parse_int guard) with one decoder built once."""

    _decoder = json.JSONDecoder(parse_int=_safe_int)
    _scan = _decoder.scan_once  # the C scanner: a packet with nothing around its JSON skips decode()'s regexes
    dumps = staticmethod(json.dumps)
    JSONDecodeError = json.JSONDecodeError

    @classmethod
    def loads(cls, s, **kwargs):
        if kwargs:
            return json.loads(s, **{"parse_int": _safe_int, **kwargs})
        if isinstance(s, (bytes, bytearray)):
            s = s.decode("utf-8")
        try:
            obj, end = cls._scan(s, 0)
        except StopIteration:  # empty or starting with whitespace: decode() says what is wrong, or skips it
            return cls._decoder.decode(s)
        if end != len(s):  # trailing whitespace or extra data: decode() takes the one, refuses the other
            return cls._decoder.decode(s)
        return obj


def tune_transport(sio: socketio.AsyncServer, now: dict | None = None) -> None:
    """`now`: event -> dispatch_now(sid, data) -> bool (Hub.now), the events taken in data_received."""
    eio = sio.eio
    if eio.async_mode == "aiohttp":
        # A copy: the driver's dict is shared module state.
        eio._async = {**eio._async, "websocket": FastWebSocket}
    eio.async_handlers = False
    sendqueue.install(eio)
    eio.ts_pings = PingClock()
    sio.packet_class.json = FastJson  # python-socketio's own way to swap the JSON module
    original = sio._handle_event

    async def handle_event(eio_sid, namespace, id, data):
        if sio.async_handlers and data and data[0] in INLINE_EVENTS:
            namespace = namespace or "/"
            sid = sio.manager.sid_from_eio_sid(eio_sid, namespace)
            if not sio.manager.is_connected(sid, namespace):
                return
            await sio._handle_event_internal(sio, sid, eio_sid, data, namespace, id)
            return
        await original(eio_sid, namespace, id, data)

    sio._handle_event = handle_event

    async def fast_event(eio_sid: str, data: str) -> bool:
        """An un-acked inline event straight to its handler; False: let the usual path read it."""
        try:
            d = FastJson.loads(data[2:])
        except (ValueError, RecursionError):
            return False
        if type(d) is not list or len(d) != 2 or d[0] not in INLINE_EVENTS:
            return False
        handler = (sio.handlers.get("/") or {}).get(d[0])
        sid = sio.manager.sid_from_eio_sid(eio_sid, "/")
        if handler is None or sid is None or not sio.manager.is_connected(sid, "/"):
            return False
        await handler(sid, d[1])
        return True

    eio.ts_fast = fast_event
    if now is None:
        return
    # Every websocket response aiohttp prepares gets a FastQueue (with no ts_fast it is aiohttp's queue).
    web_ws.WebSocketDataQueue = FastQueue

    scan = FastJson._scan

    def fast_now(sock, text: str) -> bool:
        """An un-acked event taken in data_received by its synchronous twin; False: queue it as usual."""
        try:
            d, end = scan(text, 2)  # the JSON after "42", read in place
        except (StopIteration, ValueError, RecursionError):
            return False
        if end != len(text) or type(d) is not list or len(d) != 2 or type(d[0]) is not str:
            return False  # anything unusual (whitespace, extra data): the usual path reads it, and says why
        handle = now.get(d[0])
        if handle is None:
            return False
        manager = sio.manager
        sid = sock.ts_nsid  # the Socket.IO sid of "/" on this socket, looked up once, not per event
        if sid is None or not manager.is_connected(sid, "/"):
            sid = sock.ts_nsid = manager.sid_from_eio_sid(sock.sid, "/")
            if sid is None or not manager.is_connected(sid, "/"):
                return False
        return handle(sid, d[1])

    eio.ts_fast_now = fast_now
