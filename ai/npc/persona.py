"""Who a resident is: identity, traits, goals, speaking style, what it knows, and its day.

A persona is plain data (the world file's `residents[]` entry, or an admin's edit of it); the
brains read it to answer in character and the scheduler reads its routine.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class PersonaError(ValueError):
    """The persona data is malformed; the message says which field."""


def minutes_of(hhmm: str) -> int:
    """'06:30' -> 390 (minutes after midnight)."""
    m = TIME.match(str(hhmm).strip())
    if not m:
        raise PersonaError(f"time must be HH:MM, not {hhmm!r}")
    return int(m.group(1)) * 60 + int(m.group(2))


@dataclass(frozen=True)
class RoutineSlot:
    """Be in `room` from `start` to `end` (minutes after midnight; a slot may wrap midnight)."""

    start: int
    end: int
    room: str

    def covers(self, minute: float) -> bool:
        if self.start == self.end:
            return True  # a whole day
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def to_dict(self) -> dict[str, str]:
        return {"from": f"{self.start // 60:02d}:{self.start % 60:02d}", "to": f"{self.end // 60:02d}:{self.end % 60:02d}",
                "room": self.room}


@dataclass
class Persona:
    key: str
    name: str
    role: str = "resident"
    home: str = "plaza"
    identity: str = ""
    traits: list[str] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)
    style: str = ""
    knowledge: list[str] = field(default_factory=list)
    language: str = "en"
    routine: list[RoutineSlot] = field(default_factory=list)
    appearance: dict[str, Any] = field(default_factory=dict)
    position: tuple[float, float] | None = None

    # -- parsing ------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Persona:
        """From a world-file resident entry (persona fields nested under `persona`, or flat)."""
        if not isinstance(data, dict):
            raise PersonaError("a resident must be a mapping")
        p = data.get("persona") or {}
        if not isinstance(p, dict):
            raise PersonaError("persona must be a mapping")

        def pick(name: str, default: Any = None) -> Any:
            return p.get(name, data.get(name, default))

        key = str(data.get("key") or "").strip()
        if not KEY.match(key):
            raise PersonaError(f"key must be lowercase letters, digits, - or _ (got {key!r})")
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 32:
            raise PersonaError("name must be 1 to 32 characters")
        routine = [cls._slot(s) for s in (data.get("routine") or [])]
        pos = data.get("position")
        position = None
        if pos is not None:
            if not (isinstance(pos, (list, tuple)) and len(pos) == 2):
                raise PersonaError("position must be [x, y]")
            position = (float(pos[0]), float(pos[1]))
        return cls(
            key=key, name=name, role=str(data.get("role") or "resident"), home=str(data.get("home") or "plaza"),
            identity=str(pick("identity", "") or "").strip(), traits=_strs(pick("traits", []), "traits"),
            goals=_strs(pick("goals", []), "goals"), style=str(pick("style", "") or "").strip(),
            knowledge=_strs(pick("knowledge", []), "knowledge"), language=str(pick("language", "en") or "en"),
            routine=routine, appearance=dict(data.get("appearance") or {}), position=position,
        )

    @staticmethod
    def _slot(s: Any) -> RoutineSlot:
        if not isinstance(s, dict) or not s.get("room"):
            raise PersonaError(f"a routine entry needs from, to and room: {s!r}")
        return RoutineSlot(minutes_of(s.get("from", "00:00")), minutes_of(s.get("to", "00:00")), str(s["room"]))

    def to_dict(self) -> dict[str, Any]:
        """The world-file shape (persona fields nested), JSON-able."""
        return {
            "key": self.key, "name": self.name, "role": self.role, "home": self.home,
            "persona": {"identity": self.identity, "traits": list(self.traits), "goals": list(self.goals),
                        "style": self.style, "knowledge": list(self.knowledge), "language": self.language},
            "routine": [s.to_dict() for s in self.routine], "appearance": dict(self.appearance),
            "position": list(self.position) if self.position else None,
        }

    def persona_dict(self) -> dict[str, Any]:
        return self.to_dict()["persona"]

    # -- use ----------------------------------------------------------------------------------
    def room_at(self, minute: float) -> str:
        """Where the routine puts this resident at `minute` after midnight (home when unplanned)."""
        for slot in self.routine:
            if slot.covers(minute):
                return slot.room
        return self.home

    def rooms(self) -> list[str]:
        return sorted({self.home, *(s.room for s in self.routine)})

    def describe(self) -> str:
        """A paragraph for prompts: who, how they are, what they want, how they speak."""
        parts = [f"You are {self.name}, the {self.role}." if self.role else f"You are {self.name}."]
        if self.identity:
            parts.append(self.identity)
        if self.traits:
            parts.append(f"Traits: {', '.join(self.traits)}.")
        if self.goals:
            parts.append(f"Goals: {'; '.join(self.goals)}.")
        if self.style:
            parts.append(f"Speaking style: {self.style}.")
        return " ".join(parts)

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["routine"] = [s.to_dict() for s in self.routine]
        d["position"] = list(self.position) if self.position else None
        return d


def _strs(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise PersonaError(f"{what} must be a list of strings")
    out = [str(v).strip() for v in value if str(v).strip()]
    if any(len(v) > 500 for v in out):
        raise PersonaError(f"each of {what} must be at most 500 characters")
    return out
