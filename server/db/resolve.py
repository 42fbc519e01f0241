"""Which PostgreSQL the world uses: TOWNSQUARE_DATABASE_URL, else the embedded one."""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

from server.config import ConfigError, Settings
from server.db.embedded import EmbeddedPostgres


@contextmanager
def world_database(settings: Settings) -> Iterator[str]:
    """Yields an asyncpg URL; starts embedded PostgreSQL when needed, and afterwards stops it
    only if this command started it and nobody else (a running `serve`) uses it."""
    with open_world_database(settings) as (url, _pg):
        yield url


@contextmanager
def open_world_database(settings: Settings, *, serving: bool = False) -> Iterator[tuple[str, EmbeddedPostgres | None]]:
    """Yields (url, the embedded server or None when the database is configured)."""
    url = settings.async_database_url
    if url:
        yield url, None
        return
    data_dir = settings.ensure_data_dir()
    pg = EmbeddedPostgres(data_dir / "pgdata", take_charge=serving)
    try:
        url = pg.start()
    except Exception as e:
        raise ConfigError(f"could not start embedded PostgreSQL: {e}") from None
    try:
        yield url, pg
    finally:
        pg.stop()


SERVE_LOCK = "serve.lock"


@contextmanager
def serve_lock(settings: Settings) -> Iterator[None]:
    """Held by `serve` on an embedded world: a second `serve` on the same data dir is refused."""
    if settings.async_database_url:  # nodes sharing a configured database may share a data dir
        yield
        return
    path = settings.ensure_data_dir() / SERVE_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            raise ConfigError(f"another `townsquare serve` (pid {pid}) is running on data dir {settings.data_dir}; "
                              "stop it first, or give this one its own TOWNSQUARE_DATA_DIR") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)


def serving_pid(settings: Settings) -> str | None:
    """The pid of the `serve` running on this data dir (embedded database), or None."""
    if settings.async_database_url:
        return None
    path = settings.data_dir / SERVE_LOCK
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        return None
    finally:
        os.close(fd)


async def check_reachable(url: str, timeout: float = 5.0) -> None:
    """Fail with one line when the configured server does not answer."""
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout)
    except (TimeoutError, OSError, asyncpg.PostgresError) as e:
        host = urlparse(dsn).hostname or "local socket"
        raise ConfigError(f"cannot reach the database at {host}: {e.__class__.__name__}: {e}") from None
    await conn.close()


def port_free(host: str, port: int, *, reuse_port: bool = False) -> bool:
    """Whether `serve` can bind the port; with reuse_port, a port held by other SO_REUSEPORT workers is free."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True
