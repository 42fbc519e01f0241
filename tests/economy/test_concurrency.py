"""Invariants under concurrency: many tasks moving money among few wallets, opposite pairs at once."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest_asyncio

from server.economy.ledger import Ledger
from server.protocol import ProtocolError
from tests.economy.conftest import key, make_users


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def busy_ledger(db):
    """32 connections, so 32 transactions really are in the database at once."""
    led = Ledger(db, starting_grant=1000, pool_size=32)
    await led.start()
    yield led
    await led.close()


async def test_random_transfers_among_20_wallets_keep_every_invariant(busy_ledger):
    ledger = busy_ledger
    wallets = await make_users(ledger, 20)
    await asyncio.gather(*[ledger.balance(w) for w in wallets])
    before = await ledger.audit()
    total = sum([await ledger.balance(w) for w in wallets])
    outcomes: Counter = Counter()
    committed: list[tuple] = []

    async def task(i: int) -> None:
        rng = random.Random(i)
        for n in range(30):
            if i < 8:  # four pairs hammering each other in opposite directions at once
                a, b = wallets[(i // 2) * 2], wallets[(i // 2) * 2 + 1]
                src, dst = (a, b) if (i + n) % 2 == 0 else (b, a)
            else:
                src, dst = rng.sample(wallets, 2)
            amount = rng.randint(1, 400)  # big enough that some run dry
            try:
                t = await ledger.transfer(src, dst, amount, idempotency_key=key())
            except ProtocolError as e:
                outcomes[e.code] += 1
            else:
                outcomes["ok"] += 1
                committed.append((src, dst, amount, t))

    await asyncio.gather(*[task(i) for i in range(40)])
    assert set(outcomes) <= {"ok", "insufficient_funds"}, outcomes  # no deadlock, no internal error
    assert ledger.retries == 0  # locks in account-id order: not even a retried deadlock
    assert outcomes["ok"] > 600
    after = await ledger.audit()
    assert after.ok, after.format()
    assert after.figures["supply"] == before.figures["supply"]
    balances = [await ledger.balance(w) for w in wallets]
    assert sum(balances) == total and min(balances) >= 0
    # each wallet's balance is its start plus exactly the acknowledged transfers
    expected = {w: 1000 for w in wallets}
    for src, dst, amount, _ in committed:
        expected[src] -= amount
        expected[dst] += amount
    assert balances == [expected[w] for w in wallets]


async def test_first_touches_from_many_tasks_grant_once(busy_ledger):
    ledger = busy_ledger
    fresh = await make_users(ledger, 10)
    before = await ledger.audit()

    async def touch(i: int):
        a, b = fresh[i % 10], fresh[(i + 3) % 10]
        try:
            await ledger.transfer(a, b, 1, idempotency_key=key())
        except ProtocolError as e:
            assert e.code == "insufficient_funds"

    retries = ledger.retries
    await asyncio.gather(*[touch(i) for i in range(40)])
    assert ledger.retries == retries
    grants = await ledger.search(kind="grant", limit=500)
    granted = Counter(e["user_id"] for g in grants for e in g["entries"] if e["user_id"])
    assert all(granted[str(u)] == 1 for u in fresh)
    after = await ledger.audit()
    assert after.ok
    assert sum([await ledger.balance(u) for u in fresh]) == 10 * 1000
    assert after.figures["in_wallets"] == before.figures["in_wallets"] + 10 * 1000
