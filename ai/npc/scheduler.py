"""Time and cost: the world clock that routines follow, and the model-call budgets.

World clock: "scaled" runs `minutes_per_second` world minutes per real second (1.0: one real
minute is one world hour), derived from UTC time so that every node and every restart agree;
"utc" is real UTC time of day. `offset_minutes` shifts either.

Budgets: token buckets of model calls per minute, one per resident and one for the world.
A person's reply may spend a bucket to empty; background work (importance, reflection, idle
chatter, backfill) only while both buckets are above a reserve and the inference queue is not
busy, so it is the first thing shed under load. Every call and every shed is counted.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ai.inference import Priority


class WorldClock:
    def __init__(self, mode: str = "scaled", minutes_per_second: float = 1.0, offset_minutes: float = 0.0,
                 now: Callable[[], float] = time.time):
        if mode not in ("scaled", "utc"):
            raise ValueError(f"clock mode must be scaled or utc, not {mode!r}")
        if minutes_per_second <= 0:
            raise ValueError("minutes_per_second must be > 0")
        self.mode = mode
        self.rate = float(minutes_per_second)
        self.offset = float(offset_minutes)
        self.now = now

    def minute(self) -> float:
        """World minutes after midnight, 0 <= m < 1440."""
        t = self.now()
        if self.mode == "utc":
            m = (t % 86400) / 60.0
        else:
            m = t * self.rate
        return (m + self.offset) % 1440.0

    def label(self) -> str:
        m = int(self.minute())
        return f"{m // 60:02d}:{m % 60:02d}"

    def part_of_day(self) -> str:
        h = self.minute() / 60
        return "night" if h < 5 or h >= 22 else "morning" if h < 12 else "afternoon" if h < 18 else "evening"

    def describe(self) -> str:
        if self.mode == "utc":
            return "real UTC time of day"
        return f"scaled: 1 real minute = {self.rate:g} world hour{'' if self.rate == 1 else 's'}"


class TokenBucket:
    """`rate` tokens per minute, holding at most `rate` (a minute's worth of burst)."""

    def __init__(self, per_minute: float, now: Callable[[], float] = time.monotonic):
        self.rate = max(float(per_minute), 0.0)
        self.capacity = max(self.rate, 1.0) if self.rate > 0 else 0.0
        self.level = self.capacity
        self.now = now
        self.t = now()

    def _refill(self) -> None:
        t = self.now()
        self.level = min(self.capacity, self.level + (t - self.t) * self.rate / 60.0)
        self.t = t

    def fraction(self) -> float:
        self._refill()
        return self.level / self.capacity if self.capacity else 0.0

    def can(self, n: float = 1.0, reserve: float = 0.0) -> bool:
        self._refill()
        return self.level - n >= reserve * self.capacity - 1e-9

    def take(self, n: float = 1.0) -> None:
        self._refill()
        self.level -= n


@dataclass
class BudgetFigures:
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    shed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    kinds: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    started: float = field(default_factory=time.monotonic)


class Budgets:
    """Model calls per minute per resident and for the world; see the module docstring."""

    def __init__(self, per_resident: float = 30, world: float = 600, *, background_reserve: float = 0.3,
                 queue_depth: Callable[[], int] | None = None, busy_queue: int = 32,
                 now: Callable[[], float] = time.monotonic):
        self.per_resident = per_resident
        self.world = TokenBucket(world, now)
        self.reserve = background_reserve
        self.queue_depth = queue_depth
        self.busy_queue = busy_queue
        self.now = now
        self._buckets: dict[str, TokenBucket] = {}
        self.figures = BudgetFigures()

    def bucket(self, resident_id: str) -> TokenBucket:
        b = self._buckets.get(resident_id)
        if b is None:
            b = self._buckets[resident_id] = TokenBucket(self.per_resident, self.now)
        return b

    def busy(self) -> bool:
        return self.queue_depth is not None and self.queue_depth() >= self.busy_queue

    def take(self, resident_id: str, priority: Priority = Priority.NPC_REPLY, n: float = 1.0,
             kind: str = "generate") -> bool:
        """Spend n calls' worth if allowed (counted per kind); False, counted as shed, if not."""
        mine = self.bucket(resident_id)
        reserve = self.reserve if priority >= Priority.BACKGROUND else 0.0
        allowed = mine.can(n, reserve) and self.world.can(n, reserve)
        if allowed and priority >= Priority.BACKGROUND and self.busy():
            allowed = False
        if not allowed:
            self.figures.shed[resident_id] += 1
            return False
        mine.take(n)
        self.world.take(n)
        self.figures.calls[resident_id] += 1
        self.figures.kinds[(resident_id, kind)] += 1
        return True

    def snapshot(self) -> dict:
        hours = max((self.now() - self.figures.started) / 3600.0, 1e-9)
        return {
            "per_resident_per_minute": self.per_resident, "world_per_minute": self.world.rate,
            "world_level": round(self.world.fraction(), 3),
            "calls": dict(self.figures.calls), "shed": dict(self.figures.shed),
            "calls_per_hour": {k: round(v / hours, 1) for k, v in self.figures.calls.items()},
            "by_kind": {f"{r}:{k}": n for (r, k), n in self.figures.kinds.items()},
        }
