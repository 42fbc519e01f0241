"""The chat pipeline: where moderation, language id, translation and NPC hearing plug in.

A domain adds a stage instead of editing the chat handlers:

    class Mute(ChatStage):
        name, order = "mute", 10
        async def check(self, draft):
            if await is_muted(draft.sender_id):
                raise ProtocolError("muted", "you are muted for 10 minutes")

    ctx.chat.pipeline.add(Mute())

For every line (`ChatService.send`, people and NPCs alike):
  1. `check(draft)` of each stage, by `order`, before anything is stored. It may raise
     ProtocolError (nothing is stored or sent; the sender gets that error), or change
     draft.text / action / reason / lang / hold / moderation / meta.
  2. The line is stored (chat_messages) and committed.
  3. `after_store(message, draft)` of each stage, same request (e.g. queue a flag for review).
  4. Unless blocked or held, `chat:message` goes out; then `after_deliver(message, draft)` of each
     stage runs in a background task (translation fan-out, NPCs hearing it). Errors there are
     logged and never delay delivery.
History on join goes through `transform_history(messages, conn)` of each stage (e.g. shown in
the reader's language).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.realtime.hub import Connection

log = logging.getLogger(__name__)

ACTIONS = ("allow", "mask", "block", "flag")


@dataclass
class ChatDraft:
    room: str  # room slug
    sender_id: str  # user id or npc id
    sender_name: str
    sender_kind: str  # "user" | "npc"
    text: str  # what will be delivered (stages may rewrite, e.g. masking)
    original_text: str
    to: str | None = None  # whisper target user id
    whisper: bool = False  # the sender meant a whisper: without a `to` it is refused, never sent to the room
    lang: str | None = None  # set by the language-id stage
    action: str = "allow"  # "allow" | "mask" | "block" | "flag"
    reason: str | None = None  # why blocked/masked/flagged, told to the sender
    moderation: dict = field(default_factory=dict)  # categories/scores from moderation
    hold: bool = False  # flagged and held: stored, not delivered
    conn: Connection | None = None  # the sender's connection (None for NPCs)
    meta: dict = field(default_factory=dict)


class ChatStage:
    """Base class with no-op defaults; override what the stage needs."""

    name = "stage"
    order = 100

    async def check(self, draft: ChatDraft) -> None:
        """Before storing; may raise ProtocolError, or change the draft."""

    async def after_store(self, message: dict, draft: ChatDraft) -> None:
        """After the commit, in the sender's request."""

    async def after_deliver(self, message: dict, draft: ChatDraft) -> None:
        """In a background task after chat:message went out."""

    async def transform_history(self, messages: list[dict], conn: Connection) -> list[dict]:
        return messages


class ChatPipeline:
    def __init__(self) -> None:
        self.stages: list[ChatStage] = []

    def add(self, stage: ChatStage) -> ChatStage:
        """Add a stage; stages run by `order` (ties: the order they were added)."""
        self.stages.append(stage)
        self.stages.sort(key=lambda s: s.order)
        return stage

    def remove(self, name: str) -> None:
        self.stages = [s for s in self.stages if s.name != name]

    def get(self, name: str) -> ChatStage | None:
        return next((s for s in self.stages if s.name == name), None)

    async def check(self, draft: ChatDraft) -> None:
        for stage in list(self.stages):
            await stage.check(draft)
            if draft.action not in ACTIONS:
                raise ValueError(f"stage {stage.name} set an unknown action {draft.action!r}")

    async def after_store(self, message: dict, draft: ChatDraft) -> None:
        for stage in list(self.stages):
            try:
                await stage.after_store(message, draft)
            except Exception:  # the line is stored: a failing follower must not fail the send
                log.exception("chat stage %s after_store failed", stage.name)

    async def after_deliver(self, message: dict, draft: ChatDraft) -> None:
        for stage in list(self.stages):
            try:
                await stage.after_deliver(message, draft)
            except Exception:
                log.exception("chat stage %s after_deliver failed", stage.name)

    async def transform_history(self, messages: list[dict], conn: Any) -> list[dict]:
        for stage in list(self.stages):
            try:
                messages = await stage.transform_history(messages, conn)
            except Exception:
                log.exception("chat stage %s transform_history failed", stage.name)
        return messages
