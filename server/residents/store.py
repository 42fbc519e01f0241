"""The memory stream's storage on PostgreSQL + pgvector, and the book of whom residents have met.

Retrieval candidates come from one statement that unions three bounded index scans: the K
nearest by cosine distance (HNSW; with pgvector >= 0.8 an iterative scan, so filtering by
resident still yields K rows), the newest, and the latest about the person. So a query's cost
does not grow with the size of the stream. `last_accessed` (what recency decays from) is not
indexed, so touching the returned memories is a HOT update that rewrites no index (the table
keeps 15% free per page for that).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text

from ai.npc.brain import Acquaintance
from ai.npc.memory import Memory, MemoryDraft
from server.residents.models import ResidentMemory

log = logging.getLogger(__name__)

COLUMNS = "id, kind, text, subject_id, subject_name, importance, created_at, last_accessed, evidence, meta"


def vector_literal(v: Sequence[float]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in v) + "]"


def _memory(r: Any) -> Memory:
    m = r._mapping
    meta = m["meta"]
    if isinstance(meta, str):
        meta = json.loads(meta)
    return Memory(id=m["id"], kind=m["kind"], text=m["text"], importance=float(m["importance"]),
                  created_at=m["created_at"], last_accessed=m["last_accessed"], subject_id=m["subject_id"],
                  subject_name=m["subject_name"], evidence=list(m["evidence"] or []), meta=dict(meta or {}),
                  similarity=(float(m["similarity"]) if "similarity" in m and m["similarity"] is not None else None))


def _rid(resident_id: Any) -> uuid.UUID:
    return resident_id if isinstance(resident_id, uuid.UUID) else uuid.UUID(str(resident_id))


_SET_EF = text("SELECT set_config('hnsw.ef_search', :ef, true)")
_SET_BOTH = text("SELECT set_config('hnsw.ef_search', :ef, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)")


class PgMemoryStore:
    """`ai.npc.memory.MemoryStore` and `ai.npc.agent.PeopleStore` over the world's database."""

    def __init__(self, db, *, ef_search: int = 100):
        self.db = db
        self.ef_search = ef_search
        self.iterative: bool | None = None  # pgvector >= 0.8: hnsw.iterative_scan

    async def _setup_session(self, s) -> None:
        if self.iterative is None:
            version = await s.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))
            parts = tuple(int(p) for p in (version or "0.0").split(".")[:2] if p.isdigit())
            self.iterative = parts >= (0, 8)
        # set_config(..., true) is SET LOCAL; both in one statement: one round trip, not two
        if self.iterative:
            await s.execute(_SET_BOTH, {"ef": str(int(self.ef_search))})
        else:
            await s.execute(_SET_EF, {"ef": str(int(self.ef_search))})

    # == memories ==================================================================================
    async def add(self, resident_id: str, drafts: Sequence[MemoryDraft],
                  embeddings: Sequence[list[float] | None]) -> list[int]:
        rid = _rid(resident_id)
        now = datetime.now(UTC)
        rows = [{"resident_id": rid, "kind": d.kind, "text": d.text[:4000], "subject_id": d.subject_id,
                 "subject_name": d.subject_name, "importance": float(d.importance if d.importance is not None else 2.0),
                 "embedding": e, "evidence": list(d.evidence), "meta": dict(d.meta),
                 "created_at": d.created_at or now, "last_accessed": d.created_at or now}
                for d, e in zip(drafts, embeddings)]
        if not rows:
            return []
        async with self.db.session() as s:
            result = await s.execute(insert(ResidentMemory).returning(ResidentMemory.id), rows)
            return [r[0] for r in result]

    async def candidates(self, resident_id: str, query: list[float] | None, *, subject_id: str | None,
                         k_relevant: int, k_recent: int, k_subject: int) -> list[Memory]:
        rid = _rid(resident_id)
        parts = ["(SELECT id FROM resident_memories WHERE resident_id = :rid ORDER BY created_at DESC LIMIT :k_recent)"]
        params: dict[str, Any] = {"rid": rid, "k_recent": k_recent}
        if query is not None and k_relevant:
            parts.append("(SELECT id FROM resident_memories WHERE resident_id = :rid AND embedding IS NOT NULL "
                         "ORDER BY embedding <=> CAST(:q AS vector) LIMIT :k_rel)")
            params.update(q=vector_literal(query), k_rel=k_relevant)
        if subject_id and k_subject:
            parts.append("(SELECT id FROM resident_memories WHERE resident_id = :rid AND subject_id = :sid "
                         "ORDER BY created_at DESC LIMIT :k_sub)")
            params.update(sid=subject_id, k_sub=k_subject)
        sim = "CASE WHEN m.embedding IS NULL THEN NULL ELSE 1 - (m.embedding <=> CAST(:q AS vector)) END" \
            if "q" in params else "NULL::float"
        sql = (f"SELECT {', '.join('m.' + c for c in COLUMNS.split(', '))}, {sim} AS similarity "
               f"FROM resident_memories m WHERE m.id IN ({' UNION '.join(parts)})")
        async with self.db.session() as s:
            await self._setup_session(s)
            rows = (await s.execute(text(sql), params)).all()
        return [_memory(r) for r in rows]

    async def touch(self, resident_id: str, ids: Sequence[int]) -> None:
        if not ids:
            return
        async with self.db.session() as s:
            await s.execute(text("UPDATE resident_memories SET last_accessed = now() "
                                 "WHERE resident_id = :rid AND id = ANY(:ids)"),
                            {"rid": _rid(resident_id), "ids": list(ids)})

    async def count(self, resident_id: str) -> int:
        async with self.db.session() as s:
            return int(await s.scalar(text("SELECT count(*) FROM resident_memories WHERE resident_id = :rid"),
                                      {"rid": _rid(resident_id)}) or 0)

    async def recent(self, resident_id: str, *, after: datetime | None, limit: int,
                     kinds: Sequence[str] | None = None) -> list[Memory]:
        where = ["resident_id = :rid"]
        params: dict[str, Any] = {"rid": _rid(resident_id), "n": limit}
        if after is not None:
            where.append("created_at > :after")
            params["after"] = after
        if kinds:
            where.append("kind = ANY(:kinds)")
            params["kinds"] = list(kinds)
        async with self.db.session() as s:
            rows = (await s.execute(text(f"SELECT {COLUMNS} FROM resident_memories WHERE {' AND '.join(where)} "
                                         "ORDER BY created_at DESC, id DESC LIMIT :n"), params)).all()
        return [_memory(r) for r in reversed(rows)]

    async def importance_since(self, resident_id: str, after: datetime | None) -> float:
        sql = "SELECT coalesce(sum(importance), 0) FROM resident_memories WHERE resident_id = :rid AND kind <> 'reflection'"
        params: dict[str, Any] = {"rid": _rid(resident_id)}
        if after is not None:
            sql += " AND created_at > :after"
            params["after"] = after
        async with self.db.session() as s:
            return float(await s.scalar(text(sql), params) or 0.0)

    async def last_reflection(self, resident_id: str) -> datetime | None:
        async with self.db.session() as s:
            return await s.scalar(text("SELECT reflected_at FROM residents WHERE id = :rid"), {"rid": _rid(resident_id)})

    async def mark_reflected(self, resident_id: str, at: datetime) -> None:
        async with self.db.session() as s:
            await s.execute(text("UPDATE residents SET reflected_at = :at WHERE id = :rid"),
                            {"rid": _rid(resident_id), "at": at})

    async def victims(self, resident_id: str, *, n: int, below: float, kinds: Sequence[str],
                      keep_recent: int) -> list[Memory]:
        sql = (f"SELECT {COLUMNS} FROM resident_memories WHERE resident_id = :rid AND kind = ANY(:kinds) "
               "AND importance < :below AND created_at < coalesce((SELECT created_at FROM resident_memories "
               "WHERE resident_id = :rid ORDER BY created_at DESC OFFSET :keep LIMIT 1), '-infinity') "
               "ORDER BY created_at, id LIMIT :n")
        async with self.db.session() as s:
            rows = (await s.execute(text(sql), {"rid": _rid(resident_id), "kinds": list(kinds), "below": below,
                                                "keep": keep_recent, "n": n})).all()
        return [_memory(r) for r in rows]

    async def fold(self, resident_id: str, groups: Sequence[tuple[MemoryDraft, list[int]]]) -> int:
        """Insert each digest (its embedding: the mean of the folded ones') and delete what it folds."""
        rid = _rid(resident_id)
        removed = 0
        async with self.db.session() as s:
            for draft, ids in groups:
                await s.execute(text(
                    "INSERT INTO resident_memories (resident_id, kind, text, subject_id, subject_name, importance, "
                    "embedding, evidence, meta, created_at, last_accessed) "
                    "SELECT :rid, :kind, :text, :sid, :sname, :imp, "
                    "(SELECT avg(embedding) FROM resident_memories WHERE resident_id = :rid AND id = ANY(:ids) "
                    "AND embedding IS NOT NULL), '{}', CAST(:meta AS jsonb), :at, "
                    "(SELECT max(last_accessed) FROM resident_memories WHERE resident_id = :rid AND id = ANY(:ids))"),
                    {"rid": rid, "kind": draft.kind, "text": draft.text, "sid": draft.subject_id,
                     "sname": draft.subject_name, "imp": float(draft.importance or 3.0), "ids": list(ids),
                     "meta": json.dumps(draft.meta), "at": draft.created_at})
                res = await s.execute(text("DELETE FROM resident_memories WHERE resident_id = :rid AND id = ANY(:ids)"),
                                      {"rid": rid, "ids": list(ids)})
                removed += res.rowcount or 0
        return removed

    async def missing_embeddings(self, resident_id: str, limit: int) -> list[tuple[int, str]]:
        async with self.db.session() as s:
            rows = (await s.execute(text("SELECT id, text FROM resident_memories WHERE resident_id = :rid "
                                         "AND embedding IS NULL ORDER BY id DESC LIMIT :n"),
                                    {"rid": _rid(resident_id), "n": limit})).all()
        return [(r[0], r[1]) for r in rows]

    async def set_embeddings(self, resident_id: str, rows: Sequence[tuple[int, list[float]]]) -> None:
        if not rows:
            return
        async with self.db.session() as s:
            await s.execute(text("UPDATE resident_memories m SET embedding = CAST(v.e AS vector) "
                                 "FROM unnest(CAST(:ids AS bigint[]), CAST(:vecs AS text[])) AS v(id, e) "
                                 "WHERE m.id = v.id AND m.resident_id = :rid"),
                            {"rid": _rid(resident_id), "ids": [i for i, _ in rows],
                             "vecs": [vector_literal(v) for _, v in rows]})

    async def list(self, resident_id: str, *, kind: str | None = None, before: int | None = None, limit: int = 50,
                   subject_id: str | None = None) -> list[Memory]:
        """For the admin console: newest first."""
        where = ["resident_id = :rid"]
        params: dict[str, Any] = {"rid": _rid(resident_id), "n": limit}
        if kind:
            where.append("kind = :kind")
            params["kind"] = kind
        if before is not None:
            where.append("id < :before")
            params["before"] = before
        if subject_id:
            where.append("subject_id = :sid")
            params["sid"] = subject_id
        async with self.db.session() as s:
            rows = (await s.execute(text(f"SELECT {COLUMNS} FROM resident_memories WHERE {' AND '.join(where)} "
                                         "ORDER BY id DESC LIMIT :n"), params)).all()
        return [_memory(r) for r in rows]

    async def counts(self) -> dict[str, dict[str, int]]:
        async with self.db.session() as s:
            rows = (await s.execute(text("SELECT resident_id, kind, count(*) FROM resident_memories "
                                         "GROUP BY resident_id, kind"))).all()
        out: dict[str, dict[str, int]] = {}
        for rid, kind, n in rows:
            out.setdefault(str(rid), {})[kind] = int(n)
        return out

    # == people ====================================================================================
    async def get(self, resident_id: str, person_id: str) -> Acquaintance | None:
        async with self.db.session() as s:
            r = (await s.execute(text("SELECT person_id, name, times_met, first_met, last_seen, facts "
                                      "FROM resident_people WHERE resident_id = :rid AND person_id = :pid"),
                                 {"rid": _rid(resident_id), "pid": str(person_id)})).first()
        return _acq(r) if r else None

    async def meet(self, resident_id: str, person_id: str, name: str, *, visit: bool = False,
                   facts: dict | None = None) -> Acquaintance:
        async with self.db.session() as s:
            r = (await s.execute(text(
                "INSERT INTO resident_people (resident_id, person_id, name, times_met, facts) "
                "VALUES (:rid, :pid, :name, 1, CAST(:facts AS jsonb)) "
                "ON CONFLICT (resident_id, person_id) DO UPDATE SET name = excluded.name, "
                "times_met = resident_people.times_met + :inc, facts = resident_people.facts || excluded.facts, "
                "last_seen = now() "
                "RETURNING person_id, name, times_met, first_met, last_seen, facts"),
                {"rid": _rid(resident_id), "pid": str(person_id), "name": name, "inc": 1 if visit else 0,
                 "facts": json.dumps(facts or {})})).first()
        return _acq(r)

    async def people_count(self, resident_id: str) -> int:
        async with self.db.session() as s:
            return int(await s.scalar(text("SELECT count(*) FROM resident_people WHERE resident_id = :rid"),
                                      {"rid": _rid(resident_id)}) or 0)


def _acq(r: Any) -> Acquaintance:
    facts = r[5]
    if isinstance(facts, str):
        facts = json.loads(facts)
    return Acquaintance(id=r[0], name=r[1], times_met=int(r[2]), first_met=r[3], last_seen=r[4], facts=dict(facts or {}))
