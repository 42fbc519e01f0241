"""Helpers for the translation tests: people of a given language in a fresh room, a fake
translator, and a tiny random Marian model (real loading and batched decoding)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import pytest_asyncio

from tests.ai.translation.fakes import FakeBackend  # noqa: F401  (re-exported for the tests)
from tests.conftest import Inbox, call, make_settings, start_world

EVENTS = ("chat:message", "chat:translation", "presence:join")


class Reader:
    def __init__(self, account, client, inbox):
        self.account, self.client, self.inbox = account, client, inbox
        self.id = account["user"]["id"]
        self.name = account["user"].get("display_name") or account["user"]["username"]
        self.arrivals: list[tuple[float, str, dict]] = []
        for event in ("chat:message", "chat:translation"):
            client.on(event, self._stamp(event))  # replaces Inbox's handler: chain it
        self._inbox_handlers = {e: inbox._make(e) for e in EVENTS}

    def _stamp(self, event):
        async def handler(data=None):
            self.arrivals.append((time.monotonic(), event, data))
            await self._inbox_handlers[event](data)
        return handler

    def translations(self, message_id=None):
        return [d for d in self.inbox.items["chat:translation"] if message_id is None or d["id"] == message_id]


async def person(world, room: str | None, language: str) -> Reader:
    account, client = await world.user(language=language)
    reader = Reader(account, client, Inbox(client, *EVENTS))
    if room is not None:
        reply = await call(client, "room:join", {"room": room})
        assert reply["ok"], reply
        reader.join = reply
    return reader


async def fresh_room(world) -> str:
    slug = f"t{uuid.uuid4().hex[:10]}"
    await world.ctx.rooms.create_room(slug, f"Room {slug}")
    return slug


async def say(reader: Reader, text: str, **extra) -> dict:
    reply = await call(reader.client, "chat:send", {"text": text, **extra})
    assert reply["ok"], reply
    return reply


async def quiet(reader: Reader, event: str = "chat:translation", wait: float = 0.4) -> None:
    start = len(reader.inbox.items[event])
    await asyncio.sleep(wait)
    assert reader.inbox.items[event][start:] == []


@pytest.fixture(scope="session")
def tiny_marian_dir(tmp_path_factory):
    from ai.inference import tiny

    return tiny.build_tiny_marian(tmp_path_factory.mktemp("tiny-marian-world"))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db_url, tmp_path_factory):
    """A seeded world with no translation model and a chat rate that lets a test talk."""
    server = await start_world(make_settings(tmp_path_factory.mktemp("world"), chat_rate="50/second"), db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()
