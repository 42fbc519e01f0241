"""The memory stream on a real PostgreSQL with pgvector: retrieval ordering (recency, importance,
relevance, each min-max normalised), touching what is returned, bounded candidate selection,
the reflection trigger, and pruning that keeps a resident's stream bounded."""

from __future__ import annotations

import asyncio
import math
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import text

from ai.inference import InferenceService, Priority, default_specs
from ai.npc import MemoryDraft, MemoryStream, Persona, RetrievalBrain, StreamConfig
from server.residents.store import PgMemoryStore

DIM = 384
NOW = datetime.now(UTC)


def unit(seed: int | None = None, base: list[float] | None = None, mix: float = 0.0) -> list[float]:
    rnd = random.Random(seed)
    v = [rnd.gauss(0, 1) for _ in range(DIM)]
    if base is not None:
        v = [mix * b + (1 - mix) * x / math.sqrt(DIM) for b, x in zip(base, v)]
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


async def new_resident(db, key: str | None = None) -> str:
    rid = uuid.uuid4()
    async with db.session() as s:
        await s.execute(text("INSERT INTO residents (id, key, name, home) VALUES (:id, :k, :n, 'plaza')"),
                        {"id": rid, "k": key or f"r{rid.hex[:8]}", "n": "Tess"})
    return str(rid)


@pytest.fixture(scope="module")
def store(db):
    return PgMemoryStore(db)


async def put(store, rid, rows):
    """rows: (text, importance, embedding, last_accessed hours ago, extra draft kwargs)."""
    drafts, vecs = [], []
    for t, imp, vec, hours, kw in rows:
        drafts.append(MemoryDraft(kw.pop("kind", "observation"), t, importance=imp,
                                  created_at=NOW - timedelta(hours=hours), **kw))
        vecs.append(vec)
    return await store.add(rid, drafts, vecs)


async def test_recency_orders_and_the_most_recent_scores_highest(db, store):
    rid = await new_resident(db)
    v = unit(1)
    await put(store, rid, [(f"memory {h}", 5.0, v, h, {}) for h in (100, 1, 10, 50)])
    stream = MemoryStream(rid, store, None)
    got = await stream.retrieve("", k=4, query_vector=v)
    assert [m.text for m in got] == ["memory 1", "memory 10", "memory 50", "memory 100"]
    assert got[0].parts["recency"] == 1.0 and got[-1].parts["recency"] == 0.0
    assert got[0].parts["importance"] == got[-1].parts["importance"]  # equal: no say in the order


async def test_importance_orders_when_all_else_is_equal(db, store):
    rid = await new_resident(db)
    v = unit(2)
    await put(store, rid, [(f"imp {i}", float(i), v, 5, {}) for i in (2, 9, 5, 1)])
    got = await MemoryStream(rid, store, None).retrieve("", k=4, query_vector=v, touch=False)
    assert [m.text for m in got] == ["imp 9", "imp 5", "imp 2", "imp 1"]
    assert got[0].parts["importance"] == 1.0 and got[-1].parts["importance"] == 0.0


async def test_relevance_orders_by_vector_similarity_in_sql(db, store):
    rid = await new_resident(db)
    q = unit(3)
    await put(store, rid, [("far", 5.0, unit(99), 5, {}), ("near", 5.0, unit(4, q, 0.9), 5, {}),
                           ("same", 5.0, q, 5, {}), ("middle", 5.0, unit(5, q, 0.5), 5, {})])
    got = await MemoryStream(rid, store, None).retrieve("", k=4, query_vector=q, touch=False)
    assert [m.text for m in got] == ["same", "near", "middle", "far"]
    assert got[0].similarity == pytest.approx(1.0, abs=1e-4)
    assert got[0].parts["relevance"] == 1.0 and got[-1].parts["relevance"] == 0.0


async def test_the_three_combine_and_retrieval_touches_what_it_returns(db, store):
    rid = await new_resident(db)
    q = unit(6)
    ids = await put(store, rid, [
        ("relevant but old and dull", 1.0, q, 200, {}),
        ("recent, dull, unrelated", 1.0, unit(7), 0.1, {}),
        ("important, old, unrelated", 10.0, unit(8), 200, {}),
        ("fairly relevant, fairly important, fairly recent", 6.0, unit(9, q, 0.8), 20, {}),
    ])
    stream = MemoryStream(rid, store, None)
    got = await stream.retrieve("", k=1, query_vector=q)
    assert got[0].text == "fairly relevant, fairly important, fairly recent"
    async with db.session() as s:
        rows = dict((await s.execute(text("SELECT id, last_accessed FROM resident_memories WHERE id = ANY(:ids)"),
                                     {"ids": ids})).all())
    assert rows[ids[3]] > NOW - timedelta(seconds=30)  # touched now
    assert rows[ids[0]] < NOW - timedelta(hours=100)  # not returned: untouched
    # touched, it is now the most recently accessed: the top recency score is its
    again = await stream.retrieve("", k=4, query_vector=unit(12345), touch=False)
    by_id = {m.id: m for m in again}
    assert by_id[ids[3]].parts["recency"] == 1.0 and by_id[ids[1]].parts["recency"] < 1.0


async def test_without_a_query_vector_relevance_is_word_overlap(db, store):
    rid = await new_resident(db)
    await put(store, rid, [("Ana asked about the lantern oil", 3.0, None, 2, {}),
                           ("The weather was grey", 3.0, None, 2, {})])
    got = await MemoryStream(rid, store, None).retrieve("lantern oil price", k=2, touch=False)
    assert got[0].text.startswith("Ana asked") and got[0].parts["relevance"] == 1.0


async def test_candidates_are_bounded_whatever_the_stream_size(db, store):
    rid = await new_resident(db)
    await put(store, rid, [(f"row {i}", float(1 + i % 9), unit(1000 + i), i % 500, {"subject_id": f"p{i % 50}"})
                           for i in range(2000)])
    cands = await store.candidates(rid, unit(5), subject_id="p7", k_relevant=40, k_recent=20, k_subject=12)
    assert 40 <= len(cands) <= 72
    # and retrieval asks for nothing more
    stream = MemoryStream(rid, store, None, config=StreamConfig(k_relevant=40, k_recent=20, k_subject=12))
    got = await stream.retrieve("", k=6, subject_id="p7", query_vector=unit(5))
    assert len(got) == 6


async def test_reflection_when_importance_passes_the_threshold(db, store):
    rid = await new_resident(db)
    brain = RetrievalBrain()
    persona = Persona(key="tess", name="Tess")

    async def reflector(memories):
        return await brain.reflect(persona, memories)

    stream = MemoryStream(rid, store, None, config=StreamConfig(reflection_threshold=20.0), reflector=reflector)
    await stream.start()
    stream.remember(MemoryDraft("observation", "Ana came into the plaza.", importance=2.0, subject_id="ana",
                                subject_name="Ana", meta={"event": "arrival"}))
    await stream.flush()
    await asyncio.sleep(0.05)
    assert stream.stats.reflections == 0 and await store.last_reflection(rid) is None
    for item in ("Brass lantern", "Map of Townsquare", "Brass lantern"):
        stream.remember(MemoryDraft("observation", f"Ana bought a {item} from me.", importance=7.0, subject_id="ana",
                                    subject_name="Ana", meta={"event": "purchase", "item": item, "topic": item}))
    ids = await stream.flush()
    for _ in range(50):
        if await store.last_reflection(rid) is not None:
            break
        await asyncio.sleep(0.05)
    await stream.stop()
    reflections = await store.recent(rid, after=None, limit=20, kinds=("reflection",))
    assert reflections, "no reflection"
    about_ana = next(m for m in reflections if m.subject_id == "ana")
    assert "Brass lantern" in about_ana.text and set(ids) <= set(about_ana.evidence) | set(ids)
    assert set(about_ana.evidence) & set(ids)
    assert about_ana.importance >= 7 and stream.unreflected == 0
    # the counter survives a restart: nothing new since the reflection
    again = MemoryStream(rid, store, None, config=StreamConfig(reflection_threshold=20.0))
    await again.start()
    assert again.unreflected == 0


async def test_pruning_folds_old_low_importance_memories_and_keeps_the_stream_bounded(db, store):
    rid = await new_resident(db)
    cfg = StreamConfig(max_rows=200, keep_recent=50, flush_delay_s=0.01)

    async def embed(texts, priority, deadline):
        return [unit(hash(t) % 10_000) for t in texts]

    stream = MemoryStream(rid, store, embed, config=cfg)
    await stream.start()
    people = [("p1", "Ana"), ("p2", "Bo"), ("p3", "Cy")]
    for i in range(900):
        pid, name = people[i % 3]
        stream.remember(MemoryDraft("observation", f"{name} said hello number {i}.", importance=2.0, subject_id=pid,
                                    subject_name=name, meta={"event": "said", "topic": "greetings"}))
        if i == 5:
            stream.remember(MemoryDraft("observation", "Ana told me she is a painter.", importance=8.0,
                                        subject_id="p1", subject_name="Ana", meta={"event": "personal"}))
        if i % 100 == 99:
            await stream.flush()
    await stream.flush()
    for _ in range(200):
        if not stream._pruning and stream.rows <= cfg.max_rows * 1.1:
            break
        await asyncio.sleep(0.05)
    await stream.stop()
    n = await store.count(rid)
    assert n <= cfg.max_rows * 1.1, n
    digests = await store.list(rid, kind="digest", limit=200)
    assert digests and sum(d.meta["folded"] for d in digests) >= 600
    assert any("Older memories of Ana" in d.text for d in digests)
    kept = await store.list(rid, kind="observation", limit=1000)
    assert any("painter" in m.text for m in kept)  # important memories are not folded
    # the digests carry an embedding (the mean of what they fold): found by relevance
    got = await stream.retrieve("", k=3, query_vector=unit(hash("Ana said hello number 3.") % 10_000), touch=False)
    assert got and len(await store.candidates(rid, unit(1), subject_id="p1", k_relevant=40, k_recent=20,
                                              k_subject=12)) <= 72


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def embedder():
    svc = InferenceService(default_specs())
    await svc.start()
    yield svc
    await svc.stop()


async def test_relevance_with_the_bundled_embedder(db, store, embedder):
    rid = await new_resident(db)

    async def embed(texts, priority, deadline):
        return await embedder.embed("embed", texts, priority=priority, deadline=deadline)

    stream = MemoryStream(rid, store, embed)
    await stream.start()
    for t in ("Ana bought a brass lantern from me.", "It rained all afternoon.", "Bo asked where the library is.",
              "The fountain was cleaned today."):
        stream.remember(MemoryDraft("observation", t, importance=4.0))
    await stream.flush()
    got = await stream.retrieve("did the lamp she purchased work?", k=2)
    assert got[0].text.startswith("Ana bought") and got[0].similarity is not None
    got = await stream.retrieve("which way to the books?", k=1)
    assert "library" in got[0].text
    assert Priority.NPC_REPLY  # the query went through the queue at reply priority
