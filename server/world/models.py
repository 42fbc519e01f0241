"""Rooms and avatars: the persistent places and where each person stands in them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, new_uuid, utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (
        CheckConstraint("access IN ('public', 'private')", name="access"),
        CheckConstraint("width > 0 AND height > 0", name="size"),
        CheckConstraint("capacity > 0", name="capacity"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    slug: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    width: Mapped[int] = mapped_column(Integer, default=32)
    height: Mapped[int] = mapped_column(Integer, default=24)
    capacity: Mapped[int] = mapped_column(Integer, default=50)
    access: Mapped[str] = mapped_column(String(16), default="public")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # Rows of tile codes: "." walkable, "#" blocked; empty means all walkable.
    tiles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    spawn_x: Mapped[float] = mapped_column(Float, default=1.0)
    spawn_y: Mapped[float] = mapped_column(Float, default=1.0)
    # The room's Tiled map (server/world/tiled.py); `tiles` and the spawn are read from it. Loaded
    # only when asked for (deferred): the rooms are refreshed every few seconds without it.
    map: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True, deferred=True)
    map_rev: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # +1 on each new map
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Avatar(Base):
    __tablename__ = "avatars"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(32))
    appearance: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    room_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"), nullable=True)
    x: Mapped[float] = mapped_column(Float, default=1.0)
    y: Mapped[float] = mapped_column(Float, default=1.0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class RoomBan(Base):
    """A person kept out of one room (by its owner, a moderator or an admin), until a time or for good."""

    __tablename__ = "room_bans"

    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    banned_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RoomInvite(Base):
    """Who may enter a private room besides its owner (and admins)."""

    __tablename__ = "room_invites"

    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
