"""Helpers for the moderation tests: people in rooms with an inbox of the events moderation sends,
staff accounts, and REST calls with a token."""

from __future__ import annotations

import uuid

import aiohttp
from sqlalchemy import func, select

from server.chat.models import ChatMessage
from tests.conftest import Inbox, call, nothing, person, waved  # noqa: F401  (this folder's tests import them from here)


async def staff(world, role: str = "moderator") -> dict:
    acct = await world.register()
    await world.set_role(acct, role)
    return acct


async def rest(world, method: str, path: str, token: str | None = None, **kw) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{world.url}{path}", headers=headers, **kw) as r:
            return r.status, await r.json()


async def fresh_room(world, **kw):
    slug = kw.pop("slug", f"m{uuid.uuid4().hex[:10]}")
    return await world.ctx.rooms.create_room(slug, kw.pop("name", f"Room {slug}"), **kw)


def uid(account) -> str:
    return account["user"]["id"]


async def lines_of(world, user_id: str) -> int:
    async with world.ctx.db.session() as s:
        return await s.scalar(select(func.count()).select_from(ChatMessage)
                              .where(ChatMessage.sender_user_id == uuid.UUID(user_id)))


async def stored(world, message_id: str) -> ChatMessage:
    async with world.ctx.db.session() as s:
        return await s.get(ChatMessage, uuid.UUID(message_id))


async def audit_actions(world, token: str, target: str) -> list[str]:
    status, body = await rest(world, "GET", f"/api/admin/audit?target={target}", token)
    assert status == 200, body
    return [e["action"] for e in body["entries"]]
