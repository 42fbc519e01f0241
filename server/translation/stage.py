"""The chat stage of translation (order 20, after moderation at 10).

check: the line's language (lingua over the world's languages, the sender's language as the prior;
"ok", "gg", emoji... are the sender's language and not translated). after_deliver: the fan-out, in
a task of its own, so neither the line nor later stages (NPCs hearing it) wait for a model.
History: each reader gets lines in their language (see TranslationService.history).
"""

from __future__ import annotations

from ai.translation import needs_translation
from server.chat.pipeline import ChatDraft, ChatStage


class TranslationStage(ChatStage):
    name = "translation"
    order = 20

    def __init__(self, service):
        self.service = service

    async def check(self, draft: ChatDraft) -> None:
        svc = self.service
        names = svc.names_in(draft.room, draft.sender_name)
        if draft.lang is None:  # an NPC may say which language it spoke
            prior = draft.conn.language if draft.conn is not None else draft.meta.get("lang_prior")
            found = svc.langid.detect(draft.original_text or draft.text, prior, names)
            draft.lang = found.lang
            draft.meta["lang_id"] = {"reason": found.reason, "confidence": round(found.confidence, 3)}
            translatable = found.translatable
        else:
            translatable = True
        # what is delivered may be masked: "### ###" has nothing left to translate
        if not translatable or not needs_translation(draft.text, names):
            draft.meta["translatable"] = False
        svc.counts["lines"] += 1

    async def after_deliver(self, message: dict, draft: ChatDraft) -> None:
        if draft.meta.get("translatable") is False:
            return
        self.service.spawn(self.service.fan_out(message))

    async def transform_history(self, messages: list[dict], conn) -> list[dict]:
        return await self.service.history(messages, conn)
