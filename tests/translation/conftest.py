"""Helpers for the translation tests: people of a given language in a fresh room, a fake
translator, and a tiny random Marian model (real loading and batched decoding)."""

from __future__ import annotations

import time
import uuid

import pytest
import pytest_asyncio

from tests.ai.translation.fakes import FakeBackend  # noqa: F401  (re-exported for the tests)
from tests.conftest import Inbox, call, make_settings, nothing, start_world

EVENTS = ("chat:message", "chat:translation", "presence:join", "test:relayed")


class Reader:
    def __init__(self, world, account, client, inbox):
        self.world, self.account, self.client, self.inbox = world, account, client, inbox
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
    reader = Reader(world, account, client, Inbox(client, *EVENTS))
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


async def translated(reader: Reader, *nodes) -> None:
    """A barrier: every chat:translation that the lines said so far on `nodes` (default: the
    reader's own) will bring `reader` has reached its inbox."""
    for node in nodes or (reader.world,):
        await node.ctx.chat.background.settled()  # the after-delivery task is what starts the fan-out
        await node.ctx.translation.settled()  # each fan-out awaits its emits: queued here, published to Redis
    for node in nodes:
        if node is not reader.world:  # translated there, delivered here through the Redis manager
            # Every emit goes out on one pub/sub channel, Redis delivers a channel in publish order
            # and each node's listener hands them to its sockets one by one: the marker comes last.
            token = uuid.uuid4().hex
            await node.ctx.realtime.to_user(reader.id, "test:relayed", token)
            await reader.inbox.wait_for("test:relayed", lambda d, token=token: d == token)
    # The ack goes out on the reader's socket behind everything already queued or written to it.
    assert (await call(reader.client, "room:list"))["ok"]


async def quiet(reader: Reader, *nodes, event: str = "chat:translation") -> None:
    """No `event` for `reader` from what was said so far on `nodes` (default: the reader's own)."""
    await nothing(reader.inbox, event, barrier=translated(reader, *nodes), since=len(reader.inbox.items[event]))


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
