"""Moderation's tables: world and room rules, strikes, sanctions, the review queue, appeals."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, new_uuid, utcnow
from server.world.models import JSONType

SANCTION_KINDS = ("warn", "mute", "kick", "ban")
SCOPES = ("world", "room")
REVIEW_KINDS = ("flag", "report", "auto")
REVIEW_STATUSES = ("open", "upheld", "dismissed")
APPEAL_STATUSES = ("open", "granted", "denied")


class ModerationRuleSet(Base):
    """World rules (scope "world") or one room's override (scope "room:<room id>")."""

    __tablename__ = "moderation_rules"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    room_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), nullable=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Strike(Base):
    """One mark against a user: a blocked line, an upheld report or flag, a moderator's strike."""

    __tablename__ = "moderation_strikes"
    __table_args__ = (Index("ix_moderation_strikes_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))  # block | report | flag | manual
    reason: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chat_messages.id", ondelete="SET NULL"),
                                                         nullable=True)
    review_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("moderation_reviews.id", ondelete="SET NULL"),
                                                        nullable=True)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)  # an appeal was granted
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Sanction(Base):
    """A warning, mute, kick or ban, of the whole world or of one room, until a time or for good."""

    __tablename__ = "moderation_sanctions"
    __table_args__ = (
        CheckConstraint("kind IN ('warn', 'mute', 'kick', 'ban')", name="kind"),
        CheckConstraint("scope IN ('world', 'room')", name="scope"),
        Index("ix_moderation_sanctions_user_kind", "user_id", "kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    scope: Mapped[str] = mapped_column(String(8), default="world")
    room_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | auto | review
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lifted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    lift_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ReviewItem(Base):
    """The human review queue: a flagged line (kind "flag"), a person's report (kind "report"), or
    an automatic action to look over (kind "auto": a block, a mask, an automatic mute)."""

    __tablename__ = "moderation_reviews"
    __table_args__ = (
        CheckConstraint("kind IN ('flag', 'report', 'auto')", name="kind"),
        CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status"),
        Index("ix_moderation_reviews_status_severity", "status", "severity", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="open")
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chat_messages.id", ondelete="SET NULL"),
                                                         nullable=True, index=True)
    room_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"), nullable=True)
    target_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                             nullable=True, index=True)
    target_npc_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reporter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    severity: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Appeal(Base):
    """A user asks for a sanction or a blocked line to be looked at again."""

    __tablename__ = "moderation_appeals"
    __table_args__ = (CheckConstraint("status IN ('open', 'granted', 'denied')", name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sanction_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("moderation_sanctions.id", ondelete="CASCADE"),
                                                          nullable=True)
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chat_messages.id", ondelete="SET NULL"),
                                                         nullable=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
