"""A process killed with SIGKILL in the middle of a transfer load: every acknowledged transfer is
there, nothing else is half-done, and a client retrying its in-flight requests moves money once."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.economy.conftest import make_users

WORKER = Path(__file__).with_name("crash_worker.py")
ROOT = Path(__file__).resolve().parents[2]


async def test_sigkill_mid_load_loses_no_acknowledged_transfer(ledger, db_url):
    wallets = await make_users(ledger, 6)
    for w in wallets:
        await ledger.balance(w)
    before = await ledger.audit()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(WORKER), db_url, *map(str, wallets), cwd=str(ROOT),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    sent: dict[str, tuple] = {}
    acked: dict[str, str] = {}
    try:
        async def read_until(n_acks: int) -> None:
            while len(acked) < n_acks:
                line = (await proc.stdout.readline()).decode()
                assert line, (await proc.stderr.read()).decode()[-2000:]
                parts = line.split()
                if parts[0] == "SEND":
                    sent[parts[1]] = (parts[2], parts[3], int(parts[4]))
                elif parts[0] == "ACK":
                    acked[parts[1]] = parts[2]

        await asyncio.wait_for(read_until(150), 120)
    finally:
        proc.kill()  # SIGKILL: no cleanup, connections just drop
        rest = (await proc.communicate())[0].decode().splitlines()
    assert proc.returncode == -9
    for line in rest:  # whatever it had written before it died
        parts = line.split()
        if parts and parts[0] == "SEND":
            sent[parts[1]] = (parts[2], parts[3], int(parts[4]))
        elif parts and parts[0] == "ACK":
            acked[parts[1]] = parts[2]

    pool = await ledger.pool()
    # A request in flight at the kill may still commit: its backend notices the dead client only
    # when it answers. Wait for those backends to finish before looking.
    for _ in range(100):
        if not await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'townsquare-ledger' AND state <> 'idle' AND pid <> pg_backend_pid()"):
            break
        await asyncio.sleep(0.05)
    rows = {r["idempotency_key"]: str(r["id"]) for r in await pool.fetch(
        "SELECT idempotency_key, id FROM ledger_transactions WHERE kind = 'transfer' AND idempotency_key = ANY($1)",
        list(sent))}
    # every acknowledged transfer committed, under the id the client was given
    assert all(rows.get(k) == tx for k, tx in acked.items())
    report = await ledger.audit()
    assert report.ok, report.format()
    assert report.figures["supply"] == before.figures["supply"]
    assert await pool.fetchval("SELECT sum(balance) FROM ledger_accounts WHERE owner_id = ANY($1)", wallets) == 6000

    # the client retries what it never heard back about: each moves money exactly once
    in_flight = [k for k in sent if k not in acked]
    assert in_flight, "the kill should land with requests in flight"
    for k in in_flight:
        src, dst, amount = sent[k]
        t = await ledger.transfer(src, dst, amount, idempotency_key=k)
        assert t.replayed or k not in rows  # committed before the kill -> the first result comes back
    counts = await pool.fetch("SELECT idempotency_key, count(*) AS n FROM ledger_transactions "
                              "WHERE idempotency_key = ANY($1) GROUP BY idempotency_key", list(sent))
    assert len(counts) == len(sent) and all(r["n"] == 1 for r in counts)
    assert (await ledger.audit()).ok
    assert await pool.fetchval("SELECT sum(balance) FROM ledger_accounts WHERE owner_id = ANY($1)", wallets) == 6000
