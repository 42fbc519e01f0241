"""The retrieval brain: no generative model. It finds what the person wants (rules, the bundled
lexicon for the other world languages, then the bundled sentence embedder against intent
examples) and answers from facts: the persona's notes (nearest by embedding, in its own voice),
what it remembers of the person, the shop's live stock and prices, the real rooms and the way
to them. Slower-witted than a model, never wrong about the world.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections import Counter, defaultdict

from ai.inference import InferenceError, Priority

from ..actions import Action, Reply, match_sku
from ..brain import (
    EXAMPLES,
    Brain,
    ReplyContext,
    affirmative,
    cheapest,
    dearest,
    dot,
    fact_line,
    first_person,
    first_sentence,
    help_line,
    item_phrase,
    join_words,
    memory_as_speech,
    negative,
    personal_facts,
    qty_in,
    qty_stated,
    rule_intents,
    second_person,
    short_desc,
    stock_of,
)
from ..interface import Item, PlaceFact, RoomFact, Stall
from ..lexicon import AND, DIRECTIONS, gloss, place_is, place_name, place_where, say, understood
from ..memory import Embedder, lexical_similarity, terms
from ..persona import Persona, minutes_of


class RetrievalBrain(Brain):
    """Answers from facts and memories with the bundled embedder; no generative model."""

    kind = "retrieval"

    def __init__(self, *, intent_threshold: float = 0.45, knowledge_threshold: float = 0.35):
        self.intent_threshold = intent_threshold
        self.knowledge_threshold = knowledge_threshold
        self._examples: dict[str, list[list[float]]] | None = None
        self._knowledge: dict[tuple[str, str], list[float]] = {}
        self._rooms: dict[tuple[str, str], list[float]] = {}
        self._lock = asyncio.Lock()

    # -- embeddings (cached) ----------------------------------------------------------------------
    async def _vectors(self, embed: Embedder | None, texts: list[str], cache: dict, keyspace: str,
                       deadline: float) -> list[list[float] | None]:
        missing = [t for t in texts if (keyspace, t) not in cache]
        if missing and embed is not None:
            try:
                for t, v in zip(missing, await embed(missing, Priority.NPC_REPLY, deadline)):
                    cache[(keyspace, t)] = v
            except InferenceError:
                pass
        return [cache.get((keyspace, t)) for t in texts]

    async def _intent_by_example(self, ctx: ReplyContext) -> tuple[str | None, float]:
        if ctx.query_vector is None or ctx.embed is None:
            return None, 0.0
        if self._examples is None:
            async with self._lock:
                if self._examples is None:
                    flat = [(k, t) for k, ts in EXAMPLES.items() for t in ts]
                    try:
                        vecs = await ctx.embed([t for _, t in flat], Priority.NPC_REPLY, ctx.deadline)
                    except InferenceError:
                        return None, 0.0
                    ex: dict[str, list[list[float]]] = defaultdict(list)
                    for (k, _), v in zip(flat, vecs):
                        ex[k].append(v)
                    self._examples = dict(ex)
        best, score = None, 0.0
        for k, vs in self._examples.items():
            s = max(dot(ctx.query_vector, v) for v in vs)
            if s > score:
                best, score = k, s
        return (best, score) if score >= self.intent_threshold else (None, score)

    async def best_knowledge(self, ctx: ReplyContext) -> tuple[str | None, float]:
        lines = ctx.persona.knowledge
        if not lines:
            return None, 0.0
        if ctx.query_vector is not None:
            vecs = await self._vectors(ctx.embed, lines, self._knowledge, ctx.persona.key, ctx.deadline)
            scored = [(dot(ctx.query_vector, v), t) for t, v in zip(lines, vecs) if v is not None]
            if scored:
                s, t = max(scored)
                return (t, s) if s >= self.knowledge_threshold else (None, s)
        q = terms(ctx.text)
        s, t = max((lexical_similarity(q, t), t) for t in lines)
        return (t, s) if s >= 0.25 else (None, s)

    async def best_room(self, ctx: ReplyContext, rooms: list[RoomFact]) -> RoomFact | None:
        if not rooms:
            return None
        if ctx.query_vector is not None:
            texts = [f"{r.name}: {r.description}" for r in rooms]
            vecs = await self._vectors(ctx.embed, texts, self._rooms, "rooms", ctx.deadline)
            scored = [(dot(ctx.query_vector, v), i) for i, v in enumerate(vecs) if v is not None]
            if scored:
                s, i = max(scored)
                return rooms[i] if s >= 0.3 else None
        q = terms(ctx.text)
        s, i = max((lexical_similarity(q, f"{r.name} {r.description}"), i) for i, r in enumerate(rooms))
        return rooms[i] if s >= 0.25 else None

    # -- replies ----------------------------------------------------------------------------------
    async def reply(self, ctx: ReplyContext) -> Reply:
        lang = ctx.reply_lang
        raw = ctx.text.strip()
        text = raw if ctx.translated else gloss(raw, ctx.lang)
        intents = rule_intents(text)
        stock = ctx.stock
        sku = match_sku(text, stock) if stock else None
        room = self._room_in(text, ctx)
        example, conf = (None, 0.0)
        if not intents and lang == ctx.persona.language:
            example, conf = await self._intent_by_example(ctx)
            if example == "directions" and not LOCATIVE.search(text):
                example = None  # "when is the market busiest?" sounds like "where is the market?" but is not
            if example:
                intents = [example]
                ranked = await self.ranked_knowledge(ctx) if ctx.query_vector is not None else []
                if ranked and ranked[0][0] >= max(conf, self.knowledge_threshold):
                    intents = []  # a note answers it more closely than any intent's examples
        meta = {"brain": self.kind, "intents": intents, "confidence": round(conf, 3), "lang": lang}
        name = ctx.speaker.name

        def out(reply: Reply, intent: str, topic: str | None = None) -> Reply:
            reply.meta.update(meta, intent=intent)
            if topic:
                reply.meta["topic"] = topic
            if reply.text.strip() and reply.text.strip() == _last_own(ctx):
                # asked again, answered again, but never word for word like a recording
                more = self._fallback_more(ctx) if intent == "smalltalk" else None
                reply.text = more or say("as_i_said", lang, text=reply.text.strip())
            return reply

        if lang != ctx.persona.language and not understood(raw, ctx.lang) and room is None and sku is None:
            return out(Reply(say("not_understood", lang, name=name, help="")), "not_understood")
        current = ctx.offer.sku if ctx.offer is not None else ctx.topic_item
        qty = qty_stated(text)
        why = sku or current
        if stock is not None and why in stock and WHY_DEAR.search(text):  # "why is it so pricey?"
            return out(self._why_price(ctx, why, stock[why], cheapest(ctx.items or []), lang), "haggle", stock[why]["name"])
        if stock is not None and current in stock:
            # the open thread: "what about the map?" re-targets it, "how much for two?" changes the quantity
            other = sku is not None and sku != current and ("what about" in text.lower() or bool(
                {"shop", "buy"} & set(intents)) or len(terms(text)) <= 2)
            more = sku in (None, current) and qty is not None and (ctx.offer is None or qty != ctx.offer.qty) and \
                bool({"shop", "buy"} & set(intents) or re.search(r"\b(for|make it)\b", text, re.I))
            if other or more:
                target = sku if other else current
                return out(self._offer(ctx, target, qty or 1, lang), "offer", stock[target]["name"])
        if READ_CUE.search(text):
            place = self._place_in(text, ctx, room, with_text=True)
            if place is not None:  # "what does the notice board say?": what is written on it
                said = place_name(place[1].name, lang)
                return out(_notes_reply(ctx, lang, say("place_says", lang, Place=_capital(said), place=said,
                                                       text=place[1].text)), "place", place[1].name)
        named = self._titles_asked(ctx, text)
        if named is not None:  # "what's it about?" after it named books: what it said of each
            return out(named, "knowledge")
        asks_here = bool(HERE.search(text))
        if TO_DO.search(text) and (asks_here or re.search(r"\b(do|see|find) there\b", text, re.I)):
            if asks_here:
                slug = ctx.here.slug if ctx.here is not None else None  # "here" is where it stands, or nowhere known
            else:
                slug = self._there(ctx)
            spot = next((r for r in ctx.rooms if r.slug == slug), None)
            if spot is not None and spot.places:  # "what can I do here?": this room's places, then the others
                return out(self._room_has(ctx, spot, lang, beyond=asks_here), "directions", spot.name)
        place = self._place_in(text, ctx, room) if PLACE_CUE.search(text) else None
        lead = "guide" in intents or bool(LEAD.search(text))
        if place is None and lead and THERE.search(text):  # "take me there" after it told where a place is
            place = self._place_in(_last_own(ctx) or "", ctx, None)
        if place is not None:  # "where's the fountain?", "take me to the tea stall": a named spot of a room
            return out(self._place(ctx, *place, lang, lead=lead), "place", place[1].name)
        found = self._world_facts(ctx, text, intents, sku, room, lang) if "farewell" not in intents else None
        if found is not None:
            return out(*found)
        if ctx.offer is not None and "buy" not in intents and ("shop" in intents or sku == ctx.offer.sku):
            o = ctx.offer
            return out(Reply(say("restate", lang, item=item_phrase(Item(o.sku, o.name, o.price, 0), o.qty, lang),
                                 total=o.total, name=name)), "offer", o.name)
        if affirmative(text) and len(text) < 40 and not intents:
            return out(Reply(say("no_offer", lang, name=name)), "affirm")
        if negative(text) and len(text) < 40 and not set(intents) - {"thanks"}:
            return out(Reply(say("declined", lang, name=name)), "decline")
        if "farewell" in intents and len(text) < 60:
            return out(self._farewell(ctx, lang), "farewell")
        if "guide" in intents and room is None and THERE.search(text):
            room = self._there(ctx)  # "can you take me there?"
        if "guide" in intents and room is not None:
            r = ctx.room_names[room]
            if ctx.here is not None and room == ctx.here.slug:
                return out(Reply(say("here_already", lang, room=r, name=name)), "guide", r)
            return out(Reply(say("follow", lang, room=r, name=name),
                             [Action("move_to", {"room": room}), Action("emote", {"name": "wave"})]), "guide", r)
        if "events" in intents:
            return out(self._happenings(ctx, lang), "events")
        if "self" in intents:
            return out(self._about_them(ctx), "self")
        if "remember" in intents:
            return out(self._remember(ctx), "remember")
        if stock is not None and ("buy" in intents or (sku and "shop" in intents and _wants(text))):
            return out(self._sell(ctx, text, sku, lang), "buy", stock[sku]["name"] if sku else None)
        if "buy" in intents and stock is None and ("shop" in intents or self._mentions_goods(ctx, text) or
                                                   re.search(r"\b(i'?ll take|i will take|buy|purchase)\b", text, re.I)):
            return out(self._no_shop(ctx, lang, text), "shop")
        if "shop" in intents or ("buy" in intents and stock is not None):
            if stock is None:
                return out(self._no_shop(ctx, lang, text), "shop")
            return out(self._price_or_list(ctx, sku, lang), "shop", stock[sku]["name"] if sku else "wares")
        if stock is not None and sku is not None and ctx.topic_item is None and len(terms(text)) <= 2:
            return out(self._price_or_list(ctx, sku, lang), "shop", stock[sku]["name"])  # a bare item name
        if room is None and "directions" in intents and THERE.search(text):
            room = self._there(ctx)  # "how do I get there?": the place just named
        if room is None and "directions" in intents and not NOT_A_NOTE.search(text):
            answer = await self._notes(ctx, text, intents, lang)  # "where can I read it?": a note says where
            if answer is not None and not self._rooms_in(answer.text, ctx):
                return out(answer, "knowledge", _topic_of(answer.text, text))
        if "directions" in intents or room is not None and re.search(r"\b(where|how|get to|go)\b", text, re.I):
            return out(await self._directions(ctx, room, lang), "directions", ctx.room_names.get(room or "", None))
        if "introduce" in intents:
            return out(self._introduce(ctx, text), "introduce")
        if "about" in intents:
            return out(self._about(ctx, text), "about")
        if "tour" in intents:  # "can you show me around?": the places, and how to be led to one
            others = _other_rooms(ctx)
            if others:
                places = join_words([f"{r.name} ({short_desc(r.description)})" if lang == "en" and r.description
                                     else r.name for r in others[:6]], AND.get(lang, "and"))
                return out(Reply(say("tour", lang, name=name, places=places, room=others[0].name),
                                 [Action("give_directions", {"room": others[0].slug})]), "tour", others[0].name)
        if "wellbeing" in intents:  # "how are you?": an answer, with what it is doing when it has a plan
            if ctx.doing is not None and lang == "en":  # its plan's words are English: told in English only
                doing, _, until = ctx.doing
                return out(Reply(say("well_doing", lang, name=name, doing=doing, until=until)), "wellbeing")
            return out(Reply(say("well", lang, name=name)), "wellbeing")
        if "thanks" in intents:
            return out(Reply(say("thanks", lang, name=name), [Action("emote", {"name": "bow"})]), "thanks")
        if "greet" in intents and len(terms(text)) <= 2:
            return out(await self._hello(ctx, lang), "greet")
        answer = await self._notes(ctx, text, intents, lang)
        if answer is not None:
            return out(answer, "knowledge", _topic_of(answer.text, text))
        if "greet" in intents:
            return out(await self._hello(ctx, lang), "greet")
        if lang != ctx.persona.language:
            return out(Reply(say("not_understood", lang, name=name, help="")), "not_understood")
        return out(self._fallback(ctx), "smalltalk")

    def _world_facts(self, ctx: ReplyContext, text: str, intents: list[str], sku: str | None, room: str | None,
                     lang: str) -> tuple | None:
        """A visitor's first questions, each answered from the world's own facts: a budget, haggling,
        the cheapest thing, a recommendation, food, who someone is, a room, the clock, its plan, an
        event. (reply, intent, topic) or None when the line asks none of them."""
        stock = ctx.stock
        name = ctx.speaker.name
        budget = _budget(text)
        if budget is not None and (stock is not None or ctx.stalls):
            return (self._within(ctx, budget, text, lang), "budget")
        low = cheapest(ctx.items or [])
        if stock is not None and sku is not None and HOW_MANY.search(text):
            it = stock[sku]  # "how many lanterns do you have left?": the live count, no offer made
            return (Reply(say("stock_left", lang, item=it["name"], stock=max(it["stock"], 0), price=it["price"],
                              name=name), meta={"sku": sku}), "shop", it["name"])
        if "haggle" in intents and low is not None:
            return (Reply(say("haggle", lang, name=name, item=low.name, price=low.price)), "haggle")
        if CHEAPEST.search(text) and low is not None and sku is None:
            return (self._price_or_list(ctx, low.sku, lang), "shop", low.name)
        if DEAREST.search(text) and stock is not None and sku is None:
            high = dearest(ctx.items or [])
            if high is not None:
                return (self._price_or_list(ctx, high.sku, lang), "shop", high.name)
        if "recommend" in intents or (CHEAPEST.search(text) and stock is None):
            if "recommend" in intents and stock is not None:
                return (self._recommend_own(ctx, lang), "recommend", "wares")
            stall = self._stall_asked(ctx, text) or (next((s for s in ctx.stalls if s.items), None)
                                                     if CHEAPEST.search(text) else None)
            if stall is not None and ctx.topic_seller is None and _advises(ctx.persona) and not (
                    re.search(rf"\b{re.escape(stall.seller)}\b", text, re.I) or _wanted_word(text, ctx)):
                stall = None  # one with advice of its own ("I recommend ... books") gives that, not a stall's
            if stall is not None:
                return (self._recommend_stall(ctx, stall, lang, lowest=bool(CHEAPEST.search(text))), "recommend",
                        stall.seller)
            advice = _advice(ctx.persona) if "recommend" in intents else None
            if advice is not None:  # its own advice, whatever the embedder makes of a short "what do you recommend?"
                return (_notes_reply(ctx, lang, _voice(ctx.persona, advice)), "recommend", _topic_of(advice, text))
        if stock is None and ctx.stalls and FOOD.search(text) and not set(intents) & {"guide", "farewell", "thanks"}:
            return (self._no_shop(ctx, lang, text), "shop")
        if "residents" in intents and ctx.residents:
            return (self._neighbours(ctx, lang), "residents")
        who = self._resident_named(ctx, text)
        if who is not None:
            return (self._who_is(ctx, who, lang), "who", who[0])
        if room is not None and ABOUT_ROOM.search(text) and not WAY.search(text) and "guide" not in intents:
            return (self._room_about(ctx, room, lang), "room", ctx.room_names[room])
        if "time" in intents and ctx.clock:
            return (Reply(say("time_now", lang, clock=ctx.clock, name=name, part=ctx.part_of_day or "")), "time")
        if "doing" in intents and ctx.doing is not None:
            doing, at, until = ctx.doing
            return (Reply(say("doing_now", lang, doing=doing, room=ctx.room_names.get(at, at), until=until, name=name)),
                    "doing")
        event = self._event_named(ctx, text)
        if event is not None and ("events" in intents or re.search(r"\b(when|what is|what's|tell me|start|begin)\b", text, re.I)):
            return (self._event(ctx, event, lang, when=bool(re.search(r"\bwhen\b", text, re.I))), "events", event.title)
        return None

    async def _hello(self, ctx: ReplyContext, lang: str) -> Reply:
        if any(who == ctx.persona.name for who, _ in ctx.lines):
            return Reply(say("greet_again", lang, name=ctx.speaker.name, help=help_line(ctx)))
        return await self.greet(ctx)

    async def _notes(self, ctx: ReplyContext, text: str, intents: list[str], lang: str) -> Reply | None:
        """Notes that answer the question, in the resident's voice; the rules (or a recommendation)
        gather every note on them."""
        q = ReplyContext(**{**ctx.__dict__, "text": text})
        ranked = await self.ranked_knowledge(q)
        if not ranked:
            return None
        best_score, best = ranked[0]
        if best is None:
            return None
        ok = best_score >= self.knowledge_threshold if ctx.query_vector is not None else best_score >= 0.25
        if not ok and not ("rules" in intents and ranked):
            return None
        if not ("rules" in intents or "?" in text or best_score >= self.knowledge_threshold + 0.1 or not intents):
            return None
        lines = [best]
        if "rules" in intents:
            rules = [t for _, t in ranked if RULE_NOTE.search(t)]
            lines = list(dict.fromkeys([best] + rules))[:3] if rules else lines
        return _notes_reply(ctx, lang, " ".join(_voice(ctx.persona, t) for t in lines))

    async def ranked_knowledge(self, ctx: ReplyContext) -> list[tuple[float, str]]:
        lines = ctx.persona.knowledge
        if not lines:
            return []
        if ctx.query_vector is not None:
            vecs = await self._vectors(ctx.embed, lines, self._knowledge, ctx.persona.key, ctx.deadline)
            scored = [(dot(ctx.query_vector, v), t) for t, v in zip(lines, vecs) if v is not None]
            if scored:
                return sorted(scored, reverse=True)
        q = terms(ctx.text) - terms(ctx.persona.name)  # its own name says who is asked, not what
        return sorted(((lexical_similarity(q, t), t) for t in lines), reverse=True)

    def _room_in(self, text: str, ctx: ReplyContext) -> str | None:
        rooms = self._rooms_in(text, ctx)
        return rooms[0] if rooms else None

    def _rooms_in(self, text: str, ctx: ReplyContext) -> list[str]:
        found = []
        for slug, name in ctx.room_names.items():
            words = [w for w in re.findall(r"[a-z0-9]+", name.lower()) if w not in ("the", "room")]
            if re.search(rf"\b{re.escape(slug)}\b", text, re.I) or (words and all(
                    re.search(rf"\b{re.escape(w)}s?\b", text, re.I) for w in words)):
                found.append(slug)
        return found

    def _there(self, ctx: ReplyContext) -> str | None:
        """The place "there" means: the one room named by the latest of the last few lines that names
        just one (its own answer first, then the question it answered)."""
        for _, line in list(reversed(ctx.lines))[:4]:
            rooms = self._rooms_in(line, ctx)
            if len(rooms) == 1:
                return rooms[0]
        return None

    def _mentions_goods(self, ctx: ReplyContext, text: str) -> bool:
        return bool(re.search(r"\b(lantern|map|tea|oil|item|thing|wares|goods)s?\b", text, re.I))

    def _offer(self, ctx: ReplyContext, sku: str, qty: int, lang: str) -> Reply:
        """An offer the person confirms with a yes: the world makes it, the money waits for the yes."""
        item = (ctx.stock or {})[sku]
        name = ctx.speaker.name
        if item["stock"] <= 0:
            return Reply(say("out_of_stock", lang, name=name, item=item["name"]),
                         meta={"refused": "out of stock", "sku": sku})
        if item["stock"] < qty:
            return Reply(say("only_have", lang, stock=item["stock"], item=item["name"], name=name),
                         meta={"refused": "not enough stock", "sku": sku})
        phrase = item_phrase(item, qty, lang)
        return Reply(say("offer", lang, item=phrase[0].upper() + phrase[1:], total=item["price"] * qty, name=name),
                     [Action("sell", {"sku": sku, "qty": qty})], meta={"sku": sku})

    def _sell(self, ctx: ReplyContext, text: str, sku: str | None, lang: str) -> Reply:
        if sku is None:
            return Reply(say("which", lang, name=ctx.speaker.name, list=self._list_line(ctx, lang)))
        reply = self._offer(ctx, sku, qty_in(text), lang)
        if reply.meta.get("refused") == "out of stock":
            others = [i for s, i in (ctx.stock or {}).items() if s != sku and i["stock"] > 0]
            if others and lang == "en":
                reply.text += f" I do have {join_words([i['name'] for i in others[:3]])}."
        return reply

    def _list_line(self, ctx: ReplyContext, lang: str = "en") -> str:
        items = [i for i in (ctx.items or []) if i.stock > 0]
        if not items:
            return say("sold_out", lang)
        listing = join_words([say("item_price", lang, item=i.name, price=i.price) for i in items], AND.get(lang, "and"))
        return ("I have " if lang == "en" else "") + listing + "." if lang == "en" else listing

    def _price_or_list(self, ctx: ReplyContext, sku: str | None, lang: str = "en") -> Reply:
        stock = ctx.stock or {}
        if sku:
            it = stock[sku]
            if it["stock"] <= 0:
                return Reply(say("out_of_stock", lang, name=ctx.speaker.name, item=it["name"]),
                             meta={"refused": "out of stock", "sku": sku})
            # a price named is an offer made: "yes" next takes it (the money still waits for that yes)
            return Reply(say("price_offer", lang, item=it["name"], price=it["price"], stock=it["stock"]),
                         [Action("sell", {"sku": sku, "qty": 1})], meta={"sku": sku})
        items = [i for i in (ctx.items or []) if i.stock > 0]
        if not items:
            return Reply(say("sold_out", lang))
        listing = join_words([say("item_price", lang, item=i.name, price=i.price) for i in items], AND.get(lang, "and"))
        return Reply(say("list", lang, items=listing, name=ctx.speaker.name))

    # -- another's stall: one who sells nothing knows who does, and what they have ----------------
    def _stall_asked(self, ctx: ReplyContext, text: str) -> Stall | None:
        """The stall a line is about: a seller it names, one selling an item it names, the one this
        conversation pointed to, or, when it speaks of buying at all, the only one in town."""
        stalls = [s for s in ctx.stalls if s.items]
        if not stalls:
            return None
        low = text.lower()
        for s in stalls:
            if re.search(rf"\b{re.escape(s.seller.lower())}\b", low):
                return s
        wanted = _wanted_word(text, ctx)
        for s in stalls:
            if wanted and match_sku(wanted, stock_of(s.items)):
                return s
        for s in stalls:
            if s.seller == ctx.topic_seller:
                return s
        if SHOPPING.search(text):
            return stalls[0]
        return None

    def _stall_reply(self, ctx: ReplyContext, stall: Stall, lang: str, sku: str | None = None, prefix: str = "",
                     again: bool = False) -> Reply:
        """What the seller has, or the price of the item asked about, with the way there."""
        name = ctx.speaker.name
        where = ctx.room_names.get(stall.room, stall.room)
        if sku is not None:
            it = next(i for i in stall.items if i.sku == sku)
            key = "stall_item_price" if again else "stall_price"
            line = (say(key, lang, seller=stall.seller, item=it.name, price=it.price, where=where, name=name)
                    if it.stock > 0 else say("stall_sold_out", lang, seller=stall.seller, item=it.name, name=name))
            # the thing named becomes the thread: "how much is it?" next is about it
            return Reply(line, self._way_to(ctx, stall.room), meta={"seller": stall.seller, "sku": sku})
        line = f"{prefix} {say('stall_at', lang, seller=stall.seller, where=where, list=_listing(stall.items, lang))}"
        return Reply(line.strip(), self._way_to(ctx, stall.room), meta={"seller": stall.seller})

    def _way_to(self, ctx: ReplyContext, room: str) -> list[Action]:
        """Directions to a real room, unless the person is already there."""
        here = ctx.here.slug if ctx.here is not None else None
        return [Action("give_directions", {"room": room})] if room in ctx.room_names and room != here else []

    def _recommend_stall(self, ctx: ReplyContext, stall: Stall, lang: str, lowest: bool = False) -> Reply:
        item = _pick(stall.items, ctx, lowest=lowest)
        if item is None:
            return self._stall_reply(ctx, stall, lang)
        where = ctx.room_names.get(stall.room, stall.room)
        line = say("recommend_stall", lang, seller=stall.seller, where=where, item=item.name, price=item.price,
                   name=ctx.speaker.name)
        rest = [i for i in stall.items if i.sku != item.sku and i.stock > 0]
        if rest:
            line += " " + say("also_has", lang, seller=stall.seller, list=_listing(rest, lang))
        return Reply(line, self._way_to(ctx, stall.room), meta={"seller": stall.seller, "recommended": item.sku})

    def _within(self, ctx: ReplyContext, budget: int, text: str, lang: str) -> Reply:
        """What a budget buys ("what can I get for 20 coins?"): its own stall's, else the stall asked about."""
        stall = None
        items = ctx.items
        if items is None:
            stall = self._stall_asked(ctx, text) or next((s for s in ctx.stalls if s.items), None)
            items = stall.items if stall is not None else []
        have = [i for i in items if i.stock > 0]
        fits = [i for i in have if i.price <= budget]
        meta = {"seller": stall.seller} if stall is not None else {}
        acts = self._way_to(ctx, stall.room) if stall is not None else []
        if not fits:
            low = cheapest(have)
            if low is None:
                return Reply(say("sold_out", lang), meta=meta)
            return Reply(say("budget_none", lang, budget=budget, name=ctx.speaker.name, item=low.name, price=low.price),
                         acts, meta=meta)
        line = say("budget", lang, budget=budget, name=ctx.speaker.name, list=_listing(fits, lang))
        if stall is not None:
            where = ctx.room_names.get(stall.room, stall.room)
            line += " " + say("stall_at", lang, seller=stall.seller, where=where, list=_listing(fits, lang)).split(":")[0] + "."
        return Reply(line, acts, meta=meta)

    def _resident_named(self, ctx: ReplyContext, text: str) -> tuple[str, str, str] | None:
        m = WHO.search(text)
        if m is None:
            return None
        asked = m.group(1).lower()
        return next((r for r in ctx.residents if r[0].lower() == asked and r[0] != ctx.persona.name), None)

    def _who_is(self, ctx: ReplyContext, who: tuple[str, str, str], lang: str) -> Reply:
        name, role, room = who
        line = say("who_is", lang, who=name, role=role or "resident", room=ctx.room_names.get(room, room))
        note = next((t for t in ctx.persona.knowledge if re.search(rf"\b{re.escape(name)}\b", t)), None)
        if note is not None and lang == "en":
            line += " " + _voice(ctx.persona, note)
        return Reply(line, self._way_to(ctx, room))

    def _room_about(self, ctx: ReplyContext, slug: str, lang: str) -> Reply:
        r = next(x for x in ctx.rooms if x.slug == slug)
        line = say("room_about", lang, room=r.name, desc=(r.description or "").strip() if lang == "en" else first_sentence(r.description))
        keepers = [n for n, _, at in ctx.residents if at == slug and n != ctx.persona.name]
        if keepers:
            line += " " + say("kept_by", lang, who=join_words(keepers, AND.get(lang, "and")))
        return Reply(line, self._way_to(ctx, slug))

    def _event_named(self, ctx: ReplyContext, text: str):
        """The event a line names ("what is the story hour?"), or, for "when does it start?", the one
        the resident just spoke of."""
        low = text.lower()
        named = next((h for h in ctx.happenings if h.title.lower() in low), None)
        if named is not None or not re.search(r"\b(it|that)\b", low):
            return named
        said = (_last_own(ctx) or "").lower()
        return next((h for h in ctx.happenings if h.title.lower() in said), None)

    def _event(self, ctx: ReplyContext, h, lang: str, when: bool = False) -> Reply:
        room = ctx.room_names.get(h.room, h.room)
        desc = _voice(ctx.persona, h.description) if lang == "en" and h.description else ""  # its own event: "I read aloud"
        key = "event_running" if h.running else "event_when" if when else "event_is"
        return Reply(say(key, lang, title=h.title, at=h.at, room=room, name=ctx.speaker.name, desc=desc),
                     self._way_to(ctx, h.room))

    def _happenings(self, ctx: ReplyContext, lang: str) -> Reply:
        """What is on: running events first (with what they are), then the next ones by start time."""
        names = ctx.room_names
        running = [h for h in ctx.happenings if h.running]
        upcoming = sorted((h for h in ctx.happenings if not h.running), key=lambda h: h.starts_in_min or 0)[:3]
        parts = []
        if running:
            now = [say("event_here", lang, title=h.title, room=names.get(h.room, h.room)) +
                   (f" ({first_sentence(_voice(ctx.persona, h.description)).rstrip('.')})" if lang == "en" and h.description else "")
                   for h in running]
            parts.append(say("now_on", lang, list=join_words(now, AND.get(lang, "and"))))
        if upcoming:
            nxt = [say("event_tomorrow" if _tomorrow(ctx.clock, h.starts_in_min) else "event_at", lang, title=h.title,
                       at=h.at, room=names.get(h.room, h.room)) for h in upcoming]
            parts.append(say("next_on", lang, list=join_words(nxt, AND.get(lang, "and"))))
        if not parts:
            return Reply(say("nothing_on", lang, name=ctx.speaker.name))
        first = (running or upcoming)[0]
        return Reply(" ".join(parts), self._way_to(ctx, first.room), meta={"topic": first.title})

    def _fallback_more(self, ctx: ReplyContext) -> str | None:
        """Not understood twice: say what it can answer, from this world's own rooms, stalls and people."""
        if ctx.reply_lang != "en":
            return None
        name = ctx.speaker.name
        asks = []
        others = [r for r in ctx.rooms if r.access == "public" and (ctx.here is None or r.slug != ctx.here.slug)]
        if others:
            asks.append(f"where {others[0].name} is")
        if ctx.items:
            asks.append("what I sell")
        elif ctx.stalls:
            asks.append(f"what {ctx.stalls[0].seller} sells")
        if ctx.residents:
            asks.append(f"who {ctx.residents[0][0]} is")
        if not asks:
            return None
        return f"I don't know that one, {name}. You could ask me {join_words(asks, 'or')}."

    def _recommend_own(self, ctx: ReplyContext, lang: str) -> Reply:
        """Its pick from its own stall, as an offer: a yes next buys it (the money waits for that yes)."""
        item = _pick(ctx.items or [], ctx, exclude={ctx.offer.sku} if ctx.offer is not None else set())
        if item is None:
            return Reply(say("sold_out", lang))
        return Reply(say("recommend_own", lang, item=item.name, price=item.price, stock=item.stock, name=ctx.speaker.name),
                     [Action("sell", {"sku": item.sku, "qty": 1})], meta={"sku": item.sku})

    def _no_shop(self, ctx: ReplyContext, lang: str, text: str) -> Reply:
        name = ctx.speaker.name
        stall = self._stall_asked(ctx, text) or next((s for s in ctx.stalls if s.items), None)
        if stall is not None:
            wanted = _wanted_word(text, ctx)
            if wanted is None:  # word order the pattern misses ("where kann ich a map buy?"): an item named anywhere
                named = [(s, sku) for s in ctx.stalls if (sku := match_sku(text, stock_of(s.items)))]
                if len({sku for _, sku in named}) == 1:
                    return self._stall_reply(ctx, named[0][0], lang, sku=named[0][1])
            if wanted is None and ctx.topic_item and PRICE.search(text):
                # "how much is it?" after it named one of another's items: that item's price
                held = next((s for s in ctx.stalls if any(i.sku == ctx.topic_item for i in s.items)), None)
                if held is not None:
                    return self._stall_reply(ctx, held, lang, sku=ctx.topic_item, again=True)
            if wanted is not None:
                sold = [(s, sku) for s in ctx.stalls if (sku := match_sku(wanted, stock_of(s.items)))]
                if sold:
                    return self._stall_reply(ctx, sold[0][0], lang, sku=sold[0][1])
                # nobody sells it: say so, then what there is (never an invented stall)
                return self._stall_reply(ctx, stall, lang, prefix=say("nobody_sells", lang, what=wanted, name=name))
            # "not me" only when asked of it ("do you sell ...?"), not "where can I eat?" or "what does Tobin sell?"
            asked_me = re.search(r"\b(you|your|i'?ll take|i will take)\b", text, re.I) and not re.search(
                rf"\b{re.escape(stall.seller)}\b", text, re.I)
            return self._stall_reply(ctx, stall, lang, prefix=say("sell_nothing", lang, name=name) if asked_me else "")
        sellers = [(n, r) for n, role, r in ctx.residents if role in ("shopkeeper", "merchant", "trader")]
        if sellers:
            n, r = sellers[0]
            where = ctx.room_names.get(r, r)
            return Reply(say("no_shop", lang, name=ctx.speaker.name, seller=n, where=where),
                         [Action("give_directions", {"room": r})] if r in ctx.room_names else [])
        return Reply(f"I don't sell anything myself, {ctx.speaker.name}.")

    async def _directions(self, ctx: ReplyContext, room: str | None, lang: str = "en") -> Reply:
        by = {r.slug: r for r in ctx.rooms}
        name = ctx.speaker.name
        if room is None:
            others = _other_rooms(ctx)
            if not others:
                return Reply("This is the only room in town for now.")
            best = await self.best_room(ctx, others) or (others[0] if lang != "en" else None)
            listing = join_words([f"{r.name} ({short_desc(r.description)})" for r in others[:6]])
            if best is None:
                return Reply(f"The places in town are {listing}.", [Action("give_directions", {"room": others[0].slug})])
            tail = f" The places in town: {listing}." if lang == "en" and len(others) > 1 else ""
            return Reply(f"{self._way(ctx, best, lang)}{tail}", [Action("give_directions", {"room": best.slug})])
        r = by[room]
        if ctx.here is not None and room == ctx.here.slug:
            return Reply(say("here_already", lang, room=r.name, name=name))
        return Reply(self._way(ctx, r, lang), [Action("give_directions", {"room": r.slug})])

    def _place_in(self, text: str, ctx: ReplyContext, room: str | None,
                  with_text: bool = False) -> tuple[RoomFact, PlaceFact] | None:
        """The named place the line asks about: in the room it names, if it names one ("the well in the
        market"), else the resident's own room first; the longest name; `with_text`: one with something on it.
        A line that names a room and a place elsewhere ("I'm by the fountain, how do I get to the library?")
        asks about the room."""
        here = ctx.here.slug if ctx.here is not None else None
        best = None
        rooms = [r for r in ctx.rooms if r.slug == room] if room else sorted(ctx.rooms, key=lambda r: r.slug != here)
        for r in rooms:
            for p in r.places:
                if with_text and not p.text:
                    continue
                if (best is None or len(p.name) > len(best[1].name)) and _place_rx(p.name).search(text):
                    best = (r, p)
        return best

    def _titles_asked(self, ctx: ReplyContext, text: str) -> Reply | None:
        """A follow-up on the titles it just named in quotes ('Quiet Hours', a book of poems): "what's it
        about?" tells each (or asks which), "and the lamplighter one?" the one meant."""
        mine = [t for who, t in reversed(ctx.lines) if who == ctx.persona.name][:3]
        rooms = {r.name.casefold() for r in ctx.rooms}
        said = next((found for t in mine if (found := [(ti, c) for ti, c in _titled(t) if ti.casefold() not in rooms])),
                    None)
        if not said:
            return None
        words = {w.lower() for w in re.findall(r"[^\W\d_]{4,}", text)} - TITLE_STOP
        # "and the lamplighter one?", "tell me about quiet hours": a title's word with a word that points at it
        meant = [(t, c) for t, c in said if words & {w.lower() for w in re.findall(r"[^\W\d_]{4,}", t)}] \
            if TITLE_POINTER.search(text) else []
        if not meant and not ABOUT_IT.search(text):
            return None
        meant = meant or said
        details = "; ".join(f"'{t}' is {c}" if c else f"'{t}'" for t, c in meant)
        lang = ctx.reply_lang
        spoken = f"{details}, {ctx.speaker.name}." if len(meant) == 1 else f"{say('which_one', lang, name=ctx.speaker.name)} {details}."
        return _notes_reply(ctx, lang, spoken)

    def _why_price(self, ctx: ReplyContext, sku: str, item: dict, low: Item | None, lang: str) -> Reply:
        """"Why is it so pricey?": what makes it worth it (its own note on the item, in English), the same
        price for all, and the cheapest thing instead; the offer stays open."""
        words = [sku] + [w for w in re.findall(r"[^\W\d_]{4,}", item["name"].lower())
                                                  if w not in ("flask", "cup", "townsquare")]
        note = next((n for w in words if w for n in ctx.persona.knowledge if re.search(rf"\b{re.escape(w)}s?\b", n, re.I)),
                    None)
        cheap = low if low is not None and low.name != item["name"] else None
        text = say("why_price", lang, note=_voice(ctx.persona, note) + " " if note and lang == "en" else "",
                   item=item["name"], name=ctx.speaker.name)
        if cheap is not None:  # it is not the cheapest: the cheapest instead
            text += " " + say("why_cheaper", lang, cheap=item_phrase(cheap, 1, lang), price=cheap.price)
        return Reply(text, meta={"sku": sku})

    def _room_has(self, ctx: ReplyContext, room: RoomFact, lang: str, beyond: bool) -> Reply:
        """What a room has to see and do: its objects with something on them first, then its areas."""
        ranked, seen = [], set()
        for p in sorted(room.places, key=lambda p: (not p.text, p.name.startswith("road to"))):
            key = re.sub(r"(ves|es|s|f)$", "", p.name.casefold())  # "bookshelf" and "bookshelves" are one sight
            if key not in seen:
                seen.add(key)
                ranked.append(p)
        names = [place_name(p.name, lang) for p in ranked[:5]]
        if lang == "de":  # "es gibt" takes the accusative
            names = [f"den {n[4:]}" if n.startswith("der ") else n for n in names]
        text = say("room_has", lang, room=room.name, places=join_words(names, AND.get(lang, "and")), name=ctx.speaker.name)
        others = [r for r in _other_rooms(ctx) if r.slug != room.slug]
        if beyond and others:
            text += " " + say("room_beyond", lang, rooms=join_words([r.name for r in others[:4]], AND.get(lang, "and")))
        return Reply(text, [Action("give_directions", {"room": room.slug})] if ctx.here is None or ctx.here.slug != room.slug else [])

    def _place(self, ctx: ReplyContext, room: RoomFact, place: PlaceFact, lang: str, lead: bool) -> Reply:
        """Where the place lies in its room; led there on asking: walked to in this room, the way to another."""
        said = place_name(place.name, lang)
        where = place_where(place.x, place.y, place.width, place.height, room.width, room.height, room.name, lang)
        text = say("place_at", lang, Place=_capital(said), verb=place_is(place.name, lang), where=where,
                   name=ctx.speaker.name)
        here = ctx.here is not None and ctx.here.slug == room.slug
        if not lead:
            return Reply(text, [] if here else [Action("give_directions", {"room": room.slug})])
        if here:
            x, y = place.at or (place.x + place.width / 2, place.y + place.height / 2)
            return Reply(f"{text} {say('place_lead', lang)}", [Action("move_to", {"x": x, "y": y}),
                                                              Action("emote", {"name": "wave"})])
        return Reply(f"{text} {say('follow', lang, room=room.name, name=ctx.speaker.name)}",
                     [Action("move_to", {"room": room.slug}), Action("emote", {"name": "wave"})])

    def _way(self, ctx: ReplyContext, r: RoomFact, lang: str) -> str:
        """Directions by the world's geography (from the notes: which room, which way)."""
        geo = geography(ctx.persona.knowledge, ctx.rooms)
        desc = first_sentence(r.description)
        names = ctx.room_names
        home = ctx.here.slug if ctx.here is not None else ctx.persona.home
        if r.slug in geo:
            direction, origin = geo[r.slug]
            origin = origin or home
            here = ctx.here is not None and origin == ctx.here.slug
            return say("where", lang, room=r.name, dir=DIRECTIONS[direction].get(lang, direction),
                       of_from=_of(lang, None if here else names.get(origin, origin)), name=ctx.speaker.name, desc=desc)
        for slug, (direction, origin) in geo.items():
            if origin == r.slug and slug in names:  # the way back: the opposite direction
                back = OPPOSITE[direction]
                here = ctx.here is not None and ctx.here.slug == slug
                return say("where", lang, room=r.name, dir=DIRECTIONS[back].get(lang, back),
                           of_from=_of(lang, None if here else names[slug]), name=ctx.speaker.name, desc=desc)
        return say("where_plain", lang, room=r.name, name=ctx.speaker.name, desc=desc,
                   from_=names.get(home, home))

    def _remember(self, ctx: ReplyContext) -> Reply:
        a = ctx.acquaintance
        name = ctx.speaker.name
        if a is None or not a.returning:
            return Reply(f"I don't think we've met before, {name}. I'm {ctx.persona.name}. Nice to meet you!")
        fact = fact_line(a, ctx.memories, ask=False)
        times = f"This is visit number {a.times_met}." if a.times_met > 1 else ""
        return Reply(f"Of course I remember you, {name}! {fact} {times}".strip())

    def _about_them(self, ctx: ReplyContext) -> Reply:
        """What people told it about themselves answers their questions about themselves."""
        a, name = ctx.acquaintance, ctx.speaker.name
        facts = a.facts if a is not None else {}
        said = [f"you're a {facts['is']}" if facts.get("is") else "",
                f"you're from {facts['from']}" if facts.get("from") else "",
                f"you like {facts['likes']}" if facts.get("likes") else ""]
        said = [s for s in said if s]
        if said:
            return Reply(f"You told me {join_words(said)}, {name}.")
        mem = next((m for m in ctx.memories if m.subject_id == ctx.speaker.id and m.meta.get("event") == "personal"), None)
        if mem is not None:
            return Reply(f"{second_person(mem.text, name)}")
        return Reply(f"You haven't told me yet, {name}. What do you do?")

    def _introduce(self, ctx: ReplyContext, text: str) -> Reply:
        fact = personal_facts(text)
        if fact.get("is"):
            return Reply(f"A {fact['is']}! I'll remember that, {ctx.speaker.name}.", meta={"fact": fact})
        if fact:
            return Reply(f"I'll remember that, {ctx.speaker.name}.", meta={"fact": fact})
        return Reply(f"Nice to meet you, {ctx.speaker.name}! I'm {ctx.persona.name}.")

    def _neighbours(self, ctx: ReplyContext, lang: str) -> Reply:
        """Who lives in town: every other resident, their role and where they are now."""
        names = ctx.room_names
        each = [say("neighbour", lang, who=n, role=r or "resident", room=names.get(at, at)) for n, r, at in ctx.residents]
        return Reply(say("neighbours", lang, list=join_words(each, AND.get(lang, "and")), name=ctx.speaker.name))

    def _about(self, ctx: ReplyContext, text: str = "") -> Reply:
        p = ctx.persona
        who = first_person(p, p.identity) if p.identity else f"I am {p.name}, the {p.role}."
        if re.search(r"\byour name\b", text, re.I) and p.name not in who:
            who = f"I'm {p.name}, the {p.role or 'resident'}. {who}"
        return Reply(f"{who} {help_line(ctx)}".strip())

    def _farewell(self, ctx: ReplyContext, lang: str = "en") -> Reply:
        return Reply(say("farewell", lang, name=ctx.speaker.name), [Action("emote", {"name": "wave"})], end=True)

    def _fallback(self, ctx: ReplyContext) -> Reply:
        name = ctx.speaker.name
        mem = next((m for m in ctx.memories if m.subject_id == ctx.speaker.id and m.kind in ("reflection", "conversation")
                    and (m.similarity or 0) > 0.5), None)
        if mem is not None:
            return Reply(f"That reminds me, {name}: {second_person(memory_as_speech(mem), name)} {help_line(ctx)}".strip())
        return Reply(f"Hmm, I'm not sure about that, {name}. {help_line(ctx)}")

    async def greet(self, ctx: ReplyContext) -> Reply:
        p, a, name = ctx.persona, ctx.acquaintance, ctx.speaker.name
        here = ctx.here.name if ctx.here else "town"
        lang = ctx.reply_lang
        if a is not None and a.returning:
            fact = fact_line(a, ctx.memories, ask=True)
            hello = "Welcome back" if lang == "en" else say("greet_again", lang, name=name, help="").split(",")[0]
            return Reply(f"{hello}, {name}! {fact}".strip(), [Action("emote", {"name": "wave"})],
                         meta={"brain": self.kind, "intent": "greet", "returning": True})
        return Reply(say("greet_new", lang, name=name, here=here, me=p.name, role=p.role or "resident",
                         help=help_line(ctx)),
                     [Action("emote", {"name": "wave"})], meta={"brain": self.kind, "intent": "greet", "returning": False})


def _budget(text: str) -> int | None:
    m = BUDGET.search(text)
    return int(m.group(1)) if m else None


BUDGET = re.compile(r"\b(?:for|with|under|have|got|only|spend|of)\s+(?:only\s+|just\s+)?(\d{1,6})\s*coins?\b", re.I)
HOW_MANY = re.compile(r"\bhow many\b", re.I)
PRICE = re.compile(r"\b(how much|price|prices|cost|costs)\b", re.I)
ABOUT_IT = re.compile(r"\b(what'?s (it|that|this|each|each one|they) about|what (is|are) (it|that|they|these|those) about|"
                      r"tell me (more|about (it|them|that))|what kind of (book|books)|which one)\b", re.I)
NOT_A_NOTE = re.compile(r"\b(go|get|visit|next|places?|rooms?|explore|town|way|lost|directions|there)\b", re.I)
TITLE_POINTER = re.compile(r"\b(one|book|books|title|about|the [\w' ]+ one|what about|and the)\b", re.I)
TITLE_STOP = frozenset({"what", "about", "that", "this", "them", "they", "tell", "more", "which", "book", "books", "read",
                        "where", "with", "have", "your", "does", "from", "then", "there", "what's"})
_TITLE = re.compile(r"(?:(?<=\s)|^)'(.+?)'(?=[\s,.;:!?]|$)")


def _titled(line: str) -> list[tuple[str, str]]:
    """The quoted titles of a line and what it said of each ("'Quiet Hours', a book of poems" ->
    ("Quiet Hours", "a book of poems")); the words between one title and the next."""
    found = list(_TITLE.finditer(line))
    out = []
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(line)
        clause = re.split(r"[.!?](?:\s|$)", line[m.end():end])[0].strip(" ,.;:!?")  # within its sentence
        clause = re.sub(r"^(is|are)\s+", "", re.sub(r"(,|;)?\s*(and)?$", "", clause).strip(" ,;")).strip()
        out.append((m.group(1), clause))
    return out


WHY_DEAR = re.compile(r"\bwhy(?:'s|\s+(?:is|are|does|do))\s+(it|that|this|they|those|these|the [\w ]+?)( cost)?( so| that)? "
                      r"(expensive|pricey|dear|costly|much)\b|\bwhy so (expensive|pricey|dear|much)\b", re.I)
DEAREST = re.compile(r"\b(most expensive|priciest|dearest|fanciest)\b", re.I)
CHEAPEST = re.compile(r"\b(cheapest|least expensive|cheap)\b", re.I)
FOOD = re.compile(r"\b(eat|food|hungry|drink|thirsty|snacks?|meals?|breakfast|lunch|dinner)\b", re.I)
WHO = re.compile(r"\bwho(?:'s| is| was)\s+([^\W\d_]+)", re.I)
ABOUT_ROOM = re.compile(r"\b(tell me (more )?about|what is|what's|describe|what('s| is) (it|there) like|like in)\b", re.I)
WAY = re.compile(r"\b(where|how (do|can) i|get to|go to|way to|directions?)\b", re.I)
PLACE_CUE = re.compile(r"\b(where|how (do|can|would|should) (i|we) (get|find)|how to (get|find)|find|take me|bring me|lead me|"
                       r"show me|walk me|way to|directions|go to|get to)\b", re.I)
TO_DO = re.compile(r"\b(what (can|could|should) (i|we|one|you) do|what is there to do|what'?s there to do|things to do|"
                   r"what(?: is|'s|s) (there )?(in )?here)\b", re.I)
HERE = re.compile(r"\b(here|this (room|place))\b", re.I)
READ_CUE = re.compile(r"\bwhat (does|do|did) (it|that|this|the [\w' ]+?) (say|read|mean)\b|\bwhat does it say\b|"
                      r"\bwhat(?:'s| is) (written )?on (the|that|this|it)\b|\bwhat(?:'s| is) (the|that|this) [\w' ]+? (about|for)\b|"
                      r"\bread (me|out|it|aloud)\b", re.I)
LEAD = re.compile(r"\b(take|bring|lead|walk|show) (me|us)\b", re.I)


@functools.lru_cache(maxsize=256)
def _place_rx(name: str) -> re.Pattern:
    """A place name in a line, its last word singular or plural; a one-word name needs an article before it
    ("where is the well?", not "well, where is it?")."""
    *first, last = name.casefold().split()
    stems = {last} if last.endswith("'s") else {last, re.sub(r"s$", "", last), re.sub(r"es$", "", last)}  # crate, crat
    forms = {re.escape(st) + r"(s|es)?" for st in stems} | {re.escape(re.sub(r"ves$", "f", last)),
                                                            re.escape(re.sub(r"f$", "ves", last))}
    tail = "(" + "|".join(sorted(forms)) + ")"
    head = r"\s+".join(re.escape(w) for w in first)
    body = (head + r"\s+" + tail) if head else tail
    lead = r"\b(the|a|an|that|this|your)\s+" if not first else r"\b"
    return re.compile(lead + body + r"\b(?![-'])", re.I)


THERE = re.compile(r"\b(get|go|walk|way|head|take me) (there|to it|to that place)\b|\bfind it\b|\bwhere is (it|that)\b", re.I)
SHOPPING = re.compile(r"\b(buy|sell|sells|selling|shop|stall|stock|wares|goods|they have|he has|she has|what they|"
                      r"market|price|cost|coins?)\b", re.I)
WANTED = re.compile(r"\b(?:buy|purchase|get|find|sell|sells|is|are|much for|price of|cost of)\s+(?:some |a |an |the |me |any )?"
                    r"([^\W\d_]{3,})", re.I)
NOT_A_THING = frozenset({"something", "anything", "things", "thing", "stuff", "goods", "wares", "items", "item", "here",
                         "there", "one", "them", "that", "this", "those", "these", "what", "it", "from", "around", "near",
                         "nearby", "in", "at", "good", "best", "cheap", "food", "gifts", "you", "your", "they", "their",
                         "for", "with", "today", "now", "sale", "stock"})
LOCATIVE = re.compile(r"\b(where|how|way|get|go|going|find|directions?|visit|places?|rooms?|explore|next|lost)\b", re.I)
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}
RULE_NOTE = re.compile(r"\b(chat|moderator|report|ban|mute|kind|whisper|tip|rule|allowed|coins?)\b", re.I)
OF_HERE = {"en": "of here", "es": "de aquí", "de": "von hier", "fr": "d'ici", "pt": "daqui"}
OF_ROOM = {"en": "of {r}", "es": "de {r}", "de": "von {r}", "fr": "de {r}", "pt": "de {r}"}


def _of(lang: str, room: str | None) -> str:
    if room is None:
        return OF_HERE.get(lang, OF_HERE["en"])
    return OF_ROOM.get(lang, OF_ROOM["en"]).format(r=room)


_GEO = re.compile(r"\b(?:the )?([a-z]+) is (?:to the |just |due )?(north|south|east|west)(?:\w*)(?: of (?:the )?([a-z]+))?",
                  re.I)
_FROM = re.compile(r"^\s*from (?:the )?([a-z]+)\b", re.I)


def geography(knowledge: list[str], rooms: list[RoomFact]) -> dict[str, tuple[str, str | None]]:
    """Which way each room lies, as a resident's notes say: {slug: (north|south|east|west, from slug)}."""
    def slug_of(word: str | None) -> str | None:
        if not word:
            return None
        w = word.lower().rstrip("s")
        for r in rooms:
            if w == r.slug or w in [x.rstrip("s") for x in re.findall(r"[a-z]+", r.name.lower())]:
                return r.slug
        return None

    out: dict[str, tuple[str, str | None]] = {}
    for line in knowledge:
        origin = slug_of(_FROM.match(line).group(1)) if _FROM.match(line) else None
        if origin is None:
            m = re.search(r"\b(?:the )?([a-z]+) is the (?:centre|center|heart)\b", line, re.I)
            origin = slug_of(m.group(1)) if m else None
        for m in _GEO.finditer(line):
            room = slug_of(m.group(1))
            if room is not None and room not in out:
                out[room] = (m.group(2).lower(), slug_of(m.group(3)) or origin)
    return out


def _voice(persona: Persona, line: str) -> str:
    """A note as the resident says it: first person for itself."""
    s = first_person(persona, line).strip()
    return s if s.endswith((".", "!", "?")) else s + "."


def _tomorrow(clock: str | None, starts_in_min: int | None) -> bool:
    """Whether an event starting in `starts_in_min` world minutes starts after midnight ("HH:MM" now)."""
    return bool(clock) and starts_in_min is not None and minutes_of(clock) + starts_in_min >= 24 * 60


def _advice(persona: Persona) -> str | None:
    """Its own note of advice ("For a good read I recommend ..."), if it has one."""
    return next((k for k in persona.knowledge if re.search(r"\brecommend", k, re.I)), None)


def _advises(persona: Persona) -> bool:
    return _advice(persona) is not None


def _capital(phrase: str) -> str:
    """A phrase that starts a sentence ("la fuente" -> "La fuente"), the rest as it is."""
    return phrase[:1].upper() + phrase[1:]


def _notes_reply(ctx: ReplyContext, lang: str, spoken: str) -> Reply:
    """Its notes as said: they are English, so another language gets a word that they are."""
    prefix = say("english_only", lang) if lang != ctx.persona.language else ""
    return Reply(f"{prefix} {spoken}".strip(), meta={"english": bool(prefix)})


def _other_rooms(ctx: ReplyContext) -> list[RoomFact]:
    """The public rooms other than the one it stands in."""
    return [r for r in ctx.rooms if r.access == "public" and (ctx.here is None or r.slug != ctx.here.slug)]


def _last_own(ctx: ReplyContext) -> str | None:
    return next((t.strip() for who, t in reversed(ctx.lines) if who == ctx.persona.name), None)


def _listing(items: list[Item], lang: str) -> str:
    have = sorted((i for i in items if i.stock > 0), key=lambda i: (i.price, i.sku))
    if not have:
        return say("sold_out", lang).rstrip(".")
    return join_words([say("item_price", lang, item=i.name, price=i.price) for i in have], AND.get(lang, "and"))


def _pick(items: list[Item], ctx: ReplyContext, exclude: set[str] | None = None, lowest: bool = False) -> Item | None:
    """What to recommend: not what it just named (so "what else?" moves on), then what the person
    said they like, then what sells best lately, else the cheapest thing to try."""
    said = (_last_own(ctx) or "").lower()
    have = [i for i in items if i.stock > 0]
    fresh = [i for i in have if i.sku not in (exclude or set()) and i.name.lower() not in said] or have
    if not fresh:
        return None
    if lowest:
        return cheapest(have)
    stock = stock_of(fresh)
    likes = str((ctx.acquaintance.facts if ctx.acquaintance is not None else {}).get("likes") or "")
    liked = match_sku(likes, stock) if likes else None
    if liked:
        return next(i for i in fresh if i.sku == liked)
    sold = Counter(str(m.meta.get("item")) for m in ctx.memories if m.meta.get("event") == "purchase" and m.meta.get("item"))
    for name, _ in sold.most_common():
        sku = match_sku(name, stock)
        if sku:
            return next(i for i in fresh if i.sku == sku)
    return cheapest(fresh)


def _wanted_word(text: str, ctx: ReplyContext | None = None) -> str | None:
    """The thing a line asks to buy or find ("where can I buy bread?" -> "bread"), None when it names
    nothing in particular ("something", "stuff")."""
    m = WANTED.search(text)
    if m is None:
        return None
    w = m.group(1).lower()
    if ctx is not None:  # a person or a place is not a thing to buy ("what does Tobin sell?")
        names = {n.lower() for n, _, _ in ctx.residents} | {s.seller.lower() for s in ctx.stalls} | {ctx.persona.name.lower()}
        names |= {x for r in ctx.rooms for x in [r.slug, *re.findall(r"[a-z]+", r.name.lower())]}
        if w in names or w.rstrip("s") in names:
            return None
    return None if w in NOT_A_THING else w


def _wants(text: str) -> bool:
    return bool(re.search(r"\b(want|need|like|take|buy|get|have)\b", text, re.I))


def _topic_of(line: str, question: str = "") -> str:
    """What a knowledge answer was about: a word of the question the answer shares, else the
    answer's longest word."""
    shared = sorted(terms(question) & terms(line), key=len, reverse=True)
    if shared:
        return shared[0]
    t = sorted(terms(question) - GENERIC, key=len, reverse=True) or sorted(terms(line), key=len, reverse=True)
    return t[0] if t else "things"


GENERIC = frozenset({"know", "tell", "like", "want", "need", "much", "many", "thing", "things", "really", "happens",
                     "someone", "something", "anyone", "people"})


