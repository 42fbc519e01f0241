"""The human review queue: flagged lines and people's reports, with the lines around them;
resolved as upheld (a strike, optionally an act in the same call) or dismissed (a held line is
delivered after all). Reporters are told the outcome."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.auth import has_role
from server.accounts.models import User
from server.audit import record
from server.chat.models import ChatMessage
from server.db import Database, utcnow
from server.moderation.models import ReviewItem
from server.moderation.policy import Notifier, Policy, _uuid, iso
from server.protocol import ProtocolError
from server.world.models import Room, RoomInvite

CONTEXT_LINES = 5
OUTCOMES = ("upheld", "dismissed")


def line_json(m: ChatMessage, slug: str | None) -> dict[str, Any]:
    sender = str(m.sender_user_id) if m.sender_kind == "user" else m.sender_npc_id
    out = {"id": str(m.id), "room": slug, "from": {"id": sender, "name": m.sender_name, "kind": m.sender_kind},
           "text": m.text, "original_text": m.original_text, "action": m.action, "reason": m.reason,
           "held": m.held, "moderation": m.moderation, "created_at": iso(m.created_at)}
    if m.to_user_id is not None:
        out["to"] = str(m.to_user_id)
    return out


def severity_of(categories: dict[str, Any] | None) -> float:
    scores = [float(v) for v in (categories or {}).values() if isinstance(v, (int, float))]
    return round(max(scores, default=0.0), 4)


class Reviews:
    def __init__(self, db: Database, policy: Policy, notifier: Notifier, chat: Any = None):
        self.db = db
        self.policy = policy
        self.notifier = notifier
        self.chat = chat  # ChatService: releases held lines

    # -- into the queue -----------------------------------------------------------------------
    async def flag(self, message: dict[str, Any], *, sender_kind: str, sender_id: str, room_id: Any,
                   reason: str, categories: dict[str, Any], held: bool) -> str:
        """A line the classifier flagged (delivered or held): queued for a person to look at."""
        item = ReviewItem(id=uuid.uuid4(), kind="flag", message_id=uuid.UUID(message["id"]), room_id=room_id,
                          target_user_id=uuid.UUID(sender_id) if sender_kind == "user" else None,
                          target_npc_id=sender_id if sender_kind == "npc" else None, reason=reason,
                          categories=dict(categories or {}), severity=severity_of(categories),
                          details={"held": held}, created_at=utcnow())
        async with self.db.session() as s:
            s.add(item)
        return str(item.id)

    async def automatic(self, action: str, *, reason: str, user_id: Any = None, npc_id: str | None = None,
                        message: dict[str, Any] | None = None, room_id: Any = None,
                        categories: dict[str, Any] | None = None, sanction: Any = None) -> str:
        """An automatic action (a blocked or masked line, an automatic mute) listed for a person to
        look over: upheld, it stands; dismissed, it is undone (see `resolve`)."""
        details: dict[str, Any] = {"action": action}
        if sanction is not None:
            details.update(sanction_id=str(sanction.id), until=iso(sanction.expires_at))
        # A mute silences someone: near the top. Blocks and masks below reports (a person's word first).
        severity = {"mute": 0.9, "block": 0.6 * severity_of(categories)}.get(action, 0.3 * severity_of(categories))
        item = ReviewItem(id=uuid.uuid4(), kind="auto", message_id=uuid.UUID(message["id"]) if message else None,
                          room_id=room_id, target_user_id=_uuid(user_id) if user_id is not None else None,
                          target_npc_id=npc_id, reason=reason[:1000], categories=dict(categories or {}),
                          severity=round(min(severity, 1.0), 4), details=details, created_at=utcnow())
        async with self.db.session() as s:
            s.add(item)
        return str(item.id)

    async def report(self, reporter_id: uuid.UUID, reporter_role: str, *, reason: str, message_id: Any = None,
                     user_id: Any = None) -> str:
        """A person reports a line they could see, or another person; returns the report id."""
        reason = (reason or "").strip()
        if not reason:
            raise ProtocolError("invalid_payload", "say why you report this")
        if message_id is None and user_id is None:
            raise ProtocolError("invalid_payload", "name the message_id or the user_id you report")
        async with self.db.session() as s:
            msg = None
            target_user = _uuid(user_id) if user_id is not None else None
            if message_id is not None:
                msg = await s.get(ChatMessage, _uuid(message_id, "message_id"))
                if msg is None or not await self._can_see(s, msg, reporter_id, reporter_role):
                    raise ProtocolError("not_found", "no such message")
                if target_user is not None and msg.sender_user_id != target_user:
                    raise ProtocolError("invalid_payload", "that message is not from that user")
                target_user = msg.sender_user_id
            if target_user == reporter_id:
                raise ProtocolError("invalid_payload", "you cannot report yourself")
            if target_user is not None and await s.get(User, target_user) is None:
                raise ProtocolError("not_found", "no such user")
            # The same person reporting the same thing again: the open report stands.
            subject = (ReviewItem.message_id == msg.id) if msg is not None else and_(
                ReviewItem.message_id.is_(None), ReviewItem.target_user_id == target_user)
            same = await s.scalar(select(ReviewItem.id).where(
                ReviewItem.kind == "report", ReviewItem.status == "open", ReviewItem.reporter_id == reporter_id,
                subject))
            if same is not None:
                return str(same)
            categories = dict((msg.moderation or {}).get("categories") or {}) if msg is not None else {}
            others = await s.scalar(select(func.count()).select_from(ReviewItem).where(
                ReviewItem.status == "open", ReviewItem.kind == "report", ReviewItem.target_user_id == target_user)
            ) if target_user is not None else 0
            # Most severe first: the classifier's scores, at least 0.5 for a person's word, more
            # when several people report the same person.
            severity = min(1.0, max(0.5, severity_of(categories)) + 0.05 * (others or 0))
            item = ReviewItem(id=uuid.uuid4(), kind="report", message_id=msg.id if msg else None,
                              room_id=msg.room_id if msg else None, target_user_id=target_user,
                              target_npc_id=msg.sender_npc_id if msg is not None else None,
                              reporter_id=reporter_id, reason=reason[:1000], categories=categories,
                              severity=round(severity, 4), created_at=utcnow())
            s.add(item)
        return str(item.id)

    async def _can_see(self, s: AsyncSession, msg: ChatMessage, uid: uuid.UUID, role: str) -> bool:
        """Could this person have seen the line? Staff see all; whispers only their two people;
        room lines whoever may enter the room (its history is shown on join)."""
        if has_role(role, "moderator"):
            return True
        if msg.sender_user_id == uid:
            return False  # reporting your own line makes no sense
        if msg.action == "block" or msg.held:
            return False  # nobody but the sender saw it
        if msg.to_user_id is not None:
            return msg.to_user_id == uid
        room = await s.get(Room, msg.room_id)
        if room is None:
            return False
        if room.access == "public" or room.owner_id == uid:
            return True
        return await s.get(RoomInvite, (room.id, uid)) is not None

    # -- the queue ----------------------------------------------------------------------------
    async def queue(self, *, status: str = "open", kind: str | None = None, limit: int = 50,
                    context: bool = False) -> list[dict[str, Any]]:
        """Most severe first, then newest."""
        async with self.db.session() as s:
            q = select(ReviewItem).order_by(ReviewItem.severity.desc(), ReviewItem.created_at.desc()).limit(limit)
            if status != "all":
                q = q.where(ReviewItem.status == status)
            if kind:
                q = q.where(ReviewItem.kind == kind)
            items = (await s.execute(q)).scalars().all()
            return [await self._item_json(s, it, context=context) for it in items]

    async def get(self, review_id: Any) -> dict[str, Any]:
        async with self.db.session() as s:
            item = await s.get(ReviewItem, _uuid(review_id, "review id"))
            if item is None:
                raise ProtocolError("not_found", "no such review item")
            return await self._item_json(s, item, context=True)

    async def _item_json(self, s: AsyncSession, it: ReviewItem, *, context: bool) -> dict[str, Any]:
        slug = await s.scalar(select(Room.slug).where(Room.id == it.room_id)) if it.room_id else None
        out: dict[str, Any] = {
            "id": str(it.id), "kind": it.kind, "status": it.status, "severity": it.severity, "reason": it.reason,
            "categories": it.categories, "room": slug, "created_at": iso(it.created_at),
            "reporter": await self._user_ref(s, it.reporter_id),
            "target": (await self._user_ref(s, it.target_user_id)) if it.target_user_id
            else ({"id": it.target_npc_id, "kind": "npc"} if it.target_npc_id else None),
            "message": None, "resolved_by": str(it.resolved_by) if it.resolved_by else None,
            "resolved_at": iso(it.resolved_at), "resolution_note": it.resolution_note, "details": it.details,
        }
        msg = await s.get(ChatMessage, it.message_id) if it.message_id else None
        if msg is not None:
            out["message"] = line_json(msg, slug)
            out["reports"] = await s.scalar(select(func.count()).select_from(ReviewItem).where(
                ReviewItem.message_id == msg.id, ReviewItem.kind == "report"))
        if context:
            out["context"] = await self._context(s, msg, it.target_user_id, slug)
        return out

    async def _user_ref(self, s: AsyncSession, uid: uuid.UUID | None) -> dict[str, Any] | None:
        if uid is None:
            return None
        user = await s.get(User, uid)
        return {"id": str(uid), "username": user.username if user else None, "kind": "user"}

    async def _context(self, s: AsyncSession, msg: ChatMessage | None, target: uuid.UUID | None,
                       slug: str | None) -> list[dict[str, Any]]:
        """The lines around the message in its room (whispers and blocked lines included: staff
        see everything), or the reported person's latest lines."""
        if msg is not None:
            before = (await s.execute(select(ChatMessage).where(
                ChatMessage.room_id == msg.room_id, ChatMessage.created_at < msg.created_at)
                .order_by(ChatMessage.created_at.desc()).limit(CONTEXT_LINES))).scalars().all()
            after = (await s.execute(select(ChatMessage).where(
                ChatMessage.room_id == msg.room_id, ChatMessage.created_at > msg.created_at)
                .order_by(ChatMessage.created_at).limit(CONTEXT_LINES))).scalars().all()
            rows = [*reversed(before), msg, *after]
            return [{**line_json(r, slug), "is_reported": r.id == msg.id} for r in rows]
        if target is None:
            return []
        rows = (await s.execute(select(ChatMessage, Room.slug).join(Room, Room.id == ChatMessage.room_id)
                                .where(ChatMessage.sender_user_id == target)
                                .order_by(ChatMessage.created_at.desc()).limit(2 * CONTEXT_LINES))).all()
        return [line_json(m, sl) for m, sl in reversed(rows)]

    # -- resolution ---------------------------------------------------------------------------
    async def resolve(self, actor: User, review_id: Any, *, outcome: str, note: str = "",
                      action: dict[str, Any] | None = None) -> dict[str, Any]:
        """Upheld: a strike for the sender (and `action`, e.g. a mute, in the same call); the line
        is taken out of history. Dismissed: a held line is delivered after all. Every open item
        about the same line is resolved with it, and each reporter is told."""
        if outcome not in OUTCOMES:
            raise ProtocolError("invalid_payload", f"outcome must be one of {', '.join(OUTCOMES)}")
        rid = _uuid(review_id, "review id")
        async with self.db.session() as s:
            item = await s.get(ReviewItem, rid)
            if item is None:
                raise ProtocolError("not_found", "no such review item")
            if item.status != "open":
                raise ProtocolError("conflict", f"already resolved ({item.status})")
        if action and outcome != "upheld":
            raise ProtocolError("invalid_payload", "an action goes with an upheld review")
        if item.kind == "auto":
            return await self._resolve_automatic(actor, item, outcome=outcome, note=note, action=action)
        if outcome == "upheld" and item.target_user_id is not None:
            # Upholding strikes the person: refused before anything changes, as a direct act would be.
            await self.policy.require_rank(actor, item.target_user_id)
        applied = None
        if action:
            if item.target_user_id is None:
                raise ProtocolError("invalid_payload", "there is no person to act on (an NPC's line)")
            applied = await self.policy.act(actor, item.target_user_id, source="review", **action)
        now = utcnow()
        async with self.db.session() as s:
            q = select(ReviewItem).where(ReviewItem.status == "open").with_for_update()
            # Reports and flags of the same line go together; an automatic action is looked at on its own.
            q = q.where(or_(ReviewItem.id == rid, and_(ReviewItem.message_id == item.message_id,
                                                       ReviewItem.kind != "auto"))) if item.message_id \
                else q.where(ReviewItem.id == rid)
            items = (await s.execute(q)).scalars().all()
            if rid not in {i.id for i in items}:
                raise ProtocolError("conflict", "already resolved")
            for i in items:
                i.status, i.resolved_by, i.resolved_at, i.resolution_note = outcome, actor.id, now, note or None
            held = False
            if item.message_id is not None:
                msg = await s.get(ChatMessage, item.message_id, with_for_update=True)
                held = bool(msg and msg.held)
                if msg is not None and outcome == "upheld":
                    await s.execute(update(ChatMessage).where(ChatMessage.id == msg.id).values(
                        action="block", reason=f"removed by a moderator: {note or item.reason}"[:1000]))
            # Filed under the person the review is about, so their audit trail shows it.
            await record(s, actor_id=actor.id, action=f"moderation.review.{outcome}",
                         target_type="user" if item.target_user_id else "review",
                         target_id=item.target_user_id or rid, reason=note,
                         details={"items": [str(i.id) for i in items], "message_id": str(item.message_id or ""),
                                  "npc_id": item.target_npc_id, "action": action})
        auto_mute = None
        if outcome == "upheld" and item.target_user_id is not None:
            auto_mute = await self.policy.strike(item.target_user_id, item.kind, note or item.reason,
                                                 message_id=item.message_id, review_id=rid, actor=actor)
            if auto_mute is not None:
                await self.automatic("mute", reason=auto_mute.reason, user_id=item.target_user_id,
                                     sanction=auto_mute)
        released = None
        if outcome == "dismissed" and held and self.chat is not None:
            released = await self.chat.release(item.message_id)
        for i in items:
            if i.reporter_id is not None:
                await self.notifier.notice(str(i.reporter_id), {
                    "action": "report_resolved", "outcome": outcome, "report_id": str(i.id),
                    "reason": note or ("action was taken" if outcome == "upheld" else "no rule was broken")})
        return {"resolved": [str(i.id) for i in items], "outcome": outcome, "action": applied,
                "auto_mute": str(auto_mute.id) if auto_mute else None,
                "released": released["id"] if released else None}

    async def _resolve_automatic(self, actor: User, item: ReviewItem, *, outcome: str, note: str,
                                 action: dict[str, Any] | None) -> dict[str, Any]:
        """Upheld: the automatic action stands (no new strike). Dismissed: it is undone: an
        automatic mute lifted, a blocked line's strike voided (a mask has nothing left to undo)."""
        if action:
            raise ProtocolError("invalid_payload", "an automatic action is kept or undone; act on the person "
                                                   "from their record instead")
        done = (item.details or {}).get("action")
        now = utcnow()
        async with self.db.session() as s:
            row = await s.get(ReviewItem, item.id, with_for_update=True)
            if row.status != "open":
                raise ProtocolError("conflict", f"already resolved ({row.status})")
            row.status, row.resolved_by, row.resolved_at, row.resolution_note = outcome, actor.id, now, note or None
        undone: dict[str, Any] = {}
        if outcome == "dismissed" and item.target_user_id is not None:
            why = note or "a moderator undid an automatic action"
            if done == "mute" and (item.details or {}).get("sanction_id"):
                try:
                    undone["lifted"] = await self.policy.lift(actor, item.target_user_id, why,
                                                              sanction_id=item.details["sanction_id"])
                except ProtocolError as exc:
                    if exc.code != "not_found":
                        raise
                    undone["lifted"] = []  # it ended or was lifted meanwhile
            elif done == "block" and item.message_id is not None:
                undone["voided_strikes"] = await self.policy.void_strikes(item.target_user_id,
                                                                          message_id=item.message_id)
        async with self.db.session() as s:
            await record(s, actor_id=actor.id, action=f"moderation.auto.{'kept' if outcome == 'upheld' else 'undone'}",
                         target_type="user" if item.target_user_id else "review",
                         target_id=item.target_user_id or item.id, reason=note,
                         details={"review_id": str(item.id), "automatic": done,
                                  "message_id": str(item.message_id or ""), **undone})
        return {"resolved": [str(item.id)], "outcome": outcome, "action": None, "auto_mute": None,
                "released": None, "undone": undone}

    async def open_count(self) -> int:
        async with self.db.session() as s:
            return await s.scalar(select(func.count()).select_from(ReviewItem).where(ReviewItem.status == "open"))
