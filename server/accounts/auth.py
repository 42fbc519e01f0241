"""Who is calling: bearer tokens on REST, with a role check (user < moderator < admin)."""

from __future__ import annotations

from aiohttp import web

from server.accounts.models import User
from server.accounts.service import Accounts
from server.protocol import ProtocolError

CURRENT_USER = web.RequestKey("user", User)
RANK = {"user": 0, "moderator": 1, "admin": 2}


def has_role(role: str, needed: str) -> bool:
    return RANK.get(role, -1) >= RANK[needed]


class Auth:
    def __init__(self, accounts: Accounts):
        self.accounts = accounts

    async def require(self, request: web.Request, role: str = "user") -> User:
        """Sets request["user"]; the role is read from the database, not trusted from the token."""
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else None
        claims = self.accounts.verify_token(token)
        user = await self.accounts.get(claims.user_id)
        if user is None:
            raise ProtocolError("unauthorized", "account no longer exists")
        if not has_role(user.role, role):
            raise ProtocolError("forbidden", f"this needs the {role} role")
        request[CURRENT_USER] = user
        return user
