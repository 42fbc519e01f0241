"""Revoked sessions reach open sockets at once, on every node.

A role change, a world ban or a password change bumps the user's token version in the database,
and a trigger announces it with NOTIFY (migration 0007). Each node LISTENs on its own connection
and calls `on_revoked(user_id, version, reason)`; it works the same with or without Redis and
whichever process made the change (another node, the CLI, SQL). After a (re)connect the node
checks its open sockets against the database, in case an announcement was missed meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy.engine import make_url

from server.background import Background

log = logging.getLogger(__name__)

CHANNEL = "townsquare_sessions"
Revoked = Callable[[uuid.UUID, int, str], Awaitable[None]]
Sweep = Callable[[], Awaitable[None]]


class SessionWatch:
    def __init__(self, database_url: str, on_revoked: Revoked, sweep: Sweep, *, retry_s: float = 2.0):
        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.on_revoked = on_revoked
        self.sweep = sweep
        self.retry_s = retry_s
        self.listening = asyncio.Event()  # set while a LISTEN connection is up (tests wait on it)
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.background = Background("sessions")

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="session-watch")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.background.drain(2)

    def _notified(self, conn, pid, channel, payload: str) -> None:
        try:
            data = json.loads(payload)
            args = (uuid.UUID(data["user_id"]), int(data["version"]), str(data.get("reason") or ""))
        except (ValueError, KeyError, TypeError):
            log.warning("bad %s payload: %r", CHANNEL, payload[:200])
            return
        self.background.spawn(self.on_revoked(*args), f"dropping revoked sessions of {args[0]}")

    async def _run(self) -> None:
        while not self._stop.is_set():
            lost = asyncio.Event()
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "townsquare-sessions"})
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._notified)
                self.listening.set()
                await self.sweep()
                await lost.wait()
                log.warning("session watch: database connection lost, reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("session watch: cannot listen (%s), retrying in %.0f s", e.__class__.__name__,
                            self.retry_s)
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    conn.terminate()  # a listen-only connection: nothing to flush
            try:
                await asyncio.wait_for(self._stop.wait(), self.retry_s)
            except TimeoutError:
                pass
