"""Async engine and session factory around one PostgreSQL URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from server.db.health import DatabaseFull, DatabaseUnavailable, is_connection_loss, is_disk_full, is_read_only


def _replace_if_closed(dbapi_connection, record, proxy) -> None:
    conn = getattr(dbapi_connection, "_connection", None)  # the asyncpg connection under SQLAlchemy's adapter
    if conn is not None and conn.is_closed():
        raise exc.DisconnectionError("the server closed this connection")  # the pool opens a new one


class Database:
    """Owns the engine; `session()` is a unit of work that commits on success.

    `state` is "ok", or "restarting" while the world's supervisor brings PostgreSQL back: then a
    session fails at once with `unavailable` instead of waiting on a server that is not there.
    """

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False, retry_deadline_s: float = 5.0,
                 connect_timeout_s: float = 10.0):
        self.url = url
        self.state = "ok"
        # How long idempotent work is run again while the database is away (server/db/retry.py).
        self.retry_deadline_s = retry_deadline_s
        # timeout: a failed-over address that swallows packets must not hold a connect for asyncpg's 60 s.
        self.engine: AsyncEngine = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, echo=echo, connect_args={"timeout": connect_timeout_s},
        )
        # A connection that died with a restarted server is replaced at checkout, not handed out. Its
        # socket says so (asyncpg marks it closed when the server hangs up): no pre-ping round trip,
        # which cost one per session (~10 per chat line under load).
        event.listen(self.engine.sync_engine, "checkout", _replace_if_closed)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    def check_available(self) -> None:
        if self.state != "ok":
            raise DatabaseUnavailable(self.state)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        self.check_available()
        try:
            async with self.sessionmaker() as s:
                async with s.begin():
                    yield s
        except DatabaseUnavailable:
            raise
        except Exception as e:
            if is_read_only(e):  # a demoted primary: its pooled connections are no use, the next ones find the new one
                await self.engine.dispose()
            if is_connection_loss(e):  # the server went away mid-way; idempotency keys make the retry safe
                raise DatabaseUnavailable("unreachable") from e
            if is_disk_full(e):  # the transaction was rolled back whole: say so, not `internal`
                raise DatabaseFull() from e
            raise

    async def ping(self) -> bool:
        self.check_available()
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
