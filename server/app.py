"""Builds the aiohttp app: Socket.IO, REST routes, static client, lifecycle."""

from __future__ import annotations

import asyncio
import logging
import uuid
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import socketio
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest

from server.accounts.auth import Auth
from server.accounts.service import Accounts
from server.config import Settings
from server.context import CTX_KEY, AppContext
from server.db import Database
from server.db.health import DatabaseUnavailable
from server.domain import Domain
from server.domains import DOMAINS
from server.realtime.facade import Realtime
from server.realtime.guard import WireGuard, origin_check
from server.realtime.hub import Hub
from server.rest import Api, body_timeout, error_middleware, json_response, security_headers
from server.world.seed import load_world_file

log = logging.getLogger(__name__)

CLIENT_DIR = Path(__file__).resolve().parents[1] / "client_web"
MAX_PAYLOAD_BYTES = 64 * 1024
CONNECTED = Gauge("townsquare_connections", "Socket.IO connections on this node")

try:
    VERSION = version("townsquare")
except PackageNotFoundError:  # running from a source tree without an install
    VERSION = "0.0.0"


async def _bounded(coro, timeout: float, what: str) -> None:
    """Await a shutdown step for at most `timeout` s: a stuck one is logged and left, so the node still stops."""
    try:
        await asyncio.wait_for(coro, timeout)
    except TimeoutError:
        log.error("%s took over %.0f s; left unfinished", what, timeout)


def create_app(settings: Settings, database_url: str, domains: tuple[Domain, ...] = DOMAINS) -> web.Application:
    """The world's app with `domains` set up in order (server.domains.DOMAINS unless a test gives others)."""
    db = Database(database_url, retry_deadline_s=settings.db_retry_deadline_s)
    redis = None
    if settings.redis_url:
        from redis.asyncio import BlockingConnectionPool, Redis

        from server.realtime.redis_link import CALL_TIMEOUT_S, ResilientRedisManager, link_of

        # A connect bounded in time: a Redis that is gone must not hang the calls that find out. A
        # blocking pool: a burst of calls (a thousand joins) waits for a connection instead of
        # failing with "Too many connections", which would read as an outage.
        redis = Redis(connection_pool=BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=64, timeout=CALL_TIMEOUT_S, socket_connect_timeout=CALL_TIMEOUT_S))
        manager = ResilientRedisManager(settings.redis_url, link_of(redis), channel="townsquare")
    else:
        manager = None
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        max_http_buffer_size=MAX_PAYLOAD_BYTES,
        ping_interval=settings.ping_interval_s,
        ping_timeout=settings.ping_timeout_s,
        monitor_clients=True,  # closes clients that stop answering pings: our read loop has no timeout
        cors_allowed_origins=origin_check(settings.allowed_origins),  # websockets: same origin unless listed
        logger=False,
        engineio_logger=False,
    )
    app = web.Application(middlewares=[error_middleware, body_timeout(settings.http_body_timeout_s)],
                          client_max_size=MAX_PAYLOAD_BYTES,
                          # aiohttp's keep-alive timer also runs before the first request: it bounds a half-sent header
                          handler_args={"keepalive_timeout": settings.http_keepalive_s})
    app.on_response_prepare.append(security_headers)
    sio.attach(app)
    api = Api()
    hub = Hub(sio)
    node_id = uuid.uuid4().hex[:12]
    WireGuard(sio, hub, auth_timeout_s=settings.auth_timeout_s, bad_frame_limit=settings.bad_frame_limit,
              bad_frame_window_s=settings.bad_frame_window_s).install()
    accounts = Accounts.from_settings(db, settings)
    realtime = Realtime(sio, hub, node_id, redis, prefix=settings.redis_prefix,
                        send_queue_limit=settings.send_queue_limit)
    ctx = AppContext(settings, db, sio, hub, api, accounts, Auth(accounts, settings.trusted_proxies), redis,
                     load_world_file(settings.world_file), realtime=realtime, node_id=node_id)
    ctx.live_figures["connections"] = lambda: len(hub.connections)
    if redis is not None:
        ctx.live_figures["redis"] = link_of(redis).figures
    app[CTX_KEY] = ctx

    for domain in domains:
        if domain.setup is not None:
            domain.setup(ctx)

    async def healthz(request: web.Request) -> web.Response:
        try:
            await db.ping()
        except Exception as e:  # the point of the check is to report, not raise
            state = e.state if isinstance(e, DatabaseUnavailable) else f"unreachable: {e.__class__.__name__}"
            return json_response({"status": "error", "database": state}, 503)
        out = {"status": "ok", "database": "ok", "node": ctx.node_id, "version": VERSION}
        if redis is not None:  # down: this node still serves its own people (200), the fleet is split
            out["redis"] = link_of(redis).figures()
            if out["redis"]["state"] != "ok":
                out["status"] = "degraded"
        return json_response(out)

    async def metrics(request: web.Request) -> web.Response:
        CONNECTED.set(len(hub.connections))
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def openapi(request: web.Request) -> web.Response:
        return json_response(api.openapi(VERSION))

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_routes(api.routes)
    _add_client_routes(app)

    async def on_startup(app: web.Application) -> None:
        for domain in domains:
            if domain.startup is not None:
                await domain.startup(ctx)
        log.info("world up: node %s, %d domains", ctx.node_id, len(domains))

    async def on_shutdown(app: web.Application) -> None:
        # Runs before connections close: domains save positions and say goodbye.
        for domain in reversed(domains):
            if domain.shutdown is not None:
                try:
                    await _bounded(domain.shutdown(ctx), settings.shutdown_timeout_s, f"shutdown of {domain.name}")
                except Exception:
                    log.exception("shutdown of %s failed", domain.name)

    async def on_cleanup(app: web.Application) -> None:
        if redis is not None:
            await _bounded(redis.aclose(), settings.shutdown_timeout_s, "closing redis")
        await _bounded(db.dispose(), settings.shutdown_timeout_s, "closing the database pool")

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


def _add_client_routes(app: web.Application) -> None:
    """Serve the built client (client_web/dist) at / and /admin."""
    dist = CLIENT_DIR / "dist"

    async def page(request: web.Request) -> web.StreamResponse:
        name = "admin.html" if request.path.startswith("/admin") else "index.html"
        path = dist / name
        if not path.exists():
            return web.Response(text="Townsquare is running. The browser client is not built: run `make client`.",
                                content_type="text/plain")
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/", page)
    app.router.add_get("/admin", page)
    app.router.add_get("/admin/{tail:.*}", page)
    assets = (dist / "assets").resolve()

    async def asset(request: web.Request) -> web.StreamResponse:
        # Looked up per request, so a client built after the server started is served too.
        path = (assets / request.match_info["name"]).resolve()
        if not path.is_relative_to(assets) or not path.is_file():
            raise web.HTTPNotFound()
        # Vite puts a content hash in every asset name: cache them for good.
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable"})

    app.router.add_get("/assets/{name:.+}", asset)
