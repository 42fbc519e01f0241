"""Accounts: registration, login, tokens. No HTTP or Socket.IO objects in here."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Awaitable, Callable

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import ROLES, User
from server.db import Database, utcnow
from server.protocol import ProtocolError
from server.world.models import Avatar

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{3,24}$")
RESERVED = {"admin", "system", "moderator", "server", "townsquare", "treasury"}

# Called inside the registration transaction (e.g. the economy's starting grant).
UserCreatedHook = Callable[[AsyncSession, User], Awaitable[None]]


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    role: str
    expires_at: int


class Accounts:
    def __init__(self, db: Database, secret_key: str, *, token_ttl_s: int, languages: list[str],
                 default_language: str = "en", login_rate: str = "10/minute", login_ip_rate: str = "100/minute"):
        self.db = db
        self._secret = secret_key
        self.token_ttl_s = token_ttl_s
        self.languages = languages
        self.default_language = default_language
        # Cheaper argon2 parameters would weaken hashes; these are argon2-cffi's defaults.
        self._hasher = PasswordHasher()
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._login_limit = parse(login_rate)
        self._login_ip_limit = parse(login_ip_rate)
        self.on_user_created: list[UserCreatedHook] = []

    # -- validation -----------------------------------------------------------------------
    def check_username(self, username: str) -> str:
        if not USERNAME_RE.match(username):
            raise ProtocolError("invalid_payload", "username must be 3-24 letters, digits or _")
        if username.lower() in RESERVED:
            raise ProtocolError("invalid_payload", f"the name {username!r} is reserved")
        return username

    def check_password(self, password: str) -> str:
        if not 8 <= len(password) <= 128:
            raise ProtocolError("invalid_payload", "password must be 8-128 characters")
        return password

    def pick_language(self, language: str | None) -> str:
        """Accepts browser tags like 'es-MX'; falls back to the world default."""
        if language:
            base = language.split("-")[0].split("_")[0].lower()
            if base in self.languages:
                return base
        return self.default_language

    # -- operations -----------------------------------------------------------------------
    async def register(self, username: str, password: str, *, language: str | None = None,
                       role: str = "user", display_name: str | None = None) -> User:
        self.check_username(username)
        self.check_password(password)
        if role not in ROLES:
            raise ProtocolError("invalid_payload", f"role must be one of {', '.join(ROLES)}")
        pw_hash = self._hasher.hash(password)
        async with self.db.session() as s:
            taken = await s.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
            if taken:
                raise ProtocolError("conflict", f"the name {username!r} is taken")
            user = User(username=username, password_hash=pw_hash, role=role, language=self.pick_language(language))
            s.add(user)
            await s.flush()
            s.add(Avatar(user_id=user.id, display_name=display_name or username, appearance={}))
            for hook in self.on_user_created:
                await hook(s, user)
        return user

    async def login(self, username: str, password: str, *, ip: str = "") -> tuple[str, User]:
        for limit, key in ((self._login_limit, f"name:{username.lower()}"), (self._login_ip_limit, f"ip:{ip}")):
            if not await self._limiter.hit(limit, "login", key):
                raise ProtocolError("rate_limited", "too many login attempts, wait a minute")
        async with self.db.session() as s:
            user = await s.scalar(select(User).where(func.lower(User.username) == username.lower()))
            if user is None:
                raise ProtocolError("unauthorized", "wrong username or password")
            try:
                self._hasher.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                raise ProtocolError("unauthorized", "wrong username or password") from None
            if self._hasher.check_needs_rehash(user.password_hash):
                user.password_hash = self._hasher.hash(password)
            user.last_login_at = utcnow()
        return self.issue_token(user), user

    async def set_password(self, username: str, password: str) -> None:
        self.check_password(password)
        async with self.db.session() as s:
            user = await s.scalar(select(User).where(User.username == username))
            if user is None:
                raise ProtocolError("not_found", f"no user {username!r}")
            user.password_hash = self._hasher.hash(password)

    async def set_role(self, user_id: uuid.UUID, role: str) -> User:
        if role not in ROLES:
            raise ProtocolError("invalid_payload", f"role must be one of {', '.join(ROLES)}")
        async with self.db.session() as s:
            user = await s.get(User, user_id)
            if user is None:
                raise ProtocolError("not_found", "no such user")
            user.role = role
        return user

    async def get(self, user_id: uuid.UUID) -> User | None:
        async with self.db.session() as s:
            return await s.get(User, user_id)

    async def by_name(self, username: str) -> User | None:
        async with self.db.session() as s:
            return await s.scalar(select(User).where(func.lower(User.username) == username.lower()))

    # -- tokens ---------------------------------------------------------------------------
    def issue_token(self, user: User) -> str:
        now = int(time.time())
        claims = {"sub": str(user.id), "role": user.role, "iat": now, "exp": now + self.token_ttl_s}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify_token(self, token: str | None) -> TokenClaims:
        if not token or not isinstance(token, str):
            raise ProtocolError("unauthorized", "missing token")
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
            return TokenClaims(uuid.UUID(claims["sub"]), claims.get("role", "user"), int(claims["exp"]))
        except jwt.ExpiredSignatureError:
            raise ProtocolError("unauthorized", "token expired, log in again") from None
        except (jwt.InvalidTokenError, ValueError):
            raise ProtocolError("unauthorized", "invalid token") from None


def user_json(user: User) -> dict:
    return {"id": str(user.id), "username": user.username, "role": user.role, "language": user.language,
            "created_at": user.created_at.isoformat() if user.created_at else None}
