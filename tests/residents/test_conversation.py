"""Residents who converse, through real Socket.IO clients (the retrieval brain, no model):

- Tobin names a price, which is an offer; "yes" confirms it and the ledger moves exactly that price;
  "what about the map?" re-targets the thread and "how much for two?" changes the quantity.
- A Spanish question gets a Spanish answer that names the right room.
- Knowledge is said in the resident's voice, to the person, never about them.
- Two residents who share a room hold a short visible conversation, within their budget, and
  both remember it.
"""

from __future__ import annotations

import pytest_asyncio

from tests.conftest import call, start_world
from tests.residents.conftest import ask, name_of, person, resident_id, resident_settings, said_by


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db_url, tmp_path_factory):
    server = await start_world(resident_settings(tmp_path_factory.mktemp("talk")), db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


async def _greeted(inbox, npc, acct):
    return await said_by(inbox, npc, lambda d: name_of(acct) in d["text"] and "welcome" in d["text"].lower())


async def test_a_price_is_an_offer_and_yes_moves_exactly_that_price(world):
    tobin = resident_id(world, "tobin")
    acct, client, inbox, _ = await person(world, "market")
    await _greeted(inbox, tobin, acct)
    before = (await call(client, "wallet:balance"))["balance"]

    line = await ask(client, inbox, tobin, "Tobin, how much is the lantern?")
    assert "120 coins" in line["text"]
    offer = await inbox.wait_for("npc:offer", lambda d: d["sku"] == "lantern")
    assert offer["total"] == 120 and (await call(client, "wallet:balance"))["balance"] == before

    # the thread follows: another item, then another quantity; still no money moved
    line = await ask(client, inbox, tobin, "what about the map?")
    assert "40 coins" in line["text"]
    offer = await inbox.wait_for("npc:offer", lambda d: d["sku"] == "map")
    line = await ask(client, inbox, tobin, "how much for two?")
    assert "80 coins" in line["text"]
    offer = await inbox.wait_for("npc:offer", lambda d: d["sku"] == "map" and d["qty"] == 2)
    assert offer["total"] == 80 and (await call(client, "wallet:balance"))["balance"] == before

    thanks = await ask(client, inbox, tobin, "yes")
    assert "Map of Townsquare" in thanks["text"] and "80 coins" in thanks["text"]
    sale = await inbox.wait_for("npc:sale", lambda d: d["offer_id"] == offer["offer_id"])
    assert sale["status"] == "sold"
    assert (await call(client, "wallet:balance"))["balance"] == before - 80
    history = (await call(client, "wallet:history", {"limit": 5}))["entries"]
    assert [e["amount"] for e in history if e.get("kind") == "npc_sale"] == [-80]
    assert (await world.ctx.ledger.audit()).ok


async def test_a_spanish_question_is_answered_in_spanish_with_the_right_room(world):
    mira = resident_id(world, "mira")
    acct, client, inbox, _ = await person(world, "plaza", language="es")
    await said_by(inbox, mira, lambda d: name_of(acct) in d["text"])
    answer = await ask(client, inbox, mira, "Mira, ¿dónde está la biblioteca?")
    assert "The Library" in answer["text"] and "norte" in answer["text"], answer["text"]
    assert answer["lang"] == "es"
    # and a Spanish yes confirms a Spanish offer
    tobin = resident_id(world, "tobin")
    acct, client, inbox, _ = await person(world, "market", language="es")
    await said_by(inbox, tobin, lambda d: name_of(acct) in d["text"])
    before = (await call(client, "wallet:balance"))["balance"]
    line = await ask(client, inbox, tobin, "Tobin, ¿cuánto cuesta el té?")
    assert "5 monedas" in line["text"] and line["lang"] == "es", line["text"]
    await inbox.wait_for("npc:offer", lambda d: d["sku"] == "tea")
    done = await ask(client, inbox, tobin, "sí")
    assert "Aquí tienes" in done["text"]
    assert (await call(client, "wallet:balance"))["balance"] == before - 5


async def test_knowledge_in_her_own_voice_to_the_person(world):
    odessa = resident_id(world, "odessa")
    acct, client, inbox, _ = await person(world, "library")
    await _greeted(inbox, odessa, acct)
    tip = await ask(client, inbox, odessa, "Odessa, how do I tip someone?")
    assert "click" in tip["text"].lower()
    book = await ask(client, inbox, odessa, "can you recommend a good book?")
    assert "Walker's Guide" in book["text"]
    await ask(client, inbox, odessa, "I'm a potter, by the way")
    me = await ask(client, inbox, odessa, "what do I do for a living?")
    assert "You told me you're a potter" in me["text"]
    assert f"{name_of(acct)} is" not in me["text"]


async def test_two_residents_in_one_room_talk_within_their_budget(db_url, tmp_path):
    # 20:30: Mira's routine takes her to the market, where Tobin keeps his stall
    settings = resident_settings(tmp_path / "w", residents_clock_offset_min=1230.0, residents_idle_chatter_s=1.0)
    world = await start_world(settings, db_url)
    try:
        mira, tobin = resident_id(world, "mira"), resident_id(world, "tobin")
        acct, client, inbox, joined = await person(world, "market")
        assert {mira, tobin} <= {n["id"] for n in joined["npcs"]}
        residents = {mira, tobin}

        def lines():
            return [d for d in inbox.items["chat:message"] if d["from"]["id"] in residents and name_of(acct) not in d["text"]]

        # the exchange ends with a goodbye, or (when both opened at once) with both passing it on
        await inbox.wait_for("chat:message", lambda d: d["from"]["id"] in residents and (
            "See you later" in d["text"] or sum("pass that on" in x["text"] for x in lines()) >= 2), timeout=20)
        for rid in residents:
            await world.ctx.residents.agents[rid].idle()
        said = lines()
        assert 2 <= len(said) <= 6 and {d["from"]["id"] for d in said} == residents, [d["text"] for d in said]
        assert all(d.get("to") is None for d in said)  # visible to everyone in the room
        budgets = world.ctx.residents.budgets.snapshot()  # every line was a background call of its speaker's budget
        for rid in residents:
            assert budgets["calls"].get(rid, 0) >= sum(d["from"]["id"] == rid for d in said), budgets
        shown = world.ctx.residents.figures()["budgets"]  # the admin console's figures name the resident, not its id
        assert {"mira", "tobin"} <= set(shown["calls"]) and all(":" in k and k.split(":")[0] in ("mira", "tobin", "odessa")
                                                                 for k in shown["by_kind"]), shown
        for rid, other in ((mira, "Tobin"), (tobin, "Mira")):
            agent = world.ctx.residents.agents[rid]
            await agent.stream.flush()
            memories = await world.ctx.residents.store.list(rid, limit=50)
            assert any(other in m.text and m.meta.get("event") == "chatter" for m in memories)
    finally:
        await world.close_clients()
        await world.runner.cleanup()


async def test_mira_sells_nothing_but_knows_tobins_live_stock_and_recommends_from_it(world):
    """Asked where to buy bread, Mira says nobody sells it and what Tobin's stall has, as the
    ledger's stock stands now; "what do you recommend from what they have?" is about his stall."""
    from sqlalchemy import text

    mira = resident_id(world, "mira")
    acct, client, inbox, _ = await person(world, "plaza")
    await _greeted(inbox, mira, acct)
    async with world.ctx.db.session() as s:
        await s.execute(text("UPDATE shop_items SET stock = 0 WHERE sku = 'tea'"))
    try:
        line = await ask(client, inbox, mira, "Mira, where can I buy bread?")
        assert "Nobody" in line["text"] and "Tobin" in line["text"], line["text"]
        assert "Brass lantern for 120 coins" in line["text"] and "mint tea" not in line["text"], line["text"]
        rec = await ask(client, inbox, mira, "what do you recommend from what they have?")
        assert "Tobin" in rec["text"] and "I'd try the" in rec["text"] and "mint tea" not in rec["text"], rec["text"]
        on = await ask(client, inbox, mira, "is anything happening today?")
        assert "Story hour" in on["text"] and "Market day" in on["text"], on["text"]  # the world's own calendar
    finally:
        async with world.ctx.db.session() as s:
            await s.execute(text("UPDATE shop_items SET stock = 500 WHERE sku = 'tea'"))
