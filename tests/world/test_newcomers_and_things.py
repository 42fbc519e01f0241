"""Over the wire: a new account's `session` carries the guide's tour and its first join puts it
beside the guide in the Plaza; the fountain takes exactly one coin per toss through the ledger
(a retry with the same key moves nothing), only within reach; the bookshelf gives its books."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import pytest_asyncio

from tests.conftest import Inbox, call, make_settings, start_world

pytestmark = pytest.mark.asyncio(loop_scope="session")


def midday_offset(rate: float = 0.25) -> float:
    """A clock offset that makes the world's scaled clock read 10:00 now, so the guide keeps to
    the Plaza (her routine) for the whole module (world.yaml: 06:00 to 20:00)."""
    return (600 - (time.time() * rate) % 1440) % 1440


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db_url, tmp_path_factory):
    server = await start_world(make_settings(tmp_path_factory.mktemp("newcomers"),
                                             residents_clock_offset_min=midday_offset()), db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


async def guide_in_plaza(world, timeout: float = 20.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        mira = next((p for p in world.ctx.rooms.occupants("plaza") if p.get("name") == "Mira"), None)
        if mira:
            return mira
        await asyncio.sleep(0.1)  # polling the room's state for the resident's arrival
    raise AssertionError("Mira never came to the plaza")


async def test_a_new_account_gets_the_tour_and_lands_beside_the_guide(world):
    mira = await guide_in_plaza(world)
    account = await world.register()
    client = await world.connect(account["token"])
    inbox = Inbox(client, "session")
    session = await inbox.wait_for("session", timeout=10)
    tour = session["onboarding"]
    assert tour["room"] == "plaza" and tour["guide"]["name"] == "Mira"
    assert tour["door"]["room"] == "market" and tour["door"]["room_name"] == "The Market"
    assert tour["steps"] == ["door", "say", "wallet"]
    joined = await call(client, "room:join", {"room": "plaza"})
    assert joined["ok"], joined
    you = joined["you"]
    assert abs(you["x"] - mira["x"]) + abs(you["y"] - mira["y"]) <= 2.5, (you, mira)
    assert (int(you["x"]), int(you["y"])) != (int(mira["x"]), int(mira["y"]))
    # Once in a room, the account is no longer new: no tour the next time.
    again = await world.connect(account["token"])
    inbox2 = Inbox(again, "session")
    assert "onboarding" not in await inbox2.wait_for("session", timeout=10)


async def test_the_fountain_takes_one_coin_per_toss_once_and_only_within_reach(world):
    account, client = await world.user()
    inbox = Inbox(client, "wallet:update")
    far = await call(client, "thing:use", {"thing": "fountain", "idempotency_key": str(uuid.uuid4())})
    assert far["error"]["code"] == "not_found"  # not in a room yet
    assert (await call(client, "room:join", {"room": "plaza"}))["ok"]
    before = (await call(client, "wallet:balance"))["balance"]
    key = str(uuid.uuid4())
    first = await call(client, "thing:use", {"thing": "fountain", "idempotency_key": key})
    assert first["ok"] and first["balance"] == before - 1 and first["amount"] == 1 and not first["replayed"], first
    update = await inbox.wait_for("wallet:update")
    assert update["balance"] == before - 1 and update["transaction"]["counterparty"]["key"] == "fountain"
    again = await call(client, "thing:use", {"thing": "fountain", "idempotency_key": key})
    assert again["ok"] and again["replayed"] and again["transaction_id"] == first["transaction_id"], again
    assert (await call(client, "wallet:balance"))["balance"] == before - 1
    history = (await call(client, "wallet:history", {"limit": 5}))["entries"]
    toss = [e for e in history if e["transaction_id"] == first["transaction_id"]]
    assert len(toss) == 1 and toss[0]["amount"] == -1 and toss[0]["counterparty"]["key"] == "fountain"
    # Far from the fountain (the plaza's north gate road): walk up to it first.
    assert (await call(client, "move", {"x": 2.5, "y": 27.5}))["ok"]
    end = time.monotonic() + 15
    while world.ctx.rooms.mirror.position("plaza", account["user"]["id"]) != (2.5, 27.5) and time.monotonic() < end:
        await asyncio.sleep(0.1)  # the walk takes a few seconds of ticks
    far = await call(client, "thing:use", {"thing": "fountain", "idempotency_key": str(uuid.uuid4())})
    assert far["error"]["code"] == "forbidden" and "walk up" in far["error"]["message"]
    # Bad input changes nothing.
    for bad in ({"thing": "fountain"}, {"thing": "fountain", "idempotency_key": 5}, {"thing": "moon", "idempotency_key": str(uuid.uuid4())}):
        reply = await call(client, "thing:use", bad)
        assert not reply["ok"] and reply["error"]["code"] in ("invalid_payload", "not_found"), (bad, reply)
    assert (await call(client, "wallet:balance"))["balance"] == before - 1


async def test_the_bookshelf_gives_the_librarys_books(world):
    _, client = await world.user()
    assert (await call(client, "room:join", {"room": "library"}))["ok"]
    shelf = await call(client, "thing:use", {"thing": "bookshelf"})
    assert shelf["ok"] and shelf["kind"] == "bookshelf" and "Quiet Hours (poems)" in shelf["books"], shelf
