"""Telling "the database is not there" apart from other failures, and saying so once, not per tick."""

from __future__ import annotations

import logging
import time

from server.protocol import ProtocolError

log = logging.getLogger(__name__)


class DatabaseUnavailable(ProtocolError):
    """The database cannot be reached (restarting, or gone mid-request): the client may retry."""

    def __init__(self, state: str = "unreachable"):
        super().__init__("unavailable", f"the world's database is {state}; try again in a few seconds")
        self.state = state


class DatabaseFull(DatabaseUnavailable):
    """PostgreSQL refused a write for want of disk space: the transaction was rolled back whole."""

    def __init__(self) -> None:
        super().__init__("out of disk space")
        self.message = "the world's storage is full, so nothing was changed; try again later (reads still work)"
        self.args = (self.message,)


def is_disk_full(exc: BaseException) -> bool:
    """True when PostgreSQL could not write for want of disk space (SQLSTATE 53100)."""
    return any((getattr(e, "sqlstate", None) or "") == "53100" for e in _chain(exc))


def _chain(exc: BaseException, depth: int = 8):
    seen = set()
    while exc is not None and depth > 0 and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        orig = getattr(exc, "orig", None)  # SQLAlchemy's wrapper around the driver's error
        exc = orig if isinstance(orig, BaseException) else (exc.__cause__ or exc.__context__)
        depth -= 1


def is_read_only(exc: BaseException) -> bool:
    """True when the server refused a write as read-only (SQLSTATE 25006): a demoted primary or a standby
    answers at the address, so this connection must be dropped and a new one made (to the new primary)."""
    return any((getattr(e, "sqlstate", None) or "") == "25006" for e in _chain(exc))


def is_connection_loss(exc: BaseException) -> bool:
    """True when `exc` means the server is gone or not accepting connections (not a bad query)."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    for e in _chain(exc):
        if isinstance(e, DatabaseUnavailable):
            return True
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, OSError) and not isinstance(e, TimeoutError):  # refused, reset, socket file gone
            return True
        state = getattr(e, "sqlstate", None) or ""
        if state.startswith("08") or state.startswith("57P"):  # connection exception; shutdown, starting up
            return True
        if isinstance(e, asyncpg.InterfaceError) and "closed" in str(e):
            return True
    return is_read_only(exc)  # a primary demoted behind the same address answers as if it were not there


class DatabaseDownLogFilter(logging.Filter):
    """Turns tracebacks caused by a missing database into one warning per `every_s` seconds.

    Every room, resident and lease loop logs its failures; while PostgreSQL restarts they would all
    fail each tick, so the log would fill with identical tracebacks that say nothing new.
    """

    def __init__(self, every_s: float = 30.0):
        super().__init__()
        self.every_s = every_s
        self._last = float("-inf")
        self._suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not is_connection_loss(exc):
            return True
        now = time.monotonic()
        if now - self._last < self.every_s:
            self._suppressed += 1
            return False
        note = f" ({self._suppressed} more like it not logged)" if self._suppressed else ""
        record.msg = f"database unavailable: {record.getMessage()}: {exc.__class__.__name__}{note}"
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        self._last, self._suppressed = now, 0
        return True


def install_log_filter(every_s: float = 30.0) -> DatabaseDownLogFilter:
    flt = DatabaseDownLogFilter(every_s)
    for handler in logging.getLogger().handlers:
        handler.addFilter(flt)
    return flt
