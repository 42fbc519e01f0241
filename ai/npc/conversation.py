"""Conversation: one turn at a time per person. The turn decides synchronously what the line is
(a yes or no to the open offer, something for the brain) and awaits one think operation (the
brain, within the hold and deadline), then acts: validated actions, the line said in the
speaker's language, what it learnt written before it is said."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import deque

from ai.inference import InferenceError, Priority

from .actions import Action, Reply, validate
from .brain import Acquaintance, Brain, ReplyContext, affirmative, holding_line, negative, rule_intents, stock_of
from .interface import ActionRefused, Offer, Person, RoomFact
from .lexicon import gloss, say, speaks
from .memory import MemoryDraft
from .plans import hhmm
from .state import Conversation, Heard, _clip, _join_facts

log = logging.getLogger("ai.npc.agent")


class Conversing:
    """Part of `agent.ResidentAgent` (its state lives there)."""

    async def _converse(self, conv: Conversation, first: Heard) -> None:
        try:
            t = time.monotonic()
            async with self._slots:
                self.phases["wait"].append(time.monotonic() - t)
                while conv.pending and self.running:
                    text = " ".join(conv.pending)
                    conv.pending.clear()
                    started = time.monotonic()
                    await self._turn(conv, text, first)
                    self.figures["latency"].append(time.monotonic() - started)
        finally:
            conv.replying = False

    async def _turn(self, conv: Conversation, text: str, heard: Heard) -> None:
        person = conv.person
        conv.lang = heard.lang or self.persona.language
        conv.translated = False
        if conv.lang != self.persona.language:
            translated = await self.world.translate(text, conv.lang, self.persona.language)
            if translated:
                text = translated
                conv.translated = True
        conv.turns += 1
        conv.lines.append((person.name, text))
        offer = await self.world.pending_offer(self.id, person.id)
        meant = text if conv.translated else gloss(text, conv.lang)
        yes, no = affirmative(meant), negative(meant)
        if offer is not None and yes and not self._changes_offer(meant, offer, await self.world.shop(self.id)):
            conv.offer = conv.lapsed = None
            sale = await self.world.confirm(self.id, offer.id, person.id)
            await self.sale_done(person, sale, conv=conv, heard=text)
            return
        if offer is not None and no:
            conv.offer = conv.lapsed = None
            await self.world.decline(self.id, offer.id, person.id)
            if not self._changes_offer(meant, offer, await self.world.shop(self.id)):
                await self._reply_line(conv, await self._in_their_language(conv, say("declined", self._lang(conv), name=person.name)),
                                       heard=text, meta={"event": "said", "topic": offer.name})
                return
            offer = None  # "too expensive; what about the oil?": that offer is closed, the question still answered
        lapsed = conv.lapsed or conv.offer
        if offer is None and yes and lapsed is not None:
            await self._offer_again(conv, lapsed, text)
            return
        if conv.turns == 1 and self.config.walk_over:
            await self._walk_over(person)
        reply = await self._compose(conv, text, offer)
        t = time.monotonic()
        await self._act(conv, reply, text)
        self.phases["act"].append(time.monotonic() - t)
        if conv.turns >= self.config.max_turns and not conv.ended:
            await self._reply_line(conv, f"I must get back to my work now, {person.name}. Do come again!")
            await self._end(conv, "turns")

    def _lang(self, conv: Conversation) -> str:
        """The language its template lines take for this person (theirs where the lexicon speaks it)."""
        if conv.lang and not conv.translated and speaks(conv.lang):
            return conv.lang
        return self.persona.language

    async def _in_their_language(self, conv: Conversation, text: str, lang: str | None = None) -> str:
        """A line in the resident's own language goes back into theirs when the world can translate."""
        lang = lang or self._lang(conv)
        conv.reply_lang = lang
        if conv.lang and lang != conv.lang and lang == self.persona.language:
            back = await self.world.translate(text, lang, conv.lang)
            if back:
                conv.reply_lang = conv.lang
                return back
        return text

    async def _compose(self, conv: Conversation, text: str, offer: Offer | None) -> Reply:
        """The brain's reply within the deadlines; "one moment" first when it is slow."""
        cfg = self.config
        task = asyncio.get_running_loop().create_task(self._think(conv, text, offer))
        done, _ = await asyncio.wait({task}, timeout=cfg.hold_s)
        if not done:
            self.figures["holding"] += 1
            await self._say(holding_line(self.persona, conv.person.name), to=conv.person.id if conv.whisper else None)
            done, _ = await asyncio.wait({task}, timeout=max(cfg.reply_deadline_s - cfg.hold_s, 0.1))
        if done and task.exception() is None:
            return task.result()
        if not done:
            task.cancel()
        elif task.exception() is not None:
            log.warning("resident %s: brain failed: %r", self.persona.key, task.exception())
        self.figures["fallbacks"] += 1
        ctx = await self._context(conv.person, text, whisper=conv.whisper, offer=offer, deadline=0.5, models=False,
                                  conv=conv)
        try:
            return await self.retrieval.reply(ctx)
        except Exception:  # never silence: a plain line rather than no answer
            log.exception("resident %s: the retrieval brain failed too", self.persona.key)
            return Reply(f"Sorry, {conv.person.name}, I lost my train of thought. Could you say that again?")

    async def _think(self, conv: Conversation, text: str, offer: Offer | None) -> Reply:
        t = time.monotonic()
        ctx = await self._context(conv.person, text, whisper=conv.whisper, offer=offer,
                                  deadline=self.config.reply_deadline_s, conv=conv)
        t1 = time.monotonic()
        self.phases["context"].append(t1 - t)
        brain = self._brain_for(Priority.NPC_REPLY)
        reply = await brain.reply(ctx)
        self.phases["brain"].append(time.monotonic() - t1)
        return reply

    def _brain_for(self, priority: Priority) -> Brain:
        if self.brain.kind == "llm":
            available = getattr(self.brain, "available", lambda: True)()
            if available and self.budgets.take(self.id, priority):
                return self.brain
        return self.retrieval

    async def _context(self, person: Person, text: str, *, whisper: bool, offer: Offer | None, deadline: float,
                       conv: Conversation | None = None, acquaintance: Acquaintance | None = None,
                       models: bool = True, retrieve: bool = True) -> ReplyContext:
        t0 = time.monotonic()
        ph = self.phases
        embed = self.embed if models else None
        acq = acquaintance or await self.people.get(self.id, person.id)
        t1 = time.monotonic()
        ph.setdefault("c_people", deque(maxlen=500)).append(t1 - t0)
        rooms = await self._rooms()
        items = await self.world.shop(self.id)
        # one who sells nothing points to those who do: their live stock, never a guess
        stalls = await self.world.stalls(self.id) if items is None else []
        sur = await self.world.look_around(self.id)
        t2 = time.monotonic()
        ph.setdefault("c_world", deque(maxlen=500)).append(t2 - t1)
        here = next((r for r in rooms if r.slug == sur.room), None) or (
            RoomFact(sur.room, sur.room_name) if sur.room else None)
        qv = None
        query = f"{person.name}: {text}" if text else person.name
        if embed is not None and text and self._needs_meaning(text):
            try:  # a short leash: when the queue is busy, word overlap stands in for meaning
                # the resident's own name says who is asked, not what: it is left out of the meaning
                plain = re.sub(rf"(?<!\w){re.escape(self.persona.name)}\b[,:!]?\s*", "", text, flags=re.I) or text
                qv = (await embed([plain], Priority.NPC_REPLY, min(self.config.query_embed_s, deadline)))[0]
            except InferenceError:
                self.figures["query_unembedded"] = self.figures.get("query_unembedded", 0) + 1
        t3 = time.monotonic()
        ph.setdefault("c_embed", deque(maxlen=500)).append(t3 - t2)
        memories = []
        if retrieve:
            try:
                memories = await self.stream.retrieve(query, k=self.config.memories_k, subject_id=person.id,
                                                      query_vector=qv, embed_query=False)
                # what someone whispered stays between them: never in another person's context or prompt
                memories = [m for m in memories if not m.meta.get("private") or m.subject_id == person.id]
            except Exception:
                log.exception("retrieval for %s failed", self.persona.key)
        ph.setdefault("c_retrieve", deque(maxlen=500)).append(time.monotonic() - t3)
        remaining = max(deadline - (time.monotonic() - t0), 0.2)
        return ReplyContext(
            persona=self.persona, speaker=person, text=text, whisper=whisper,
            lines=list(conv.lines)[:-1] if conv else [], memories=memories, acquaintance=acq, here=here,
            rooms=rooms, items=items, people=[p.name for p in sur.people if p.id != self.id],
            residents=[r for r in self.others() if r[0] != self.persona.name], clock=self.clock.label(),
            part_of_day=self.clock.part_of_day(), offer=offer, first_turn=bool(conv and conv.turns == 1),
            embed=embed, query_vector=qv, deadline=remaining, lang=conv.lang if conv else None,
            translated=bool(conv and conv.translated), topic_item=conv.item if conv else None,
            stalls=stalls, topic_seller=conv.seller if conv else None, happenings=await self.world.happenings(),
            doing=self._doing())

    def _doing(self) -> tuple[str, str, str] | None:
        step = self.plan.at(self.clock.minute()) if self.plan is not None else None
        return (step.activity, step.room, hhmm(step.end)) if step is not None else None

    def _needs_meaning(self, text: str) -> bool:
        """Does answering this need the line's embedding? The LLM brain always retrieves by
        meaning; the retrieval brain not when its rules already know what is asked (shop,
        buying, greetings, thanks, farewells, being led somewhere)."""
        if self.brain.kind == "llm":
            return True
        intents = set(rule_intents(text))
        if not intents and re.search(r"[^\x00-\x7f]", text):
            return False  # a line in another language: the lexicon reads it, not the English embedder
        return not intents or not intents <= {"shop", "buy", "greet", "thanks", "farewell", "guide"}

    async def _rooms(self) -> list[RoomFact]:
        t, rooms = self._rooms_cache
        if time.monotonic() - t > 1.0 or not rooms:
            rooms = await self.world.rooms()
            self._rooms_cache = (time.monotonic(), rooms)
        return rooms

    async def _act(self, conv: Conversation, reply: Reply, heard_text: str) -> None:
        person = conv.person
        items = await self.world.shop(self.id)
        stock = stock_of(items) if items is not None else None
        rooms = {r.slug: r.name for r in await self._rooms()}
        ok, bad = validate(reply.actions, stock=stock, rooms=rooms, here=self.room)
        text = reply.text
        for rej in bad:
            if rej.action.kind == "sell":
                self.figures["refusals"] += 1
                sku = rej.action.args.get("sku")
                name = stock[sku]["name"] if stock and sku in stock else str(sku or "that")
                text = (f"Sorry, {person.name}, I'm out of {name} right now." if rej.reason in ("out of stock",)
                        else f"Sorry, {person.name}, I don't sell {name}." if stock is not None
                        else f"I don't sell anything myself, {person.name}.")
                conv.outcomes.append(f"could not sell them {name}")
        if reply.meta.get("refused"):
            self.figures["refusals"] += 1
        after: list[Action] = []
        for a in ok:
            if a.kind == "sell":
                try:
                    offer = await self.world.offer(self.id, person.id, a.args["sku"], a.args["qty"])
                    conv.outcomes.append(f"offered them {offer.qty} x {offer.name} for {offer.total} coins")
                    conv.topics.append(offer.name)
                    conv.offer, conv.lapsed, conv.item = offer, None, offer.sku
                except ActionRefused as e:
                    self.figures["refusals"] += 1
                    text = f"Sorry, {person.name}: {e.message}"
            elif a.kind == "give_directions":
                name = rooms[a.args["room"]]
                if name.lower() not in text.lower() and a.args["room"] not in text.lower():
                    text = f"{text} Try {name}.".strip()
                conv.topics.append(name)
            elif a.kind in ("move_to", "emote"):
                after.append(a)
        if reply.meta.get("sku"):
            conv.item = str(reply.meta["sku"])
        if reply.meta.get("seller"):
            conv.seller = str(reply.meta["seller"])
        text = await self._in_their_language(conv, text, reply.meta.get("lang") or self.persona.language)
        # what it learnt is written before it speaks: a reply is never heard and then forgotten
        topic = reply.meta.get("topic")
        if topic:
            conv.topics.append(str(topic))
        fact = reply.meta.get("fact")
        facts = {"last_topic": str(topic)} if topic and reply.meta.get("intent") not in ("greet", "farewell", "thanks") else {}
        if isinstance(fact, dict) and fact:
            facts.update(fact)
            told = _join_facts(fact)
            self.remember(MemoryDraft("observation", f"{person.name} told me they {told}.", importance=6.0,
                                      subject_id=person.id, subject_name=person.name,
                                      meta={"event": "personal", "topic": next(iter(fact.values())),
                                            "private": conv.whisper}))
        if facts:
            await self.people.meet(self.id, person.id, person.name, facts=facts)
        await self._reply_line(conv, text, heard=heard_text,
                               meta={"event": "question" if "?" in heard_text else "said",
                                     **({"topic": str(topic)} if topic else {})})
        for a in after:
            if a.kind == "emote":
                await self.world.emote(self.id, a.args["name"])
            elif a.kind == "move_to":
                if "room" in a.args:
                    self.revise_plan(f"showing {person.name} the way to {rooms.get(a.args['room'], a.args['room'])}",
                                     "a request", minutes=30, room=a.args["room"])
                    self._visit_room = a.args["room"]
                    self._visit_until = time.monotonic() + self.config.guide_visit_s
                    self.spawn(self._go(a.args["room"], delay=1.5))
                elif "x" in a.args:
                    await self.world.move(self.id, a.args["x"], a.args["y"])
                else:
                    await self._walk_over(person)
        self.figures["replies"] += 1
        if reply.end:
            await self._end(conv, "farewell")

    async def _reply_line(self, conv: Conversation, text: str, *, heard: str | None = None,
                          meta: dict | None = None) -> None:
        """Say a line to the person in the conversation; one memory holds the exchange (what they
        said, what it answered), written before it is said."""
        conv.lines.append((self.persona.name, text))
        conv.last = time.monotonic()
        who = conv.person.name
        if heard is not None:
            memory = f"{who} said to me: \"{_clip(heard, 200)}\" I answered: \"{_clip(text, 160)}\""
            self.remember(MemoryDraft("observation", memory, subject_id=conv.person.id, subject_name=who,
                                      meta={**(meta or {"event": "said"}), "private": conv.whisper}))
        else:
            self.remember(MemoryDraft("observation", f"I told {who}: \"{_clip(text, 200)}\"", importance=2.0,
                                      subject_id=conv.person.id, subject_name=who,
                                      meta={**(meta or {"event": "reply"}), "private": conv.whisper}))
        await self._say(text, to=conv.person.id if conv.whisper else None, lang=conv.reply_lang)
        conv.reply_lang = None

    async def _say(self, text: str, *, to: str | None, lang: str | None = None) -> bool:
        if not text:
            return False
        try:
            ok = await self.world.say(self.id, text, to=to, lang=lang or self.persona.language)
        except Exception:
            log.exception("resident %s could not speak", self.persona.key)
            return False
        if not ok:
            # kept back by moderation: a neutral line instead, once
            try:
                await self.world.say(self.id, "Sorry, I lost my train of thought.", to=to, lang=self.persona.language)
            except Exception:
                pass
        return ok

    async def _walk_over(self, person: Person) -> None:
        sur = await self.world.look_around(self.id)
        me, them = sur.find(self.id), sur.find(person.id)
        if me is None or them is None:
            return
        d = math.dist((me.x, me.y), (them.x, them.y))
        if d <= 2.0:
            return
        # stand beside them, on our side: figures are taller than a tile, so one a step above or
        # below would be drawn over them
        side = 1.5 if me.x >= them.x else -1.5
        for tx, ty in ((them.x + side, them.y), (them.x - side, them.y), (them.x, them.y + 1.5), (them.x, them.y - 1.5)):
            try:
                await self.world.move(self.id, tx, ty)
                return
            except ActionRefused:
                continue
            except Exception:
                return

    async def left(self, person_id: str) -> None:
        """The person left its room: their conversation ends (and is summarized)."""
        conv = self.conversations.get(person_id)
        if conv is not None:
            await self._end(conv, "left")

    async def _end(self, conv: Conversation, reason: str, *, summarize_now: bool = False) -> None:
        if conv.ended:
            return
        conv.ended = True
        if self.conversations.get(conv.person.id) is conv:
            del self.conversations[conv.person.id]
        said = [line for line in conv.lines if line[0] == conv.person.name]
        if not said:
            return
        if summarize_now or self.brain.kind != "llm":
            await self._summarize(conv, reason, use_model=False)
        else:
            self.spawn(self._summarize(conv, reason, use_model=True))

    async def _summarize(self, conv: Conversation, reason: str, *, use_model: bool) -> None:
        brain: Brain = self.retrieval
        if use_model and self.budgets.take(self.id, Priority.BACKGROUND):
            brain = self.brain
        summary = await brain.summarize(self.persona, conv.person, list(conv.lines), conv.topics, conv.outcomes)
        topic = conv.topics[-1] if conv.topics else None
        self.remember(MemoryDraft("conversation", summary, subject_id=conv.person.id, subject_name=conv.person.name,
                                  importance=5.0 if conv.outcomes else 4.0,
                                  meta={"event": "conversation", "ended": reason, "turns": conv.turns,
                                        **({"topic": topic} if topic else {})}))
