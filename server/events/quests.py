"""Quests: each person's progress through the steps, and the reward paid once from the treasury
through the ledger (idempotency key `quest:<id>`, the person's own) within the admin's budget."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text

from server.audit import record as audit
from server.events.models import Quest, QuestBudget, QuestProgress
from server.events.specs import QuestSpec, Step
from server.protocol import ProtocolError

log = logging.getLogger(__name__)


def quest_json(q: Quest, progress: QuestProgress | None = None) -> dict[str, Any]:
    done = set(progress.done or []) if progress else set()
    steps = [Step.model_validate(s) for s in q.steps]
    return {"id": str(q.id), "key": q.key, "title": q.title, "description": q.description, "reward": q.reward,
            "status": q.status, "source": q.source,
            "steps": [{"index": i, **s.model_dump(exclude_none=True), "label": s.describe(), "done": i in done}
                      for i, s in enumerate(steps)],
            "done": len(done), "completed": bool(progress and progress.completed_at),
            "rewarded": progress.rewarded if progress else 0,
            "transaction_id": str(progress.transaction_id) if progress and progress.transaction_id else None}


def step_matches(step: dict[str, Any], kind: str, target: str, room: str | None) -> bool:
    if step["kind"] != kind:
        return False
    if kind == "visit":
        return step["room"] == target
    if kind == "talk":
        return step["resident"] == target
    if kind == "buy":
        return target.rsplit(":", 1)[-1] == step["sku"]
    return step["room"] == room and step["thing"].casefold() == target.casefold()


class Budget:
    """The cap on what rewards (quests, market-day discounts) may pay out in all."""

    def __init__(self, db, ledger):
        self.db = db
        self.ledger = ledger

    async def get(self) -> dict[str, int]:
        async with self.db.session() as s:
            row = await s.get(QuestBudget, 1)
            return {"budget": row.budget, "paid": row.paid, "left": row.budget - row.paid}

    async def set(self, actor_id: uuid.UUID, budget: int, reason: str) -> dict[str, int]:
        async with self.db.session() as s:
            row = await s.get(QuestBudget, 1, with_for_update=True)
            if budget < row.paid:
                raise ProtocolError("invalid_payload", f"the budget cannot be below what was already paid ({row.paid})")
            before = row.budget
            row.budget, row.updated_at = budget, datetime.now(UTC)
            await audit(s, actor_id=actor_id, action="quests.budget", target_type="quest_budget", target_id="1",
                        reason=reason, details={"before": before, "after": budget})
            return {"budget": row.budget, "paid": row.paid, "left": row.budget - row.paid}

    async def pay(self, user_id: uuid.UUID, amount: int, *, key: str, memo: str) -> dict[str, Any]:
        """Pay from the treasury if the budget allows; payments queue on the budget's row."""
        async with self.db.session() as s:
            row = await s.get(QuestBudget, 1, with_for_update=True)
            if row.paid + amount > row.budget:
                raise ProtocolError("insufficient_funds",
                                    f"the quest budget is spent ({row.paid} of {row.budget} paid); an admin can raise it")
            paid = await self.ledger.reward(user_id, amount, idempotency_key=key, memo=memo)
            if not paid["replayed"]:
                row.paid += amount
                row.updated_at = datetime.now(UTC)
            return paid


class Quests:
    def __init__(self, db, budget: Budget, hub):
        self.db = db
        self.budget = budget
        self.hub = hub
        self.active: list[Quest] = []

    async def load(self) -> None:
        async with self.db.session() as s:
            self.active = list((await s.execute(select(Quest).where(Quest.status == "active")
                                                .order_by(Quest.key))).scalars())

    async def _quest(self, s, ref: str) -> Quest:
        try:
            q = await s.get(Quest, uuid.UUID(str(ref)))
        except ValueError:
            q = await s.scalar(select(Quest).where(Quest.key == ref))
        if q is None:
            raise ProtocolError("not_found", f"no quest {ref!r}")
        return q

    async def of_person(self, user_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            progress = {p.quest_id: p for p in (await s.execute(
                select(QuestProgress).where(QuestProgress.user_id == user_id))).scalars()}
            return [quest_json(q, progress.get(q.id)) for q in self.active]

    async def advance(self, user_id: uuid.UUID, kind: str, target: str, room: str | None) -> list[dict[str, Any]]:
        """Mark the steps this act completes; returns the quests that moved (pushed as quest:progress)."""
        moved = []
        for q in self.active:
            hits = [i for i, st in enumerate(q.steps) if step_matches(st, kind, target, room)]
            if not hits:
                continue
            async with self.db.session() as s:
                await s.execute(text("INSERT INTO quest_progress (quest_id, user_id) VALUES (:q, :u) "
                                     "ON CONFLICT DO NOTHING"), {"q": q.id, "u": user_id})
                p = await s.get(QuestProgress, (q.id, user_id), with_for_update=True)
                new = sorted(set(p.done or []) | set(hits))
                if new == sorted(p.done or []):
                    continue
                p.done, p.updated_at = new, datetime.now(UTC)
                moved.append(quest_json(q, p))
        for m in moved:
            await self.hub.to_user(user_id, "quest:progress", m)
        return moved

    async def complete(self, user_id: uuid.UUID, ref: str) -> dict[str, Any]:
        """Claim a quest's reward: every step done, paid once (a second claim returns the first)."""
        async with self.db.session() as s:
            q = await self._quest(s, ref)
            if q.status != "active":
                raise ProtocolError("conflict", f"the quest {q.title!r} is {q.status}")
            await s.execute(text("INSERT INTO quest_progress (quest_id, user_id) VALUES (:q, :u) ON CONFLICT DO NOTHING"),
                            {"q": q.id, "u": user_id})
            p = await s.get(QuestProgress, (q.id, user_id), with_for_update=True)  # a second claim waits here
            left = [Step.model_validate(st).describe() for i, st in enumerate(q.steps) if i not in set(p.done or [])]
            if left:
                raise ProtocolError("conflict", f"steps left: {'; '.join(left)}")
            if p.completed_at is not None:
                return {"quest": quest_json(q, p), "reward": p.rewarded, "replayed": True}
            paid = None
            if q.reward > 0:
                paid = await self.budget.pay(user_id, q.reward, key=f"quest:{q.id}", memo=f"quest reward: {q.title}")
                p.transaction_id = uuid.UUID(paid["transaction_id"])
            p.rewarded, p.completed_at = q.reward, datetime.now(UTC)
            out = {"quest": quest_json(q, p), "reward": q.reward, "replayed": False}
        if paid is not None:
            await self.hub.to_user(user_id, "wallet:update", {"balance": paid["balance"], "transaction": {
                "id": paid["transaction_id"], "kind": "reward", "amount": paid["amount"], "memo": paid["memo"],
                "created_at": paid["created_at"], "counterparty": {"kind": "system", "key": "treasury"}}})
        return out

    # -- admin ----------------------------------------------------------------------------------
    async def all(self) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rows = (await s.execute(select(Quest).order_by(Quest.key))).scalars().all()
            stats = {r.quest_id: (r.n, r.c, r.paid) for r in (await s.execute(text(
                "SELECT quest_id, count(*) AS n, count(completed_at) AS c, coalesce(sum(rewarded), 0) AS paid "
                "FROM quest_progress GROUP BY quest_id"))).all()}
        out = []
        for q in rows:
            n, c, paid = stats.get(q.id, (0, 0, 0))
            out.append({**quest_json(q), "people": n, "completions": c, "paid": int(paid)})
        return out

    async def create(self, actor_id: uuid.UUID, spec: QuestSpec, reason: str, *, source: str = "admin",
                     status: str | None = None) -> dict[str, Any]:
        async with self.db.session() as s:
            if await s.scalar(select(Quest.id).where(Quest.key == spec.key)):
                raise ProtocolError("conflict", f"there is already a quest {spec.key!r}")
            q = Quest(key=spec.key, title=spec.title, description=spec.description, reward=spec.reward,
                      steps=[st.model_dump(exclude_none=True) for st in spec.steps], status=status or spec.status,
                      source=source)
            s.add(q)
            await s.flush()
            await audit(s, actor_id=actor_id, action="quests.create", target_type="quest", target_id=q.id,
                        reason=reason, details={"key": q.key, "reward": q.reward, "status": q.status})
            out = quest_json(q)
        await self.load()
        return out

    async def set_status(self, actor_id: uuid.UUID, ref: str, status: str, reason: str) -> dict[str, Any]:
        async with self.db.session() as s:
            q = await self._quest(s, ref)
            before = q.status
            q.status = status
            await audit(s, actor_id=actor_id, action=f"quests.{status}", target_type="quest", target_id=q.id,
                        reason=reason, details={"key": q.key, "before": before})
            out = quest_json(q)
        await self.load()
        return out
