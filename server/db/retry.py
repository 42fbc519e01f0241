"""Riding out a database restart or failover for work that is safe to run twice.

An external PostgreSQL that restarts (or whose primary is switched behind the same address)
drops every connection and refuses new ones for a few seconds. Work that is idempotent (ledger
transfers and buys carry keys, reads change nothing) is run again until it gets through or
`Database.retry_deadline_s` has passed; everything else fails at once with `unavailable`, as it
does while the world's own supervisor restarts its embedded PostgreSQL (state "restarting").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from prometheus_client import Counter

from server.db.health import DatabaseUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

RODE_OUT = Counter("townsquare_db_retries_total", "Idempotent database work run again after the database went away",
                   ["result"])


async def ride_out(db, work: Callable[[], Awaitable[T]], deadline_s: float | None = None) -> T:
    """`await work()`, again after a short pause each time it fails with `unavailable` (the
    database went away), until it succeeds or the deadline passes (then `unavailable`)."""
    deadline_s = getattr(db, "retry_deadline_s", 0.0) if deadline_s is None else deadline_s
    end = time.monotonic() + deadline_s
    delay = 0.05
    tries = 0
    while True:
        try:
            result = await work()
        except DatabaseUnavailable as e:
            # "restarting": our own supervisor is on it and says so at once; a full disk does not mend
            # itself in seconds; no deadline left: say so too.
            left = end - time.monotonic()
            if e.state != "unreachable" or getattr(db, "state", "ok") != "ok" or left <= 0:
                if tries:
                    RODE_OUT.labels("gave_up").inc()
                raise
            tries += 1
            await asyncio.sleep(min(delay, left))  # the last try lands on the deadline, not before it
            delay = min(delay * 2, 0.5)
            continue
        if tries:
            RODE_OUT.labels("succeeded").inc()
            log.info("database work went through after %d retries", tries)
        return result
