"""What the benchmarks share: a free port, PostgreSQL for a run, and a `townsquare serve` child
process with its own settings, log, health wait and clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`townsquare serve` on a free port against `url`, settings from `env` on top of the bench
    defaults (no townsquare.toml, no TOWNSQUARE_* from the shell except those named in `keep`),
    output to a log file in `tmp`. `argv` replaces `-m server.cli serve` (profilers, wrappers)."""

    def __init__(self, url: str, tmp: Path, secret: str, env: dict[str, str], *, argv: list[str] | None = None,
                 keep: tuple[str, ...] = (), port: int | None = None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_") or k in keep}
        full.update({"TOWNSQUARE_CONFIG": "/nonexistent/townsquare.toml", "TOWNSQUARE_DATABASE_URL": url,
                     "TOWNSQUARE_SECRET_KEY": secret, "TOWNSQUARE_PORT": str(self.port),
                     "TOWNSQUARE_DATA_DIR": str(tmp / "data"), "TOWNSQUARE_LOG_LEVEL": "WARNING",
                     "TOWNSQUARE_LOG_FORMAT": "json", "HF_HUB_OFFLINE": "1"})
        full.update(env)
        self.log = open(tmp / f"server-{self.port}-{len(list(tmp.glob('server-*.log')))}.log", "wb")
        self.proc = subprocess.Popen([sys.executable, *(argv or ["-m", "server.cli", "serve"])], cwd=REPO, env=full,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.proc.pid)

    def wait(self, timeout: float = 180) -> None:
        """Until /healthz answers 200 (the database is migrated and seeded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("server did not come up")

    def cpu_s(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system + getattr(t, "children_user", 0) + getattr(t, "children_system", 0)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (a clean shutdown), SIGKILL if it does not end in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


class BenchDatabase:
    """Embedded PostgreSQL in a temp dir, or scratch databases on TOWNSQUARE_DATABASE_URL's server."""

    def __init__(self, tmp: Path, label: str):
        self.tmp = tmp
        self.label = label
        self.pg = None
        self.admin = None
        self.made: list[str] = []

    def start(self) -> None:
        external = os.environ.get("TOWNSQUARE_DATABASE_URL")
        if external:
            from sqlalchemy.engine import make_url

            self.admin = make_url(external)
            return
        from server.db.embedded import EmbeddedPostgres

        self.pg = EmbeddedPostgres(self.tmp / "pgdata")
        self.pg.start()

    def _admin_dsn(self) -> str:
        return self.admin.set(drivername="postgresql").render_as_string(hide_password=False)

    def new(self, label: str) -> str:
        """A fresh database, migrated to head; its URL."""
        from server.db.migrate import upgrade

        name = f"ts_bench_{self.label}_{label}_{uuid.uuid4().hex[:6]}"
        if self.pg is not None:
            url = self.pg.create_database(name)
        else:
            asyncio.run(self._sql(self._admin_dsn(), f'CREATE DATABASE "{name}"'))
            self.made.append(name)
            url = self.admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
        upgrade(url)
        return url

    @staticmethod
    async def _sql(dsn: str, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def stop(self) -> None:
        for name in self.made:
            asyncio.run(self._sql(self._admin_dsn(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if self.pg is not None:
            self.pg.stop()
