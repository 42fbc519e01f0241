"""Helpers for the residents' tests: a world whose clock stands still at 10:00 (so routines are
predictable), people who join rooms, and waiting for what a resident says to them."""

from __future__ import annotations

import asyncio

from tests.conftest import Inbox, call, make_settings, person  # noqa: F401  (person: this folder's tests import it from here)

EVENTS = ("presence:join", "presence:leave", "world:tick", "chat:message", "emote", "npc:offer", "npc:sale",
          "wallet:update", "session")


def resident_settings(tmp, **overrides):
    """World time fixed near 10:00; no strolling or chatter, so positions and lines are predictable."""
    base = dict(residents_clock_rate=1e-9, residents_clock_offset_min=600.0, residents_wander_s=0.0,
                residents_idle_chatter_s=0.0, residents_hold_s=3.0, residents_reply_deadline_s=8.0,
                chat_rate="100/second")
    base.update(overrides)
    return make_settings(tmp, **base)


def uid(account) -> str:
    return account["user"]["id"]


def name_of(account) -> str:
    return account["user"].get("display_name") or account["user"]["username"]


def resident_id(world, key: str) -> str:
    rec = world.ctx.residents.by_key(key)
    assert rec is not None, key
    return rec.id


async def said_by(inbox: Inbox, npc_id: str, pred=lambda d: True, timeout: float = 10.0, since: int = 0) -> dict:
    """The next chat:message from this resident (after item `since`) that matches."""
    async def find():
        async with inbox._cond:
            while True:
                for d in inbox.items["chat:message"][since:]:
                    if d["from"]["id"] == npc_id and pred(d):
                        return d
                await inbox._cond.wait()
    return await asyncio.wait_for(find(), timeout)


async def ask(client, inbox: Inbox, npc_id: str, text: str, pred=lambda d: True, timeout: float = 10.0) -> dict:
    """Say a line in the room and wait for the resident's answer to it."""
    since = len(inbox.items["chat:message"])
    r = await call(client, "chat:send", {"text": text})
    assert r["ok"], r
    holding = ("One moment", "one moment")
    return await said_by(inbox, npc_id, lambda d: not any(h in d["text"] for h in holding) and pred(d), timeout, since)
