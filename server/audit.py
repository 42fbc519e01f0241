"""The audit log, shared by every domain: who did what to whom, and why. Append-only, like the
ledger; every admin or moderator act (and the assistant's acts) calls `record` in its own
transaction. The table (`audit_log`) is the one migration 0001 made."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, String, Text, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    action: Mapped[str] = mapped_column(String(64))  # e.g. economy.mint, moderation.mute, room.update
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"), default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


async def record(session: AsyncSession, *, actor_id: uuid.UUID | None, action: str, target_type: str = "",
                 target_id: Any = "", reason: str = "", details: dict[str, Any] | None = None) -> AuditEntry:
    """Adds an entry in the caller's transaction, so the act and its record commit together."""
    entry = AuditEntry(actor_id=actor_id, action=action, target_type=target_type, target_id=str(target_id),
                       reason=reason, details=details or {})
    session.add(entry)
    await session.flush()
    return entry


async def recent(session: AsyncSession, *, limit: int = 100, before: int | None = None,
                 action_prefix: str | None = None, target_id: str | None = None) -> list[dict[str, Any]]:
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(min(limit, 500))
    if before is not None:
        q = q.where(AuditEntry.id < before)
    if action_prefix:
        q = q.where(AuditEntry.action.startswith(action_prefix))
    if target_id:
        q = q.where(AuditEntry.target_id == target_id)
    rows = (await session.execute(q)).scalars().all()
    return [
        {"id": e.id, "actor_id": str(e.actor_id) if e.actor_id else None, "action": e.action,
         "target_type": e.target_type, "target_id": e.target_id, "reason": e.reason, "details": e.details,
         "created_at": e.created_at.isoformat()}
        for e in rows
    ]
