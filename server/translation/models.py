"""Translations stored with their chat line: history on join comes in the reader's language, and
the rows double as a cache that survives restarts (keyed by text hash, source and target)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, new_uuid, utcnow


class MessageTranslation(Base):
    __tablename__ = "message_translations"
    __table_args__ = (
        UniqueConstraint("message_id", "target", name="uq_message_translations_message_target"),
        Index("ix_message_translations_lookup", "text_hash", "source", "target"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chat_messages.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(16))
    # sha256 of the line with its protected spans as placeholders ("thanks [1]"), and its translation
    text_hash: Mapped[str] = mapped_column(String(64))
    template: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)  # the reader's copy, spans restored
    model: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
