"""Sanctions and strikes: who is muted or banned, the automatic escalation ladder, and the
warn / mute / kick / ban / lift acts of moderators. Every act is written to the audit log.

Delivery (notices, disconnects) goes through a `Notifier` the handlers build, and room kicks and
bans through the world's RoomService, so this module holds no Socket.IO objects.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.auth import RANK
from server.accounts.models import User
from server.audit import record
from server.db import Database, utcnow
from server.moderation.models import Sanction, Strike
from server.protocol import ProtocolError

log = logging.getLogger(__name__)

ACTS = ("warn", "mute", "kick", "ban", "lift")


class Notifier(Protocol):
    async def notice(self, user_id: str, data: dict[str, Any]) -> None:
        """`moderation:notice` to every connection of the user, on any node."""

    async def kick(self, user_id: str, reason: str) -> None:
        """`kicked {"reason"}` to the user, then every node drops that user's connections."""


@dataclass(frozen=True)
class Ladder:
    strikes_to_mute: int = 3
    window_s: float = 600.0
    mutes_s: tuple[int, ...] = (300, 1800, 86400)
    reset_s: float = 30 * 24 * 3600.0

    @classmethod
    def from_settings(cls, settings) -> Ladder:
        return cls(settings.moderation_strikes_to_mute, settings.moderation_strike_window_s,
                   tuple(settings.moderation_mute_ladder_s) or (300,), settings.moderation_ladder_reset_s)

    def mute_for(self, earlier_mutes: int) -> int:
        return self.mutes_s[min(earlier_mutes, len(self.mutes_s) - 1)]


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def human_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 86400 and seconds % 3600 == 0:
        h = seconds // 3600
        return f"{h // 24} d" + (f" {h % 24} h" if h % 24 else "")
    if seconds >= 3600:
        return f"{seconds // 3600} h" + (f" {seconds % 3600 // 60} min" if seconds % 3600 // 60 else "")
    if seconds >= 60:
        return f"{seconds // 60} min" + (f" {seconds % 60} s" if seconds % 60 else "")
    return f"{seconds} s"


def is_active(s: Sanction, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return s.kind in ("mute", "ban") and s.lifted_at is None and (s.expires_at is None or s.expires_at > now)


def sanction_json(s: Sanction) -> dict[str, Any]:
    return {"id": str(s.id), "user_id": str(s.user_id), "kind": s.kind, "scope": s.scope,
            "room": (s.details or {}).get("room"), "reason": s.reason, "source": s.source,
            "created_by": str(s.created_by) if s.created_by else None, "created_at": iso(s.created_at),
            "expires_at": iso(s.expires_at), "lifted_at": iso(s.lifted_at),
            "lifted_by": str(s.lifted_by) if s.lifted_by else None, "lift_reason": s.lift_reason,
            "active": is_active(s)}


def strike_json(s: Strike) -> dict[str, Any]:
    return {"id": s.id, "source": s.source, "reason": s.reason,
            "message_id": str(s.message_id) if s.message_id else None,
            "review_id": str(s.review_id) if s.review_id else None, "voided": s.voided, "created_at": iso(s.created_at)}


def _uuid(value: Any, what: str = "user_id") -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ProtocolError("invalid_payload", f"{what} is not a valid id") from None


def _active_clause(now: datetime):
    return (Sanction.lifted_at.is_(None), or_(Sanction.expires_at.is_(None), Sanction.expires_at > now))


class Policy:
    def __init__(self, db: Database, ladder: Ladder, notifier: Notifier, rooms: Any = None):
        self.db = db
        self.ladder = ladder
        self.notifier = notifier
        self.rooms = rooms  # the world's RoomService: room kicks and bans (None: world-wide acts only)

    # -- what a user may do now ---------------------------------------------------------------
    async def active(self, user_id: uuid.UUID | str, kind: str, room_id: uuid.UUID | None = None) -> Sanction | None:
        """The active mute or ban of the world (or of that room) that ends last."""
        now = utcnow()
        where = [Sanction.user_id == _uuid(user_id), Sanction.kind == kind, *_active_clause(now)]
        if room_id is None:
            where.append(Sanction.scope == "world")
        else:
            where.append(or_(Sanction.scope == "world", Sanction.room_id == room_id))
        async with self.db.session() as s:
            return await s.scalar(select(Sanction).where(*where)
                                  .order_by(Sanction.expires_at.desc().nulls_first()).limit(1))

    async def active_list(self, user_id: uuid.UUID | str) -> list[dict[str, Any]]:
        """A user's active mutes and bans (world or room), for their own client to show."""
        async with self.db.session() as s:
            rows = (await s.scalars(select(Sanction).where(
                Sanction.user_id == _uuid(user_id), Sanction.kind.in_(("mute", "ban")), *_active_clause(utcnow()))
                .order_by(Sanction.created_at))).all()
            slugs = {}
            if self.rooms is not None:
                slugs = {i.id: i.slug for i in self.rooms.infos.values()}
            return [{"kind": r.kind, "scope": r.scope, "room": slugs.get(r.room_id) if r.room_id else None,
                     "reason": r.reason, "until": iso(r.expires_at)} for r in rows]

    async def require_not_muted(self, user_id: uuid.UUID | str, room_id: uuid.UUID | None) -> None:
        mute = await self.active(user_id, "mute", room_id)
        if mute is None:
            return
        if mute.expires_at is None:
            left = "until a moderator lifts it"
        else:
            left = f"for another {human_duration((mute.expires_at - utcnow()).total_seconds())}"
        raise ProtocolError("muted", f"you are muted {left}: {mute.reason}", until=iso(mute.expires_at))

    async def require_not_banned(self, user_id: uuid.UUID | str) -> None:
        ban = await self.active(user_id, "ban")
        if ban is None:
            return
        when = f"until {ban.expires_at:%Y-%m-%d %H:%M} UTC" if ban.expires_at else "for good"
        raise ProtocolError("banned", f"you are banned from this world {when}: {ban.reason}. "
                                      "You can appeal at /api/moderation/appeals",
                            until=iso(ban.expires_at), sanction_id=str(ban.id))

    # -- strikes and the ladder ---------------------------------------------------------------
    async def strike(self, user_id: uuid.UUID | str, source: str, reason: str, *, message_id: Any = None,
                     review_id: Any = None, actor: User | None = None) -> Sanction | None:
        """Count a strike; enough of them in the window mute the user automatically, longer each
        time (the ladder). Returns the automatic mute when this strike caused one. A strike a
        person gives (`actor`: an upheld report) follows the rank rules of their direct acts."""
        uid = _uuid(user_id)
        if actor is not None:
            await self.require_rank(actor, uid)
        async with self.db.session() as s:
            mute = await self._strike_in(s, uid, source, reason, message_id, review_id)
        if mute is not None:
            log.info("automatic mute of %s for %s", uid, mute.expires_at - mute.created_at)
            await self.notifier.notice(str(uid), {"action": "mute", "reason": mute.reason,
                                                  "until": iso(mute.expires_at), "automatic": True})
        return mute

    async def _strike_in(self, s: AsyncSession, uid: uuid.UUID, source: str, reason: str, message_id: Any,
                         review_id: Any) -> Sanction | None:
        # One user's strikes are counted one at a time (several nodes may add them at once).
        await s.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"moderation:{uid}"})
        now = utcnow()
        s.add(Strike(user_id=uid, source=source, reason=reason[:1000], created_at=now,
                     message_id=_uuid(message_id, "message_id") if message_id else None,
                     review_id=_uuid(review_id, "review_id") if review_id else None))
        await s.flush()
        ladder = self.ladder
        last_auto = await s.scalar(select(func.max(Sanction.created_at)).where(
            Sanction.user_id == uid, Sanction.kind == "mute", Sanction.source == "auto"))
        since = now - timedelta(seconds=ladder.window_s)
        if last_auto is not None and last_auto > since:
            since = last_auto  # strikes before the last automatic mute were paid for
        count = await s.scalar(select(func.count()).select_from(Strike).where(
            Strike.user_id == uid, Strike.voided.is_(False), Strike.created_at > since))
        if count < ladder.strikes_to_mute:
            return None
        earlier = await s.scalar(select(func.count()).select_from(Sanction).where(
            Sanction.user_id == uid, Sanction.kind == "mute", Sanction.source == "auto",
            Sanction.created_at > now - timedelta(seconds=ladder.reset_s)))
        seconds = ladder.mute_for(earlier)
        why = f"automatic: {count} strikes within {human_duration(ladder.window_s)} (latest: {reason})"
        mute = Sanction(id=uuid.uuid4(), user_id=uid, kind="mute", scope="world", reason=why[:1000], source="auto",
                        created_at=now, expires_at=now + timedelta(seconds=seconds),
                        details={"level": earlier + 1, "strikes": count, "seconds": seconds})
        s.add(mute)
        await s.flush()
        await record(s, actor_id=None, action="moderation.auto_mute", target_type="user", target_id=uid, reason=why,
                     details={"sanction_id": str(mute.id), "seconds": seconds, "level": earlier + 1})
        return mute

    async def void_strikes(self, user_id: uuid.UUID, *, message_id: uuid.UUID) -> int:
        async with self.db.session() as s:
            res = await s.execute(update(Strike).where(Strike.user_id == user_id, Strike.message_id == message_id)
                                  .values(voided=True))
            return res.rowcount or 0

    # -- moderators' acts ---------------------------------------------------------------------
    async def act(self, actor: User, user_id: Any, action: str, *, reason: str, minutes: int | None = None,
                  room: str | None = None, sanction_id: Any = None, kind: str | None = None,
                  source: str = "manual") -> dict[str, Any]:
        """warn / mute / kick / ban a user (of the world, or of one room), or lift a sanction."""
        if action not in ACTS:
            raise ProtocolError("invalid_payload", f"action must be one of {', '.join(ACTS)}")
        reason = (reason or "").strip()
        if not reason:
            raise ProtocolError("invalid_payload", "give a reason")
        uid = _uuid(user_id)
        target = await self.require_rank(actor, uid)
        info = None
        if room:
            if self.rooms is None:
                raise ProtocolError("not_found", "rooms are not available")
            info = await self.rooms.get_room(room)
            if info is None:
                raise ProtocolError("not_found", f"no room {room!r}")
        if action == "lift":
            return {"lifted": await self.lift(actor, uid, reason, sanction_id=sanction_id, kind=kind, room=info)}
        if action in ("warn", "kick") and minutes:
            raise ProtocolError("invalid_payload", f"a {action} has no duration")
        now = utcnow()
        expires = now + timedelta(minutes=minutes) if minutes else None
        if action == "ban" and info is not None:
            # The world's room bans keep the person out of the room (room:join refuses them).
            await self.rooms.ban(None, info.slug, uid, reason=reason, minutes=minutes)
        details = {"room": info.slug} if info else {}
        async with self.db.session() as s:
            sanction = Sanction(id=uuid.uuid4(), user_id=uid, kind=action, scope="room" if info else "world",
                                room_id=info.id if info else None, reason=reason, source=source,
                                created_by=actor.id, created_at=now, expires_at=expires, details=details)
            s.add(sanction)
            await s.flush()
            await record(s, actor_id=actor.id, action=f"moderation.{action}", target_type="user", target_id=uid,
                         reason=reason, details={"sanction_id": str(sanction.id), "scope": sanction.scope,
                                                 "room": details.get("room"), "until": iso(expires),
                                                 "username": target.username})
        notice = {"action": action, "reason": reason}
        if expires is not None:
            notice["until"] = iso(expires)
        if info is not None:
            notice["room"] = info.slug
        if action == "kick" and info is not None:
            await self.rooms.remove_user(info.slug, uid, "kicked")
            await self.notifier.notice(str(uid), notice)
        elif action in ("kick", "ban") and info is None:
            await self.notifier.notice(str(uid), notice)
            await self.notifier.kick(str(uid), reason)
        else:
            await self.notifier.notice(str(uid), notice)
        return {"sanction": sanction_json(sanction)}

    async def lift(self, actor: User, user_id: uuid.UUID, reason: str, *, sanction_id: Any = None,
                   kind: str | None = None, room: Any = None) -> list[dict[str, Any]]:
        """Lift one sanction (by id) or every active one of a kind (mute, ban) of the world or a room."""
        now = utcnow()
        async with self.db.session() as s:
            q = select(Sanction).where(Sanction.user_id == user_id, *_active_clause(now),
                                       Sanction.kind.in_(("mute", "ban"))).with_for_update()
            if sanction_id is not None:
                q = q.where(Sanction.id == _uuid(sanction_id, "sanction_id"))
            elif kind in ("mute", "ban"):
                q = q.where(Sanction.kind == kind)
                q = q.where(Sanction.room_id == room.id) if room is not None else q.where(Sanction.scope == "world")
            else:
                raise ProtocolError("invalid_payload", "name the sanction_id, or the kind (mute or ban) to lift")
            rows = (await s.execute(q)).scalars().all()
            if not rows:
                raise ProtocolError("not_found", "no such active sanction")
            for row in rows:
                row.lifted_at, row.lifted_by, row.lift_reason = now, actor.id, reason
                await record(s, actor_id=actor.id, action="moderation.lift", target_type="user", target_id=user_id,
                             reason=reason, details={"sanction_id": str(row.id), "kind": row.kind, "scope": row.scope,
                                                     "room": (row.details or {}).get("room")})
        for row in rows:
            slug = (row.details or {}).get("room")
            if row.kind == "ban" and row.scope == "room" and slug and self.rooms is not None:
                try:
                    await self.rooms.unban(None, slug, user_id)
                except ProtocolError:
                    pass  # the room is gone
            notice = {"action": "lift", "lifted": row.kind, "reason": reason}
            if slug:
                notice["room"] = slug
            await self.notifier.notice(str(user_id), notice)
        return [sanction_json(r) for r in rows]

    async def require_rank(self, actor: User, uid: uuid.UUID) -> User:
        """The target user, if `actor` may moderate them (not themself, not an equal or higher rank)."""
        async with self.db.session() as s:
            target = await s.get(User, uid)
        if target is None:
            raise ProtocolError("not_found", "no such user")
        if target.id == actor.id:
            raise ProtocolError("forbidden", "you cannot moderate yourself")
        if RANK.get(target.role, 0) >= RANK.get(actor.role, 0):
            raise ProtocolError("forbidden", f"a {actor.role} cannot moderate a {target.role}")
        return target

    # -- a user's record ----------------------------------------------------------------------
    async def user_record(self, user_id: Any) -> dict[str, Any]:
        uid = _uuid(user_id)
        async with self.db.session() as s:
            user = await s.get(User, uid)
            if user is None:
                raise ProtocolError("not_found", "no such user")
            strikes = (await s.execute(select(Strike).where(Strike.user_id == uid)
                                       .order_by(Strike.created_at.desc()).limit(200))).scalars().all()
            sanctions = (await s.execute(select(Sanction).where(Sanction.user_id == uid)
                                         .order_by(Sanction.created_at.desc()).limit(200))).scalars().all()
        since = utcnow() - timedelta(seconds=self.ladder.window_s)
        return {
            "user": {"id": str(user.id), "username": user.username, "role": user.role},
            "strikes": [strike_json(x) for x in strikes],
            "recent_strikes": sum(1 for x in strikes if not x.voided and x.created_at >= since),
            "sanctions": [sanction_json(x) for x in sanctions],
            "active": [sanction_json(x) for x in sanctions if is_active(x)],
        }
