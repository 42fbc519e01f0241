"""A chat stage that notices a person talking to a resident: a whisper to one, a line that names
one, or a line in a room with a single resident in it."""

from __future__ import annotations

import uuid

from server.chat.pipeline import ChatDraft, ChatStage


class TalkStage(ChatStage):
    name = "events-talk"
    order = 900  # after moderation: only lines that were stored count

    def __init__(self, ctx, events):
        self.ctx = ctx
        self.events = events

    async def after_store(self, message: dict, draft: ChatDraft) -> None:
        residents = self.ctx.residents
        if draft.sender_kind != "user" or residents is None or draft.action == "block":
            return
        here = [r for r in residents.records.values() if residents.room_of(r.id) == draft.room]
        said = draft.original_text.casefold()
        heard = [r for r in residents.records.values() if r.id == draft.to] or \
                [r for r in here if r.name.casefold() in said] or (here if len(here) == 1 else [])
        for r in heard:
            self.events.spawn(self.events.noticed(uuid.UUID(draft.sender_id), "talk", r.key, r.name, room=draft.room))
