"""Both brains. The retrieval brain gives the meaningful answers (with the bundled embedder);
the LLM brain is checked for its prompts and action parsing on canned model outputs, and for
its plumbing (queue, priorities, batching) with a tiny random Llama whose text is gibberish."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from prometheus_client import REGISTRY

from ai.inference import DeadlineExceeded, GenerateResult, InferenceService, ModelSpec, Priority, default_specs
from ai.npc import (
    Acquaintance,
    Item,
    LLMBrain,
    Memory,
    Offer,
    Person,
    Persona,
    ReplyContext,
    RetrievalBrain,
    Stall,
    parse_insights,
)
from ai.npc.brain import heuristic_reflections
from server.world.seed import load_world_file

WORLD = load_world_file()
PERSONAS = {p.key: p for p in (Persona.from_dict(r) for r in WORLD["residents"])}
from ai.npc import RoomFact  # noqa: E402

ROOMS = [RoomFact(r["slug"], r["name"], r["description"]) for r in WORLD["rooms"]]
ITEMS = [Item("lantern", "Brass lantern", 120, 25), Item("oil", "Lamp oil flask", 15, 0),
         Item("map", "Map of Townsquare", 40, 50), Item("tea", "Cup of mint tea", 5, 500)]
ANA = Person("u-ana", "Ana")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def inference(tiny_llama_dir):
    svc = InferenceService(default_specs() + [ModelSpec("npc", "generate", str(tiny_llama_dir), device="cpu",
                                                        max_batch_size=8, max_wait_ms=30)])
    await svc.start()
    yield svc
    await svc.stop()


def ctx_for(key: str, text: str, inference=None, **kw) -> ReplyContext:
    async def embed(texts, priority, deadline):
        return await inference.embed("embed", texts, priority=priority, deadline=deadline)

    persona = PERSONAS[key]
    here = next(r for r in ROOMS if r.slug == persona.home)
    base = dict(persona=persona, speaker=ANA, text=text, here=here, rooms=ROOMS,
                items=list(ITEMS) if key == "tobin" else None, embed=embed if inference else None,
                residents=[("Tobin", "shopkeeper", "market"), ("Odessa", "librarian", "library")], clock="10:00",
                part_of_day="morning")
    base.update(kw)
    return ReplyContext(**base)


async def with_vector(ctx: ReplyContext) -> ReplyContext:
    if ctx.embed is not None and ctx.text:
        ctx.query_vector = (await ctx.embed([ctx.text], Priority.NPC_REPLY, 10))[0]
    return ctx


# == the retrieval brain =========================================================================
async def test_shop_questions_list_the_real_stock_and_prices(inference):
    brain = RetrievalBrain()
    r = await brain.reply(await with_vector(ctx_for("tobin", "what do you have for sale?", inference)))
    for i in ITEMS:
        assert (i.name in r.text) == (i.stock > 0)
    assert "120 coins" in r.text and r.actions == []
    r = await brain.reply(await with_vector(ctx_for("tobin", "how much is the map?", inference)))
    assert "40 coins" in r.text and "50" in r.text


async def test_buying_offers_in_stock_and_refuses_out_of_stock(inference):
    brain = RetrievalBrain()
    r = await brain.reply(await with_vector(ctx_for("tobin", "I'll take three maps", inference)))
    assert [(a.kind, a.args) for a in r.actions] == [("sell", {"sku": "map", "qty": 3})] and "120 coins" in r.text
    r = await brain.reply(await with_vector(ctx_for("tobin", "I want to buy lamp oil", inference)))
    assert r.actions == [] and "out of Lamp oil flask" in r.text and r.meta["refused"] == "out of stock"
    r = await brain.reply(await with_vector(ctx_for("mira", "can I buy a lantern from you?", inference)))
    assert r.actions and r.actions[0].kind == "give_directions" and "Tobin" in r.text and "The Market" in r.text


async def test_one_who_sells_nothing_answers_from_the_stalls_and_recommends_from_them(inference):
    """Mira keeps no shop: she answers from Tobin's live stock, says so when nobody sells a thing,
    recommends from what he has when asked about "what they have", and never says a line twice
    word for word."""
    brain = RetrievalBrain()
    stalls = [Stall("Tobin", "shopkeeper", "market", list(ITEMS))]

    async def ask(text, **kw):
        return await brain.reply(await with_vector(ctx_for("mira", text, inference, stalls=stalls, **kw)))

    r = await ask("where can I buy bread?")
    assert "Nobody" in r.text and "bread" in r.text and "Cup of mint tea for 5 coins" in r.text, r.text
    assert "Lamp oil" not in r.text  # sold out: not offered as what he has
    assert r.meta["seller"] == "Tobin" and [a.args for a in r.actions] == [{"room": "market"}]
    said = [("Ana", "where can I buy bread?"), ("Mira", r.text)]
    again = await ask("where can I buy bread?", lines=said)
    assert again.text == f"As I said: {r.text}"
    rec = await ask("what do you recommend from what they have?", lines=said, topic_seller="Tobin")
    assert rec.meta["intent"] == "recommend" and "Tobin" in rec.text and "Cup of mint tea" in rec.text, rec.text
    assert not any(a.kind == "sell" for a in rec.actions)  # she cannot sell his wares
    price = await ask("how much is the map?")
    assert "Tobin sells the Map of Townsquare for 40 coins" in price.text, price.text
    out = await ask("how much is the lamp oil?")
    assert "out of Lamp oil flask" in out.text, out.text
    es = await ask("¿y qué me recomiendas de lo que tienen?", lang="es", lines=said, topic_seller="Tobin")
    assert "Tobin" in es.text and "monedas" in es.text and "básico" not in es.text, es.text
    # a shopkeeper recommends from its own stall as an offer, and "what else?" moves on
    tobin = await brain.reply(await with_vector(ctx_for("tobin", "what do you recommend?", inference)))
    assert [(a.kind, a.args) for a in tobin.actions] == [("sell", {"sku": "tea", "qty": 1})], tobin.text
    nxt = await brain.reply(await with_vector(ctx_for("tobin", "what else would you recommend?", inference,
                                                      lines=[("Tobin", tobin.text)])))
    assert nxt.actions and nxt.actions[0].args["sku"] not in ("tea", "oil"), nxt.text  # oil is sold out


async def test_budgets_haggling_events_and_who_is_who_from_the_world(inference):
    """Answers a visitor asks in the first minutes, each from the world's own facts."""
    from ai.npc import Happening
    from ai.npc.brain import negative

    brain = RetrievalBrain()

    async def ask(key, text, **kw):
        return await brain.reply(await with_vector(ctx_for(key, text, inference, **kw)))

    r = await ask("tobin", "what can I get for 20 coins?")
    assert r.meta["intent"] == "budget" and "Cup of mint tea for 5 coins" in r.text and "Brass lantern" not in r.text
    assert not r.actions  # a budget is not twenty lanterns
    r = await ask("tobin", "what can I get for 2 coins?")
    assert "Nothing for 2 coins" in r.text and "Cup of mint tea for 5 coins" in r.text
    r = await ask("tobin", "can you give me a discount?")
    assert r.meta["intent"] == "haggle" and "fair" in r.text and not r.actions
    r = await ask("tobin", "what's the cheapest thing you have?")
    assert [(a.kind, a.args) for a in r.actions] == [("sell", {"sku": "tea", "qty": 1})]
    on = [Happening("Story hour", "11:00", "library", "Odessa reads aloud.", running=True),
          Happening("Market day", "17:00", "market", starts_in_min=330),
          Happening("Treasure hunt", "14:00", "plaza", starts_in_min=150)]
    r = await ask("mira", "is anything happening today?", happenings=on)
    assert r.text == ("Right now: Story hour in The Library (Odessa reads aloud). Coming up: Treasure hunt at 14:00 in "
                      "The Plaza and Market day at 17:00 in The Market."), r.text
    assert (await ask("mira", "what's on today?", happenings=[])).text.startswith("Nothing is on the calendar")
    assert (await ask("tobin", "what's on sale?")).meta["intent"] == "shop"  # not an event
    r = await ask("mira", "who is Odessa?")
    assert r.text.startswith("Odessa is the librarian; right now in The Library.")
    r = await ask("mira", "tell me about the library")
    assert r.meta["intent"] == "room" and "Tall shelves" in r.text and [a.args for a in r.actions] == [{"room": "library"}]
    r = await ask("mira", "how do I get there?", lines=[("Mira", "Tobin keeps a stall in The Market: ...")])
    assert [a.args for a in r.actions] == [{"room": "market"}] and "The Market is east" in r.text, r.text
    assert negative("actually no, too expensive") and negative("that's too much for me") and not negative("now then")


async def test_directions_name_only_real_rooms(inference):
    brain = RetrievalBrain()
    r = await brain.reply(await with_vector(ctx_for("odessa", "where is the market?", inference)))
    assert "The Market" in r.text and r.actions[0].args == {"room": "market"}
    r = await brain.reply(await with_vector(ctx_for("odessa", "where can I find a fountain?", inference)))
    assert "The Plaza" in r.text and r.actions[0].args == {"room": "plaza"}
    r = await brain.reply(await with_vector(ctx_for("odessa", "where should I go?", inference)))
    mentioned = [r_.name for r_ in ROOMS if r_.name in r.text]
    assert mentioned and all(a.args["room"] in {x.slug for x in ROOMS} for a in r.actions)


async def test_knowledge_answers_by_meaning(inference):
    brain = RetrievalBrain()
    r = await brain.reply(await with_vector(ctx_for("mira", "how can I speak privately with someone?", inference)))
    assert "whisper" in r.text.lower()
    r = await brain.reply(await with_vector(ctx_for("odessa", "someone is harassing me, what can be done?", inference)))
    assert "moderators" in r.text.lower()
    # with no embedder at all, word overlap still finds it
    r = await brain.reply(ctx_for("odessa", "how do reports work?"))
    assert "moderators" in r.text.lower()


async def test_greetings_use_the_name_and_a_remembered_fact(inference):
    brain = RetrievalBrain()
    r = await brain.greet(ctx_for("mira", "", inference))
    assert r.text.startswith("Hello Ana") and "Mira" in r.text and r.meta["returning"] is False
    ana = Acquaintance("u-ana", "Ana", times_met=3, facts={"last_bought": "Brass lantern"})
    r = await brain.greet(ctx_for("tobin", "", inference, acquaintance=ana))
    assert r.text == "Welcome back, Ana! Did the Brass lantern serve you well?"
    ana = Acquaintance("u-ana", "Ana", times_met=2, facts={"last_topic": "The Library"})
    r = await brain.greet(ctx_for("mira", "", inference, acquaintance=ana))
    assert "Welcome back, Ana" in r.text and "The Library" in r.text
    r = await brain.reply(ctx_for("tobin", "do you remember me?", acquaintance=Acquaintance(
        "u-ana", "Ana", times_met=2, facts={"last_bought": "Map of Townsquare"})))
    assert "Map of Townsquare" in r.text


async def test_farewell_ends_and_a_pending_offer_is_restated(inference):
    brain = RetrievalBrain()
    r = await brain.reply(ctx_for("mira", "ok bye!", inference))
    assert r.end and "Goodbye, Ana" in r.text
    offer = Offer("o1", "npc", "u-ana", "lantern", "Brass lantern", 1, 120, 120,
                  datetime.now(UTC) + timedelta(minutes=2))
    r = await brain.reply(await with_vector(ctx_for("tobin", "how much was that again?", inference, offer=offer)))
    assert "120 coins" in r.text and "yes" in r.text.lower()


def test_heuristic_reflections_cite_evidence():
    now = datetime.now(UTC)

    def m(i, text, subject=None, **meta):
        return Memory(i, "observation", text, 5.0, now, now, subject_id=subject, subject_name="Ana" if subject else None,
                      meta=meta)

    ms = [m(1, "Ana bought a Brass lantern", "u-ana", event="purchase", item="Brass lantern", topic="Brass lantern"),
          m(2, "Ana asked about oil", "u-ana", topic="oil"), m(3, "Bo asked about oil", "u-bo", topic="oil"),
          m(4, "Cy bought a Brass lantern", "u-cy", event="purchase", item="Brass lantern", topic="Brass lantern")]
    out = heuristic_reflections(PERSONAS["tobin"], ms)
    texts = [t for t, _, _ in out]
    assert any(t.startswith("Ana bought Brass lantern") for t in texts)
    assert any("Lately people ask me most about" in t for t in texts)
    assert all(ev and set(ev) <= {1, 2, 3, 4} for _, ev, _ in out)


# == the LLM brain: prompts and parsing on canned outputs ========================================
class Canned:
    """Stands in for the queue's generate with fixed model outputs (the model, not the database)."""

    def __init__(self, *outputs, error=None):
        self.outputs = list(outputs)
        self.error = error
        self.calls: list[dict] = []

    def available(self, name):
        return True

    async def generate(self, model, messages, **kw):
        self.calls.append({"messages": messages, **kw})
        if self.error:
            raise self.error
        return GenerateResult(self.outputs.pop(0), 10, "stop")


def test_the_prompt_holds_persona_memories_lines_and_facts():
    now = datetime.now(UTC)
    mem = Memory(7, "conversation", "Ana bought a Brass lantern and asked about oil.", 6.0, now, now, "u-ana", "Ana")
    ctx = ctx_for("tobin", "Is the oil any good?", memories=[mem], lines=[("Ana", "hello"), ("Tobin", "Welcome!")],
                  acquaintance=Acquaintance("u-ana", "Ana", times_met=2, facts={"last_bought": "Brass lantern"}))
    msgs = LLMBrain(None).messages(ctx)
    system = msgs[0]["content"]
    for must in ("You are Tobin, the shopkeeper.", "lantern: Brass lantern, 120, 25", "oil: Lamp oil flask, 15, 0",
                 "The Market (market)", "The Library (library)", "Ana bought a Brass lantern and asked about oil.",
                 "His lanterns burn all night", "You have met Ana 2 times", '{"say":', '"type": "sell"',
                 "Never invent items"):
        assert must in system, must
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    stall = LLMBrain(None).system_prompt(ctx_for("mira", "what does Tobin have?",
                                                 stalls=[Stall("Tobin", "shopkeeper", "market", list(ITEMS))]))
    assert "Tobin's stall in market (you cannot sell these; send people there): Brass lantern 120 coins" in stall
    assert "Lamp oil flask 15 coins (sold out)" in stall
    from ai.npc import Happening
    day = LLMBrain(None).system_prompt(ctx_for("mira", "what's on?", doing=("welcoming newcomers", "plaza", "19:00"),
                                               happenings=[Happening("Story hour", "11:00", "library", running=True)]))
    assert "Your plan now: welcoming newcomers in plaza until 19:00." in day
    assert "Events (world time): Story hour in library at 11:00 (on now)." in day
    assert msgs[-1]["content"] == "Ana: Is the oil any good?"
    assert msgs[2]["content"] == '{"say": "Welcome!"}'


async def test_llm_replies_are_parsed_into_actions_and_fall_back_when_broken():
    canned = Canned('```json\n{"say": "Two maps, 80 coins. Deal?", "actions": [{"type": "sell", "sku": "map", '
                    '"qty": 2}, {"type": "emote", "name": "nod"}]}\n```')
    brain = LLMBrain(canned)
    r = await brain.reply(ctx_for("tobin", "two maps please"))
    assert r.text == "Two maps, 80 coins. Deal?" and [a.kind for a in r.actions] == ["sell", "emote"]
    assert canned.calls[0]["priority"] == Priority.NPC_REPLY and canned.calls[0]["deadline"] > 0
    # an empty answer: the retrieval brain answers instead
    r = await LLMBrain(Canned('{"say": "", "actions": []}')).reply(ctx_for("tobin", "what do you sell?"))
    assert "Brass lantern for 120 coins" in r.text and r.meta["llm_empty"]
    # the model timed out: the retrieval brain answers, and says why
    r = await LLMBrain(Canned(error=DeadlineExceeded("late"))).reply(ctx_for("odessa", "where is the market?"))
    assert "The Market" in r.text and r.meta["llm_error"] == "DeadlineExceeded"


async def test_llm_background_work_parses_or_falls_back():
    now = datetime.now(UTC)
    ms = [Memory(i, "observation", t, 4.0, now, now) for i, t in enumerate(
        ["Ana bought a lantern", "Ana asked about oil", "Bo asked about the library"], start=10)]
    brain = LLMBrain(Canned("1. Ana is a loyal customer (because of 1, 2)\n2. nonsense line\n"
                            "3. People want light at night (because of 1)"))
    out = await brain.reflect(PERSONAS["tobin"], ms)
    assert [(t, ev) for t, ev, _ in out] == [("Ana is a loyal customer.", [10, 11]), ("People want light at night.", [10])]
    assert parse_insights("no insights here", ms) == []
    from ai.npc import MemoryDraft

    scores = await LLMBrain(Canned("7\n2")).importance([MemoryDraft("observation", "a"), MemoryDraft("observation", "b"),
                                                         MemoryDraft("observation", "c")])
    assert scores[:2] == [7.0, 2.0] and 1 <= scores[2] <= 10  # the third: the heuristic


# == the LLM brain with a tiny real model: the plumbing ==========================================
def _batch_stats():
    s = REGISTRY.get_sample_value("townsquare_inference_batch_size_sum", {"model": "npc"}) or 0.0
    c = REGISTRY.get_sample_value("townsquare_inference_batch_size_count", {"model": "npc"}) or 0.0
    return s, c


async def test_tiny_llama_answers_through_the_queue_in_batches(inference):
    brain = LLMBrain(inference, "npc", max_new_tokens=12)
    s0, c0 = _batch_stats()
    ctxs = [await with_vector(ctx_for("tobin", f"question number {i} about lanterns?", inference, deadline=60))
            for i in range(6)]
    replies = await asyncio.gather(*(brain.reply(c) for c in ctxs))
    s1, c1 = _batch_stats()
    assert all(r.meta["brain"] == "llm" and r.meta["raw"] and r.text for r in replies)
    assert all(r.meta["parsed"] in ("text", "json", "repaired", "salvaged") for r in replies)
    assert (s1 - s0) > (c1 - c0), "the six prompts were never decoded together"
    # background work goes to the same model at BACKGROUND priority and still returns something usable
    ms = [Memory(1, "observation", "Ana bought a lantern", 4.0, datetime.now(UTC),
                 datetime.now(UTC), "u-ana", "Ana", meta={"topic": "lantern"})] * 2
    out = await brain.reflect(PERSONAS["tobin"], ms)
    assert isinstance(out, list)
    summary = await brain.summarize(PERSONAS["tobin"], ANA, [("Ana", "hi"), ("Tobin", "hello")], ["lantern"], [])
    assert summary
