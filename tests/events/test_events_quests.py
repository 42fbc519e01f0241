"""Events and quests through real clients: an event starts on the world clock and its host
resident announces it; a quest's steps done in the world, its reward paid once from the treasury
however often completion is sent; the admin's budget caps rewards."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest_asyncio
from sqlalchemy import text

from ai.npc import WorldClock
from tests.conftest import Inbox, call, eventually, start_world
from tests.residents.conftest import person, resident_id, resident_settings, said_by

EVENTS = ("event:started", "event:ended", "quest:progress")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db_url, tmp_path_factory):
    server = await start_world(resident_settings(tmp_path_factory.mktemp("events")), db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


class Clock:
    """The events' world clock, moved by the test (no real minutes pass)."""

    def __init__(self, world, hhmm: str):
        self.minutes = 0.0
        self.set(hhmm)
        world.ctx.events.clock = WorldClock("scaled", 1.0, 0.0, now=lambda: self.minutes)

    def set(self, hhmm: str, day: int = 0) -> None:
        h, m = hhmm.split(":")
        self.minutes = day * 1440 + int(h) * 60 + int(m)


async def req(world, method, path, token, **kw):
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{world.url}{path}", headers={"Authorization": f"Bearer {token}"}, **kw) as r:
            return r.status, await r.json()


async def admin(world) -> dict:
    acct = await world.register()
    return await world.set_role(acct, "admin")


async def fund(world, adm, budget: int, treasury: int = 0) -> None:
    if treasury:
        st, out = await req(world, "POST", "/api/admin/economy/mint", adm["token"],
                            json={"amount": treasury, "reason": "quest rewards", "idempotency_key": uuid.uuid4().hex})
        assert st == 200, out
    st, out = await req(world, "PUT", "/api/admin/quests/budget", adm["token"],
                        json={"budget": budget, "reason": "rewards this season"})
    assert st == 200, out


async def test_event_starts_on_the_world_clock_and_its_host_announces_it(world):
    clock = Clock(world, "10:00")
    odessa = resident_id(world, "odessa")
    acct, client, inbox, _ = await person(world, "library")
    events = Inbox(client, *EVENTS)
    listed = await call(client, "event:list")
    story = next(e for e in listed["events"] if e["key"] == "story-hour")
    assert story["running"] is False and story["starts_in_min"] == 60 and story["host"] == "odessa"
    refused = await call(client, "event:join", {"event": "story-hour"})
    assert refused["error"]["code"] == "conflict"

    since = len(inbox.items["chat:message"])
    clock.set("11:00")
    started = await events.wait_for("event:started", lambda d: d["key"] == "story-hour")
    assert started["room"] == "library" and started["running"]
    line = await said_by(inbox, odessa, lambda d: "Story hour begins" in d["text"], since=since)
    assert line["room"] == "library"
    joined = await call(client, "event:join", {"event": "story-hour"})
    assert joined["ok"], joined
    # the clock moves past its hour: it ends, once
    clock.set("12:05")
    await events.wait_for("event:ended", lambda d: d["key"] == "story-hour")
    assert len([d for d in events.items["event:started"] if d["key"] == "story-hour"]) == 1
    adm = await admin(world)
    st, out = await req(world, "GET", "/api/admin/events", adm["token"])
    assert st == 200 and next(e for e in out["events"] if e["key"] == "story-hour")["joined"] >= 1


async def test_admin_pauses_reschedules_and_approves_generated_events(world):
    clock = Clock(world, "08:00")
    adm = await admin(world)
    st, out = await req(world, "POST", "/api/admin/events/generate", adm["token"], json={"reason": "try one"})
    assert st == 200, out
    gen = out["event"]
    assert gen["status"] == "pending" and gen["source"] == "generated" and out["generated_by"] == "composed"
    _, client, _, _ = await person(world, "plaza")
    assert gen["key"] not in [e["key"] for e in (await call(client, "event:list"))["events"]]
    st, out = await req(world, "POST", f"/api/admin/events/{gen['key']}/status", adm["token"],
                        json={"status": "scheduled", "at": "08:30", "reason": "looks good"})
    assert st == 200 and out["event"]["at"] == "08:30" and out["event"]["status"] == "scheduled", out
    events = Inbox(client, *EVENTS)
    st, out = await req(world, "POST", "/api/admin/events/market-day/status", adm["token"],
                        json={"status": "paused", "reason": "stalls closed"})
    assert st == 200 and out["event"]["status"] == "paused"
    clock.set("08:30")
    await events.wait_for("event:started", lambda d: d["key"] == gen["key"])
    st, out = await req(world, "POST", "/api/admin/events/nope/status", adm["token"],
                        json={"status": "paused", "reason": "no such"})
    assert st == 404
    st, out = await req(world, "POST", "/api/admin/events", adm["token"],
                        json={"key": "bad", "kind": "story_hour", "title": "x", "room": "nowhere", "at": "09:00",
                              "reason": "a test"})
    assert st == 400 and "nowhere" in out["error"]["message"]


async def test_quest_completes_and_pays_its_reward_once_however_often_sent(world):
    Clock(world, "10:00")
    adm = await admin(world)
    await fund(world, adm, budget=10_000, treasury=1_000)
    acct, client, inbox, _ = await person(world, "plaza")
    quests = Inbox(client, *EVENTS)
    before = (await call(client, "wallet:balance"))["balance"]
    tour = next(q for q in (await call(client, "quest:list"))["quests"] if q["key"] == "library-tour")
    assert tour["done"] == 0 and tour["reward"] == 25
    early = await call(client, "quest:complete", {"quest": "library-tour"})
    assert early["error"]["code"] == "conflict" and "steps left" in early["error"]["message"]

    assert (await call(client, "room:join", {"room": "library"}))["ok"]
    await quests.wait_for("quest:progress", lambda d: d["key"] == "library-tour" and d["done"] == 1)
    assert (await call(client, "chat:send", {"text": "Hello Odessa!"}))["ok"]
    await quests.wait_for("quest:progress", lambda d: d["key"] == "library-tour" and d["done"] == 2)
    found = await call(client, "quest:find", {"thing": "bookshelf"})
    assert found["ok"] and found["quests"][0]["done"] == 3, found
    missing = await call(client, "quest:find", {"thing": "treasure chest"})
    assert missing["error"]["code"] == "not_found"

    first, second = await asyncio.gather(call(client, "quest:complete", {"quest": "library-tour"}),
                                         call(client, "quest:complete", {"quest": "library-tour"}))
    assert first["ok"] and second["ok"], (first, second)
    assert sorted([first["replayed"], second["replayed"]]) == [False, True]
    assert (await call(client, "wallet:balance"))["balance"] == before + 25
    again = await call(client, "quest:complete", {"quest": "library-tour"})
    assert again["replayed"] and again["reward"] == 25
    assert (await call(client, "wallet:balance"))["balance"] == before + 25
    history = (await call(client, "wallet:history", {}))["entries"]
    assert [e["amount"] for e in history if e["kind"] == "reward"] == [25]
    async with world.ctx.db.session() as s:
        n = await s.scalar(text("SELECT count(*) FROM ledger_transactions WHERE kind = 'reward' AND initiator_id = :u"),
                           {"u": uuid.UUID(acct["user"]["id"])})
    assert n == 1
    mine = next(q for q in (await call(client, "quest:list"))["quests"] if q["key"] == "library-tour")
    assert mine["completed"] and mine["rewarded"] == 25


async def test_the_budget_refuses_rewards_past_it(world):
    Clock(world, "10:00")
    adm = await admin(world)
    st, out = await req(world, "GET", "/api/admin/quests", adm["token"])
    paid = out["budget"]["paid"]
    await fund(world, adm, budget=paid + 10, treasury=1_000)  # less than the tour's 25
    st, out = await req(world, "PUT", "/api/admin/quests/budget", adm["token"],
                        json={"budget": max(paid - 1, 0), "reason": "below what was paid"})
    assert (st == 400) == (paid > 0)
    await fund(world, adm, budget=paid + 10)
    acct, client, inbox, _ = await person(world, "library")
    quests = Inbox(client, *EVENTS)
    assert (await call(client, "chat:send", {"text": "Good day, Odessa."}))["ok"]
    await quests.wait_for("quest:progress", lambda d: d["key"] == "library-tour" and d["done"] >= 1)
    assert (await call(client, "quest:find", {"thing": "bookshelf"}))["ok"]
    before = (await call(client, "wallet:balance"))["balance"]
    while (q := next(q for q in (await call(client, "quest:list"))["quests"] if q["key"] == "library-tour"))["done"] < 3:
        await quests.wait_for("quest:progress", lambda d, n=q["done"]: d["key"] == "library-tour" and d["done"] > n)
    refused = await call(client, "quest:complete", {"quest": "library-tour"})
    assert refused["error"]["code"] == "insufficient_funds" and "budget" in refused["error"]["message"]
    assert (await call(client, "wallet:balance"))["balance"] == before
    st, out = await req(world, "GET", "/api/admin/quests", adm["token"])
    assert out["budget"]["paid"] == paid
    # raised: the same claim now pays
    await fund(world, adm, budget=paid + 25)
    ok = await call(client, "quest:complete", {"quest": "library-tour"})
    assert ok["ok"] and ok["reward"] == 25
    assert (await call(client, "wallet:balance"))["balance"] == before + 25


async def test_suggestions_follow_a_persons_activity_and_disappear_when_turned_off(world):
    await world.close_clients()  # people from the tests before have left
    clock = Clock(world, "10:00")
    acct, client, inbox, _ = await person(world, None)
    token = acct["token"]
    st, first = await req(world, "GET", "/api/me/suggestions", token)
    assert st == 200 and first["enabled"] and first["suggestions"] == []  # nothing done yet, nothing guessed

    # they visit the library, talk to Odessa and take part in story hour
    progress = Inbox(client, *EVENTS)
    assert (await call(client, "room:join", {"room": "library"}))["ok"]
    assert (await call(client, "chat:send", {"text": "Hello Odessa"}))["ok"]
    await progress.wait_for("quest:progress", lambda d: d["key"] == "library-tour" and d["done"] >= 2)
    clock.set("11:00", day=3)
    await progress.wait_for("event:started", lambda d: d["key"] == "story-hour")
    assert (await call(client, "event:join", {"event": "story-hour"}))["ok"]
    # someone else who joined story hour is in the library now (taking part is public)
    other, oc, _, _ = await person(world, "library")
    assert (await call(oc, "event:join", {"event": "story-hour"}))["ok"]
    # where people are is the room mirror's, which the next tick updates: wait for it
    await eventually(lambda: world.ctx.rooms.room_of_user(other["user"]["id"]) == "library", 10, "other in the mirror")

    st, out = await req(world, "GET", "/api/me/suggestions", token)
    by_kind = {s["kind"]: s for s in out["suggestions"]}
    story = next(s for s in out["suggestions"] if s.get("event") == "story-hour" and s["kind"] == "event")
    assert "you joined Story hour before" in story["why"] and "you talked to Odessa, who hosts it" in story["why"]
    assert any("visited The Library" in w for w in story["why"])
    people = by_kind["people"]
    assert people["title"] == "1 person who also likes the story hour is in The Library", people
    assert by_kind["room"]["room"] in ("market", "plaza") and "not been there" in by_kind["room"]["title"]
    # the same words as message keys for the client's catalogues, reason for reason
    assert story["say"] == {"key": "event", "args": {"event": "Story hour", "room": "The Library", "when_min": None}}
    assert [m["key"] for m in story["because"]][:1] == ["joined_before"] and len(story["because"]) == len(story["why"])
    assert {"key": "talked_to_host", "args": {"name": "Odessa"}} in story["because"]
    assert people["say"] == {"key": "people", "args": {"count": 1, "event": "Story hour", "room": "The Library"}}
    assert by_kind["room"]["say"]["key"] == "not_visited" and by_kind["room"]["because"][0]["key"] == "visited_others"
    assert out["based_on"]["visit"] >= 1 and out["based_on"]["talk"] >= 1
    # the same over the socket
    assert (await call(client, "suggest:list"))["suggestions"] == out["suggestions"]

    st, off = await req(world, "PUT", "/api/me/preferences", token, json={"suggestions": False})
    assert st == 200 and off == {"suggestions": False}
    st, out = await req(world, "GET", "/api/me/suggestions", token)
    assert out == {"enabled": False, "suggestions": []}
    st, bad = await req(world, "PUT", "/api/me/preferences", token, json={"suggestions": "maybe"})
    assert st == 400
    uid = uuid.UUID(acct["user"]["id"])

    async def kept() -> int:
        async with world.ctx.db.session() as s:
            return await s.scalar(text("SELECT count(*) FROM person_activity WHERE user_id = :u"), {"u": uid})

    await world.ctx.events.noticed(uid, "visit", "market", "The Market")
    assert await kept() == 0  # while off, nothing they do is kept
    st, back = await req(world, "PUT", "/api/me/preferences", token, json={"suggestions": True})
    st, out = await req(world, "GET", "/api/me/suggestions", token)
    assert out["enabled"] and not [s for s in out["suggestions"] if s["kind"] == "event"]  # forgotten when off
    await world.ctx.events.noticed(uid, "visit", "market", "The Market")
    assert await kept() == 1  # on again: kept from now on


async def test_market_day_gives_money_back_on_the_hosts_shop_within_the_budget(world):
    clock = Clock(world, "16:00")
    adm = await admin(world)
    st, out = await req(world, "GET", "/api/admin/quests", adm["token"])
    await fund(world, adm, budget=out["budget"]["paid"] + 100, treasury=500)
    st, out = await req(world, "POST", "/api/admin/events/market-day/status", adm["token"],
                        json={"status": "scheduled", "reason": "stalls open again"})
    assert st == 200
    tobin = resident_id(world, "tobin")
    acct, client, inbox, _ = await person(world, "market")
    wallet = Inbox(client, "wallet:update", *EVENTS)

    async def buy(sku: str) -> dict:
        r = await call(client, "shop:buy", {"npc": tobin, "sku": sku, "qty": 1, "idempotency_key": uuid.uuid4().hex})
        assert r["ok"], r
        return r

    before = (await call(client, "wallet:balance"))["balance"]
    await buy("map")  # not market day yet: no money back
    clock.set("17:00", day=5)
    await wallet.wait_for("event:started", lambda d: d["key"] == "market-day")
    paid = await buy("lantern")  # 120, 10% back
    back = await wallet.wait_for("wallet:update", lambda d: d["transaction"]["kind"] == "reward")
    assert back["transaction"]["amount"] == 12 and "Market day" in back["transaction"]["memo"]
    assert (await call(client, "wallet:balance"))["balance"] == before - 40 - 120 + 12
    rewards = [e for e in (await call(client, "wallet:history", {}))["entries"] if e["kind"] == "reward"]
    assert [e["amount"] for e in rewards] == [12] and paid["balance"] == before - 160
