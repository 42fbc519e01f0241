"""Accounts over REST (register, login, me) and the Socket.IO handshake."""

from __future__ import annotations

import logging

import socketio
from pydantic import BaseModel, Field

from server.accounts.auth import CURRENT_USER
from server.accounts.service import user_json
from server.protocol import ProtocolError
from server.realtime.hub import Connection, user_channel
from server.world.models import Avatar

log = logging.getLogger(__name__)


class RegisterIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    language: str | None = Field(None, max_length=16)
    display_name: str | None = Field(None, max_length=32)


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class AuthOut(BaseModel):
    token: str
    user: dict


def setup(ctx) -> None:
    api, hub, accounts = ctx.api, ctx.hub, ctx.accounts

    @api.route("POST", "/api/auth/register", body=RegisterIn, tag="accounts", response=AuthOut)
    async def register(request, body: RegisterIn):
        """Create an account (and its avatar) and log in."""
        if body.display_name is not None:
            await ctx.check_public_text(body.display_name, kind="name")
        user = await accounts.register(body.username, body.password, language=body.language,
                                       display_name=body.display_name)
        return {"token": accounts.issue_token(user), "user": user_json(user)}

    @api.route("POST", "/api/auth/login", body=LoginIn, tag="accounts", response=AuthOut)
    async def login(request, body: LoginIn):
        """Exchange a name and password for a token."""
        token, user = await accounts.login(body.username, body.password, ip=request.remote or "")
        return {"token": token, "user": user_json(user)}

    @api.route("GET", "/api/me", auth="user", tag="accounts")
    async def me(request):
        """The caller's account and avatar."""
        user = request[CURRENT_USER]
        async with ctx.db.session() as s:
            avatar = await s.get(Avatar, user.id)
        return {"user": user_json(user), "avatar": {"display_name": avatar.display_name,
                                                    "appearance": avatar.appearance} if avatar else None}

    @hub.sio.event
    async def connect(sid, environ, auth):
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = accounts.verify_token(token)
            async with ctx.db.session() as s:
                user = await accounts.get(claims.user_id)
                avatar = await s.get(Avatar, claims.user_id) if user else None
            if user is None or avatar is None:
                raise ProtocolError("unauthorized", "account no longer exists")
            conn = Connection(sid=sid, user_id=user.id, username=user.username, role=user.role,
                              language=user.language, display_name=avatar.display_name)
            for hook in hub.on_connect:
                await hook(conn)
        except ProtocolError as e:
            # JS clients read err.data.code; the message stays human-readable.
            raise socketio.exceptions.ConnectionRefusedError(e.message, e.to_dict()) from None
        hub.connections[sid] = conn
        await hub.sio.enter_room(sid, user_channel(user.id))
        log.info("connected %s as %s", sid, user.username)

    @hub.sio.event
    async def disconnect(sid, reason=None):
        conn = hub.connections.get(sid)
        if conn is None:
            return
        try:
            for hook in hub.on_disconnect:
                try:
                    await hook(conn)
                except Exception:
                    log.exception("disconnect hook failed for %s", sid)
        finally:
            hub.connections.pop(sid, None)
        log.info("disconnected %s (%s)", sid, reason)
