"""Export and erase a person's data.

Erase deletes what is about them (residents' memories of them and the reflections drawn from
those, whom residents have met, their chat lines and whispers to them, activity, progress,
inventory, sanctions ...: every row that refers to them, see records.py) and makes the account
a nameless husk that cannot log in: its tokens are revoked (every node drops its sockets). The
ledger's entries stay (it is append-only: money stays accounted for) under the husk, and the
audit log keeps the admins' record. Running residents forget them too.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from server.audit import record as audit
from server.db.base import Base
from server.privacy.records import KEPT, acquaintances, links, memories_about, rows_of
from server.protocol import ProtocolError

log = logging.getLogger(__name__)


class Privacy:
    def __init__(self, ctx):
        self.ctx = ctx

    async def export(self, user_id: uuid.UUID) -> dict[str, Any]:
        async with self.ctx.db.session() as s:
            tables = await rows_of(s, Base.metadata, user_id)
            if not tables["users"]:
                raise ProtocolError("not_found", "no such user")
            memories = await memories_about(s, user_id)
            met = await acquaintances(s, user_id)
        ledger = []
        if self.ctx.ledger is not None:
            before = None
            while True:
                page = await self.ctx.ledger.history(user_id, before=before, limit=100)
                ledger.extend(page)
                if len(page) < 100:
                    break
                before = page[-1]["transaction_id"]
        return {"exported_at": datetime.now(UTC).isoformat(), "user_id": str(user_id),
                "account": tables.pop("users")[0], "resident_memories": memories, "resident_acquaintances": met,
                "ledger_history": ledger, "tables": tables}

    async def erase(self, user_id: uuid.UUID, *, actor_id: uuid.UUID, reason: str) -> dict[str, Any]:
        uid = str(user_id)
        counts: dict[str, int] = {}
        await self._settle_live(uid)
        async with self.ctx.db.session() as s:
            user = (await s.execute(text("SELECT username FROM users WHERE id = :u FOR UPDATE"), {"u": user_id})).first()
            if user is None:
                raise ProtocolError("not_found", "no such user")
            if user.username.startswith("deleted-"):
                raise ProtocolError("conflict", "this account was already deleted")
            ids = [r[0] for r in await s.execute(text("SELECT id FROM resident_memories WHERE subject_id = :u"), {"u": uid})]
            done = await s.execute(text("DELETE FROM resident_memories WHERE id = ANY(:ids) OR evidence && CAST(:ids AS bigint[])"),
                                   {"ids": ids})
            counts["resident_memories"] = done.rowcount
            counts["resident_people"] = (await s.execute(text("DELETE FROM resident_people WHERE person_id = :u"),
                                                         {"u": uid})).rowcount
            counts["chat_messages"] = (await s.execute(text(
                "DELETE FROM chat_messages WHERE sender_user_id = :u OR to_user_id = :u"), {"u": user_id})).rowcount
            for link in links(Base.metadata):
                if link.table in KEPT:
                    continue
                if link.ondelete == "SET NULL":
                    n = (await s.execute(text(f'UPDATE "{link.table}" SET "{link.column}" = NULL WHERE "{link.column}" = :u'),
                                         {"u": user_id})).rowcount
                else:
                    n = (await s.execute(text(f'DELETE FROM "{link.table}" WHERE "{link.column}" = :u'),
                                         {"u": user_id})).rowcount
                if n:
                    counts[link.table] = counts.get(link.table, 0) + n
            husk = f"deleted-{uuid.uuid4().hex[:12]}"
            # an unusable hash, no signup address; the token bump makes every node drop their sockets
            await s.execute(text("UPDATE users SET username = :n, password_hash = '!', signup_address = NULL, "
                                 "token_version = token_version + 1 WHERE id = :u"), {"n": husk, "u": user_id})
            await audit(s, actor_id=actor_id, action="privacy.erase", target_type="user", target_id=user_id,
                        reason=reason, details={"deleted": counts})
        return {"deleted": counts, "account": husk}

    async def _settle_live(self, uid: str) -> None:
        """Residents running here end a conversation with the person and write what they still hold,
        so the delete that follows finds it (nothing about them is left in memory to be written later)."""
        residents = self.ctx.residents
        if residents is None:
            return
        for agent in list(residents.agents.values()):
            try:
                if uid in agent.conversations:
                    await agent.left(uid)
                await agent.stream.flush()
            except Exception:
                log.exception("resident %s could not settle its memories", agent.persona.key)
