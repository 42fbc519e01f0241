"""A fake translation backend: tags each text with its target, counts calls, can be slow."""

from __future__ import annotations

import asyncio


class FakeBackend:
    """Every pair translatable (or only `pairs`); the "translation" of t into xx is "<xx> t".
    `placeholders`: what the fake does to [n] placeholders: keep, drop or move them."""

    def __init__(self, delay: float = 0.0, pairs: set[tuple[str, str]] | None = None, fail: Exception | None = None,
                 placeholders: str = "keep"):
        self.delay = delay
        self.pairs = pairs
        self.fail = fail
        self.placeholders = placeholders
        self.calls: list[tuple[str, list[str], str, str]] = []

    def route(self, source, target):
        if self.pairs is None or (source, target) in self.pairs:
            return [("fake", source, target)]
        if self.pairs is not None and (source, "en") in self.pairs and ("en", target) in self.pairs:
            return [("fake", source, "en"), ("fake", "en", target)]
        return None

    def why_not(self, source, target):
        return f"fake has no {source}->{target}"

    async def run(self, model, texts, source, target, *, deadline):
        self.calls.append((model, list(texts), source, target))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        out = []
        for t in texts:
            if self.placeholders == "drop":
                import re

                t = re.sub(r"\[\d+\]", "", t)
            elif self.placeholders == "move":
                import re

                marks = re.findall(r"\[\d+\]", t)
                t = " ".join(marks[::-1] + [re.sub(r"\[\d+\]", "", t)])
            out.append(f"<{target}> {t}")
        return out
