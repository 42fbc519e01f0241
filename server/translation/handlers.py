"""Translation wired into the world: the chat stage, readers' languages kept fresh, `ctx.translation`
for NPCs, the doctor section and live figures, and `GET /api/translation` (on or off, for clients).
No client events of its own: chat:translation is sent by the service."""

from __future__ import annotations

import asyncio
import logging

from server.translation.service import TranslationService
from server.translation.stage import TranslationStage

log = logging.getLogger(__name__)


def setup(ctx) -> None:
    service = ctx.translation = TranslationService(db=ctx.db, realtime=ctx.realtime, rooms=ctx.rooms, settings=ctx.settings,
                                                   inference=ctx.inference)
    if ctx.chat is not None:
        ctx.chat.pipeline.add(TranslationStage(service))
    ctx.realtime.observe(service.book.observe)  # profile changes: forget the language

    async def on_connect(conn) -> None:
        service.book.note(conn.uid, conn.language)

    ctx.hub.on_connect.append(on_connect)
    ctx.live_figures["translation"] = service.figures

    async def session_field(user_id) -> dict:
        status = service.public_status()
        return {"available": status["available"], "words": status["words"]}

    ctx.session_fields["translation"] = session_field  # the client says once whether chat is translated

    @ctx.api.route("GET", "/api/translation", tag="translation")
    async def translation_status(request):
        """Is chat translated in this world? (sign-up, the chat and the admin console say so honestly)"""
        return service.public_status()


async def startup(ctx) -> None:
    service = ctx.translation
    await asyncio.to_thread(service.langid.warm)
    if service.available:
        models = [f"{m['name']} ({m['model_id']})" for m in getattr(service.translator.backend, "models", list)()
                  if m.get("state") in ("loaded", "remote")]
        log.info("translation on: %s", ", ".join(models) or "custom backend")
    else:
        log.warning("translation off: %s; lines are delivered untranslated (townsquare doctor says more)",
                    service.translator.why_not(service.languages[0], service.languages[-1])
                    if len(service.languages) > 1 else "one world language")


async def shutdown(ctx) -> None:
    await ctx.translation.drain()
