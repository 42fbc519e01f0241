"""Socket events of the world: rooms, movement, profiles (thin: validate, call the room services, reply)."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from server.accounts.auth import CURRENT_USER
from server.accounts.service import user_json
from server.protocol import ProtocolError
from server.realtime.hub import Connection, Empty, Payload
from server.realtime.transport import tune_transport
from server.rest import check_json
from server.text import SafeText, clean_text
from server.world.avatars import ProfileIn
from server.world.rooms import RoomService
from server.world.tiled import art_file

log = logging.getLogger(__name__)

SLUG = r"^[a-z0-9][a-z0-9_-]{0,47}$"


ViewSide = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=10000)]


class JoinIn(Payload):
    room: str = Field(min_length=1, max_length=48, pattern=SLUG)
    wire: Literal[1, 2] | None = None  # 2: compact world:frame per tick (docs/realtime.md, "Wire 2")
    # the tiles the client's screen shows (w, h): its area of interest in large rooms (capped by interest_view_max)
    view: tuple[ViewSide, ViewSide] | None = None


class ViewIn(Payload):
    view: tuple[ViewSide, ViewSide]  # as JoinIn's: the screen changed (a window resized, a phone turned)


# Numbers only: "1" or true is not a coordinate (strict), though an integer is; NaN and infinities are
# refused by pydantic's core (allow_inf_nan), not a Python validator per field and move.
Coord = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class MoveIn(Payload):
    x: Coord
    y: Coord
    # Optional client clock reading: echoed (to the millisecond, Presence._move_op) as a 4th element of
    # the world:tick entry showing the arrival at this target (clients measure latency and interpolate with it).
    t: Coord | None = None


class InviteIn(Payload):
    room: str = Field(min_length=1, max_length=48, pattern=SLUG)
    user_id: SafeText = Field(min_length=1, max_length=64)


class ThingIn(Payload):
    thing: SafeText = Field(min_length=1, max_length=64)  # the object's name on the map ("fountain")
    idempotency_key: SafeText | None = Field(None, min_length=8, max_length=128)  # a toss moves money: required there


class BanIn(InviteIn):
    reason: SafeText = Field("", max_length=200)
    minutes: int | None = Field(None, ge=1, le=60 * 24 * 365)


def setup(ctx) -> None:
    tune_transport(ctx.sio, ctx.hub.now)
    rooms = ctx.rooms = RoomService(ctx)
    catalogue, access, presence, ownership = rooms.catalogue, rooms.access, rooms.presence, rooms.ownership
    hub, settings = ctx.hub, ctx.settings
    ctx.live_figures["rooms"] = lambda: {r["slug"]: r["occupants"] for r in presence.rooms_snapshot()}
    ctx.live_figures["room_ticks"] = lambda: {"owned": sorted(ownership.owned), "ticks": ownership.ticks,
                                              "overruns": ownership.tick_overruns}

    @hub.on("room:list", Empty, rate="5/second")
    async def room_list(conn: Connection, _: Empty):
        return {"rooms": await presence.list_rooms(conn)}

    @hub.on("room:join", JoinIn, rate="5/second")
    async def room_join(conn: Connection, p: JoinIn):
        return await presence.join(conn, p.room, wire=p.wire, view=p.view)

    @hub.on("view", ViewIn, rate="2/second")
    async def view(conn: Connection, p: ViewIn):
        presence.set_view(conn, p.view)
        return {}

    @hub.on("room:leave", Empty, rate="5/second")
    async def room_leave(conn: Connection, _: Empty):
        await presence.leave(conn)
        return {}

    def move_now(conn: Connection, p: MoveIn):
        x, y = presence.move_now(conn, p.x, p.y, p.t)
        return {"x": x, "y": y}

    @hub.on("move", MoveIn, rate=settings.move_rate, fold=True, now=(presence.move_ready, move_now))
    async def move(conn: Connection, p: MoveIn):
        x, y = await presence.move(conn, p.x, p.y, p.t)
        return {"x": x, "y": y}

    @hub.on("room:invite", InviteIn, rate="10/second")
    async def room_invite(conn: Connection, p: InviteIn):
        await access.invite(conn, p.room, p.user_id)
        return {}

    @hub.on("room:uninvite", InviteIn, rate="10/second")
    async def room_uninvite(conn: Connection, p: InviteIn):
        await rooms.uninvite(conn, p.room, p.user_id)
        return {}

    @hub.on("room:ban", BanIn, rate="10/second")
    async def room_ban(conn: Connection, p: BanIn):
        await rooms.ban(conn, p.room, p.user_id, reason=p.reason, minutes=p.minutes)
        return {}

    @hub.on("room:unban", InviteIn, rate="10/second")
    async def room_unban(conn: Connection, p: InviteIn):
        await rooms.unban(conn, p.room, p.user_id)
        return {}

    @ctx.api.route("GET", "/api/rooms/{slug}/map", auth="user", tag="world")
    async def room_map(request):
        """The room's map as Tiled JSON (tilesets embedded, images under /api/world/art/)."""
        doc = await catalogue.map_document(request.match_info["slug"])
        return web.json_response(doc, headers={"Cache-Control": "private, max-age=60"})

    @ctx.api.route("GET", "/api/world/art/{name}", tag="world")
    async def world_art(request):
        """The world's bundled art: the tileset image and .tsj, avatar sprites, emote icons."""
        name = request.match_info["name"]
        data = art_file(name)
        if data is None:
            raise ProtocolError("not_found", f"no art named {name!r}")
        kind = "image/png" if name.endswith(".png") else "text/plain" if name.endswith(".txt") else "application/json"
        return web.Response(body=data, content_type=kind, headers={"Cache-Control": "public, max-age=3600"})

    @ctx.api.route("PUT", "/api/admin/rooms/{slug}/map", auth="admin", tag="admin")
    async def admin_room_map(request):
        """Replace a room's map with a Tiled JSON map (.tmj); refused whole, with the reason, when invalid."""
        try:
            doc = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError("invalid_payload", "the map was refused: the file is not JSON (export it from Tiled as .tmj)") from None
        check_json(doc)
        reason = clean_text(request.query.get("reason", ""), "reason", max_len=200)
        result = await catalogue.set_map(request.match_info["slug"], doc, actor_id=request[CURRENT_USER].id, reason=reason)
        return {"room": result}

    @hub.on("thing:use", ThingIn, rate="5/second")
    async def thing_use(conn: Connection, p: ThingIn):
        return await rooms.use_thing(conn, p.thing, p.idempotency_key)

    @hub.on("profile:update", ProfileIn, rate="10/minute")
    async def profile_update(conn: Connection, p: ProfileIn):
        if p.display_name is None and p.language is None and p.appearance is None:
            raise ProtocolError("invalid_payload", "nothing to update")
        profile = await rooms.avatars.update_profile(conn.user_id, p, ctx.check_public_text)
        await presence.profile_changed(conn, profile)
        return {"profile": profile}

    async def send_session(conn: Connection) -> None:
        """`session` right after connect: who you are and where your avatar was last."""
        avatar = await rooms.avatars.load(conn.user_id)
        user = await ctx.accounts.get(conn.user_id)
        if avatar is None or user is None:
            return
        conn.data["appearance"] = avatar.appearance
        room = next((i.slug for i in catalogue.infos.values() if i.id == avatar.room_id), None)
        data = {"user": user_json(user),
                "avatar": {"display_name": avatar.display_name, "appearance": avatar.appearance, "room": room,
                           "x": avatar.x, "y": avatar.y},
                "languages": list(ctx.settings.languages)}
        if avatar.room_id is None:  # never in a room yet: the guide's tour
            data["onboarding"] = presence.newcomer_tour()
        for name, field in ctx.session_fields.items():  # other domains' parts (moderation: sanctions)
            try:
                data[name] = await field(conn.user_id)
            except Exception:
                log.exception("session field %s failed", name)
        # The connect handler has not finished yet: the CONNECT packet must go out first.
        for _ in range(200):
            if ctx.sio.manager.is_connected(conn.sid, "/"):
                break
            await asyncio.sleep(0.01)
        else:
            return
        await ctx.sio.emit("session", data, to=conn.sid)

    async def on_connect(conn: Connection) -> None:
        rooms.background.spawn(send_session(conn), "sending the session")

    async def on_disconnect(conn: Connection) -> None:
        await presence.disconnected(conn)

    hub.on_connect.append(on_connect)
    hub.on_disconnect.append(on_disconnect)


def freeze_heap(thresholds: tuple[int, int, int]) -> None:
    """Move everything alive after start-up (modules, models, the world) out of the garbage
    collector's sight: a full collection over it took 50+ ms, a stall in the middle of ticks.
    `thresholds`: the collector's from then on (settings.gc_thresholds)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    log.info("heap frozen: %d objects no longer scanned by the collector; thresholds %s",
             gc.get_freeze_count(), gc.get_threshold())


async def startup(ctx) -> None:
    await ctx.rooms.start()
    # After every domain has started (they start after this one, within the same second or so).
    asyncio.get_running_loop().call_later(3.0, freeze_heap, ctx.settings.gc_thresholds)


async def shutdown(ctx) -> None:
    await ctx.rooms.stop()
