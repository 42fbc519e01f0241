"""A resident at work: hears, decides whether it is spoken to, converses, sells, walks its routine.

One `ResidentAgent` per resident, run by exactly one node. It acts only through the `World`
interface and remembers through its `MemoryStream`; the server feeds it what happens in its room
(`hear`, `arrived`, `sale_done`) and calls `tick` about once a second.

Conversation rules:
- It answers a line when addressed by name, whispered to, when the speaker is already talking
  with it (a conversation lasts until a farewell, `conversation_idle_s` of silence, or
  `max_turns`), or when a question is asked near it (within `hear_radius` tiles and no other
  resident is nearer). Everything else is overheard: folded into one observation per batch.
- Turns: one reply at a time per person (lines that arrive meanwhile are answered together),
  at most `max_parallel` people answered at once.
- Never silence: if the brain has not answered after `hold_s`, a short in-character "one
  moment" goes out first; if it still has not after `reply_deadline_s`, the retrieval brain
  answers without any model call.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Protocol

from ai.inference import InferenceError, Priority

from .actions import Action, Reply, validate
from .brain import Acquaintance, Brain, ReplyContext, RetrievalBrain, affirmative, holding_line, negative, rule_intents
from .chatter import chat_line, news
from .interface import ActionRefused, Offer, Person, RoomFact, Sale, Surroundings, World
from .lexicon import gloss, say, speaks
from .memory import MemoryDraft, MemoryStream
from .persona import Persona
from .plans import DayPlan, make_plan
from .scheduler import Budgets, WorldClock

log = logging.getLogger("ai.npc.agent")


class PeopleStore(Protocol):
    """Who a resident has met (one row per resident and person)."""

    async def get(self, resident_id: str, person_id: str) -> Acquaintance | None: ...

    async def meet(self, resident_id: str, person_id: str, name: str, *, visit: bool = False,
                   facts: dict | None = None) -> Acquaintance: ...


@dataclass
class AgentConfig:
    hear_radius: float = 8.0
    hold_s: float = 2.0
    reply_deadline_s: float = 8.0
    conversation_idle_s: float = 90.0
    followup_s: float = 30.0  # an unaddressed line this soon after its last line carries the conversation on
    max_turns: int = 20
    max_parallel: int = 4
    greet: bool = True
    greet_cooldown_s: float = 600.0
    greet_per_minute: int = 6
    greet_delay_s: float = 0.6
    visit_gap_s: float = 300.0  # an arrival this long after the last sighting counts as a new visit
    idle_chatter_s: float = 0.0  # 0: residents do not chat among themselves
    chat_lines: int = 4  # lines of a conversation between two residents (2 to 6)
    chat_cooldown_s: float = 600.0  # at most one conversation with the same resident this often
    routine_check_s: float = 5.0
    wander_s: float = 45.0  # 0: stand still between conversations
    guide_visit_s: float = 120.0  # how long a resident stays where it led someone
    memories_k: int = 6
    query_embed_s: float = 1.0  # the deadline of a reply's query embedding (then: word overlap)
    overheard_batch: int = 20
    overheard_flush_s: float = 60.0
    walk_over: bool = True


@dataclass
class Heard:
    message_id: str
    room: str
    speaker: Person
    text: str
    lang: str | None = None
    whisper: bool = False  # whispered to this resident
    to: str | None = None  # whispered to someone else


@dataclass
class Conversation:
    person: Person
    whisper: bool = False
    lines: deque = field(default_factory=lambda: deque(maxlen=12))
    pending: list[str] = field(default_factory=list)
    replying: bool = False
    turns: int = 0
    started: float = field(default_factory=time.monotonic)
    last: float = field(default_factory=time.monotonic)
    topics: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    ended: bool = False
    # the open thread: the language they speak, the item talked about, the offer made (and one that lapsed)
    lang: str | None = None
    translated: bool = False
    reply_lang: str | None = None
    item: str | None = None
    offer: Offer | None = None
    lapsed: Offer | None = None


BoundEmbed = Callable[[list[str], Priority, float], Awaitable[list[list[float]]]]


class ResidentAgent:
    def __init__(self, resident_id: str, persona: Persona, *, world: World, stream: MemoryStream, brain: Brain,
                 people: PeopleStore, budgets: Budgets, clock: WorldClock, config: AgentConfig | None = None,
                 embed: BoundEmbed | None = None, retrieval: RetrievalBrain | None = None,
                 residents: Callable[[], list[tuple[str, str, str]]] | None = None):
        self.id = resident_id
        self.persona = persona
        self.world = world
        self.stream = stream
        self.brain = brain
        self.retrieval = retrieval or (brain if isinstance(brain, RetrievalBrain) else RetrievalBrain())
        self.people = people
        self.budgets = budgets
        self.clock = clock
        self.config = config or AgentConfig()
        self.embed = embed
        self.others = residents or (lambda: [])
        self.room: str | None = None
        self.conversations: dict[str, Conversation] = {}
        self.figures: dict[str, Any] = {"replies": 0, "holding": 0, "fallbacks": 0, "greetings": 0, "sales": 0,
                                        "refusals": 0, "latency": deque(maxlen=2000), "heard": 0, "overheard": 0}
        self.phases: dict[str, deque] = {k: deque(maxlen=1000) for k in ("wait", "context", "brain", "act")}
        self._slots = asyncio.Semaphore(self.config.max_parallel)
        self._greeted: dict[str, float] = {}
        self._greet_times: deque = deque(maxlen=64)
        self._overheard: list[str] = []
        self._overheard_since = time.monotonic()
        self._tasks: set[asyncio.Task] = set()
        self._next_routine = 0.0
        self._next_wander = time.monotonic() + random.uniform(10, 30)
        self._next_chatter = time.monotonic() + (self.config.idle_chatter_s or 0)
        self._visit_until = 0.0
        self._visit_room: str | None = None
        self._exchange: dict[str, int] = {}  # resident id -> lines of our exchange so far
        self._last_chat: dict[str, float] = {}  # resident id -> when the last exchange with them began
        self._told: dict[str, list[str]] = {}  # resident id -> news already told them
        self._chatter_reset = time.monotonic()
        self._rooms_cache: tuple[float, list[RoomFact]] = (0.0, [])
        self.plan: DayPlan | None = None
        self._plan_day = 0
        self._last_minute = 0.0
        self._status_said: str | None = None
        self.running = False

    # == life cycle ==================================================================================
    async def start(self, room: str | None = None) -> None:
        await self.stream.start()
        await self.make_plan()
        target = room or self.persona.room_at(self.clock.minute())
        await self._enter(target, first=True)
        self.running = True
        await self._publish_status()

    # == the day's plan ==============================================================================
    async def make_plan(self) -> DayPlan:
        """Plan the day from persona, routine and yesterday's reflections (its newest ones)."""
        try:
            reflections = await self.stream.store.recent(self.id, after=None, limit=10, kinds=["reflection"])
        except Exception:
            log.exception("resident %s: reading reflections for the plan failed", self.persona.key)
            reflections = []
        self._plan_day += 1
        self.plan = make_plan(self.persona, self._plan_day, reflections)
        self._last_minute = self.clock.minute()
        return self.plan

    def revise_plan(self, activity: str, why: str, *, minutes: int = 60, room: str | None = None) -> None:
        if self.plan is not None:
            self.plan.revise(self.clock.minute(), activity, why, minutes=minutes, room=room)

    @property
    def status(self) -> str:
        """What it is doing now, as people see it: a conversation first, else the plan's step."""
        people = [c.person.name for c in self.conversations.values() if c.turns]
        if people:
            return f"talking with {', '.join(people[:2])}" + (" and others" if len(people) > 2 else "")
        if self._exchange:
            return "chatting with a neighbour"
        step = self.plan.at(self.clock.minute()) if self.plan is not None else None
        return step.activity if step is not None else "about town"

    async def _publish_status(self) -> None:
        status = self.status
        if status != self._status_said:
            self._status_said = status
            publish = getattr(self.world, "status", None)
            if publish is not None:
                try:
                    await publish(self.id, status)
                except Exception:
                    log.exception("resident %s: publishing its status failed", self.persona.key)

    async def stop(self) -> None:
        """Stop acting (the node shuts down or lost the resident); write what it remembers."""
        self.running = False
        if self._tasks:  # let replies under way finish (they write what they learnt)
            await asyncio.wait(set(self._tasks), timeout=2.0)
        for conv in list(self.conversations.values()):
            await self._end(conv, "stopped", summarize_now=True)
        self._flush_overheard()
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.stream.stop()

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("resident %s: %r", self.persona.key, t.exception(), exc_info=t.exception())

        task.add_done_callback(done)
        return task

    async def _enter(self, room: str, *, first: bool = False) -> None:
        pos = self.persona.position if room == self.persona.home else None
        await self.world.enter(self.id, room, *(pos or (None, None)))
        if not first and self.room and self.room != room:
            self.remember(MemoryDraft("observation", f"I went from {self.room} to {room}.", importance=1.5,
                                      meta={"event": "moved", "room": room}))
        self.room = room

    # == perception ==================================================================================
    def hear(self, h: Heard) -> None:
        """A line said in its room (or whispered to it). Decides at once; replies in a task."""
        if not self.running or h.speaker.id == self.id:
            return
        self.figures["heard"] += 1
        if h.to and not h.whisper:
            return  # a whisper between two others: not for us to hear
        conv = self.conversations.get(h.speaker.id)
        if not self._addressed(h, conv):
            self._overhear(h)
            return
        if h.speaker.kind == "npc":
            self.spawn(self._answer_resident(h))
            return
        if conv is None or conv.ended:
            conv = self.conversations[h.speaker.id] = Conversation(h.speaker, whisper=h.whisper)
        conv.person = h.speaker
        conv.whisper = h.whisper
        conv.pending.append(h.text)
        conv.last = time.monotonic()
        if not conv.replying:
            conv.replying = True
            self.spawn(self._converse(conv, h))

    def _addressed(self, h: Heard, conv: Conversation | None) -> bool:
        if h.whisper:
            return True
        if mentions(h.text, self.persona.name):
            return True
        if h.speaker.kind == "npc":
            return False
        others = [n for n, _, room in self.others() if room == h.room and n != self.persona.name]
        if any(mentions(h.text, n) for n in others):
            return False  # spoken to another resident
        if self._continues(h, conv):
            return True
        if "?" in h.text:
            return self._nearest_resident(h)
        return False

    def _continues(self, h: Heard, conv: Conversation | None) -> bool:
        """Does an unaddressed line carry on a conversation with this resident? Only in the same
        mode (a whispered conversation goes on in whispers), soon after the resident last spoke,
        and not when the line names someone else who is here."""
        if conv is None or conv.ended or conv.whisper:
            return False
        if time.monotonic() - conv.last > self.config.followup_s:
            return False
        if conv.turns == 0 and "?" not in h.text and not ({"greet", "thanks", "farewell"} & set(rule_intents(h.text))):
            return False  # it only greeted them: chatter with others is not an answer to it
        sur = getattr(self.world, "surroundings_now", None)
        s: Surroundings | None = sur(self.id) if sur else None
        if s is not None and any(p.id not in (self.id, h.speaker.id) and len(p.name) > 2 and mentions(h.text, p.name)
                                 for p in s.people):
            return False
        return True

    def _nearest_resident(self, h: Heard) -> bool:
        """Is this resident the one nearest to the speaker, within hear_radius?"""
        sur = getattr(self.world, "surroundings_now", None)
        s: Surroundings | None = sur(self.id) if sur else None
        if s is None:
            return False
        me = s.find(self.id)
        speaker = s.find(h.speaker.id)
        if me is None or speaker is None:
            return False
        d = math.dist((me.x, me.y), (speaker.x, speaker.y))
        if d > self.config.hear_radius:
            return False
        for p in s.people:
            if p.kind == "npc" and p.id != self.id and math.dist((p.x, p.y), (speaker.x, speaker.y)) < d:
                return False
        return True

    def _overhear(self, h: Heard) -> None:
        self.figures["overheard"] += 1
        self._overheard.append(f"{h.speaker.name}: {_clip(h.text, 60)}")
        if len(self._overheard) >= self.config.overheard_batch:
            self._flush_overheard()

    def _flush_overheard(self) -> None:
        if not self._overheard:
            return
        lines, self._overheard = self._overheard, []
        self._overheard_since = time.monotonic()
        text = f"In {self.room} I overheard: " + " | ".join(lines)
        self.remember(MemoryDraft("observation", _clip(text, 400), importance=1.5,
                                  meta={"event": "overheard", "room": self.room, "lines": len(lines)}))

    def remember(self, draft: MemoryDraft) -> None:
        self.stream.remember(draft)

    async def arrived(self, person: Person, room: str) -> None:
        """Someone came into its room: note it, greet them (a newcomer, or welcome back)."""
        if not self.running or person.kind != "user" or person.id == self.id or room != self.room:
            return
        before = await self.people.get(self.id, person.id)
        now = time.time()
        new_visit = before is None or before.last_seen is None or now - before.last_seen.timestamp() > self.config.visit_gap_s
        acq = await self.people.meet(self.id, person.id, person.name, visit=new_visit)
        event = "first_meeting" if before is None else "arrival"
        self.remember(MemoryDraft("observation", f"{person.name} came into {room}.", subject_id=person.id,
                                  subject_name=person.name, meta={"event": event, "room": room}))
        if not self.config.greet:
            return
        t = time.monotonic()
        last = self._greeted.get(person.id)
        if last is not None and t - last < self.config.greet_cooldown_s:
            return
        while self._greet_times and t - self._greet_times[0] > 60:
            self._greet_times.popleft()
        if len(self._greet_times) >= self.config.greet_per_minute:
            return
        self._greeted[person.id] = t
        self._greet_times.append(t)
        self.spawn(self._greet(person, acq))

    async def _greet(self, person: Person, acq: Acquaintance) -> None:
        await asyncio.sleep(self.config.greet_delay_s)
        if person.id in self.conversations and self.conversations[person.id].turns:
            return  # they spoke first
        started = time.monotonic()
        ctx = await self._context(person, "", whisper=False, offer=None, deadline=self.config.reply_deadline_s,
                                  acquaintance=acq, retrieve=acq.returning)
        try:
            brain = self._brain_for(Priority.NPC_REPLY)
            reply = await asyncio.wait_for(brain.greet(ctx), self.config.reply_deadline_s)
        except (asyncio.TimeoutError, InferenceError):
            reply = await self.retrieval.greet(ctx)
        if not self.running or self.room is None:
            return
        conv = self.conversations.get(person.id)
        if conv is None:
            conv = self.conversations[person.id] = Conversation(person)
        await self._say(reply.text, to=None)
        conv.lines.append((self.persona.name, reply.text))
        for a in reply.actions:
            if a.kind == "emote":
                await self.world.emote(self.id, a.args.get("name", "wave"))
        self.figures["greetings"] += 1
        self.figures["latency"].append(time.monotonic() - started)
        self.remember(MemoryDraft("observation", f"I greeted {person.name}: \"{reply.text}\"", importance=2.0,
                                  subject_id=person.id, subject_name=person.name, meta={"event": "reply"}))

    # == conversation ================================================================================
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
        if offer is not None and yes and not self._changes_offer(meant, offer):
            conv.offer = conv.lapsed = None
            sale = await self.world.confirm(self.id, offer.id, person.id)
            await self.sale_done(person, sale, conv=conv, heard=text)
            return
        if offer is not None and no:
            conv.offer = conv.lapsed = None
            await self.world.decline(self.id, offer.id, person.id)
            await self._reply_line(conv, await self._in_their_language(conv, say("declined", self._lang(conv), name=person.name)),
                                   heard=text, meta={"event": "said", "topic": offer.name})
            return
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

    def _changes_offer(self, text: str, offer: Offer) -> bool:
        """'ok, but what about the map?' is not a yes to the lantern."""
        if re.search(r"\b(what about|how much|instead)\b", text, re.I):
            return True
        qty = re.search(r"\b(\d{1,3}|two|three|four|five|six|seven|eight|nine|ten)\b", text, re.I)
        return bool(qty) and len(text.split()) > 2

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

    async def _offer_again(self, conv: Conversation, lapsed: Offer, heard: str) -> None:
        """A yes to an offer that expired: say it lapsed and make it afresh (the money still waits)."""
        person, lang = conv.person, self._lang(conv)
        conv.lapsed = None
        try:
            fresh = await self.world.offer(self.id, person.id, lapsed.sku, lapsed.qty)
        except ActionRefused as e:
            line = say("out_of_stock", lang, name=person.name, item=lapsed.name) if e.code == "conflict" else \
                f"Sorry, {person.name}: {e.message}"
            await self._reply_line(conv, await self._in_their_language(conv, line, lang), heard=heard)
            return
        conv.offer = fresh
        phrase = f"{fresh.qty} x {fresh.name}" if fresh.qty > 1 else fresh.name
        line = say("lapsed", lang, item=phrase, name=person.name, total=fresh.total)
        await self._reply_line(conv, await self._in_their_language(conv, line, lang), heard=heard,
                               meta={"event": "said", "topic": fresh.name})

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
        t1 = time.monotonic(); ph.setdefault("c_people", deque(maxlen=500)).append(t1 - t0)
        rooms = await self._rooms()
        items = await self.world.shop(self.id)
        sur = await self.world.look_around(self.id)
        t2 = time.monotonic(); ph.setdefault("c_world", deque(maxlen=500)).append(t2 - t1)
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
        t3 = time.monotonic(); ph.setdefault("c_embed", deque(maxlen=500)).append(t3 - t2)
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
            translated=bool(conv and conv.translated), topic_item=conv.item if conv else None)

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
        stock = {i.sku: {"name": i.name, "price": i.price, "stock": i.stock} for i in items} if items is not None else None
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
        # stop a step short of them, on our side
        tx = them.x + (me.x - them.x) / d * 1.5
        ty = them.y + (me.y - them.y) / d * 1.5
        for dx, dy in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
            try:
                await self.world.move(self.id, tx + dx, ty + dy)
                return
            except ActionRefused:
                continue
            except Exception:
                return

    async def _end(self, conv: Conversation, reason: str, *, summarize_now: bool = False) -> None:
        if conv.ended:
            return
        conv.ended = True
        if self.conversations.get(conv.person.id) is conv:
            del self.conversations[conv.person.id]
        said = [l for l in conv.lines if l[0] == conv.person.name]
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

    async def sale_done(self, person: Person, sale: Sale, *, conv: Conversation | None = None,
                        heard: str | None = None) -> None:
        """A purchase it offered was confirmed (here, or through npc:confirm): say so, remember it."""
        conv = conv or self.conversations.get(person.id)
        o = sale.offer
        item = o.name if o else "that"
        lang = self._lang(conv) if conv is not None else self.persona.language
        if sale.ok and o is not None:
            self.figures["sales"] += 1
            line = say("sold", lang, name=person.name, item=f"{o.qty} x {o.name}" if o.qty > 1 else f"1 x {o.name}"
                       if lang != "en" else f"one {o.name}", total=o.total)
            self.remember(MemoryDraft("observation", f"{person.name} bought {o.qty} x {o.name} from me for {o.total} coins.",
                                      subject_id=person.id, subject_name=person.name,
                                      meta={"event": "purchase", "item": o.name, "sku": o.sku, "qty": o.qty,
                                            "total": o.total, "topic": o.name}))
            await self.people.meet(self.id, person.id, person.name, facts={"last_bought": o.name})
            if conv is not None:
                conv.outcomes.append(f"they bought {o.qty} x {o.name}")
            await self._after_sale(o)
            emote = "clap"
        else:
            self.figures["refusals"] += 1
            code = sale.code or ""
            if code == "insufficient_funds":
                line = f"Your purse is a little light for that, {person.name}: it's {o.total if o else '?'} coins."
            elif code == "conflict" and "stock" in sale.message:
                line = f"Oh dear, {person.name}, I've just run out of {item}!"
            elif code == "frozen":
                line = f"I'm afraid I can't take coins from a frozen wallet, {person.name}."
            elif code == "not_found":
                line = f"That offer has lapsed, {person.name}. Ask me again if you still want it."
            else:
                line = f"Something went wrong with that sale, {person.name}. Your coins are safe."
            emote = "shrug"
            if conv is not None:
                conv.outcomes.append(f"the sale of {item} failed ({code})")
        if conv is not None:
            line = await self._in_their_language(conv, line, lang)
            await self._reply_line(conv, line, heard=heard, meta={"event": "said", "topic": item} if heard else None)
        else:
            await self._say(line, to=None)
        await self.world.emote(self.id, emote)

    async def _after_sale(self, o: Offer) -> None:
        """A sale can change the day: a shelf running low means restocking, an empty stall closes."""
        items = await self.world.shop(self.id) or []
        if items and all(i.stock <= 0 for i in items):
            self.revise_plan("closing the sold-out stall", "sold out", minutes=24 * 60)
        elif any(i.sku == o.sku and i.stock <= 2 for i in items):
            self.revise_plan(f"restocking {o.name}", f"a sale of {o.name}", minutes=45)

    async def observed_purchase(self, person: Person, item: str, qty: int, total: int) -> None:
        """Someone bought from its shop directly (not through a conversation): it notices."""
        self.remember(MemoryDraft("observation", f"{person.name} bought {qty} x {item} from my stall for {total} coins.",
                                  subject_id=person.id, subject_name=person.name,
                                  meta={"event": "purchase", "item": item, "qty": qty, "total": total, "topic": item}))
        await self.people.meet(self.id, person.id, person.name, facts={"last_bought": item})

    # == residents among themselves ==================================================================
    async def chat_with(self, other: Person) -> bool:
        """Open a short visible conversation with another resident in its room (line 1); the other
        answers as it hears it. False when busy, already talking with them, or out of budget."""
        if not self.running or self.talking() or other.id in self._exchange or other.id == self.id:
            return False
        if time.monotonic() - self._last_chat.get(other.id, -1e9) < self.config.chat_cooldown_s:
            return False
        if not self.budgets.take(self.id, Priority.BACKGROUND):
            return False
        self._exchange[other.id] = 1
        self._last_chat[other.id] = time.monotonic()
        await self._chat_say(other, 1, "")
        return True

    def talking(self) -> bool:
        """Is a person talking with it (said something to it; a greeting alone does not count)?"""
        return any(c.turns and not c.ended for c in self.conversations.values())

    async def _answer_resident(self, h: Heard) -> None:
        """Another resident spoke to it by name: the next line of their exchange, within its
        budget, while no person is talking with it (people come first)."""
        other = h.speaker
        n = self._exchange.get(other.id, 0) + 1  # the line just heard
        self.remember(MemoryDraft("observation", f"{other.name} said to me: \"{_clip(h.text, 200)}\"",
                                  subject_id=other.id, subject_name=other.name, importance=2.0,
                                  meta={"event": "chatter"}))
        if n >= self.config.chat_lines or self.talking() or not self.budgets.take(self.id, Priority.BACKGROUND):
            self._exchange.pop(other.id, None)
            return
        self._exchange[other.id] = n + 1
        if n == 1:
            self._last_chat[other.id] = time.monotonic()
        await self._chat_say(other, n + 1, h.text)
        if n + 1 >= self.config.chat_lines:
            self._exchange.pop(other.id, None)

    async def _chat_say(self, other: Person, n: int, heard: str) -> None:
        mine = ""
        if n in (1, 2, 5):
            recent = await self.stream.store.recent(self.id, after=None, limit=40)
            slot = next((s for s in self.persona.routine if s.covers(self.clock.minute())), None)
            until = f"{slot.end // 60:02d}:{slot.end % 60:02d}" if slot and slot.start != slot.end else None
            here = next((r.name for r in await self._rooms() if r.slug == self.room), self.room or "town")
            mine = news(self.persona, recent, room_name=here, until=until, skip=set(self._told.get(other.id, [])))
            self._told.setdefault(other.id, []).append(mine)
        line = chat_line(n, self.persona, other.name, mine, heard)
        if self.brain.kind == "llm" and n in (1, 2) and self.budgets.take(self.id, Priority.BACKGROUND):
            ctx = await self._context(other, heard, whisper=False, offer=None, deadline=5.0, models=False,
                                      retrieve=False)
            try:
                said = await self.brain.chatter(self.persona, other.name, ctx)
                line = said if other.name.lower() in said.lower() else f"{other.name}, {said}"
            except InferenceError:
                pass
        self.figures["chatter"] = self.figures.get("chatter", 0) + 1
        self.remember(MemoryDraft("observation", f"I told {other.name}: \"{_clip(line, 200)}\"", importance=1.5,
                                  subject_id=other.id, subject_name=other.name, meta={"event": "chatter"}))
        await self._say(line, to=None)

    # == time ========================================================================================
    async def tick(self) -> None:
        """About once a second: conversations that went quiet, the routine, idle life."""
        if not self.running:
            return
        now = time.monotonic()
        for conv in list(self.conversations.values()):
            if not conv.replying and now - conv.last > self.config.conversation_idle_s:
                await self._end(conv, "idle")
            elif conv.offer is not None and not conv.replying and conv.offer.expires_at <= datetime.now(timezone.utc):
                # an offer that lapsed is said to have lapsed; a yes after it gets a fresh one
                o, conv.offer, conv.lapsed = conv.offer, None, conv.offer
                line = say("lapsed_notice", self._lang(conv), name=conv.person.name,
                           item=f"{o.qty} x {o.name}" if o.qty > 1 else o.name)
                self.spawn(self._reply_line(conv, await self._in_their_language(conv, line)))
        if self._overheard and now - self._overheard_since > self.config.overheard_flush_s:
            self._flush_overheard()
        minute = self.clock.minute()
        if minute < self._last_minute - 1:  # midnight passed: a new day, a new plan
            await self.make_plan()
        self._last_minute = minute
        if now >= self._next_routine:
            self._next_routine = now + self.config.routine_check_s
            await self._follow_routine(now)
        await self._publish_status()
        if self.config.wander_s and now >= self._next_wander and not self.conversations:
            self._next_wander = now + self.config.wander_s * random.uniform(0.7, 1.3)
            await self._wander()
        if self.config.idle_chatter_s and now >= self._next_chatter:
            self._next_chatter = now + self.config.idle_chatter_s * random.uniform(0.8, 1.2)
            if not self.talking():
                self.spawn(self._chatter())
        if now - self._chatter_reset > 600:
            self._chatter_reset = now
            self._exchange.clear()
            self._told.clear()

    async def _follow_routine(self, now: float) -> None:
        target = self.persona.room_at(self.clock.minute())
        if self._visit_room is not None:
            if now < self._visit_until:
                target = self._visit_room
            else:
                self._visit_room = None
        if target == self.room or any(c.replying or now - c.last < 20 for c in self.conversations.values()):
            return
        await self._go(target)

    async def _go(self, room: str, delay: float = 0.0) -> None:
        if delay:
            await asyncio.sleep(delay)
        if room == self.room:
            return
        try:
            sur = await self.world.look_around(self.id)
            if any(p.kind == "user" for p in sur.people):
                names = {r.slug: r.name for r in await self._rooms()}
                await self._say(f"I'm off to {names.get(room, room)}. See you around!", to=None)
            for conv in list(self.conversations.values()):
                await self._end(conv, "left")
            await self._enter(room)
        except ActionRefused as e:
            log.warning("resident %s cannot go to %s: %s", self.persona.key, room, e.message)
            self._visit_room = None

    async def _wander(self) -> None:
        sur = await self.world.look_around(self.id)
        me = sur.find(self.id)
        if me is None:
            return
        base = self.persona.position if (self.persona.position and sur.room == self.persona.home) else (me.x, me.y)
        try:
            await self.world.move(self.id, base[0] + random.uniform(-3, 3), base[1] + random.uniform(-2, 2))
        except ActionRefused:
            pass

    async def _chatter(self) -> None:
        others = [p for p in (await self.world.look_around(self.id)).people if p.kind == "npc" and p.id != self.id]
        if others:
            await self.chat_with(random.choice(others))

    async def idle(self) -> None:
        """Wait until every reply and act under way is done (tests and the eval wait on this)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    # == figures =====================================================================================
    def snapshot(self) -> dict[str, Any]:
        lat = sorted(self.figures["latency"])
        return {
            "key": self.persona.key, "room": self.room, "brain": self.brain.kind, "status": self.status,
            "plan": [st.to_dict() for st in self.plan.steps] if self.plan else [],
            "plan_revisions": list(self.plan.revisions[-10:]) if self.plan else [],
            "conversations": len(self.conversations),
            **{k: v for k, v in self.figures.items() if k != "latency"},
            "latency_p50": _pct(lat, 0.5), "latency_p99": _pct(lat, 0.99),
            "phases_p50": {k: _pct(sorted(v), 0.5) for k, v in self.phases.items()},
            "memory": dict(self.stream.stats.__dict__, rows=self.stream.rows, unreflected=round(self.stream.unreflected, 1)),
        }


def _join_facts(fact: dict) -> str:
    parts = [f"are a {fact['is']}" if fact.get("is") else "", f"are from {fact['from']}" if fact.get("from") else "",
             f"like {fact['likes']}" if fact.get("likes") else ""]
    return " and ".join(p for p in parts if p) or "told me about themselves"


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 4)


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def mentions(text: str, name: str) -> bool:
    return bool(name) and re.search(rf"(?<![\w@]){re.escape(name)}(?!\w)", text, re.I) is not None or \
        bool(name) and re.search(rf"@{re.escape(name)}\b", text, re.I) is not None


def _first_person(persona: Persona, line: str) -> str:
    from .brain import first_person

    return first_person(persona, line)
