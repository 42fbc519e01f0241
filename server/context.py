"""The world's running parts, built once by `create_app` and handed to every domain's setup."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socketio
    from redis.asyncio import Redis

    from server.accounts.auth import Auth
    from server.accounts.service import Accounts
    from server.config import Settings
    from server.db import Database
    from server.realtime.hub import Hub
    from server.rest import Api

# Checks a public string (display name, room name, description) before it is saved;
# raises ProtocolError when it is refused. Moderation replaces the default, which allows all.
from aiohttp import web

TextCheck = Callable[..., Awaitable[str]]


async def _allow_all(text: str, **_: Any) -> str:
    return text


def get_ctx(app) -> AppContext:
    """The context of an aiohttp app (`request.app`)."""
    return app[CTX_KEY]


class AppContext:
    """Explicit dependencies: domains read what they need from here, never from globals."""

    def __init__(self, settings: Settings, db: Database, sio: socketio.AsyncServer, hub: Hub,
                 api: Api, accounts: Accounts, auth: Auth, redis: Redis | None, world: dict):
        self.settings = settings
        self.db = db
        self.sio = sio
        self.hub = hub
        self.api = api
        self.accounts = accounts
        self.auth = auth
        self.redis = redis
        self.world = world  # the parsed world data file
        self.node_id = uuid.uuid4().hex[:12]
        self.check_public_text: TextCheck = _allow_all
        # Domain services, set by each domain's setup (None until that domain is present).
        self.rooms: Any = None
        self.chat: Any = None
        self.ledger: Any = None
        self.shops: Any = None
        self.moderation: Any = None
        self.translation: Any = None
        self.inference: Any = None
        self.residents: Any = None
        # Figures for /admin and doctor: name -> zero-arg callable returning a JSON-able value.
        self.live_figures: dict[str, Callable[[], Any]] = {}
        # Extra fields of the `session` event: name -> async (user id) -> JSON-able value.
        self.session_fields: dict[str, Callable[[uuid.UUID], Awaitable[Any]]] = {}


CTX_KEY = web.AppKey("ctx", AppContext)
