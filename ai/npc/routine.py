"""Routine: the day plan and the status people see, the tick (conversations that went quiet,
lapsed offers, the routine's room, strolling), and talking with other residents."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import UTC, datetime

from ai.inference import InferenceError, Priority

from .chatter import chat_line, news
from .interface import ActionRefused, Person
from .lexicon import say
from .memory import MemoryDraft
from .plans import DayPlan, make_plan
from .state import Heard, _clip

log = logging.getLogger("ai.npc.agent")


class Routine:
    """Part of `agent.ResidentAgent` (its state lives there)."""

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

    async def tick(self) -> None:
        """About once a second: conversations that went quiet, the routine, idle life."""
        if not self.running:
            return
        now = time.monotonic()
        for conv in list(self.conversations.values()):
            if not conv.replying and now - conv.last > self.config.conversation_idle_s:
                await self._end(conv, "idle")
            elif conv.offer is not None and not conv.replying and conv.offer.expires_at <= datetime.now(UTC):
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
            users = {p.id for p in sur.people if p.kind == "user"}
            if users:
                names = {r.slug: r.name for r in await self._rooms()}
                # in the language it was just speaking with the one person here, else its own
                langs = {c.reply_lang or c.lang for c in self.conversations.values()
                         if not c.ended and c.person.id in users and (c.reply_lang or c.lang)}
                lang = langs.pop() if len(users) == 1 and len(langs) == 1 else self.persona.language
                await self._say(say("off_to", lang, room=names.get(room, room)), to=None, lang=lang)
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

    async def _chatter(self) -> None:
        others = [p for p in (await self.world.look_around(self.id)).people if p.kind == "npc" and p.id != self.id]
        if others:
            await self.chat_with(random.choice(others))
