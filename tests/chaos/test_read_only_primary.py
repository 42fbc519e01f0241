"""A demoted primary behind the database address (issue 20 item 2): after a failover the old primary
answers read-only. Writes get `unavailable` (a keyed transfer is ridden out), reads keep working,
the read-only connections are dropped, and once the new primary answers the keyed transfer goes
through exactly once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from tests.conftest import call, make_settings, start_world


async def _set_read_only(db_url: str, on: bool) -> None:
    """Make the database answer read-only to new sessions, as a demoted primary (a standby) would."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    name = url.database
    # From the maintenance database: a session on the world's own would be read-only itself.
    conn = await asyncpg.connect(url.set(database="postgres").render_as_string(hide_password=False)
                                 .replace("postgresql+asyncpg://", "postgresql://"))
    try:
        if on:
            await conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            # The failover drops every connection: the world reconnects and finds the read-only server.
            await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = $1 AND pid <> pg_backend_pid()", name)
        else:
            # The new primary answers at the same address; the world's read-only sessions stay open, so it
            # must drop them itself to find it.
            await conn.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
    finally:
        await conn.close()


async def test_a_demoted_primary_refuses_writes_clearly_and_keyed_transfers_go_through_once(db_url, tmp_path):
    world = await start_world(make_settings(tmp_path, db_retry_deadline_s=8.0), db_url)
    try:
        ana, sa = await world.user()
        ben, sb = await world.user()
        for s in (sa, sb):
            assert (await call(s, "room:join", {"room": "plaza"}))["ok"]
        before = (await call(sa, "wallet:balance", {}))["balance"]
        await _set_read_only(db_url, True)
        try:
            # Reads keep working on the read-only server (after the dropped connections are replaced).
            for _ in range(3):
                seen = await call(sa, "wallet:balance", {}, timeout=15)
                if seen["ok"]:
                    break
            assert seen["ok"] and seen["balance"] == before, seen
            # A write that is not idempotent fails at once with `unavailable`, not `internal`.
            said = await call(sa, "chat:send", {"text": "hello while the database is read-only"}, timeout=15)
            assert not said["ok"] and said["error"]["code"] == "unavailable", said
            # A keyed transfer is ridden out: it waits for a writable primary within the retry deadline.
            key = f"failover-{uuid.uuid4().hex}"
            pending = asyncio.ensure_future(call(sa, "wallet:transfer",
                                                 {"to": ben["user"]["id"], "amount": 5, "idempotency_key": key},
                                                 timeout=20))
            await asyncio.sleep(0.5)  # let it meet the read-only server at least once before the switch
            assert not pending.done(), pending.result()
        finally:
            await _set_read_only(db_url, False)
        sent = await pending
        assert sent["ok"], sent
        again = await call(sa, "wallet:transfer",
                           {"to": ben["user"]["id"], "amount": 5, "idempotency_key": key}, timeout=15)
        assert again["ok"]
        assert (await call(sa, "wallet:balance", {}))["balance"] == before - 5
        said = await call(sa, "chat:send", {"text": "hello again"}, timeout=15)
        assert said["ok"], said
    finally:
        await world.close_clients()
        await world.runner.cleanup()
