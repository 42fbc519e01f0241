"""Moderation's control messages (to every node)."""

from __future__ import annotations

from dataclasses import dataclass

from server.realtime.control import Control


@dataclass(frozen=True)
class Kick(Control):
    """Every node tells the person's connections why (`kicked`), then drops them."""

    op = "moderation.kick"
    user_id: str
    reason: str = ""


@dataclass(frozen=True)
class RulesChanged(Control):
    """The rules were saved on the sending node: the others read them again."""

    op = "moderation.rules"
