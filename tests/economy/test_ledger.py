"""The Ledger service on a real PostgreSQL: transfers, idempotency, refusals, history, admin acts."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from server.audit import AuditEntry
from server.protocol import ProtocolError
from tests.economy.conftest import balances, key, make_users


async def refused(code: str, coro) -> ProtocolError:
    with pytest.raises(ProtocolError) as e:
        await coro
    assert e.value.code == code, (e.value.code, e.value.message)
    assert e.value.message
    return e.value


async def test_wallet_opens_lazily_with_one_starting_grant(ledger):
    (u,) = await make_users(ledger, 1)
    results = await asyncio.gather(*[ledger.balance(u) for _ in range(8)])  # concurrent first touches
    assert results == [1000] * 8
    history = await ledger.history(u)
    assert [(h["kind"], h["amount"], h["balance"]) for h in history] == [("grant", 1000, 1000)]
    assert history[0]["counterparty"] == {"kind": "system", "key": "treasury"}
    assert (await ledger.audit()).ok


async def test_transfer_moves_money_once_and_reports_balances(ledger):
    a, b = await make_users(ledger, 2)
    t = await ledger.transfer(a, b, 150, idempotency_key=key(), memo="  thanks for the map ")
    assert (t.balance, t.to_balance, t.replayed, t.memo) == (850, 1150, False, "thanks for the map")
    assert await balances(ledger, [a, b]) == [850, 1150]
    top = (await ledger.history(b))[0]
    assert top["transaction_id"] == str(t.transaction_id)
    assert (top["kind"], top["amount"], top["balance"], top["memo"]) == ("transfer", 150, 1150, "thanks for the map")
    assert top["counterparty"]["id"] == str(a)
    assert (await ledger.history(a))[0]["amount"] == -150


async def test_retry_after_a_lost_reply_returns_the_first_result(ledger):
    a, b = await make_users(ledger, 2)
    k = key()
    first = await ledger.transfer(a, b, 100, idempotency_key=k, memo="tip")
    await ledger.transfer(b, a, 1, idempotency_key=key())  # balances move on in between
    again = await ledger.transfer(a, b, 100, idempotency_key=k, memo="tip")
    assert again.transaction_id == first.transaction_id and again.replayed
    assert (again.balance, again.to_balance) == (first.balance, first.to_balance)  # the first result
    assert await balances(ledger, [a, b]) == [901, 1099]
    # the same key from another initiator is another request
    other = await ledger.transfer(b, a, 100, idempotency_key=k, memo="tip")
    assert other.transaction_id != first.transaction_id


async def test_concurrent_retries_with_one_key_move_money_once(ledger):
    a, b = await make_users(ledger, 2)
    k = key()
    results = await asyncio.gather(*[ledger.transfer(a, b, 10, idempotency_key=k) for _ in range(12)])
    assert len({r.transaction_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert {r.balance for r in results} == {990}
    assert await balances(ledger, [a, b]) == [990, 1010]


@pytest.mark.parametrize("change", [{"amount": 101}, {"memo": "other"}, {"to": "third"}])
async def test_same_key_with_other_parameters_is_a_conflict(ledger, change):
    a, b, c = await make_users(ledger, 3)
    k = key()
    await ledger.transfer(a, b, 100, idempotency_key=k, memo="m")
    args = {"amount": 100, "memo": "m", "to": b, **change}
    if args["to"] == "third":
        args["to"] = c
    await refused("conflict", ledger.transfer(a, args["to"], args["amount"], idempotency_key=k, memo=args["memo"]))
    assert await balances(ledger, [a, b, c]) == [900, 1100, 1000]


@pytest.mark.parametrize("amount", [0, -5, 1.5, 2.0, True, False, "10", None, 10**12 + 1, 10**30, -(10**30)])
async def test_bad_amounts_are_invalid_and_move_nothing(ledger, amount):
    a, b = await make_users(ledger, 2)
    await refused("invalid_payload", ledger.transfer(a, b, amount, idempotency_key=key()))
    assert await balances(ledger, [a, b]) == [1000, 1000]


async def test_refusals_carry_their_code_and_move_nothing(ledger):
    a, b = await make_users(ledger, 2)
    before = (await ledger.audit()).figures
    await refused("insufficient_funds", ledger.transfer(a, b, 1001, idempotency_key=key()))
    await refused("invalid_payload", ledger.transfer(a, a, 5, idempotency_key=key()))
    await refused("not_found", ledger.transfer(a, uuid.uuid4(), 5, idempotency_key=key()))
    await refused("not_found", ledger.transfer(uuid.uuid4(), a, 5, idempotency_key=key()))
    await refused("invalid_payload", ledger.transfer(a, "not-a-uuid", 5, idempotency_key=key()))
    await refused("invalid_payload", ledger.transfer(a, b, 5, idempotency_key=""))
    await refused("invalid_payload", ledger.transfer(a, b, 5, idempotency_key="k" * 129))
    await refused("invalid_payload", ledger.transfer(a, b, 5, idempotency_key=key(), memo="x" * 201))
    await refused("invalid_payload", ledger.transfer(a, b, 5, idempotency_key=key(), memo="bell\x07"))
    assert await balances(ledger, [a, b]) == [1000, 1000]
    after = await ledger.audit()
    assert after.ok and after.figures["transactions"] == before["transactions"] + 2  # just the two grants


async def test_frozen_wallets_refuse_every_movement(ledger):
    admin, a, b = await make_users(ledger, 3)
    await ledger.freeze(actor_id=admin, reason="chargeback review", user_id=a)
    err = await refused("frozen", ledger.transfer(a, b, 5, idempotency_key=key()))
    assert "your wallet" in err.message
    err = await refused("frozen", ledger.transfer(b, a, 5, idempotency_key=key()))
    assert "recipient" in err.message
    await refused("frozen", ledger.mint(5, actor_id=admin, reason="prize", idempotency_key=key(), user_id=a))
    assert (await ledger.wallet(a))["frozen"] and await balances(ledger, [a, b]) == [1000, 1000]
    await ledger.unfreeze(actor_id=admin, reason="review done", user_id=a)
    await ledger.transfer(a, b, 5, idempotency_key=key())
    assert await balances(ledger, [a, b]) == [995, 1005]


async def test_history_pages_with_before_and_limit(ledger):
    a, b = await make_users(ledger, 2)
    sent = [await ledger.transfer(a, b, i + 1, idempotency_key=key()) for i in range(5)]
    page1 = await ledger.history(a, limit=2)
    page2 = await ledger.history(a, before=page1[-1]["transaction_id"], limit=2)
    page3 = await ledger.history(a, before=page2[-1]["transaction_id"], limit=10)
    ids = [h["transaction_id"] for h in page1 + page2 + page3]
    assert ids[:5] == [str(t.transaction_id) for t in reversed(sent)]
    assert [h["kind"] for h in page3][-1] == "grant" and len(ids) == 6
    assert [h["balance"] for h in page1 + page2 + page3] == [985, 990, 994, 997, 999, 1000]
    await refused("not_found", ledger.history(a, before=uuid.uuid4()))
    await refused("invalid_payload", ledger.history(a, limit=0))


async def test_mint_and_burn_change_supply_and_are_audited(ledger, db):
    admin, a = await make_users(ledger, 2)
    await ledger.balance(a)
    supply = (await ledger.audit()).figures["supply"]
    k = key()
    minted = await ledger.mint(500, actor_id=admin, reason="festival prize", idempotency_key=k, user_id=a)
    replay = await ledger.mint(500, actor_id=admin, reason="festival prize", idempotency_key=k, user_id=a)
    assert replay["transaction_id"] == minted["transaction_id"] and replay["replayed"]
    await refused("conflict", ledger.mint(501, actor_id=admin, reason="festival prize", idempotency_key=k, user_id=a))
    assert await ledger.balance(a) == 1500
    await ledger.burn(200, actor_id=admin, reason="spam winnings", idempotency_key=key(), user_id=a)
    await refused("insufficient_funds", ledger.burn(5000, actor_id=admin, reason="too much", idempotency_key=key(),
                                                    user_id=a))
    await refused("invalid_payload", ledger.burn(5, actor_id=admin, reason="", idempotency_key=key(), user_id=a))
    await refused("invalid_payload", ledger.mint(5, actor_id=admin, reason="self", idempotency_key=key(),
                                                 account="mint"))
    await refused("not_found", ledger.mint(5, actor_id=admin, reason="nowhere", idempotency_key=key(),
                                           account="nope"))
    await ledger.mint(1000, actor_id=admin, reason="reserve", idempotency_key=key())  # the treasury
    report = await ledger.audit()
    assert report.ok and report.figures["supply"] == supply + 500 - 200 + 1000
    async with db.session() as s:
        rows = (await s.execute(select(AuditEntry).where(AuditEntry.actor_id == admin)
                                .order_by(AuditEntry.id))).scalars().all()
    assert [(r.action, r.target_id, r.reason) for r in rows] == [
        ("economy.mint", str(a), "festival prize"), ("economy.burn", str(a), "spam winnings"),
        ("economy.mint", "treasury", "reserve")]
    assert rows[0].details["amount"] == 500 and rows[0].details["transaction_id"] == minted["transaction_id"]


async def test_reversal_compensates_once(ledger, db):
    admin, a, b, c = await make_users(ledger, 4)
    t = await ledger.transfer(a, b, 300, idempotency_key=key())
    k = key()
    r = await ledger.reverse(t.transaction_id, actor_id=admin, reason="sent by mistake", idempotency_key=k)
    assert r["reverses"] == str(t.transaction_id)
    assert await balances(ledger, [a, b]) == [1000, 1000]
    again = await ledger.reverse(t.transaction_id, actor_id=admin, reason="sent by mistake", idempotency_key=k)
    assert again["transaction_id"] == r["transaction_id"] and again["replayed"]
    await refused("conflict", ledger.reverse(t.transaction_id, actor_id=admin, reason="twice", idempotency_key=key()))
    await refused("conflict", ledger.reverse(r["transaction_id"], actor_id=admin, reason="undo the undo",
                                             idempotency_key=key()))
    await refused("not_found", ledger.reverse(uuid.uuid4(), actor_id=admin, reason="ghost", idempotency_key=key()))
    # b spends what it received: reversing would drive b negative
    t2 = await ledger.transfer(a, b, 500, idempotency_key=key())
    await ledger.transfer(b, c, 1500, idempotency_key=key())
    await refused("insufficient_funds", ledger.reverse(t2.transaction_id, actor_id=admin, reason="fraud",
                                                       idempotency_key=key()))
    assert await balances(ledger, [a, b, c]) == [500, 0, 2500]
    found = await ledger.transaction(t.transaction_id)
    assert found["reversed_by"] == r["transaction_id"]
    assert sorted(e["amount"] for e in found["entries"]) == [-300, 300]
    assert (await ledger.audit()).ok


async def test_search_filters(ledger):
    admin, a, b = await make_users(ledger, 3)
    t1 = await ledger.transfer(a, b, 1, idempotency_key=key())
    t2 = await ledger.transfer(b, a, 2, idempotency_key=key())
    mine = await ledger.search(user_id=a, kind="transfer")
    assert [x["id"] for x in mine] == [str(t2.transaction_id), str(t1.transaction_id)]
    assert [x["id"] for x in await ledger.search(initiator_id=b, kind="transfer")] == [str(t2.transaction_id)]
    assert [x["id"] for x in await ledger.search(user_id=a, kind="transfer", before=t2.transaction_id)] == \
        [str(t1.transaction_id)]
    assert await ledger.search(user_id=uuid.uuid4()) == []
    accounts = {x["key"]: x for x in await ledger.system_accounts()}
    assert {"mint", "treasury", "fees"} <= set(accounts) and accounts["mint"]["balance"] < 0
