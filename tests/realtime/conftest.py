"""Helpers for the realtime tests: people who have joined a room, fresh rooms, waiting on ticks."""

from __future__ import annotations

import uuid

from tests.conftest import Inbox, call, nothing, person, waved  # noqa: F401  (this folder's tests import them from here)

EVENTS = ("presence:join", "presence:leave", "world:tick", "chat:message", "emote", "room:left", "session")


async def fresh_room(world, **kw):
    """A room of its own for a test (capacity, access and owner as asked)."""
    slug = kw.pop("slug", f"r{uuid.uuid4().hex[:10]}")
    return await world.ctx.rooms.create_room(slug, kw.pop("name", f"Room {slug}"), **kw)


def echoed(frame: dict, n: int) -> float | None:
    """The `t` that body n's move carried, as a wire-2 frame echoes it (`e`: n, ms before the frame's t)."""
    e = frame.get("e") or []
    for i in range(0, len(e) - 1, 2):
        if e[i] == n:
            assert type(e[i + 1]) is int, e
            return round(frame["t"] - e[i + 1] / 1000, 3)
    return None


def uid(account) -> str:
    return account["user"]["id"]


async def position_of(inbox: Inbox, who: str, x: float, y: float, timeout: float = 5.0):
    """Wait until a world:tick shows `who` at (x, y)."""
    return await inbox.wait_for("world:tick", lambda d: any(m[0] == who and m[1] == x and m[2] == y
                                                            for m in d["moves"]), timeout)


async def sees(inbox: Inbox, join_reply: dict, who: str, timeout: float = 5.0) -> dict:
    """`who` is in the room as this person sees it: in their join snapshot, or announced after."""
    for p in join_reply["occupants"] + join_reply["npcs"]:
        if p["id"] == who:
            return p
    return await inbox.wait_for("presence:join", lambda d: d["id"] == who, timeout)
