"""Every chat line as said and as delivered: stored before anyone sees it (design.md section 4)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, new_uuid, utcnow
from server.world.models import JSONType


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        CheckConstraint("sender_kind IN ('user', 'npc')", name="sender_kind"),
        CheckConstraint("action IN ('allow', 'mask', 'block', 'flag')", name="action"),
        Index("ix_chat_messages_room_created", "room_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    sender_kind: Mapped[str] = mapped_column(String(8))
    sender_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                             nullable=True, index=True)
    sender_npc_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sender_name: Mapped[str] = mapped_column(String(64))
    to_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    text: Mapped[str] = mapped_column(Text)  # as delivered (stages may mask it)
    original_text: Mapped[str] = mapped_column(Text)  # as the sender wrote it
    lang: Mapped[str | None] = mapped_column(String(16), nullable=True)
    action: Mapped[str] = mapped_column(String(8), default="allow")
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    moderation: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
