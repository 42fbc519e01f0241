"""A node's leases and heartbeat renewed from a thread of their own, so a busy event loop keeps them.

The event loop renews its leases every TTL/3 (ownership.py). When the node's own work (3,000
people joining one room: every join told to everyone) holds the loop, or queues its Redis calls,
longer than the TTL, those renewals come late, the leases lapse, another node takes the rooms over
and re-announces everyone to everyone, which holds every loop longer still: the fleet melts down
under exactly the load it was split to carry (seen in bench/realtime.py --workers 2). This thread renews what the loop holds (never takes anything new) as long as
the loop keeps beating within `stall_max_s`; a loop that is hung past that, or a dead process
(the thread dies with it), lets the leases lapse and another node take over as before.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import redis as redis_sync

log = logging.getLogger(__name__)

# Renew the keys this node holds (a lease is a key holding the node's id), and its heartbeat.
_RENEW = """
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]) end
end
if ARGV[3] ~= '' then redis.call('SET', ARGV[3], ARGV[4], 'PX', ARGV[2]) end
return 1
"""

BEAT_S = 0.5  # how often the event loop says it is alive (its timers run late when it is busy)


class LeaseKeeper:
    def __init__(self, url: str, node_id: str, keys: Callable[[], list[str]], ttl_s: float,
                 heartbeat: str | None = None, stall_max_s: float = 30.0):
        self.url = url
        self.node_id = node_id
        self.keys = keys  # the lease keys the loop holds now (called from the thread: must not await)
        self.ttl_s = ttl_s
        self.heartbeat = heartbeat
        self.stall_max_s = stall_max_s
        self.beat = time.monotonic()
        self.renewals = 0  # rounds done (tests)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._beat()
        self._thread = threading.Thread(target=self._run, name=f"lease-keeper-{self.node_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.cancel()
        if self._thread is not None:
            self._thread.join(timeout=1.0)  # between rounds it wakes at once; mid-round, a 1 s socket timeout
            self._thread = None

    def _beat(self) -> None:
        self.beat = time.monotonic()
        if not self._stop.is_set():
            self._timer = self._loop.call_later(BEAT_S, self._beat)

    def _run(self) -> None:
        client = redis_sync.Redis.from_url(self.url, socket_timeout=1.0, socket_connect_timeout=1.0)
        renew = client.register_script(_RENEW)
        every = self.ttl_s / 3
        try:
            while not self._stop.wait(every):
                # every round, not only when the loop is late: its own renewals can lag behind its
                # beats (they wait on a queue of Redis calls); hung past stall_max_s: they may lapse
                if time.monotonic() - self.beat > self.stall_max_s:
                    continue
                try:
                    renew(keys=self.keys(), args=[self.node_id, max(1, int(self.ttl_s * 1000)),
                                                  self.heartbeat or "", str(time.time())])
                    self.renewals += 1
                except redis_sync.RedisError:
                    pass  # Redis away: the loop's own outage handling takes it from here
        finally:
            client.close()
