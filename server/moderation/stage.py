"""The first chat stage: a muted sender is refused (nothing stored or sent); every other line,
people's and NPCs' alike, gets a verdict before anyone sees it.

allow: delivered as written. mask: delivered with the offending words as ###. flag: delivered
(masked where there is something to mask) or held, as `moderation_hold_flagged` says, and queued
for review. block: stored, shown to nobody; the sender is told why (the ack) and it is a strike.
Blocks, masks and the automatic mutes strikes lead to are queued too (kind "auto"), to be kept or undone.
"""

from __future__ import annotations

import logging
from typing import Any

from server.chat.pipeline import ChatDraft, ChatStage
from server.moderation.policy import Policy
from server.moderation.reviews import Reviews
from server.moderation.service import ModerationService, acting_reasons

log = logging.getLogger(__name__)


class ModerationStage(ChatStage):
    name = "moderation"
    order = 10

    def __init__(self, service: ModerationService, policy: Policy, reviews: Reviews, rooms: Any, settings: Any):
        self.service = service
        self.policy = policy
        self.reviews = reviews
        self.rooms = rooms
        self.settings = settings

    async def _room_id(self, slug: str):
        info = await self.rooms.get_room(slug) if self.rooms is not None else None
        return info.id if info is not None else None

    async def check(self, draft: ChatDraft) -> None:
        room_id = await self._room_id(draft.room)
        if draft.sender_kind == "user":
            await self.policy.require_not_muted(draft.sender_id, room_id)
            kind, sender = ("whisper" if draft.to else "chat"), draft.sender_id
        else:
            kind, sender = "npc", None  # an NPC greeting each newcomer alike is not spam
        verdict, stored = await self.service.assess(draft.text, kind=kind, sender=sender, room_id=room_id)
        action = str(verdict.action)
        draft.moderation = {**draft.moderation, **stored}
        draft.action = action
        if action == "allow":
            return
        draft.reason = acting_reasons(verdict)
        if action in ("mask", "flag") and verdict.masked_text is not None:
            draft.text = verdict.masked_text
        if action == "flag" and self.settings.moderation_hold_flagged:
            draft.hold = True

    async def after_store(self, message: dict, draft: ChatDraft) -> None:
        categories = draft.moderation.get("categories") or {}
        if draft.action == "flag":
            room_id = await self._room_id(draft.room)
            await self.reviews.flag(message, sender_kind=draft.sender_kind, sender_id=draft.sender_id,
                                    room_id=room_id, reason=draft.reason or "flagged",
                                    categories=categories, held=draft.hold)
        elif draft.action in ("block", "mask"):
            # What the machine did is listed for a person to look over (and undo if wrong).
            user = draft.sender_id if draft.sender_kind == "user" else None
            npc = draft.sender_id if draft.sender_kind == "npc" else None
            await self.reviews.automatic(draft.action, reason=draft.reason or draft.action, user_id=user, npc_id=npc,
                                         message=message, room_id=await self._room_id(draft.room),
                                         categories=categories)
            if draft.action == "block" and user is not None:
                # A strike; enough of them mute the sender (the notice says until when).
                mute = await self.policy.strike(user, "block", draft.reason or "blocked line",
                                                message_id=message["id"])
                if mute is not None:
                    await self.reviews.automatic("mute", reason=mute.reason, user_id=user, sanction=mute)
