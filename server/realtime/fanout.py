"""Room fan-out on this node: encode an event once, queue it straight onto each engine.io socket.

python-socketio's `emit` to a room starts one asyncio task per recipient per event; at 500
people and 10 ticks a second that is 5,000 tasks a second for nothing. Here the packet is encoded
once and the same object is put on every socket's send queue (its writer task sends it).

Where it can, the packet is written straight to the client's websocket (see transport.py);
otherwise it goes on the socket's engine.io send queue. That queue is unbounded: a client that
stops reading would make it grow forever. A client whose backlog passes `queue_limit` packets
while its TCP stream is backed up (it is not reading), or passes `4 * queue_limit` whatever the
reason, is dropped (its transport aborted), not buffered for. A backlog that comes from this
server being busy rather than from the client is let grow to the larger bound: the packets in
it are shared by every recipient, so it costs a pointer each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable
from typing import Any

import socketio
from engineio import packet as eio_packet
from prometheus_client import Counter
from socketio import packet as sio_packet

from server.realtime.transport import backed_up, enqueue, write_direct, write_parts

log = logging.getLogger(__name__)

SLOW_DROPPED = Counter("townsquare_slow_clients_dropped_total", "Clients dropped for not reading their backlog")
NAMESPACE = "/"


class Fanout:
    def __init__(self, sio: socketio.AsyncServer, queue_limit: int):
        self.sio = sio
        self.queue_limit = queue_limit
        self._dropping: set[str] = set()
        self._tasks: set[asyncio.Task] = set()

    def packet(self, event: str, data: Any) -> eio_packet.Packet:
        """One encoded Socket.IO event, shareable by every recipient (engine.io caches the encoding)."""
        # binary=False: our events are JSON only; skips walking every tick entry looking for bytes.
        pkt = self.sio.packet_class(sio_packet.EVENT, namespace=NAMESPACE, data=[event, data], binary=False)
        eio_pkt = eio_packet.Packet(eio_packet.MESSAGE, data=pkt.encode())
        eio_pkt.encode()  # fill the cache now, once
        return eio_pkt

    def local_sids(self, channel: str) -> list[str]:
        ns = self.sio.manager.rooms.get(NAMESPACE) or {}
        members = ns.get(channel)
        return list(members) if members else []

    def send(self, channel: str, packets: Iterable[eio_packet.Packet] | Callable[[], Iterable[eio_packet.Packet]],
             skip_sid: str | None = None, exclude: Collection[str] = ()) -> int:
        """Queue `packets` for every connection of this node in `channel` (but `skip_sid` and those in
        `exclude`); returns how many got them. `packets` may be a function: called only if someone is left."""
        ns = self.sio.manager.rooms.get(NAMESPACE)
        members = ns.get(channel) if ns else None
        if not members:
            return 0
        sockets = self.sio.eio.sockets
        sent = 0
        built = None
        for sid, eio_sid in members.items():
            if sid == skip_sid or sid in exclude:
                continue
            if built is None:
                built = list(packets() if callable(packets) else packets)
            sock = sockets.get(eio_sid)
            if sock is not None and self.push(eio_sid, sock, built):
                sent += 1
        return sent

    def send_to_sid(self, sid: str, packets: Iterable[eio_packet.Packet]) -> bool:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
        sock = self.sio.eio.sockets.get(eio_sid) if eio_sid else None
        return sock is not None and self.push(eio_sid, sock, list(packets))

    def push(self, eio_sid: str, sock, packets: list) -> bool:
        """Write or queue packets for one engine.io socket (dropping it if it does not read)."""
        if sock.closed or sock.closing:
            return False
        if write_direct(sock, packets):
            return True
        backlog = sock.queue.qsize() + len(packets)
        if backlog > self.queue_limit and (backlog > 4 * self.queue_limit or backed_up(sock)):
            self.drop(eio_sid, sock)
            return False
        enqueue(sock, packets)
        return True

    def push_parts(self, eio_sid: str, sock, parts: list[bytes]) -> bool:
        """`push` of one MESSAGE packet given as encoded parts (b"4" + its text, split): written as they
        are when it can go straight out, else joined into a packet for the queue."""
        if sock.closed or sock.closing:
            return False
        if write_parts(sock, parts):
            return True
        text = b"".join(parts).decode("utf-8")
        return self.push(eio_sid, sock, [eio_packet.Packet(eio_packet.MESSAGE, data=text[1:])])

    def drop(self, eio_sid: str, sock) -> None:
        """Disconnect a client that does not read: abort its transport, then close the session."""
        if eio_sid in self._dropping:
            return
        self._dropping.add(eio_sid)
        SLOW_DROPPED.inc()
        log.warning("dropping slow client %s: %d packets waiting", eio_sid, sock.queue.qsize())
        task = asyncio.get_running_loop().create_task(self._drop(eio_sid, sock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drop(self, eio_sid: str, sock) -> None:
        try:
            environ = self.sio.environ.get(eio_sid) or {}
            request = environ.get("aiohttp.request")
            if sock.upgraded and request is not None and request.transport is not None:
                # The writer task is stuck in a send that will never drain: cut the TCP stream.
                request.transport.abort()
            # wait=False: the backlog is never going to be read, do not wait for it.
            await sock.close(wait=False, abort=True)
        except Exception:
            log.exception("dropping %s failed", eio_sid)
        finally:
            self._dropping.discard(eio_sid)
