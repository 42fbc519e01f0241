"""World days and event windows on the residents' world clock (`ai.npc.WorldClock`): events and
routines share one clock, and a test moves it by giving the clock another `now`."""

from __future__ import annotations

import math

from ai.npc import WorldClock

DAY_MIN = 1440


def absolute_minute(clock: WorldClock) -> float:
    """World minutes since the clock's epoch (minute() is this modulo a day)."""
    t = clock.now()
    m = t / 60.0 if clock.mode == "utc" else t * clock.rate
    return m + clock.offset


def window(clock: WorldClock, start_min: int, duration_min: int) -> tuple[bool, int, float]:
    """(running now, the world day its current or last occurrence began, world minutes until the next start)."""
    a = absolute_minute(clock)
    elapsed = (a - start_min) % DAY_MIN
    day = math.floor((a - elapsed) / DAY_MIN)
    return elapsed < duration_min, day, DAY_MIN - elapsed


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_hhmm(value: str | int) -> int:
    """"10:30" -> 630; an int is taken as minutes after midnight."""
    if isinstance(value, int) and not isinstance(value, bool):
        m = value
    else:
        try:
            h, mm = str(value).split(":")
            m = int(h) * 60 + int(mm)
        except ValueError:
            raise ValueError(f"time {value!r} is not HH:MM") from None
    if not 0 <= m < DAY_MIN:
        raise ValueError(f"time {value!r} is not within a day")
    return m
