"""Accounts over REST (register, login, me, password) and the Socket.IO handshake; revoked
sessions (role change, world ban, password change) are dropped at once on every node."""

from __future__ import annotations

import logging

import socketio
from pydantic import BaseModel, Field

from server.accounts.auth import CURRENT_USER
from server.accounts.service import user_json
from server.accounts.sessions import SessionWatch
from server.protocol import ProtocolError
from server.realtime.hub import Connection, user_channel
from server.text import SafeText
from server.world.models import Avatar

log = logging.getLogger(__name__)

TOKEN_VERSION = "token_version"  # Connection.data key: the version of the token this socket connected with
REVOKED = "token_revoked"  # Connection.data key, read once by the connect gate below


class RegisterIn(BaseModel):
    username: SafeText = Field(max_length=64)
    password: str = Field(max_length=256)
    language: SafeText | None = Field(None, max_length=16)
    display_name: SafeText | None = Field(None, max_length=32)


class LoginIn(BaseModel):
    username: SafeText = Field(max_length=64)
    password: str = Field(max_length=256)


class PasswordIn(BaseModel):
    old_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class AuthOut(BaseModel):
    token: str
    user: dict


def setup(ctx) -> None:
    api, hub, accounts = ctx.api, ctx.hub, ctx.accounts

    @api.route("POST", "/api/auth/register", body=RegisterIn, tag="accounts", response=AuthOut)
    async def register(request, body: RegisterIn):
        """Create an account (and its avatar) and log in. Names are moderated like display names."""
        username = accounts.check_username(body.username)
        await ctx.check_public_text(username, kind="username")
        display_name = None
        if body.display_name is not None:
            display_name = await ctx.check_public_text(accounts.check_display_name(body.display_name), kind="name")
        user = await accounts.register(username, body.password, language=body.language,
                                       display_name=display_name, address=ctx.auth.address(request))
        return {"token": accounts.issue_token(user), "user": user_json(user)}

    @api.route("POST", "/api/auth/login", body=LoginIn, tag="accounts", response=AuthOut)
    async def login(request, body: LoginIn):
        """Exchange a name and password for a token."""
        token, user = await accounts.login(body.username, body.password, ip=ctx.auth.address(request))
        return {"token": token, "user": user_json(user)}

    @api.route("POST", "/api/me/password", body=PasswordIn, auth="user", tag="accounts", response=AuthOut)
    async def change_password(request, body: PasswordIn):
        """Change your password: every older token (other devices too) stops working; a new one is returned."""
        token, user = await accounts.change_password(request[CURRENT_USER].id, body.old_password, body.new_password)
        return {"token": token, "user": user_json(user)}

    @api.route("GET", "/api/me", auth="user", tag="accounts")
    async def me(request):
        """The caller's account and avatar."""
        user = request[CURRENT_USER]
        async with ctx.db.session() as s:
            avatar = await s.get(Avatar, user.id)
        return {"user": user_json(user), "avatar": {"display_name": avatar.display_name,
                                                    "appearance": avatar.appearance} if avatar else None}

    async def refuse_revoked(conn: Connection) -> None:
        # A connect gate, not a check inside the handshake: moderation's ban gate (inserted ahead of
        # it) tells a banned person why, and the world's hooks never see a refused socket.
        if conn.data.pop(REVOKED, False):
            raise ProtocolError("unauthorized", "this session was ended (role, password or ban), log in again")

    hub.on_connect.append(refuse_revoked)

    @hub.sio.event
    async def connect(sid, environ, auth):
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            user, claims = await accounts.authenticate(token, check_version=False)
            async with ctx.db.session() as s:
                avatar = await s.get(Avatar, user.id)
            if avatar is None:
                raise ProtocolError("unauthorized", "account no longer exists")
            conn = Connection(sid=sid, user_id=user.id, username=user.username, role=user.role,
                              language=user.language, display_name=avatar.display_name)
            conn.data[TOKEN_VERSION] = claims.version
            conn.data[REVOKED] = claims.version != user.token_version
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


# -- revoked sessions -------------------------------------------------------------------------
async def drop_revoked(ctx, user_id, version: int, reason: str) -> None:
    """Tell each of this node's sockets of the user that connected with an older token why, then drop it."""
    for conn in ctx.hub.connections_of(user_id):
        if conn.data.get(TOKEN_VERSION, 0) >= version:
            continue
        try:  # `kicked` goes onto the socket's queue ahead of the disconnect (as moderation's kicks do)
            await ctx.realtime.drop(conn.sid, "kicked", {"reason": reason})
        except Exception:
            log.exception("disconnecting %s failed", conn.sid)
        log.info("dropped %s of %s: %s", conn.sid, conn.username, reason)


async def startup(ctx) -> None:
    async def revoked(user_id, version: int, reason: str) -> None:
        await drop_revoked(ctx, user_id, version, reason)

    async def sweep() -> None:
        conns = list(ctx.hub.connections.values())
        current = await ctx.accounts.token_versions(list({c.user_id for c in conns}))
        for c in conns:
            version = current.get(c.user_id)
            if version is None or c.data.get(TOKEN_VERSION, 0) < version:
                await drop_revoked(ctx, c.user_id, version if version is not None else 1 << 30,
                                   "your session was ended, log in again")

    ctx.session_watch = SessionWatch(ctx.db.url, revoked, sweep)
    ctx.session_watch.start()


async def shutdown(ctx) -> None:
    watch = getattr(ctx, "session_watch", None)
    if watch is not None:
        await watch.stop()
    ctx.accounts.close()
