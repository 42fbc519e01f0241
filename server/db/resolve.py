"""Which PostgreSQL the world uses: TOWNSQUARE_DATABASE_URL, else the embedded one."""

from __future__ import annotations

import asyncio
import socket
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlparse

from server.config import ConfigError, Settings
from server.db.embedded import EmbeddedPostgres


@contextmanager
def world_database(settings: Settings) -> Iterator[str]:
    """Yields an asyncpg URL; starts (and afterwards stops) embedded PostgreSQL when needed."""
    url = settings.async_database_url
    if url:
        yield url
        return
    data_dir = settings.ensure_data_dir()
    pg = EmbeddedPostgres(data_dir / "pgdata")
    try:
        url = pg.start()
    except Exception as e:
        raise ConfigError(f"could not start embedded PostgreSQL: {e}") from None
    try:
        yield url
    finally:
        pg.stop()


async def check_reachable(url: str, timeout: float = 5.0) -> None:
    """Fail with one line when the configured server does not answer."""
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as e:
        host = urlparse(dsn).hostname or "local socket"
        raise ConfigError(f"cannot reach the database at {host}: {e.__class__.__name__}: {e}") from None
    await conn.close()


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True
