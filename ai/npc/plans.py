"""A resident's day plan (Generative Agents): made each world morning from its persona, its
routine and yesterday's reflections, followed on the world clock, and revised when something
happens (a sale that empties a shelf, a person asking to be led somewhere, a stall sold out).

The plan is plain data: steps of (from, to, room, activity). The routine says where; the plan
says what it is doing there, which is what people see as its status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .memory import Memory
from .persona import Persona

# What each role does in the parts of its shift (opening, the long middle, closing).
ROLE_DAY = {
    "shopkeeper": ("opening the stall", "selling at the stall", "counting the day's coins"),
    "guide": ("greeting early walkers", "welcoming newcomers", "strolling and chatting"),
    "librarian": ("opening the library", "helping readers", "shelving the day's books"),
}
DEFAULT_DAY = ("starting the day", "going about the day", "winding down")


@dataclass
class PlanStep:
    start: int  # minutes after midnight
    end: int
    room: str
    activity: str

    def covers(self, minute: float) -> bool:
        if self.start <= self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def to_dict(self) -> dict:
        return {"from": hhmm(self.start), "to": hhmm(self.end), "room": self.room, "activity": self.activity}


@dataclass
class DayPlan:
    day: int
    steps: list[PlanStep] = field(default_factory=list)
    revisions: list[str] = field(default_factory=list)
    focus: str | None = None  # what yesterday's reflections made it care about today

    def at(self, minute: float) -> PlanStep | None:
        return next((s for s in self.steps if s.covers(minute)), None)

    def revise(self, minute: float, activity: str, why: str, *, minutes: int = 60, room: str | None = None) -> PlanStep:
        """Something happened: from now, for a while, it does `activity` instead."""
        now = int(minute) % 1440
        current = self.at(now)
        step = PlanStep(now, (now + minutes) % 1440, room or (current.room if current else ""), activity)
        self.steps = [step] + self.steps
        self.revisions.append(f"{hhmm(now)} {why}: {activity}")
        return step


def make_plan(persona: Persona, day: int, reflections: list[Memory]) -> DayPlan:
    """The day's plan: each routine slot split into its opening, middle and closing hour."""
    opening, middle, closing = ROLE_DAY.get(persona.role, DEFAULT_DAY)
    focus = _focus(reflections)
    if focus:
        middle = f"{middle}, with an eye on {focus}"
    steps: list[PlanStep] = []
    slots = persona.routine or []
    if not slots:
        return DayPlan(day, [PlanStep(0, 0, persona.home, middle)], focus=focus)
    for slot in slots:
        length = (slot.end - slot.start) % 1440 or 1440
        if length >= 180 and not 4 * 60 <= slot.start < 12 * 60:
            # a later shift has no "opening" hour ("opening the library" at 21:00 was wrong)
            steps.append(PlanStep(slot.start, (slot.end - 60) % 1440, slot.room, middle))
            steps.append(PlanStep((slot.end - 60) % 1440, slot.end, slot.room, closing))
        elif length >= 180:
            steps.append(PlanStep(slot.start, (slot.start + 60) % 1440, slot.room, opening))
            steps.append(PlanStep((slot.start + 60) % 1440, (slot.end - 60) % 1440, slot.room, middle))
            steps.append(PlanStep((slot.end - 60) % 1440, slot.end, slot.room, closing))
        else:
            steps.append(PlanStep(slot.start, slot.end, slot.room, middle))
    return DayPlan(day, steps, focus=focus)


def _focus(reflections: list[Memory]) -> str | None:
    """What yesterday taught it to watch: what sold best, or what people asked about most."""
    for m in sorted(reflections, key=lambda m: -m.importance):
        t = m.text
        sold = re.match(r"(.+?) sells? best lately", t)
        if sold:
            return f"stock of {sold.group(1)}"
        asked = re.match(r"Lately people ask me most about (.+?)\.", t)
        if asked:
            return asked.group(1)
    return None


def hhmm(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"
