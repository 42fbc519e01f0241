"""The world's running parts, built once by `create_app` and handed to every domain's setup."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    import socketio
    from redis.asyncio import Redis

    from ai.inference.client import InferenceClient
    from ai.inference.service import InferenceService
    from server.accounts.auth import Auth
    from server.accounts.service import Accounts
    from server.accounts.sessions import SessionWatch
    from server.assistant.service import Assistant
    from server.chat.service import ChatService
    from server.config import Settings
    from server.db import Database
    from server.economy.ledger import Ledger
    from server.economy.shops import Shops
    from server.events.service import EventService
    from server.moderation.service import ModerationService
    from server.realtime.facade import Realtime
    from server.realtime.hub import Hub
    from server.residents.service import ResidentService
    from server.rest import Api
    from server.translation.service import TranslationService
    from server.world.rooms import RoomService

# Checks a public string (display name, room name, description) before it is saved and returns
# it; raises ProtocolError when it is refused.
TextCheck = Callable[..., Awaitable[str]]


def get_ctx(app) -> AppContext:
    """The context of an aiohttp app (`request.app`)."""
    return app[CTX_KEY]


class AppContext:
    """Explicit dependencies: domains read what they need from here, never from globals.

    The shared parts come in the constructor; each domain's service is a typed field that its
    setup sets (None until then: a later domain may rely on an earlier one, in `server.domains`
    order). Hooks offered by the context itself: `public_text_checks`, `live_figures`,
    `session_fields` (and the hub's `on_connect` / `on_disconnect`)."""

    # Domain services, set by their domain's setup.
    inference: InferenceService | InferenceClient | None
    session_watch: SessionWatch | None
    rooms: RoomService | None
    chat: ChatService | None
    ledger: Ledger | None
    shops: Shops | None
    moderation: ModerationService | None
    translation: TranslationService | None
    residents: ResidentService | None
    assistant: Assistant | None
    events: EventService | None

    def __init__(self, settings: Settings, db: Database, sio: socketio.AsyncServer, hub: Hub,
                 api: Api, accounts: Accounts, auth: Auth, redis: Redis | None, world: dict, *,
                 realtime: Realtime, node_id: str):
        self.settings = settings
        self.db = db
        self.sio = sio
        self.hub = hub
        self.api = api
        self.accounts = accounts
        self.auth = auth
        self.redis = redis
        self.world = world  # the parsed world data file
        self.node_id = node_id
        self.realtime = realtime  # sending to people and nodes: the bus, fleet, fan-out and leases
        self.inference = self.session_watch = self.rooms = self.chat = None
        self.ledger = self.shops = self.moderation = self.translation = self.residents = self.assistant = None
        self.events = None
        # Run in order by check_public_text (moderation adds its check).
        self.public_text_checks: list[TextCheck] = []
        # Figures for /admin and doctor: name -> zero-arg callable returning a JSON-able value.
        self.live_figures: dict[str, Callable[[], Any]] = {}
        # Extra fields of the `session` event: name -> async (user id) -> JSON-able value.
        self.session_fields: dict[str, Callable[[uuid.UUID], Awaitable[Any]]] = {}

    async def check_public_text(self, text: str, **kw: Any) -> str:
        """The text as every check passes it (all allow when none is added)."""
        for check in self.public_text_checks:
            text = await check(text, **kw)
        return text


CTX_KEY = web.AppKey("ctx", AppContext)
