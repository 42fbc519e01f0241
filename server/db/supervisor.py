"""`serve` watches the embedded PostgreSQL it runs and brings it back when it dies.

A postmaster killed (OOM, kill -9, a crash) is started again on the same pgdata, where PostgreSQL
runs crash recovery; meanwhile the database reports "restarting" so requests fail at once with
`unavailable`, and once it is back the pool's dead connections are dropped. More than
`max_failures` deaths or failed starts within `window_s` means something is wrong that a restart
will not mend: the supervisor then asks the world to exit with one line saying why.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Callable

from server.db.embedded import EmbeddedPostgres
from server.db.engine import Database

log = logging.getLogger(__name__)


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Orphans we started (the postmaster, once pg_ctl exits) become our children, so a dead one
    can be reaped here: PostgreSQL will not start while the old pid lingers as a zombie."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux
        return False


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: its own parent reaps it
        pass


class PostgresSupervisor:
    def __init__(self, pg: EmbeddedPostgres, db: Database, *, on_fatal: Callable[[str], None],
                 max_failures: int = 5, window_s: float = 60.0, retry_s: float = 1.0, poll_s: float = 0.5):
        self.pg = pg
        self.db = db
        self.on_fatal = on_fatal
        self.max_failures = max_failures
        self.window_s = window_s
        self.retry_s = retry_s
        self.poll_s = poll_s
        self.restarts = 0
        self.last_heal_s: float | None = None
        self._failures: deque[float] = deque()

    async def run(self) -> None:
        while True:
            pid = self.pg.postmaster_pid()
            if pid is not None:
                await self._wait_exit(pid)
                reap(pid)
            died_at = time.monotonic()
            self.db.state = "restarting"
            log.warning("embedded PostgreSQL (pid %s) is gone; restarting it on the same data (crash recovery)", pid)
            if not await self._bring_back():
                return
            await self._drop_dead_connections()
            self.db.state = "ok"
            self.restarts += 1
            self.last_heal_s = time.monotonic() - died_at
            log.warning("embedded PostgreSQL is back (pid %s) after %.1f s; the world resumes",
                        self.pg.postmaster_pid(), self.last_heal_s)

    async def _wait_exit(self, pid: int) -> None:
        """Returns when process `pid` has exited (a pidfd where Linux has one, else polling)."""
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            fd = None
        if fd is None:
            while self.pg.postmaster_pid() == pid:
                await asyncio.sleep(self.poll_s)
            return
        loop = asyncio.get_running_loop()
        exited = asyncio.Event()
        loop.add_reader(fd, exited.set)  # a pidfd turns readable when the process exits
        try:
            await exited.wait()
        finally:
            loop.remove_reader(fd)
            os.close(fd)

    def _failed(self, why: str) -> bool:
        """Count a failure; True when the window's budget is spent (the world was told to exit)."""
        now = time.monotonic()
        self._failures.append(now)
        while self._failures and now - self._failures[0] > self.window_s:
            self._failures.popleft()
        if len(self._failures) > self.max_failures:
            self.db.state = "down"
            self.on_fatal(f"embedded PostgreSQL failed {len(self._failures)} times within {self.window_s:.0f} s "
                          f"(last: {why}); see {self.pg.pgdata / 'log'}")
            return True
        return False

    async def _bring_back(self) -> bool:
        why = "it died"
        while True:
            if self._failed(why):
                return False
            try:
                await asyncio.to_thread(self.pg.restart)
                return True
            except Exception as e:  # pg_ctl's failure: retried until the budget is spent
                why = f"restart failed: {e.__class__.__name__}"
                log.warning("restarting embedded PostgreSQL failed (%s); retrying in %.0f s", why, self.retry_s)
                await asyncio.sleep(self.retry_s)

    async def _drop_dead_connections(self) -> None:
        try:
            await self.db.engine.dispose()  # pooled connections point at the dead server
        except Exception as e:
            log.info("dropping the old pool: %s", e.__class__.__name__)
