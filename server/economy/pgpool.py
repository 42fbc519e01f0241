"""A small asyncpg connection pool for one-statement, autocommit calls (the ledger's hot path).

asyncpg's own Pool costs about 30 us of client CPU per checkout (a shielded release task, reset
bookkeeping), as much as the statement itself. A ledger call is one statement, so nothing needs
resetting: a connection goes back as it came unless the call failed in a way that leaves it in an
unknown state (cancellation, I/O error), and then it is closed and replaced.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from server.db.health import is_read_only


class StatementPool:
    def __init__(self, dsn: str, *, max_size: int = 10, **connect_kwargs: Any):
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.dsn = dsn
        self.max_size = max_size
        self._connect_kwargs = connect_kwargs
        self._idle: list[asyncpg.Connection] = []
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._open = 0  # connections open or being opened
        self._closed = False

    # -- checkout -------------------------------------------------------------------------------
    async def _get(self) -> asyncpg.Connection:
        while True:
            if self._closed:
                raise asyncpg.InterfaceError("pool is closed")
            while self._idle:
                conn = self._idle.pop()  # LIFO: the warmest connection
                if not conn.is_closed():
                    return conn
                self._open -= 1
            if self._open < self.max_size:
                self._open += 1
                try:
                    return await asyncpg.connect(self.dsn, **self._connect_kwargs)
                except BaseException:
                    self._open -= 1
                    self._wake_one(None)
                    raise
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                conn = await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled() and fut.result() is not None:
                    self._put(fut.result())  # handed over just as we were cancelled: pass it on
                else:
                    try:
                        self._waiters.remove(fut)
                    except ValueError:
                        pass
                raise
            if conn is not None:
                return conn
            # None: a connection was discarded, there is room to open one

    def _wake_one(self, conn: asyncpg.Connection | None) -> bool:
        while self._waiters:
            w = self._waiters.popleft()
            if not w.done():
                w.set_result(conn)
                return True
        return False

    def _put(self, conn: asyncpg.Connection) -> None:
        if self._closed or conn.is_closed():
            self._discard(conn)
        elif not self._wake_one(conn):
            self._idle.append(conn)

    def _discard(self, conn: asyncpg.Connection) -> None:
        conn.terminate()
        self._open -= 1
        if not self._closed:
            self._wake_one(None)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection for several statements (e.g. a read-only snapshot). It must be left
        outside any transaction; on an unexpected error it is closed rather than reused."""
        conn = await self._get()
        try:
            yield conn
        except asyncpg.PostgresError:
            self._put(conn) if not conn.is_in_transaction() else self._discard(conn)
            raise
        except BaseException:
            self._discard(conn)
            raise
        if conn.is_in_transaction():
            self._discard(conn)
        else:
            self._put(conn)

    async def _call(self, method: str, sql: str, args: tuple) -> Any:
        conn = await self._get()
        try:
            result = await getattr(conn, method)(sql, *args)
        except asyncpg.PostgresError as e:
            if is_read_only(e):  # a demoted primary: reconnect to find the new one
                self._discard(conn)
            else:
                self._put(conn)  # the server answered with an error: the connection is clean (autocommit)
            raise
        except BaseException:
            self._discard(conn)  # cancelled or broken mid-call: state unknown
            raise
        self._put(conn)
        return result

    # -- one-statement calls --------------------------------------------------------------------
    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._call("fetchrow", sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._call("fetch", sql, args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._call("fetchval", sql, args)

    async def execute(self, sql: str, *args: Any) -> str:
        return await self._call("execute", sql, args)

    async def executemany(self, sql: str, args: list) -> None:
        return await self._call("executemany", sql, (args,))

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self._open

    async def close(self) -> None:
        """Close idle connections now; those in use are closed when they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for w in self._waiters:
            if not w.done():
                w.set_exception(asyncpg.InterfaceError("pool is closed"))
        self._waiters.clear()
        for conn in idle:
            self._open -= 1
            try:
                await asyncio.wait_for(conn.close(), 2)
            except Exception:
                conn.terminate()
