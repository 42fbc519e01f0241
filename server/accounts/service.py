"""Accounts: registration, login, passwords, tokens. No HTTP or Socket.IO objects in here."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import ROLES, User
from server.db import Database, utcnow
from server.protocol import ProtocolError
from server.text import clean_text
from server.world.models import Avatar

# \Z, not $: `$` also matches before a trailing newline ("admin\n" slipped past the reserved names).
USERNAME_RE = re.compile(r"[A-Za-z0-9_]{3,24}\Z")
RESERVED = {"admin", "system", "moderator", "server", "townsquare", "treasury"}
MAX_DISPLAY_NAME = 32
# zxcvbn's estimate costs ~10 ms of Python at 32 characters and grows with length; longer passwords
# are not among the common ones it is here to catch.
ZXCVBN_MAX = 32

# Called inside the registration transaction (e.g. the economy's starting grant).
UserCreatedHook = Callable[[AsyncSession, User], Awaitable[None]]
# Runs after the password matched and before a token is issued; raises ProtocolError to refuse.
LoginHook = Callable[[User], Awaitable[None]]


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    role: str
    expires_at: int
    version: int = 0


def _common_passwords() -> frozenset[str]:
    # zxcvbn's list of the 30,000 most common passwords (from leaked password sets), maintained upstream.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


class Accounts:
    def __init__(self, db: Database, secret_key: str, *, token_ttl_s: int, languages: list[str],
                 default_language: str = "en", login_rate: str = "10/minute", login_name_rate: str = "60/minute",
                 login_ip_rate: str = "100/minute", signup_rate: str = "10/hour", hash_workers: int = 2):
        self.db = db
        self._secret = secret_key
        self.token_ttl_s = token_ttl_s
        self.languages = languages
        self.default_language = default_language
        # Cheaper argon2 parameters would weaken hashes; these are argon2-cffi's defaults.
        self._hasher = PasswordHasher()
        # argon2 runs in C without the GIL: a few threads keep the event loop free while hashing,
        # and the pool's size bounds how many hashes run at once.
        self._hash_pool = ThreadPoolExecutor(max_workers=max(1, hash_workers), thread_name_prefix="argon2")
        self._hash_jobs = 0  # running and waiting
        self._hash_queue_max = 32 * max(1, hash_workers)
        self._dummy_hash: str | None = None
        self._common: frozenset[str] | None = None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._login_limit = parse(login_rate)  # per (name, address): one address cannot lock a name out
        self._login_name_limit = parse(login_name_rate)  # per name over all addresses: softer
        self._login_ip_limit = parse(login_ip_rate)  # per address over all names
        self._signup_limit = parse(signup_rate)  # per address
        # Hooks other domains add to (declared in accounts' Domain.offers).
        self.on_user_created: list[UserCreatedHook] = []
        self.on_login: list[LoginHook] = []

    @classmethod
    def from_settings(cls, db: Database, settings) -> Accounts:
        return cls(db, settings.resolved_secret_key(), token_ttl_s=settings.token_ttl_s,
                   languages=settings.languages, default_language=settings.default_language,
                   login_rate=settings.login_rate, login_name_rate=settings.login_name_rate,
                   login_ip_rate=settings.login_ip_rate, signup_rate=settings.signup_rate,
                   hash_workers=settings.password_hash_workers)

    def close(self) -> None:
        self._hash_pool.shutdown(wait=False, cancel_futures=True)

    # -- hashing, off the event loop -----------------------------------------------------------
    async def _in_pool(self, fn, *args):
        """Runs `fn` on the hashing threads; a flood beyond the queue bound is `overloaded`, not a growing wait."""
        if self._hash_jobs >= self._hash_queue_max:
            raise ProtocolError("overloaded", "the server is busy, try again in a moment")
        self._hash_jobs += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._hash_pool, fn, *args)
        finally:
            self._hash_jobs -= 1

    async def hash_password(self, password: str) -> str:
        return await self._in_pool(self._hasher.hash, password)

    async def _verify(self, pw_hash: str, password: str) -> bool:
        def verify() -> bool:
            try:
                return self._hasher.verify(pw_hash, password)
            except (VerificationError, InvalidHashError):
                return False
        return await self._in_pool(verify)

    async def _dummy(self) -> str:
        """A hash to verify against for an unknown name, so it takes as long as a wrong password."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash_password(uuid.uuid4().hex)
        return self._dummy_hash

    # -- validation -----------------------------------------------------------------------
    def check_username(self, username: object) -> str:
        username = clean_text(username, "username", max_len=64)
        if not USERNAME_RE.fullmatch(username):
            raise ProtocolError("invalid_payload", "username must be 3-24 letters, digits or _")
        if username.lower() in RESERVED:
            raise ProtocolError("invalid_payload", f"the name {username!r} is reserved")
        return username

    @staticmethod
    def check_display_name(name: object) -> str:
        return clean_text(name, "display_name", max_len=MAX_DISPLAY_NAME, required=True)

    async def check_password(self, password: object, username: str | None = None) -> str:
        if not isinstance(password, str) or not 8 <= len(password) <= 128:
            raise ProtocolError("invalid_payload", "password must be 8-128 characters")
        if self._common is None:
            self._common = _common_passwords()
        if password.lower() in self._common:
            raise ProtocolError("invalid_payload", "that password is one of the most common ones; choose another")
        if len(password) <= ZXCVBN_MAX:
            from zxcvbn import zxcvbn

            # Score 0: guessable in under ~1,000 tries (keyboard walks, repeats, the username itself).
            # On the hashing threads: the loop thread gets the GIL back every few ms meanwhile.
            estimate = await self._in_pool(lambda: zxcvbn(password, user_inputs=[username] if username else []))
            if estimate["score"] == 0:
                raise ProtocolError("invalid_payload", "that password is too easy to guess; choose a longer one")
        return password

    def pick_language(self, language: str | None) -> str:
        """Accepts browser tags like 'es-MX'; falls back to the world default."""
        if language:
            base = language.split("-")[0].split("_")[0].lower()
            if base in self.languages:
                return base
        return self.default_language

    def address_key(self, address: str | None) -> str | None:
        """A keyed hash of a client address (IPv6 by its /64, what one subscriber gets): countable
        per address without storing the address."""
        if not address:
            return None
        try:
            ip = ipaddress.ip_address(address)
            text = str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)
        except ValueError:
            text = address
        return hmac.new(self._secret.encode(), b"addr|" + text.encode(), hashlib.sha256).hexdigest()[:32]

    # -- operations -----------------------------------------------------------------------
    async def register(self, username: str, password: str, *, language: str | None = None,
                       role: str = "user", display_name: str | None = None, address: str | None = None) -> User:
        """`address` (the client's, None from the CLI) is rate-limited and capped for the starting grant."""
        username = self.check_username(username)
        await self.check_password(password, username)
        if display_name is not None:
            display_name = self.check_display_name(display_name)
        if role not in ROLES:
            raise ProtocolError("invalid_payload", f"role must be one of {', '.join(ROLES)}")
        if address is not None and not await self._limiter.hit(self._signup_limit, "signup", address):
            raise ProtocolError("rate_limited", "too many new accounts from your address, try again later")
        pw_hash = await self.hash_password(password)
        async with self.db.session() as s:
            taken = await s.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
            if taken:
                raise ProtocolError("conflict", f"the name {username!r} is taken")
            user = User(username=username, password_hash=pw_hash, role=role, language=self.pick_language(language),
                        signup_address=self.address_key(address))
            s.add(user)
            await s.flush()
            s.add(Avatar(user_id=user.id, display_name=display_name or username, appearance={}))
            for hook in self.on_user_created:
                await hook(s, user)
        return user

    async def login(self, username: str, password: str, *, ip: str = "") -> tuple[str, User]:
        """A token for name and password, unless an `on_login` hook refuses (moderation: a world ban)."""
        user = await self.verify_login(username, password, ip=ip)
        for hook in self.on_login:
            await hook(user)
        return self.issue_token(user), user

    async def verify_login(self, username: str, password: str, *, ip: str = "") -> User:
        """The user whose name and password these are (rate limited), without the login hooks:
        a banned person can still prove who they are to file an appeal."""
        username = clean_text(username, "username", max_len=64)
        name = username.lower()
        for limit, key in ((self._login_limit, f"name:{name}|ip:{ip}"), (self._login_ip_limit, f"ip:{ip}"),
                           (self._login_name_limit, f"name:{name}")):
            if not await self._limiter.hit(limit, "login", key):
                raise ProtocolError("rate_limited", "too many login attempts, wait a minute")
        if not isinstance(password, str):
            raise ProtocolError("invalid_payload", "password must be a string")
        user = await self.by_name(name)
        # The same argon2 work whether or not the name exists: timing does not tell.
        ok = await self._verify(user.password_hash if user is not None else await self._dummy(), password)
        if user is None or not ok:
            raise ProtocolError("unauthorized", "wrong username or password")
        values = {"last_login_at": utcnow()}
        if self._hasher.check_needs_rehash(user.password_hash):
            values["password_hash"] = await self.hash_password(password)
        async with self.db.session() as s:
            await s.execute(update(User).where(User.id == user.id).values(**values))
        return user

    async def change_password(self, user_id: uuid.UUID, old_password: str, new_password: str) -> tuple[str, User]:
        """The caller's own password; every older token (other devices too) stops working."""
        if not await self._limiter.hit(self._login_limit, "password", str(user_id)):
            raise ProtocolError("rate_limited", "too many password changes, wait a minute")
        user = await self.get(user_id)
        if user is None:
            raise ProtocolError("unauthorized", "account no longer exists")
        if not isinstance(old_password, str) or not await self._verify(user.password_hash, old_password):
            raise ProtocolError("forbidden", "the old password is wrong")
        await self.check_password(new_password, user.username)
        pw_hash = await self.hash_password(new_password)
        async with self.db.session() as s:
            # Only if nothing changed the password meanwhile (compare and set on the old hash).
            user = await s.scalar(update(User).where(User.id == user_id, User.password_hash == user.password_hash)
                                  .values(password_hash=pw_hash, token_version=User.token_version + 1)
                                  .returning(User))
            if user is None:
                raise ProtocolError("conflict", "the password was changed meanwhile, try again")
        return self.issue_token(user), user

    async def set_password(self, username: str, password: str) -> None:
        await self.check_password(password, username)
        pw_hash = await self.hash_password(password)
        async with self.db.session() as s:
            done = await s.execute(update(User).where(User.username == username)
                                   .values(password_hash=pw_hash, token_version=User.token_version + 1))
            if done.rowcount == 0:
                raise ProtocolError("not_found", f"no user {username!r}")

    async def set_role(self, user_id: uuid.UUID, role: str) -> User:
        """A role change also revokes the user's tokens (a database trigger bumps token_version)."""
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

    async def token_versions(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Current token versions (a user who no longer exists is left out)."""
        if not user_ids:
            return {}
        async with self.db.session() as s:
            rows = await s.execute(select(User.id, User.token_version).where(User.id.in_(user_ids)))
            return {r.id: r.token_version for r in rows}

    # -- tokens ---------------------------------------------------------------------------
    def issue_token(self, user: User) -> str:
        now = int(time.time())
        claims = {"sub": str(user.id), "role": user.role, "ver": user.token_version or 0, "iat": now,
                  "exp": now + self.token_ttl_s}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify_token(self, token: str | None) -> TokenClaims:
        if not token or not isinstance(token, str):
            raise ProtocolError("unauthorized", "missing token")
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
            return TokenClaims(uuid.UUID(claims["sub"]), claims.get("role", "user"), int(claims["exp"]),
                               int(claims.get("ver", 0)))
        except jwt.ExpiredSignatureError:
            raise ProtocolError("unauthorized", "token expired, log in again") from None
        except (jwt.InvalidTokenError, ValueError, TypeError):
            raise ProtocolError("unauthorized", "invalid token") from None

    async def authenticate(self, token: str | None, *, check_version: bool = True) -> tuple[User, TokenClaims]:
        """The user a token speaks for, if it is still valid: signed, unexpired and (unless the caller
        checks that itself) not revoked."""
        claims = self.verify_token(token)
        user = await self.get(claims.user_id)
        if user is None:
            raise ProtocolError("unauthorized", "account no longer exists")
        if check_version and claims.version != user.token_version:
            raise ProtocolError("unauthorized", "this session was ended (role, password or ban), log in again")
        return user, claims


def user_json(user: User) -> dict:
    return {"id": str(user.id), "username": user.username, "role": user.role, "language": user.language,
            "created_at": user.created_at.isoformat() if user.created_at else None}
