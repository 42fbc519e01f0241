"""A resident at work: hears, decides whether it is spoken to, converses, sells, walks its routine.

`ResidentAgent` holds the state and the life cycle; its concerns are one module each:
`listening` (hearing, overhearing, greetings), `conversation` (turns, thinking, acting, speaking),
`commerce` (the offer in the thread, sales), `routine` (the plan, status, tick, talking with
other residents); `state` has the records they share. The server calls public methods only:
start, stop, hear, arrived, left, tick, sale_done, declined, observed_purchase, chat_with, idle, busy,
status, snapshot.

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
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .brain import Brain
from .brains import RetrievalBrain
from .commerce import Commerce
from .conversation import Conversing
from .interface import RoomFact, World
from .listening import Listening
from .memory import MemoryDraft, MemoryStream
from .persona import Persona
from .plans import DayPlan
from .routine import Routine
from .scheduler import Budgets, WorldClock
from .state import AgentConfig, BoundEmbed, Conversation, Heard, PeopleStore, _pct, mentions

log = logging.getLogger("ai.npc.agent")

__all__ = ["AgentConfig", "Conversation", "Heard", "PeopleStore", "ResidentAgent", "mentions"]

class ResidentAgent(Listening, Conversing, Commerce, Routine):
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
        self._with_other: dict[str, float] = {}  # person id -> when they last spoke to another resident by name
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

    def remember(self, draft: MemoryDraft) -> None:
        self.stream.remember(draft)

    @property
    def busy(self) -> bool:
        """Is a reply or an act under way?"""
        return bool(self._tasks)

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
