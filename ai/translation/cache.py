"""An in-memory LRU of translations, keyed by the hash of the protected text, source and target.

Keys use the text with its placeholders (`thanks [1]`), so "thanks @ana" and "thanks @bo" share
one entry; the spans are put back per message.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

Key = tuple[str, str, str]  # (text hash, source, target)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(text: str, source: str, target: str) -> Key:
    return (text_hash(text), source, target)


class TranslationCache:
    def __init__(self, maxsize: int = 20_000):
        self.maxsize = maxsize
        self._items: OrderedDict[Key, str] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Key) -> str | None:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return value

    def peek(self, key: Key) -> str | None:
        """Look without counting a hit or a miss."""
        return self._items.get(key)

    def put(self, key: Key, value: str) -> None:
        if self.maxsize <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def hit_rate(self) -> float:
        n = self.hits + self.misses
        return self.hits / n if n else 0.0

    def stats(self) -> dict:
        return {"size": len(self), "hits": self.hits, "misses": self.misses, "hit_rate": round(self.hit_rate, 4)}
