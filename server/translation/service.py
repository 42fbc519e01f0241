"""`TranslationService` (`ctx.translation`): each line's language, and each reader's copy.

- `detect(text, prior)` and `translate_text(text, source, target)`: for the chat stage and NPCs.
- `fan_out(message)`: after a line went out, translate it ONCE per language among its readers
  (everyone in the room on any node, or the one whisper recipient) and send `chat:translation`
  to the readers of that language only (hub.to_user: reaches them on whichever node they are).
- `history(messages, conn)`: stored translations in the reader's language for the join snapshot;
  missing ones are translated within `translation_history_wait_s`, the rest follow as events.
- `settled()`: waits for the fan-outs started so far (a barrier: "no translation is still coming").

Translations are cached in memory (LRU, `ai.translation.TranslationCache`) and stored with their
line (`message_translations`), which also serves as a cache that survives restarts.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from ai.translation import (
    InferenceBackend,
    LanguageIdentifier,
    NoBackend,
    TranslationCache,
    TranslationUnavailable,
    Translator,
    cache_key,
    needs_translation,
    protect,
    restore,
    text_hash,
)
from server.accounts.models import User
from server.background import Background
from server.db.base import utcnow
from server.translation.models import MessageTranslation

log = logging.getLogger(__name__)

# The one setting that turns translation on (docs/translation.md lists the other models).
ENABLE_HINT = ("set TOWNSQUARE_MODELS__TRANSLATION=facebook/m2m100_418M (or models.translation in townsquare.toml), "
               "run `townsquare models pull` on a machine with internet, and restart the world")

DELIVERED = Counter("townsquare_translations_total", "chat:translation events by how the text was made",
                    ["result"])  # model | cache | unavailable
FANOUT_SECONDS = Histogram(
    "townsquare_translation_fanout_seconds", "From a line going out to its translations going out",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class LanguageBook:
    """Every person's reading language, fleet-wide: `users.language`, cached here, forgotten when
    their profile changes (a profile change shows up as presence:join on every node)."""

    def __init__(self, db, ttl_s: float = 300.0):
        self.db = db
        self.ttl_s = ttl_s
        self._langs: dict[str, tuple[str, float]] = {}

    def note(self, uid: str, lang: str) -> None:
        self._langs[str(uid)] = (lang, time.monotonic() + self.ttl_s)

    def forget(self, uid: str) -> None:
        self._langs.pop(str(uid), None)

    def observe(self, room: str, events: list) -> None:
        """A room bus observer (runs for every room event on every node: keep it cheap)."""
        for name, data in events:
            if name == "presence:join" and isinstance(data, dict) and data.get("kind") == "user":
                self._langs.pop(data.get("id"), None)

    async def of(self, uids: Iterable[str]) -> dict[str, str]:
        now = time.monotonic()
        out: dict[str, str] = {}
        need: list[uuid.UUID] = []
        for uid in uids:
            hit = self._langs.get(uid)
            if hit is not None and hit[1] > now:
                out[uid] = hit[0]
            else:
                try:
                    need.append(uuid.UUID(uid))
                except ValueError:
                    continue
        if need:
            async with self.db.session() as s:
                rows = (await s.execute(select(User.id, User.language).where(User.id.in_(need)))).all()
            for uid, lang in rows:
                out[str(uid)] = lang
                self.note(str(uid), lang)
        return out


class TranslationService:
    def __init__(self, *, db, realtime, rooms, settings, inference=None):
        self.db = db
        self.realtime = realtime
        self.rooms = rooms
        self.settings = settings
        self.languages = list(settings.languages)
        self.default_language = settings.default_language
        self.langid = LanguageIdentifier(self.languages, self.default_language,
                                         accuracy=settings.translation_langid_accuracy)
        self.translator = Translator(self._backend(inference), cache=TranslationCache(settings.translation_cache_size),
                                     deadline_s=settings.translation_deadline_s)
        self.book = LanguageBook(db)
        self.history_wait_s = settings.translation_history_wait_s
        self.counts = {"lines": 0, "fanouts": 0, "translations": 0, "cached": 0, "unavailable": 0, "events": 0}
        self.background = Background("translation")

    # == wiring ===========================================================================
    def _backend(self, inference):
        if inference is None:
            return NoBackend("no inference service in this world")
        return InferenceBackend(inference, pivot=self.settings.translation_pivot,
                                num_beams=self.settings.translation_num_beams)

    def use_inference(self, inference) -> None:
        """Translate with these models from now on (tests, tools)."""
        self.translator.backend = self._backend(inference)

    def use_backend(self, backend) -> None:
        self.translator.backend = backend

    @property
    def available(self) -> bool:
        """Can any pair of world languages be translated right now?"""
        langs = self.languages
        return any(self.translator.can(s, t) for s in langs for t in langs if s != t)

    def public_status(self) -> dict[str, Any]:
        """What clients say about translation: on or off, and (for the admin console) how to turn it on."""
        custom = not isinstance(self.translator.backend, (NoBackend, InferenceBackend))  # set by a tool or test
        configured = bool(self.settings.models.translation) or custom
        available = self.available
        if available:
            words = "Chat from others is translated into your language."
        elif configured:
            words = "Translation is not working right now: chat from others is shown as written."
        else:
            words = "This world does not translate chat: lines from others are shown as written."
        return {"available": available, "configured": configured, "languages": self.languages,
                "words": words, "enable": ENABLE_HINT}

    def figures(self) -> dict[str, Any]:
        return {**self.counts, **self.translator.stats(), "available": self.available}

    # == the interface for the chat stage and NPCs ===========================================
    def detect(self, text: str, prior: str | None = None, names: Iterable[str] = ()) -> str:
        """The line's language among the world's (the prior wins short or ambiguous lines)."""
        return self.langid.detect(text, prior, names).lang

    async def translate_text(self, text: str, source: str, target: str, names: Iterable[str] = ()) -> str | None:
        """`text` in `target` (mentions, links, emoji, code, names kept), or None when no model can."""
        if source == target:
            return text
        try:
            return await self.translator.translate(text, source, target, names)
        except TranslationUnavailable as e:
            log.debug("translate_text %s->%s unavailable: %s", source, target, e.detail)
            return None

    def names_in(self, room: str, *extra: str) -> list[str]:
        """Display names of the room's occupants (people and NPCs): kept as written."""
        names = self.rooms.occupant_names(room) if self.rooms is not None else []
        return [n for n in [*names, *extra] if n]

    # == fan-out =============================================================================
    def spawn(self, coro) -> asyncio.Task:
        return self.background.spawn(coro, "translating")

    async def drain(self, timeout: float = 5.0) -> None:
        await self.background.drain(timeout)

    async def settled(self) -> None:
        """Wait until every fan-out (and history send) started before this call is done: its
        chat:translation events handed to the hub (queued on local sockets, published to the fleet)."""
        await self.background.settled()

    async def readers(self, message: dict) -> tuple[dict[str, list[str]], list[str]]:
        """({language: [user ids]} of who reads this line, the sender left out; the names of
        everyone in the room). Membership is the fleet's (every node), not this node's mirror."""
        sender = message["from"]["id"]
        members = await self.realtime.members(message["room"])
        names = self.names_in(message["room"], message["from"].get("name") or "",
                              *(r.get("name") or "" for r in members.values()))
        uids = [message["to"]] if message.get("to") else [u for u in members if u != sender]
        langs = await self.book.of(uids)
        out: dict[str, list[str]] = {}
        for uid in uids:
            lang = langs.get(uid)
            if lang:
                out.setdefault(lang, []).append(uid)
        return out, names

    async def fan_out(self, message: dict) -> int:
        """Translate a delivered line for its readers; returns the number of target languages."""
        source = message.get("lang")
        if not source:
            return 0
        started = time.monotonic()
        readers, names = await self.readers(message)
        readers.pop(source, None)
        if not readers:
            return 0
        self.counts["fanouts"] += 1
        p = protect(message["text"], names)
        if not p.words:
            return 0
        routable = [t for t in readers if self.translator.can(source, t)]
        if routable:  # no model, no database round trip
            await self._prefetch(p.text, source, routable)
        rows = await asyncio.gather(*(self._one(message, p, source, lang, uids, started)
                                      for lang, uids in readers.items()))
        await self._store(message["id"], [r for r in rows if r])
        FANOUT_SECONDS.observe(time.monotonic() - started)
        return len(readers)

    async def _one(self, message: dict, p, source: str, target: str, uids: list[str], started: float) -> dict | None:
        cached = self.translator.cache.peek(cache_key(p.text, source, target)) is not None
        try:
            template = await self.translator.template(p.text, source, target)
        except TranslationUnavailable as e:
            self.counts["unavailable"] += 1
            DELIVERED.labels("unavailable").inc()
            await self._send(uids, {"id": message["id"], "lang": target, "text": None, "unavailable": True,
                                    "reason": e.reason})
            log.info("translation %s->%s of %s unavailable: %s", source, target, message["id"], e.detail)
            return None
        text = restore(template, p.spans)
        self.counts["cached" if cached else "translations"] += 1
        DELIVERED.labels("cache" if cached else "model").inc()
        await self._send(uids, {"id": message["id"], "lang": target, "text": text})
        return {"source": source, "target": target, "text_hash": text_hash(p.text), "template": template,
                "text": text, "model": self._model_name(source, target)}

    async def _send(self, uids: list[str], payload: dict) -> None:
        self.counts["events"] += len(uids)
        await asyncio.gather(*(self.realtime.to_user(uid, "chat:translation", payload) for uid in uids))

    def _model_name(self, source: str, target: str) -> str:
        hops = self.translator.backend.route(source, target) or []
        return "+".join(h[0] for h in hops)[:200]

    # == history ============================================================================
    async def history(self, messages: list[dict], conn) -> list[dict]:
        """Adds "translation": {"lang", "text"} to lines in another language than the reader's."""
        target = conn.language
        todo = [m for m in messages if m.get("lang") and m["lang"] != target and m["from"]["id"] != conn.uid]
        if not todo:
            return messages
        stored = await self._stored_for([m["id"] for m in todo], target)
        missing = []
        for m in todo:
            if m["id"] in stored:
                m["translation"] = {"lang": target, "text": stored[m["id"]]}
            elif needs_translation(m["text"]):
                if self.translator.can(m["lang"], target):
                    missing.append(m)
                else:
                    m["translation"] = {"lang": target, "text": None, "unavailable": True, "reason": "no_model"}
        if missing:
            tasks = {self.spawn(self._for_history(m, target)): m for m in missing}
            done, pending = await asyncio.wait(tasks, timeout=self.history_wait_s)
            for task in done:
                if not task.cancelled() and task.exception() is None:
                    tasks[task]["translation"] = {k: v for k, v in task.result().items() if k != "id"}
            for task in pending:  # delivered to the reader when done
                task.add_done_callback(lambda t, uid=conn.uid: self._late(t, uid))
        return messages

    async def _for_history(self, m: dict, target: str) -> dict:
        p = protect(m["text"], self.names_in(m["room"], m["from"].get("name") or ""))
        await self._prefetch(p.text, m["lang"], [target])
        try:
            template = await self.translator.template(p.text, m["lang"], target)
        except TranslationUnavailable as e:
            return {"id": m["id"], "lang": target, "text": None, "unavailable": True, "reason": e.reason}
        text = restore(template, p.spans)
        await self._store(m["id"], [{"source": m["lang"], "target": target, "text_hash": text_hash(p.text),
                                     "template": template, "text": text,
                                     "model": self._model_name(m["lang"], target)}])
        return {"id": m["id"], "lang": target, "text": text}

    def _late(self, task: asyncio.Task, uid: str) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        self.spawn(self._send([uid], task.result()))

    # == storage ============================================================================
    async def _prefetch(self, template_text: str, source: str, targets: list[str]) -> None:
        """Translations of the same text stored earlier (another line, before a restart) into the LRU."""
        cache = self.translator.cache
        need = [t for t in targets if cache.peek(cache_key(template_text, source, t)) is None]
        if not need:
            return
        h = text_hash(template_text)
        async with self.db.session() as s:
            rows = (await s.execute(
                select(MessageTranslation.target, MessageTranslation.template)
                .where(MessageTranslation.text_hash == h, MessageTranslation.source == source,
                       MessageTranslation.target.in_(need)).limit(len(need) * 4))).all()
        for target, template in rows:
            cache.put(cache_key(template_text, source, target), template)

    async def _store(self, message_id: str, rows: list[dict]) -> None:
        if not rows:
            return
        mid = uuid.UUID(str(message_id))
        now = utcnow()
        values = [{"id": uuid.uuid4(), "message_id": mid, "created_at": now, **r} for r in rows]
        try:
            async with self.db.session() as s:
                await s.execute(insert(MessageTranslation).values(values)
                                .on_conflict_do_nothing(index_elements=["message_id", "target"]))
        except Exception:  # the readers have it already; history will translate again
            log.exception("storing translations of %s failed", message_id)

    async def _stored_for(self, message_ids: list[str], target: str) -> dict[str, str]:
        ids = [uuid.UUID(i) for i in message_ids]
        async with self.db.session() as s:
            rows = (await s.execute(select(MessageTranslation.message_id, MessageTranslation.text)
                                    .where(MessageTranslation.message_id.in_(ids),
                                           MessageTranslation.target == target))).all()
        return {str(mid): text for mid, text in rows}
