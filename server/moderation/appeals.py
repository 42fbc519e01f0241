"""Appeals: a user asks for a mute, a ban or a blocked line to be looked at again; a moderator
grants (the sanction is lifted, the line's strikes are voided) or denies, and the user is told."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from server.accounts.models import User
from server.audit import record
from server.chat.models import ChatMessage
from server.db import Database, utcnow
from server.moderation.models import Appeal, Sanction
from server.moderation.policy import Notifier, Policy, _uuid, is_active, iso, sanction_json
from server.protocol import ProtocolError

OUTCOMES = ("granted", "denied")
MAX_OPEN = 5


def appeal_json(a: Appeal, sanction: Sanction | None = None, username: str | None = None) -> dict[str, Any]:
    out = {"id": str(a.id), "user_id": str(a.user_id), "sanction_id": str(a.sanction_id) if a.sanction_id else None,
           "message_id": str(a.message_id) if a.message_id else None, "text": a.text, "status": a.status,
           "created_at": iso(a.created_at), "resolved_at": iso(a.resolved_at), "resolution_note": a.resolution_note}
    if sanction is not None:
        out["sanction"] = sanction_json(sanction)
    if username is not None:
        out["username"] = username
    return out


class Appeals:
    def __init__(self, db: Database, policy: Policy, notifier: Notifier):
        self.db = db
        self.policy = policy
        self.notifier = notifier

    async def file(self, user_id: uuid.UUID, text: str, *, sanction_id: Any = None,
                   message_id: Any = None) -> dict[str, Any]:
        """Appeal a sanction of yours, or a line of yours that was blocked; with neither named,
        your active world ban (or else mute) is the one appealed."""
        text = (text or "").strip()
        if not text:
            raise ProtocolError("invalid_payload", "say why the decision should change")
        async with self.db.session() as s:
            open_count = await s.scalar(select(func.count()).select_from(Appeal).where(
                Appeal.user_id == user_id, Appeal.status == "open"))
            if open_count >= MAX_OPEN:
                raise ProtocolError("rate_limited", f"you have {open_count} open appeals: wait for an answer")
            sanction = None
            if sanction_id is not None:
                sanction = await s.get(Sanction, _uuid(sanction_id, "sanction_id"))
                if sanction is None or sanction.user_id != user_id or sanction.kind not in ("mute", "ban"):
                    raise ProtocolError("not_found", "no such mute or ban of yours")
            elif message_id is not None:
                msg = await s.get(ChatMessage, _uuid(message_id, "message_id"))
                if msg is None or msg.sender_user_id != user_id:
                    raise ProtocolError("not_found", "no such message of yours")
                if msg.action != "block":
                    raise ProtocolError("invalid_payload", "that message was not blocked")
            else:
                now = utcnow()
                active = [x for x in (await s.execute(select(Sanction).where(
                    Sanction.user_id == user_id, Sanction.kind.in_(("ban", "mute"))))).scalars() if is_active(x, now)]
                active.sort(key=lambda x: (x.kind != "ban", x.scope != "world"))
                if not active:
                    raise ProtocolError("invalid_payload", "name the sanction_id or message_id you appeal")
                sanction = active[0]
            mid = _uuid(message_id, "message_id") if sanction is None else None
            dup = await s.scalar(select(Appeal.id).where(
                Appeal.user_id == user_id, Appeal.status == "open",
                Appeal.sanction_id == sanction.id if sanction is not None else Appeal.message_id == mid))
            if dup is not None:
                raise ProtocolError("conflict", "you already appealed this; wait for an answer")
            appeal = Appeal(id=uuid.uuid4(), user_id=user_id, sanction_id=sanction.id if sanction else None,
                            message_id=mid, text=text[:2000], created_at=utcnow())
            s.add(appeal)
            return appeal_json(appeal, sanction)

    async def mine(self, user_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rows = (await s.execute(select(Appeal).where(Appeal.user_id == user_id)
                                    .order_by(Appeal.created_at.desc()).limit(50))).scalars().all()
            return [appeal_json(a) for a in rows]

    async def list(self, *, status: str = "open", limit: int = 50) -> list[dict[str, Any]]:
        """Oldest open first: appeals are answered in the order they came."""
        async with self.db.session() as s:
            q = select(Appeal, Sanction, User.username).join(User, User.id == Appeal.user_id) \
                .join(Sanction, Sanction.id == Appeal.sanction_id, isouter=True).limit(limit)
            if status != "all":
                q = q.where(Appeal.status == status)
            q = q.order_by(Appeal.created_at if status == "open" else Appeal.created_at.desc())
            return [appeal_json(a, sn, name) for a, sn, name in (await s.execute(q)).all()]

    async def resolve(self, actor: User, appeal_id: Any, *, outcome: str, note: str = "") -> dict[str, Any]:
        if outcome not in OUTCOMES:
            raise ProtocolError("invalid_payload", f"outcome must be one of {', '.join(OUTCOMES)}")
        now = utcnow()
        async with self.db.session() as s:
            appeal = await s.get(Appeal, _uuid(appeal_id, "appeal id"), with_for_update=True)
            if appeal is None:
                raise ProtocolError("not_found", "no such appeal")
            if appeal.status != "open":
                raise ProtocolError("conflict", f"already {appeal.status}")
            if appeal.user_id == actor.id:
                raise ProtocolError("forbidden", "you cannot decide your own appeal")
            appeal.status, appeal.resolved_by, appeal.resolved_at = outcome, actor.id, now
            appeal.resolution_note = note or None
            sanction = await s.get(Sanction, appeal.sanction_id) if appeal.sanction_id else None
            await record(s, actor_id=actor.id, action=f"moderation.appeal.{outcome}", target_type="user",
                         target_id=appeal.user_id, reason=note,
                         details={"appeal_id": str(appeal.id), "sanction_id": str(appeal.sanction_id or ""),
                                  "message_id": str(appeal.message_id or "")})
        lifted: list = []
        if outcome == "granted":
            if sanction is not None and is_active(sanction):
                lifted = await self.policy.lift(actor, appeal.user_id, f"appeal granted: {note}".strip(": "),
                                                sanction_id=sanction.id)
            if appeal.message_id is not None:
                await self.policy.void_strikes(appeal.user_id, message_id=appeal.message_id)
        await self.notifier.notice(str(appeal.user_id), {
            "action": "appeal_resolved", "outcome": outcome, "appeal_id": str(appeal.id),
            "reason": note or ("the decision was reversed" if outcome == "granted" else "the decision stands")})
        return {"appeal": appeal_json(appeal, sanction), "lifted": lifted}
