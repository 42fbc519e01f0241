"""The world's control messages (to every node; the node holding the connection acts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.realtime.control import Control


@dataclass(frozen=True)
class Evict(Control):
    """This connection is out of the room (replaced by another tab, banned, uninvited): `room:left`."""

    op = "evict"
    sid: str
    room: str
    reason: str | None = None


@dataclass(frozen=True)
class Door(Control):
    """Someone stepped onto a door: their connection in `room` walks through it.
    `door`: {"name", "to" (the room it leads to), "spawn"}."""

    op = "door"
    uid: str
    room: str
    door: dict[str, Any]
