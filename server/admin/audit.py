"""Writing and reading the audit log; every admin or moderator act calls `record`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.admin.models import AuditEntry


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
