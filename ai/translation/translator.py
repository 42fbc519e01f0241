"""`Translator`: protect, look up the cache, translate through the shared inference queue (priority 1),
restore. Concurrent requests for the same text share one computation; a pair without a model goes
through the pivot language (English) when both halves have one.

A backend answers two questions: which models take `source` to `target` (`route`), and the
translation of a batch (`run`). `InferenceBackend` is the real one; tests plug in fakes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Protocol

from .cache import TranslationCache, cache_key
from .models import SINGLE, pair_name
from .protect import protect, restore

log = logging.getLogger("ai.translation")

Hop = tuple[str, str, str]  # (inference model name, source, target)


class TranslationUnavailable(Exception):
    """No translation for this pair now. `reason` is a short code for clients: no_model,
    unsupported, overloaded, timeout, error; the message says more, for logs."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail or reason


class Backend(Protocol):
    def route(self, source: str, target: str) -> list[Hop] | None: ...

    def why_not(self, source: str, target: str) -> str: ...

    async def run(self, model: str, texts: list[str], source: str, target: str, *,
                  deadline: float | None) -> list[str]: ...


class NoBackend:
    """No translation model in this world: every pair is unavailable."""

    def __init__(self, why: str = "no translation model configured"):
        self.why = why

    def route(self, source, target):
        return None

    def why_not(self, source, target):
        return self.why

    async def run(self, model, texts, source, target, *, deadline):
        raise TranslationUnavailable("no_model", self.why)


class InferenceBackend:
    """Models of `ai.inference`: a pair model ("translate:es-en"), else the many-to-many model
    ("translate"), else two pair models through the pivot."""

    def __init__(self, inference, *, pivot: str = "en", num_beams: int | None = None):
        self.inference = inference
        self.pivot = pivot
        self.num_beams = num_beams

    def _ok(self, name: str) -> bool:
        return self.inference is not None and self.inference.available(name)

    def route(self, source: str, target: str) -> list[Hop] | None:
        direct = pair_name(source, target)
        if self._ok(direct):
            return [(direct, source, target)]
        if self._ok(SINGLE):
            return [(SINGLE, source, target)]
        p = self.pivot
        if p not in (source, target) and self._ok(pair_name(source, p)) and self._ok(pair_name(p, target)):
            return [(pair_name(source, p), source, p), (pair_name(p, target), p, target)]
        return None

    def models(self) -> list[dict]:
        if self.inference is None:
            return []
        return [s for s in self.inference.status() if s["task"] == "translate"]

    def why_not(self, source: str, target: str) -> str:
        models = self.models()
        if not models:
            return "no translation model configured"
        wanted = {SINGLE, pair_name(source, target), pair_name(source, self.pivot), pair_name(self.pivot, target)}
        states = [f"{m['name']} {m['state']}" + (f" ({m['reason']})" if m.get("reason") else "")
                  for m in models if m["name"] in wanted]
        return "; ".join(states) or f"no model for {source}->{target} (and none through {self.pivot})"

    async def run(self, model, texts, source, target, *, deadline):
        from ai.inference import Priority

        return await self.inference.translate(model, list(texts), source=source, target=target,
                                              priority=Priority.TRANSLATION, deadline=deadline,
                                              num_beams=self.num_beams, max_new_tokens=max_new_tokens(texts))


def max_new_tokens(texts: Sequence[str]) -> int:
    """A cap on a translation's length: about one token per two characters of the longest text a
    length bucket holds, plus slack (a line is ~4 characters a token). It stops a model that loops
    early, and depends only on the bucket, so lines of one bucket still share batches."""
    bucket = max(len(t) for t in texts).bit_length()
    return (1 << bucket) // 2 + 16


def _unavailable(exc: BaseException) -> TranslationUnavailable:
    from ai.inference import DeadlineExceeded, ModelUnavailable, Overloaded

    if isinstance(exc, TranslationUnavailable):
        return exc
    if isinstance(exc, Overloaded):
        return TranslationUnavailable("overloaded", str(exc))
    if isinstance(exc, (DeadlineExceeded, asyncio.TimeoutError)):
        return TranslationUnavailable("timeout", str(exc) or "deadline passed")
    if isinstance(exc, ModelUnavailable):
        return TranslationUnavailable("no_model", str(exc))
    if isinstance(exc, ValueError):  # e.g. the model does not know this language
        return TranslationUnavailable("unsupported", str(exc))
    return TranslationUnavailable("error", f"{type(exc).__name__}: {exc}")


class Translator:
    def __init__(self, backend: Backend | None = None, *, cache: TranslationCache | None = None,
                 deadline_s: float | None = 10.0):
        self.backend: Backend = backend or NoBackend()
        self.cache = cache if cache is not None else TranslationCache()
        self.deadline_s = deadline_s
        self._inflight: dict[tuple, asyncio.Future] = {}
        self.requests = 0  # texts sent to a model (one per hop)
        self.failures = 0
        self.model_seconds = 0.0

    def can(self, source: str, target: str) -> bool:
        return source == target or self.backend.route(source, target) is not None

    def why_not(self, source: str, target: str) -> str:
        return self.backend.why_not(source, target)

    async def translate(self, text: str, source: str, target: str, names: Iterable[str] = (),
                        deadline: float | None = None) -> str:
        """`text` in `target`, mentions/links/emoji/code/names kept; raises TranslationUnavailable."""
        if source == target:
            return text
        p = protect(text, names)
        if not p.words:
            return text
        return restore(await self.template(p.text, source, target, deadline), p.spans)

    async def translate_many(self, texts: Sequence[str], source: str, target: str, names: Iterable[str] = (),
                             deadline: float | None = None) -> list[str | None]:
        """Each text translated (concurrent requests batch in the queue); None where it failed."""
        names = tuple(names)
        results = await asyncio.gather(*(self.translate(t, source, target, names, deadline) for t in texts),
                                       return_exceptions=True)
        return [None if isinstance(r, BaseException) else r for r in results]

    def cached(self, text: str, source: str, target: str, names: Iterable[str] = ()) -> str | None:
        """The translation if the cache has it (no model call)."""
        p = protect(text, names)
        hit = self.cache.peek(cache_key(p.text, source, target))
        return None if hit is None else restore(hit, p.spans)

    async def template(self, text: str, source: str, target: str, deadline: float | None = None) -> str:
        """Translate text whose protected spans are placeholders already (the cached unit)."""
        key = cache_key(text, source, target)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        hops = self.backend.route(source, target)
        if hops is None:
            raise TranslationUnavailable("no_model", self.backend.why_not(source, target))
        deadline = self.deadline_s if deadline is None else deadline
        start = time.monotonic()
        current = text
        for model, s, t in hops:
            left = None if deadline is None else deadline - (time.monotonic() - start)
            current = await self._hop(model, current, s, t, left)
        self.cache.put(key, current)
        return current

    async def _hop(self, model: str, text: str, source: str, target: str, deadline: float | None) -> str:
        key = cache_key(text, source, target)
        hit = self.cache.peek(key)
        if hit is not None:
            return hit
        flight = (model, *key)
        running = self._inflight.get(flight)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._inflight[flight] = future
        try:
            self.requests += 1
            started = time.monotonic()
            try:
                (out,) = await self.backend.run(model, [text], source, target, deadline=deadline)
            finally:
                self.model_seconds += time.monotonic() - started
            self.cache.put(key, out)
            future.set_result(out)
            return out
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            self.failures += 1
            err = _unavailable(exc)
            future.set_exception(err)
            future.exception()  # retrieved: nobody else may be waiting
            raise err from exc
        finally:
            self._inflight.pop(flight, None)

    def stats(self) -> dict:
        return {"model_requests": self.requests, "failures": self.failures,
                "model_seconds": round(self.model_seconds, 3), "cache": self.cache.stats()}
