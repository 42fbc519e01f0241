"""Avatars: how a person looks and is called, and where they were last (saved on leave,
disconnect and every few seconds while they walk)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import bindparam, update

from server.accounts.models import User
from server.db import Database, utcnow
from server.protocol import ProtocolError
from server.realtime.hub import Payload
from server.text import SafeText
from server.world.models import Avatar

COLOR = r"^#[0-9a-fA-F]{6}$"
HATS = ("none", "straw", "cap", "beanie", "top", "crown", "flower")


class Appearance(Payload):
    """The few things a client draws an avatar from; every key optional, unknown keys refused."""

    body: str | None = Field(None, pattern=COLOR)
    shirt: str | None = Field(None, pattern=COLOR)
    hair: str | None = Field(None, pattern=COLOR)
    pants: str | None = Field(None, pattern=COLOR)
    hat: Literal[HATS] | None = None  # type: ignore[valid-type]


class ProfileIn(Payload):
    display_name: SafeText | None = Field(None, min_length=1, max_length=32)
    language: SafeText | None = Field(None, max_length=16)
    appearance: Appearance | None = None


@dataclass
class AvatarState:
    user_id: uuid.UUID
    display_name: str
    appearance: dict[str, Any]
    room_id: uuid.UUID | None
    x: float
    y: float
    language: str


class Avatars:
    def __init__(self, db: Database, languages: list[str]):
        self.db = db
        self.languages = languages

    async def load(self, user_id: uuid.UUID) -> AvatarState | None:
        async with self.db.session() as s:
            avatar = await s.get(Avatar, user_id)
            user = await s.get(User, user_id)
        if avatar is None or user is None:
            return None
        return AvatarState(user_id, avatar.display_name, dict(avatar.appearance or {}), avatar.room_id,
                           avatar.x, avatar.y, user.language)

    async def save_place(self, user_id: uuid.UUID | str, room_id: uuid.UUID, x: float, y: float) -> None:
        """Where the person is now (join) or was last (leave, disconnect)."""
        async with self.db.session() as s:
            await s.execute(update(Avatar).where(Avatar.user_id == uuid.UUID(str(user_id)))
                            .values(room_id=room_id, x=x, y=y, updated_at=utcnow()))

    async def save_positions(self, room_id: uuid.UUID, positions: dict[str, tuple[float, float]]) -> None:
        """Periodic save of the walkers of one room, in one statement; a person who has since
        gone to another room is not touched (their row names that room)."""
        if not positions:
            return
        stmt = (update(Avatar.__table__)
                .where(Avatar.__table__.c.user_id == bindparam("uid"))
                .where(Avatar.__table__.c.room_id == room_id)
                .values(x=bindparam("nx"), y=bindparam("ny"), updated_at=utcnow()))
        rows = [{"uid": uuid.UUID(uid), "nx": x, "ny": y} for uid, (x, y) in positions.items()]
        async with self.db.session() as s:
            await (await s.connection()).execute(stmt, rows)

    async def update_profile(self, user_id: uuid.UUID, body: ProfileIn, check_name) -> dict[str, Any]:
        """Validate and save; `check_name` is ctx.check_public_text (raises ProtocolError if refused)."""
        name = None
        if body.display_name is not None:
            name = await check_name(body.display_name, kind="name")
            if not name or not name.strip():
                raise ProtocolError("invalid_payload", "display_name must not be empty")
        if body.language is not None and body.language not in self.languages:
            raise ProtocolError("invalid_payload", f"language must be one of {', '.join(self.languages)}")
        async with self.db.session() as s:
            avatar = await s.get(Avatar, user_id)
            user = await s.get(User, user_id)
            if avatar is None or user is None:
                raise ProtocolError("not_found", "no avatar for this account")
            if name is not None:
                avatar.display_name = name
            if body.appearance is not None:
                merged = dict(avatar.appearance or {})
                merged.update(body.appearance.model_dump(exclude_none=True))
                avatar.appearance = merged
            if body.language is not None:
                user.language = body.language
            return {"display_name": avatar.display_name, "language": user.language,
                    "appearance": dict(avatar.appearance or {})}
