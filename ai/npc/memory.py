"""The memory stream (Generative Agents): everything a resident perceives, says, concludes.

Each memory has a kind, a text, an importance (1-10), an embedding (the bundled sentence
embedder through the inference queue), when it was made and when it was last recalled.

- `remember` queues a memory; a short debounce later the queue is embedded in one batch at
  BACKGROUND priority and written in one insert. An embedding that was shed is left empty and
  filled in later (`backfill`): such a memory is found by recency and importance meanwhile.
- `retrieve(query)` asks the store for a bounded candidate set (the nearest K by vector, the
  newest, the latest about the person) and scores each candidate by recency
  (exponential decay since last access), importance and relevance, each min-max normalised
  over the candidates; the best are returned and touched (last_accessed = now).
- When the importance of memories since the last reflection passes a threshold, the resident
  reflects: higher-level memories citing their evidence.
- Growth is bounded: past `max_rows`, the oldest low-importance memories are folded into digest
  memories (one per person or topic, the mean of their embeddings) and deleted.

The store (PostgreSQL + pgvector) is the server's: `MemoryStore` is what this module needs of it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ai.inference import InferenceError, Priority

log = logging.getLogger("ai.npc.memory")

KINDS = ("observation", "conversation", "reflection", "digest")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class MemoryDraft:
    """A memory not yet stored. importance None: the stream's scorer rates it."""

    kind: str
    text: str
    importance: float | None = None
    subject_id: str | None = None
    subject_name: str | None = None
    evidence: list[int] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"memory kind must be one of {KINDS}, not {self.kind!r}")


@dataclass
class Memory:
    id: int
    kind: str
    text: str
    importance: float
    created_at: datetime
    last_accessed: datetime
    subject_id: str | None = None
    subject_name: str | None = None
    evidence: list[int] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    similarity: float | None = None  # cosine similarity to the query, when the store computed it
    score: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)  # recency / importance / relevance, normalised

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "text": self.text, "importance": round(self.importance, 2),
                "created_at": self.created_at.isoformat(), "last_accessed": self.last_accessed.isoformat(),
                "subject_id": self.subject_id, "subject_name": self.subject_name, "evidence": list(self.evidence),
                "meta": self.meta, **({"score": round(self.score, 4), "parts": {k: round(v, 4) for k, v in self.parts.items()}}
                                      if self.parts else {})}


class MemoryStore(Protocol):
    """What the stream needs of its storage (server/residents implements it on PostgreSQL)."""

    async def add(self, resident_id: str, drafts: Sequence[MemoryDraft],
                  embeddings: Sequence[list[float] | None]) -> list[int]: ...

    async def candidates(self, resident_id: str, query: list[float] | None, *, subject_id: str | None,
                         k_relevant: int, k_recent: int, k_subject: int) -> list[Memory]: ...

    async def touch(self, resident_id: str, ids: Sequence[int]) -> None: ...

    async def count(self, resident_id: str) -> int: ...

    async def recent(self, resident_id: str, *, after: datetime | None, limit: int,
                     kinds: Sequence[str] | None = None) -> list[Memory]: ...

    async def importance_since(self, resident_id: str, after: datetime | None) -> float: ...

    async def last_reflection(self, resident_id: str) -> datetime | None: ...

    async def mark_reflected(self, resident_id: str, at: datetime) -> None: ...

    async def victims(self, resident_id: str, *, n: int, below: float, kinds: Sequence[str],
                      keep_recent: int) -> list[Memory]: ...

    async def fold(self, resident_id: str, groups: Sequence[tuple[MemoryDraft, list[int]]]) -> int: ...

    async def missing_embeddings(self, resident_id: str, limit: int) -> list[tuple[int, str]]: ...

    async def set_embeddings(self, resident_id: str, rows: Sequence[tuple[int, list[float]]]) -> None: ...


# An embedder: texts, priority, deadline (s) -> unit vectors. The server's wraps the inference
# queue and the model-call budgets; it raises InferenceError (Overloaded ...) when it sheds.
Embedder = Callable[[list[str], Priority, float], Awaitable[list[list[float]]]]
# A reflector: the memories since the last reflection -> [(insight, evidence ids, meta)].
Reflector = Callable[[list[Memory]], Awaitable[list[tuple[str, list[int], dict]]]]
# An importance scorer for drafts without one: drafts -> scores 1..10.
Scorer = Callable[[list[MemoryDraft]], Awaitable[list[float]]]


# -- scoring --------------------------------------------------------------------------------------
WORD = re.compile(r"[a-z0-9']+")
STOPWORDS = frozenset("""a an the and or but if of to in on at for with by from is are was were be been am i you he she
it we they me my your his her our their this that these those do does did have has had what where when who how
why can could would should will shall may might not no yes so just about into out up down as than then there here
s t don please hi hello hey said told asked someone something anyone anything happen thing get""".split())


def terms(text: str) -> set[str]:
    """Content words, lightly stemmed ("reports" -> "report", "harasses" -> "harass")."""
    out = set()
    for w in WORD.findall(text.lower()):
        if w in STOPWORDS or len(w) < 2:
            continue
        out.add(_stem(w))
    return out


def _stem(w: str) -> str:
    """A light stem, so "harasses", "harassment" and "harass" meet ("reports" -> "report")."""
    for suffix in ("ments", "ment", "ings", "ing", "es", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            return w[: -len(suffix)]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def lexical_similarity(a: set[str], text: str) -> float:
    b = terms(text)
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def _minmax(values: list[float], min_range: float) -> list[float]:
    """Min-max normalisation to [0, 1]. The range is floored at `min_range`, so differences too
    small to mean anything (memories a millisecond apart) are not blown up to the full scale."""
    lo, hi = min(values), max(values)
    span = max(hi - lo, min_range)
    if span <= 0:
        return [1.0 for _ in values]
    return [(v - lo) / span for v in values]


@dataclass
class Weights:
    recency: float = 1.0
    importance: float = 1.0
    relevance: float = 1.0


def score_memories(candidates: list[Memory], *, now: datetime, query_text: str = "", decay_per_hour: float = 0.99,
                   weights: Weights = Weights()) -> list[Memory]:
    """Score candidates in place and return them best first. Recency is decay ** hours since last
    access; relevance is the store's cosine similarity, else word overlap with `query_text`."""
    if not candidates:
        return []
    qterms = terms(query_text)
    rec = [decay_per_hour ** max((now - m.last_accessed).total_seconds() / 3600.0, 0.0) for m in candidates]
    imp = [float(m.importance) for m in candidates]
    rel = [m.similarity if m.similarity is not None else lexical_similarity(qterms, m.text) for m in candidates]
    ranges = (1.0 - decay_per_hour ** (1 / 6), 1.0, 0.05)  # ten minutes of decay, one importance point
    for m, r, i, v in zip(candidates, _minmax(rec, ranges[0]), _minmax(imp, ranges[1]), _minmax(rel, ranges[2])):
        m.parts = {"recency": r, "importance": i, "relevance": v}
        m.score = weights.recency * r + weights.importance * i + weights.relevance * v
    # ties: the more recent first
    return sorted(candidates, key=lambda m: (m.score, m.last_accessed, m.id), reverse=True)


# -- importance (no model) ------------------------------------------------------------------------
EVENT_IMPORTANCE = {
    "overheard": 1.5, "arrival": 2.0, "reply": 2.0, "said": 3.0, "question": 3.0, "first_meeting": 4.0,
    "refused": 3.0, "offer": 4.0, "conversation": 4.0, "personal": 6.0, "purchase": 6.0, "digest": 3.0,
    "reflection": 8.0,
}
POIGNANT = re.compile(r"\b(love|hate|birthday|married|wedding|died|death|lost|afraid|scared|help|urgent|sorry|"
                      r"promise|secret|friend|first time|never|always|name is|i am a|i'm a|my name|i work|"
                      r"thank you so much|favourite|favorite)\b", re.I)


def heuristic_importance(draft: MemoryDraft) -> float:
    """A 1-10 poignancy estimate from what kind of event it was and a few telling words."""
    base = EVENT_IMPORTANCE.get(str(draft.meta.get("event") or ""), 2.0 if draft.kind == "observation" else 4.0)
    if draft.kind == "reflection":
        base = max(base, 7.0)
    bonus = min(len(POIGNANT.findall(draft.text)), 2) * 1.5
    if "?" in draft.text and base < 3:
        bonus += 0.5
    return float(max(1.0, min(10.0, base + bonus)))


# -- the stream -----------------------------------------------------------------------------------
@dataclass
class StreamConfig:
    max_rows: int = 2000  # per resident, before old low-importance memories are folded
    reflection_threshold: float = 60.0
    k_relevant: int = 40
    k_recent: int = 20
    k_subject: int = 12
    decay_per_hour: float = 0.99
    weights: Weights = field(default_factory=Weights)
    flush_delay_s: float = 0.2
    embed_deadline_s: float = 20.0
    fold_below: float = 5.0  # importance under which old memories may be folded into digests
    keep_recent: int = 200  # the newest memories are never folded


@dataclass
class StreamStats:
    written: int = 0
    unembedded: int = 0
    reflections: int = 0
    folded: int = 0
    digests: int = 0
    retrievals: int = 0
    shed: int = 0


class MemoryStream:
    def __init__(self, resident_id: str, store: MemoryStore, embed: Embedder | None, *,
                 config: StreamConfig | None = None, scorer: Scorer | None = None,
                 reflector: Reflector | None = None, clock: Callable[[], datetime] = utcnow):
        self.resident_id = resident_id
        self.store = store
        self.embed = embed
        self.config = config or StreamConfig()
        self.scorer = scorer
        self.reflector = reflector
        self.clock = clock
        self.stats = StreamStats()
        self.unreflected = 0.0
        self.rows = 0  # an estimate: exact at start, then counted
        self._pending: list[MemoryDraft] = []
        self._flush_task: asyncio.Task | None = None
        self._bg: set[asyncio.Task] = set()
        self._reflecting = False
        self._pruning = False
        self._lock = asyncio.Lock()
        self._started = False

    async def start(self) -> None:
        last = await self.store.last_reflection(self.resident_id)
        self.unreflected = await self.store.importance_since(self.resident_id, last)
        self.rows = await self.store.count(self.resident_id)
        self._started = True

    async def stop(self) -> None:
        """Write what is queued; wait briefly for background work."""
        if self._flush_task is not None and not self._flush_task.done():
            self._flush_task.cancel()
            await asyncio.gather(self._flush_task, return_exceptions=True)
        await self.flush()
        if self._bg:
            await asyncio.wait(set(self._bg), timeout=5)

    # -- writing ----------------------------------------------------------------------------------
    def remember(self, draft: MemoryDraft) -> None:
        """Queue a memory; it is written within flush_delay_s (batched with others)."""
        if draft.created_at is None:
            draft.created_at = self.clock()
        self._pending.append(draft)
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.config.flush_delay_s)
        try:
            await self.flush()
        except Exception:
            log.exception("memory flush of %s failed", self.resident_id)

    async def flush(self) -> list[int]:
        async with self._lock:
            drafts, self._pending = self._pending, []
            if not drafts:
                return []
            vectors = await self._embed([d.text for d in drafts], Priority.BACKGROUND)
            unscored = [d for d in drafts if d.importance is None]
            if unscored:
                scores: list[float] | None = None
                if self.scorer is not None:
                    try:
                        scores = await self.scorer(unscored)
                    except InferenceError:
                        self.stats.shed += 1
                if scores is None:
                    scores = [heuristic_importance(d) for d in unscored]
                for d, s in zip(unscored, scores):
                    d.importance = float(max(1.0, min(10.0, s)))
            ids = await self.store.add(self.resident_id, drafts, vectors)
            self.stats.written += len(ids)
            self.stats.unembedded += sum(1 for v in vectors if v is None)
            self.rows += len(ids)
            self.unreflected += sum(d.importance or 0 for d in drafts if d.kind != "reflection")
        self._after_write()
        return ids

    def _after_write(self) -> None:
        if (self.reflector is not None and not self._reflecting
                and self.unreflected >= self.config.reflection_threshold):
            self._reflecting = True
            self._spawn(self.reflect())
        if not self._pruning and self.rows > self.config.max_rows * 1.1:
            self._pruning = True
            self._spawn(self.prune())

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    async def _embed(self, texts: list[str], priority: Priority, deadline: float | None = None) -> list[list[float] | None]:
        if self.embed is None or not texts:
            return [None] * len(texts)
        try:
            return list(await self.embed(texts, priority, deadline or self.config.embed_deadline_s))
        except InferenceError as e:
            self.stats.shed += 1
            log.debug("embedding %d memories of %s shed: %s", len(texts), self.resident_id, e)
            return [None] * len(texts)

    async def backfill(self, limit: int = 64) -> int:
        """Embed memories whose embedding was shed earlier."""
        rows = await self.store.missing_embeddings(self.resident_id, limit)
        if not rows:
            return 0
        vectors = await self._embed([t for _, t in rows], Priority.BACKGROUND)
        done = [(i, v) for (i, _), v in zip(rows, vectors) if v is not None]
        if done:
            await self.store.set_embeddings(self.resident_id, done)
        return len(done)

    # -- reading ----------------------------------------------------------------------------------
    async def retrieve(self, query: str, *, k: int = 6, subject_id: str | None = None,
                       deadline: float = 2.0, touch: bool = True,
                       query_vector: list[float] | None = None, embed_query: bool = True) -> list[Memory]:
        """The k best memories for `query` (and about `subject_id`), touched. Without a query
        vector (none given, or embedding it was shed) relevance is word overlap."""
        qv = query_vector
        if qv is None and query and embed_query:
            qv = (await self._embed([query], Priority.NPC_REPLY, deadline))[0]
        cfg = self.config
        cands = await self.store.candidates(self.resident_id, qv, subject_id=subject_id, k_relevant=cfg.k_relevant,
                                            k_recent=cfg.k_recent, k_subject=cfg.k_subject if subject_id else 0)
        if qv is None:
            for m in cands:
                m.similarity = None
        best = score_memories(cands, now=self.clock(), query_text=query, decay_per_hour=cfg.decay_per_hour,
                              weights=cfg.weights)[:k]
        if touch and best:
            await self.store.touch(self.resident_id, [m.id for m in best])
        self.stats.retrievals += 1
        return best

    # -- reflection -------------------------------------------------------------------------------
    async def reflect(self) -> list[int]:
        """Higher-level memories from what happened since the last reflection."""
        try:
            last = await self.store.last_reflection(self.resident_id)
            recent = await self.store.recent(self.resident_id, after=last, limit=60,
                                             kinds=("observation", "conversation", "digest"))
            if not recent or self.reflector is None:
                self.unreflected = 0.0
                await self.store.mark_reflected(self.resident_id, self.clock())
                return []
            try:
                insights = await self.reflector(recent)
            except InferenceError:
                self.stats.shed += 1
                return []  # tried again after the next write
            for text, evidence, meta in insights:
                self.remember(MemoryDraft("reflection", text, importance=float(meta.pop("importance", 8.0)),
                                          subject_id=meta.pop("subject_id", None),
                                          subject_name=meta.pop("subject_name", None),
                                          evidence=[int(e) for e in evidence], meta={"event": "reflection", **meta}))
            self.unreflected = 0.0
            ids = await self.flush()
            await self.store.mark_reflected(self.resident_id, self.clock())
            self.stats.reflections += len(insights)
            return ids
        finally:
            self._reflecting = False

    # -- bounded growth ---------------------------------------------------------------------------
    async def prune(self) -> int:
        """Fold the oldest low-importance memories into digests until the count is under max_rows."""
        try:
            cfg = self.config
            self.rows = await self.store.count(self.resident_id)
            folded = 0
            target = int(cfg.max_rows * 0.9)
            passes = (("observation",), ("observation", "conversation", "digest"),
                      ("observation", "conversation", "digest", "reflection"))
            below = cfg.fold_below
            for kinds in passes:
                while self.rows > target:
                    excess = self.rows - target
                    victims = await self.store.victims(self.resident_id, n=min(max(excess + excess // 4, 20), 2000),
                                                       below=below, kinds=kinds, keep_recent=cfg.keep_recent)
                    if len(victims) < 2:
                        break
                    groups = digest_groups(victims)
                    removed = await self.store.fold(self.resident_id, groups)
                    folded += removed
                    self.rows = await self.store.count(self.resident_id)
                    self.stats.digests += len(groups)
                    if removed <= len(groups):
                        break
                below = 10.01 if kinds[-1] == "digest" else below + 2
                if self.rows <= target:
                    break
            self.stats.folded += folded
            return folded
        finally:
            self._pruning = False


def digest_groups(victims: list[Memory], per_digest: int = 50) -> list[tuple[MemoryDraft, list[int]]]:
    """Group old memories by the person they are about (or their topic), one digest each."""
    by: dict[tuple[str, str], list[Memory]] = defaultdict(list)
    for m in victims:
        if m.subject_id:
            by[("p", m.subject_id)].append(m)
        else:
            by[("t", str(m.meta.get("topic") or m.meta.get("room") or m.kind))].append(m)
    out = []
    for (what, key), ms in by.items():
        for i in range(0, len(ms), per_digest):
            chunk = ms[i:i + per_digest]
            if len(chunk) == 1 and len(ms) == 1 and chunk[0].kind == "digest":
                continue
            out.append((_digest(what, key, chunk), [m.id for m in chunk]))
    return out


def _digest(what: str, key: str, ms: list[Memory]) -> MemoryDraft:
    ms = sorted(ms, key=lambda m: m.created_at)
    first, last = ms[0].created_at, ms[-1].created_at
    n = sum(int(m.meta.get("folded", 1)) for m in ms)
    topics = Counter(str(m.meta["topic"]) for m in ms if m.meta.get("topic"))
    top = sorted(ms, key=lambda m: m.importance, reverse=True)[:3]
    samples = "; ".join(_short(m.text) for m in top)
    when = f"{first:%Y-%m-%d}" if first.date() == last.date() else f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
    if what == "p":
        name = next((m.subject_name for m in ms if m.subject_name), "someone")
        text = f"Older memories of {name} ({n}, {when}): {samples}"
    else:
        text = f"Older memories about {key} ({n}, {when}): {samples}"
    if topics:
        text += f". Topics: {', '.join(t for t, _ in topics.most_common(4))}"
    subject = next((m.subject_id for m in ms if m.subject_id), None) if what == "p" else None
    name = next((m.subject_name for m in ms if m.subject_name), None) if what == "p" else None
    return MemoryDraft("digest", text[:1000], importance=max(m.importance for m in ms), subject_id=subject,
                       subject_name=name, meta={"event": "digest", "folded": n, "first": first.isoformat(),
                                                "last": last.isoformat(),
                                                **({"topic": topics.most_common(1)[0][0]} if topics else {})},
                       created_at=last)


def _short(text: str, n: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class Timer:
    """Elapsed seconds for figures."""

    def __init__(self) -> None:
        self.t = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.t
