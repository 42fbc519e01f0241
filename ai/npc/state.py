"""What a resident agent keeps and is configured with: its settings, a line it heard, a
conversation's open thread, the store of people it met, and small text helpers."""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from ai.inference import Priority

from .brain import Acquaintance
from .interface import Offer, Person
from .persona import Persona

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
    seller: str | None = None  # the resident whose stall this conversation pointed to
    offer: Offer | None = None
    lapsed: Offer | None = None


BoundEmbed = Callable[[list[str], Priority, float], Awaitable[list[list[float]]]]


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
    # Substring test first: a resident checks every name in the room (hundreds) per line, and more
    # distinct patterns than re's cache recompiles each one each time (7 % of a busy world's CPU).
    if not name or name.casefold() not in text.casefold():
        return False
    return re.search(rf"(?<![\w@]){re.escape(name)}(?!\w)", text, re.I) is not None or \
        re.search(rf"@{re.escape(name)}\b", text, re.I) is not None


def _first_person(persona: Persona, line: str) -> str:
    from .brain import first_person

    return first_person(persona, line)

