"""ChatService (`ctx.chat`): check, store, deliver, then the background followers.

A line is stored in PostgreSQL before it is acknowledged or delivered (design.md section 4).
Room lines go to everyone in the room (every node, through the room bus); a whisper (`to`) goes
only to the two people (hub.to_user, so it reaches them on any node). The recipient of a whisper
must be in the same room as the sender at the time; a whisper (`whisper: true`) without a
recipient, or whose recipient has left, is refused and never becomes a room line.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import or_, select, update

from server.background import Background
from server.chat.models import ChatMessage
from server.chat.pipeline import ChatDraft, ChatPipeline
from server.db import utcnow
from server.protocol import ProtocolError
from server.text import strip_bidi

log = logging.getLogger(__name__)

EMOTES = ("wave", "dance", "laugh", "cheer", "clap", "sit", "nod", "shrug", "bow", "think")


class ChatService:
    def __init__(self, db, rooms, realtime, *, max_len: int, history_size: int):
        self.db = db
        self.rooms = rooms  # the catalogue: which rooms exist
        self.realtime = realtime  # who is where, and sending
        self.max_len = max_len
        self.history_size = history_size
        self.pipeline = ChatPipeline()
        self.background = Background("chat")

    async def send(self, draft: ChatDraft) -> dict[str, Any]:
        """Check, store, deliver; returns the stored chat:message dict."""
        # Bidi overrides make the browser show other words than moderation reads: gone before both.
        draft.text = strip_bidi(draft.text or "").strip()
        draft.original_text = strip_bidi(draft.original_text or "") or draft.text
        if not draft.text:
            raise ProtocolError("invalid_payload", "text must not be empty")
        if len(draft.text) > self.max_len:
            raise ProtocolError("invalid_payload", f"text is longer than {self.max_len} characters")
        if draft.sender_kind not in ("user", "npc"):
            raise ValueError(f"sender_kind must be user or npc, not {draft.sender_kind!r}")
        info = await self.rooms.get_room(draft.room)
        if info is None:
            raise ProtocolError("not_found", f"no room {draft.room!r}")
        to_uuid = None
        if draft.whisper and draft.to is None:
            raise ProtocolError("invalid_payload", "a whisper needs `to`: the id of the person it is for")
        if draft.to is not None:
            try:
                to_uuid = uuid.UUID(str(draft.to))
            except ValueError:
                raise ProtocolError("invalid_payload", "to is not a valid user id") from None
            draft.to = str(to_uuid)
            if draft.to == draft.sender_id:
                raise ProtocolError("invalid_payload", "you cannot whisper to yourself")
            if await self.realtime.where(draft.to) != draft.room:
                raise ProtocolError("not_found", "that person is not in this room")

        await self.pipeline.check(draft)
        if draft.lang is None and draft.conn is not None:
            draft.lang = draft.conn.language  # no language-id stage: the sender's profile language

        row = ChatMessage(
            id=uuid.uuid4(), room_id=info.id, sender_kind=draft.sender_kind,
            sender_user_id=uuid.UUID(draft.sender_id) if draft.sender_kind == "user" else None,
            sender_npc_id=draft.sender_id if draft.sender_kind == "npc" else None,
            sender_name=draft.sender_name, to_user_id=to_uuid, text=draft.text, original_text=draft.original_text,
            lang=draft.lang, action=draft.action, reason=draft.reason, moderation=dict(draft.moderation),
            held=draft.hold, meta=dict(draft.meta), created_at=utcnow())
        async with self.db.session() as s:
            s.add(row)
        message = self._message(row, draft.room)
        await self.pipeline.after_store(message, draft)
        if draft.action != "block" and not draft.hold:
            await self._deliver(message, draft.sender_kind, draft.sender_id)
            self.background.spawn(self.pipeline.after_deliver(message, draft), "after delivery")
        return message

    async def release(self, message_id: uuid.UUID | str) -> dict[str, Any] | None:
        """Deliver a held line after all (a moderator let it through)."""
        async with self.db.session() as s:
            row = await s.get(ChatMessage, uuid.UUID(str(message_id)))
            if row is None or not row.held:
                return None
            slug = next((i.slug for i in self.rooms.infos.values() if i.id == row.room_id), None)
            if slug is None:  # the room was archived meanwhile
                return None
            row.held = False
        message = self._message(row, slug)
        sender = str(row.sender_user_id) if row.sender_kind == "user" else row.sender_npc_id
        await self._deliver(message, row.sender_kind, sender)
        # Delivered after all: later stages (translation, residents) see it as they see any line.
        draft = ChatDraft(room=slug, sender_id=sender, sender_name=row.sender_name, sender_kind=row.sender_kind,
                          text=row.text, original_text=row.original_text, to=message.get("to"), lang=row.lang,
                          action=row.action, reason=row.reason, moderation=dict(row.moderation or {}),
                          meta=dict(row.meta or {}))
        self.background.spawn(self.pipeline.after_deliver(message, draft), "after delivery")
        return message

    async def history(self, room: str, conn) -> list[dict[str, Any]]:
        """The last lines of the room this reader may see (whispers only to or from them)."""
        info = await self.rooms.get_room(room)
        if info is None:
            return []
        me = conn.user_id
        async with self.db.session() as s:
            rows = (await s.execute(
                select(ChatMessage)
                .where(ChatMessage.room_id == info.id, ChatMessage.action != "block", ChatMessage.held.is_(False),
                       or_(ChatMessage.to_user_id.is_(None), ChatMessage.to_user_id == me,
                           ChatMessage.sender_user_id == me))
                .order_by(ChatMessage.created_at.desc()).limit(self.history_size))).scalars().all()
        messages = [self._message(r, room) for r in reversed(rows)]
        return await self.pipeline.transform_history(messages, conn)

    async def emote(self, conn, name: str) -> None:
        room = conn.require_room()
        if name not in EMOTES:
            raise ProtocolError("invalid_payload", f"emote must be one of {', '.join(EMOTES)}")
        await self.realtime.to_room(room, [("emote", {"id": conn.uid, "name": name})])

    async def mark(self, message_id: uuid.UUID | str, **values: Any) -> None:
        """Let a later stage (moderation review) update its columns of a stored line."""
        async with self.db.session() as s:
            await s.execute(update(ChatMessage).where(ChatMessage.id == uuid.UUID(str(message_id))).values(**values))

    async def drain(self, timeout: float = 5.0) -> None:
        await self.background.drain(timeout)

    # -- internals -------------------------------------------------------------------------
    @staticmethod
    def _message(row: ChatMessage, slug: str) -> dict[str, Any]:
        sender = str(row.sender_user_id) if row.sender_kind == "user" else row.sender_npc_id
        msg = {"id": str(row.id), "room": slug, "from": {"id": sender, "name": row.sender_name, "kind": row.sender_kind},
               "text": row.text, "lang": row.lang, "created_at": row.created_at.isoformat(),
               "moderation": row.action}
        if row.to_user_id is not None:
            msg["to"] = str(row.to_user_id)
        if (row.meta or {}).get("translatable") is False:  # "ok", emoji, names: no chat:translation will follow
            msg["translate"] = False
        return msg

    async def _deliver(self, message: dict, sender_kind: str, sender_id: str) -> None:
        if "to" in message:
            await self.realtime.to_user(message["to"], "chat:message", message)
            if sender_kind == "user":
                await self.realtime.to_user(sender_id, "chat:message", message)
        else:
            await self.realtime.to_room(message["room"], [("chat:message", message)])
