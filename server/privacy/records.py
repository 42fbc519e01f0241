"""Where a person's data lives: every table with a column that points at `users.id` (found from
the schema, so a new domain's table is included without a change here), the residents' memories
about them and whom residents have met (keyed by the person's id as text), and the ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, text

HIDDEN = {"password_hash", "embedding"}  # a secret's hash and vectors tell a person nothing
# Kept on erase: the ledger is append-only (money moved stays accounted for), the audit log is the admins' record.
KEPT = {"users", "ledger_accounts", "ledger_transactions", "ledger_entries", "ledger_grant_claims", "audit_log",
        "shop_purchases"}


@dataclass(frozen=True)
class Link:
    table: str
    column: str
    ondelete: str | None


def links(metadata: MetaData) -> list[Link]:
    """Every (table, column) that refers to a user by a foreign key to users.id."""
    out = []
    for table in metadata.sorted_tables:
        for col in table.columns:
            for fk in col.foreign_keys:
                if fk.target_fullname == "users.id":
                    out.append(Link(table.name, col.name, (fk.ondelete or "").upper() or None))
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, (uuid.UUID,)):
        return str(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, (bytes, memoryview)):
        return bytes(v).hex()
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def row_json(mapping) -> dict[str, Any]:
    return {k: _plain(v) for k, v in mapping.items() if k not in HIDDEN}


async def rows_of(session, metadata: MetaData, user_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """{table: rows} of every table that refers to the user (the users row under "users")."""
    out: dict[str, list[dict[str, Any]]] = {}
    user = (await session.execute(text("SELECT * FROM users WHERE id = :u"), {"u": user_id})).mappings().first()
    out["users"] = [row_json(user)] if user else []
    for link in links(metadata):
        rows = (await session.execute(text(f'SELECT * FROM "{link.table}" WHERE "{link.column}" = :u'),
                                      {"u": user_id})).mappings().all()
        if rows:
            out.setdefault(link.table, []).extend(row_json(r) for r in rows)
    return out


async def memories_about(session, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """Residents' memories about the person, and their reflections drawn from those memories."""
    rows = (await session.execute(text(
        "WITH about AS (SELECT id FROM resident_memories WHERE subject_id = :u) "
        "SELECT m.id, r.key AS resident, r.name AS resident_name, m.kind, m.text, m.subject_name, m.importance, "
        "m.created_at, m.evidence FROM resident_memories m JOIN residents r ON r.id = m.resident_id "
        "WHERE m.id IN (SELECT id FROM about) OR m.evidence && ARRAY(SELECT id FROM about) ORDER BY m.id"),
        {"u": str(user_id)})).mappings().all()
    return [row_json(r) for r in rows]


async def acquaintances(session, user_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = (await session.execute(text(
        "SELECT r.key AS resident, r.name AS resident_name, p.name, p.times_met, p.first_met, p.last_seen, p.facts "
        "FROM resident_people p JOIN residents r ON r.id = p.resident_id WHERE p.person_id = :u"),
        {"u": str(user_id)})).mappings().all()
    return [row_json(r) for r in rows]
