"""Socket events of chat: `chat:send` and `emote` (thin: validate, call ChatService, reply)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from server.chat.pipeline import ChatDraft
from server.chat.service import ChatService
from server.realtime.hub import Connection, Payload
from server.text import SafeMultiline, SafeText


class EmoteIn(Payload):
    name: SafeText = Field(min_length=1, max_length=32)


def chat_schema(max_len: int) -> type[Payload]:
    class ChatSendIn(Payload):
        text: Annotated[SafeMultiline, Field(min_length=1, max_length=max_len)]
        to: SafeText | None = Field(None, min_length=1, max_length=64)
        whisper: bool = False  # true: a whisper, refused without `to` (never sent to the room)

    return ChatSendIn


def setup(ctx) -> None:
    settings, hub = ctx.settings, ctx.hub
    chat = ctx.chat = ChatService(ctx.db, ctx.rooms, ctx.realtime, max_len=settings.chat_max_len,
                                  history_size=settings.history_size)
    ChatSendIn = chat_schema(settings.chat_max_len)

    @hub.on("chat:send", ChatSendIn, rate=settings.chat_rate)
    async def chat_send(conn: Connection, p):
        room = conn.require_room()
        draft = ChatDraft(room=room, sender_id=conn.uid, sender_name=conn.display_name, sender_kind="user",
                          text=p.text, original_text=p.text, to=p.to, whisper=p.whisper, conn=conn)
        message = await chat.send(draft)
        reply = {"message_id": message["id"], "action": draft.action}
        if draft.text != draft.original_text:
            reply["text"] = draft.text
        if draft.reason:
            reply["reason"] = draft.reason
        if draft.hold:
            reply["held"] = True
        return reply

    @hub.on("emote", EmoteIn, rate="2/second")
    async def emote(conn: Connection, p: EmoteIn):
        await chat.emote(conn, p.name)
        return {}


async def shutdown(ctx) -> None:
    await ctx.chat.drain()
