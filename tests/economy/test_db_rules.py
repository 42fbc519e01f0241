"""The database itself refuses what would break the ledger, whatever SQL a bug or a person sends."""

from __future__ import annotations

import asyncpg
import pytest

from tests.economy.conftest import key, make_users


async def wallet_id(raw, user) -> int:
    return await raw.fetchval("SELECT id FROM ledger_accounts WHERE owner_id = $1", user)


async def test_entries_and_transactions_cannot_be_updated_deleted_or_truncated(ledger, raw):
    a, b = await make_users(ledger, 2)
    t = await ledger.transfer(a, b, 10, idempotency_key=key())
    for sql in ("UPDATE ledger_entries SET amount = amount * 2 WHERE transaction_id = $1",
                "DELETE FROM ledger_entries WHERE transaction_id = $1",
                "UPDATE ledger_transactions SET memo = 'edited' WHERE id = $1",
                "DELETE FROM ledger_transactions WHERE id = $1"):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await raw.execute(sql, t.transaction_id)
    for table in ("ledger_entries", "ledger_transactions", "ledger_accounts"):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await raw.execute(f"TRUNCATE {table} CASCADE")
    assert await raw.fetchval("SELECT count(*) FROM ledger_entries WHERE transaction_id = $1", t.transaction_id) == 2
    assert (await ledger.audit()).ok


async def test_balances_change_only_through_entries(ledger, raw):
    (a,) = await make_users(ledger, 1)
    await ledger.balance(a)
    acc = await wallet_id(raw, a)
    with pytest.raises(asyncpg.PostgresError, match="only through ledger entries"):
        await raw.execute("UPDATE ledger_accounts SET balance = balance + 1000000 WHERE id = $1", acc)
    with pytest.raises(asyncpg.PostgresError, match="opens at balance 0"):
        await raw.execute("INSERT INTO ledger_accounts (kind, key, balance) VALUES ('sink', 'loot', 5)")
    with pytest.raises(asyncpg.PostgresError, match="never deleted"):
        await raw.execute("DELETE FROM ledger_accounts WHERE id = $1", acc)
    with pytest.raises(asyncpg.PostgresError, match="identity never changes"):
        await raw.execute("UPDATE ledger_accounts SET owner_id = NULL, kind = 'sink', key = 'x' WHERE id = $1", acc)
    await raw.execute("UPDATE ledger_accounts SET frozen = true WHERE id = $1", acc)  # the one thing allowed
    await raw.execute("UPDATE ledger_accounts SET frozen = false WHERE id = $1", acc)
    assert await ledger.balance(a) == 1000


async def test_an_unbalanced_transaction_is_refused_at_commit(ledger, raw):
    (a,) = await make_users(ledger, 1)
    await ledger.balance(a)
    acc = await wallet_id(raw, a)
    tr = raw.transaction()
    await tr.start()
    tx = await raw.fetchval("INSERT INTO ledger_transactions (kind, memo) VALUES ('mint', 'free money') RETURNING id")
    await raw.execute("INSERT INTO ledger_entries (transaction_id, account_id, amount) VALUES ($1, $2, 1000000)", tx, acc)
    # within the transaction the balance moved (the check is deferred to commit) ...
    assert await raw.fetchval("SELECT balance FROM ledger_accounts WHERE id = $1", acc) == 1001000
    with pytest.raises(asyncpg.PostgresError, match="unbalanced") as e:
        await tr.commit()
    assert e.value.sqlstate == "23514"
    # ... and at commit all of it was refused
    assert await raw.fetchval("SELECT count(*) FROM ledger_transactions WHERE id = $1", tx) == 0
    assert await ledger.balance(a) == 1000
    assert (await ledger.audit()).ok


async def test_a_balanced_raw_transaction_commits_and_keeps_balances_consistent(ledger, raw):
    a, b = await make_users(ledger, 2)
    await ledger.balance(a), await ledger.balance(b)
    acc_a, acc_b = await wallet_id(raw, a), await wallet_id(raw, b)
    async with raw.transaction():
        tx = await raw.fetchval("INSERT INTO ledger_transactions (kind, initiator_id) VALUES ('transfer', $1) "
                                "RETURNING id", a)
        # legs in separate statements: only the sum at COMMIT matters
        await raw.execute("INSERT INTO ledger_entries (transaction_id, account_id, amount) VALUES ($1, $2, -40)", tx, acc_a)
        await raw.execute("INSERT INTO ledger_entries (transaction_id, account_id, amount) VALUES ($1, $2, 40)", tx, acc_b)
    assert [await ledger.balance(u) for u in (a, b)] == [960, 1040]
    assert (await ledger.audit()).ok


async def test_a_wallet_cannot_go_below_zero_even_by_raw_sql(ledger, raw):
    a, b = await make_users(ledger, 2)
    await ledger.balance(a), await ledger.balance(b)
    acc_a, acc_b = await wallet_id(raw, a), await wallet_id(raw, b)
    with pytest.raises(asyncpg.CheckViolationError) as e:
        async with raw.transaction():
            tx = await raw.fetchval("INSERT INTO ledger_transactions (kind) VALUES ('transfer') RETURNING id")
            await raw.execute("INSERT INTO ledger_entries (transaction_id, account_id, amount) "
                              "VALUES ($1, $2, -5000), ($1, $3, 5000)", tx, acc_a, acc_b)
    assert e.value.constraint_name == "ck_ledger_accounts_wallet_nonnegative"
    assert [await ledger.balance(u) for u in (a, b)] == [1000, 1000]


async def test_a_transaction_is_reversed_at_most_once(ledger, raw):
    a, b = await make_users(ledger, 2)
    t = await ledger.transfer(a, b, 10, idempotency_key=key())
    tr = raw.transaction()
    await tr.start()
    try:
        await raw.execute("INSERT INTO ledger_transactions (kind, reverses) VALUES ('reversal', $1)", t.transaction_id)
        with pytest.raises(asyncpg.UniqueViolationError):
            await raw.execute("INSERT INTO ledger_transactions (kind, reverses) VALUES ('reversal', $1)",
                              t.transaction_id)
    finally:
        await tr.rollback()


async def test_an_idempotency_key_is_unique_per_initiator(ledger, raw):
    a, b = await make_users(ledger, 2)
    k = key()
    await ledger.transfer(a, b, 10, idempotency_key=k)
    with pytest.raises(asyncpg.UniqueViolationError):
        await raw.execute("INSERT INTO ledger_transactions (kind, initiator_id, idempotency_key) "
                          "VALUES ('transfer', $1, $2)", a, k)
    with pytest.raises(asyncpg.CheckViolationError):
        await raw.execute("INSERT INTO ledger_transactions (kind, idempotency_key) VALUES ('mint', $1)", k)
    with pytest.raises(asyncpg.CheckViolationError):
        await raw.execute("INSERT INTO ledger_transactions (kind) VALUES ('gift')")
