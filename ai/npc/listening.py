"""Listening: what a resident hears and whether it is spoken to (a synchronous decision, at
once), what it overhears, and who walks in (greetings)."""

from __future__ import annotations

import asyncio
import logging
import math
import time

from ai.inference import InferenceError, Priority

from .brain import Acquaintance, rule_intents
from .interface import Person, Surroundings
from .memory import MemoryDraft
from .state import Conversation, Heard, _clip, mentions

log = logging.getLogger("ai.npc.agent")


class Listening:
    """Part of `agent.ResidentAgent` (its state lives there)."""

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
            now = time.monotonic()
            # entries past the follow-up window mean nothing any more: dropped, so the map stays small
            self._with_other = {k: t for k, t in self._with_other.items() if now - t < self.config.followup_s}
            self._with_other[h.speaker.id] = now
            return False  # spoken to another resident
        since = self._with_other.get(h.speaker.id)
        if since is not None and (conv is None or conv.last < since) and others \
                and time.monotonic() - since < self.config.followup_s:
            return False  # they turned to another resident since: their next words are for that one
        if self._continues(h, conv):
            return True
        asks = "?" in h.text or bool({"greet", "thanks", "farewell"} & set(rule_intents(h.text)))
        if asks and self._alone_with(h):
            return True  # a lone visitor and residents: a question or a hello is for the nearest one, wherever it stands
        if "?" in h.text:
            return self._nearest_resident(h)
        return False

    def _alone_with(self, h: Heard) -> bool:
        """Is the speaker the only person (not a resident) in the room, and this the nearest resident?"""
        sur = getattr(self.world, "surroundings_now", None)
        s: Surroundings | None = sur(self.id) if sur else None
        if s is None or any(p.kind != "npc" and p.id != h.speaker.id for p in s.people):
            return False
        return self._nearest_resident(h, radius=math.inf)

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

    def _nearest_resident(self, h: Heard, radius: float | None = None) -> bool:
        """Is this resident the one nearest to the speaker, within hear_radius (or `radius`)?"""
        sur = getattr(self.world, "surroundings_now", None)
        s: Surroundings | None = sur(self.id) if sur else None
        if s is None:
            return False
        me = s.find(self.id)
        speaker = s.find(h.speaker.id)
        if me is None or speaker is None:
            return False
        d = math.dist((me.x, me.y), (speaker.x, speaker.y))
        if d > (self.config.hear_radius if radius is None else radius):
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
        if person.language:  # nothing said yet: greet them in their profile's language
            ctx.lang = person.language
        try:
            brain = self._brain_for(Priority.NPC_REPLY)
            reply = await asyncio.wait_for(brain.greet(ctx), self.config.reply_deadline_s)
        except (TimeoutError, InferenceError):
            reply = await self.retrieval.greet(ctx)
        if not self.running or self.room is None:
            return
        conv = self.conversations.get(person.id)
        if conv is None:
            conv = self.conversations[person.id] = Conversation(person)
        await self._say(reply.text, to=None, lang=ctx.reply_lang)
        conv.lines.append((self.persona.name, reply.text))
        for a in reply.actions:
            if a.kind == "emote":
                await self.world.emote(self.id, a.args.get("name", "wave"))
        self.figures["greetings"] += 1
        self.figures["latency"].append(time.monotonic() - started)
        self.remember(MemoryDraft("observation", f"I greeted {person.name}: \"{reply.text}\"", importance=2.0,
                                  subject_id=person.id, subject_name=person.name, meta={"event": "reply"}))
