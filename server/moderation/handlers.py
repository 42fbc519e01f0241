"""Moderation wired into the world: the first chat stage, name checks, world bans at connect and
login, the `report` event, and the moderators' REST routes (thin: validate, call a service)."""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.accounts.auth import CURRENT_USER
from server.moderation.appeals import Appeals
from server.moderation.controls import Kick, RulesChanged
from server.moderation.policy import Ladder, Policy
from server.moderation.reviews import Reviews
from server.moderation.rules_store import RulesStore
from server.moderation.service import ModerationService
from server.moderation.stage import ModerationStage
from server.protocol import ProtocolError
from server.realtime.hub import Connection, Payload
from server.text import SafeMultiline, SafeText

log = logging.getLogger(__name__)

# -- payloads ---------------------------------------------------------------------------------
class ReportIn(Payload):
    message_id: SafeText | None = Field(None, min_length=1, max_length=64)
    user_id: SafeText | None = Field(None, min_length=1, max_length=64)
    reason: SafeText = Field(min_length=1, max_length=500)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ActIn(Body):
    user_id: SafeText = Field(min_length=1, max_length=64)
    action: Literal["warn", "mute", "kick", "ban", "lift"]
    reason: SafeText = Field(min_length=1, max_length=500)
    minutes: int | None = Field(None, ge=1, le=60 * 24 * 365 * 10)  # none: until lifted
    room: SafeText | None = Field(None, min_length=1, max_length=48)  # none: the whole world
    sanction_id: SafeText | None = Field(None, max_length=64)  # lift: this one
    kind: Literal["mute", "ban"] | None = None  # lift: every active one of this kind (world or room)


class ReviewAction(Body):
    action: Literal["warn", "mute", "kick", "ban"]
    reason: SafeText = Field(min_length=1, max_length=500)
    minutes: int | None = Field(None, ge=1, le=60 * 24 * 365 * 10)
    room: SafeText | None = Field(None, min_length=1, max_length=48)


class ResolveIn(Body):
    outcome: Literal["upheld", "dismissed"]
    note: SafeMultiline = Field("", max_length=1000)
    action: ReviewAction | None = None  # upheld: act on the sender in the same call


class QueueQuery(Body):
    status: Literal["open", "upheld", "dismissed", "all"] = "open"
    kind: Literal["flag", "report", "auto"] | None = None
    limit: int = Field(50, ge=1, le=200)
    context: bool = False


class AppealIn(Body):
    text: SafeMultiline = Field(min_length=1, max_length=2000)
    sanction_id: SafeText | None = Field(None, max_length=64)
    message_id: SafeText | None = Field(None, max_length=64)
    # For a person banned from the world, who cannot log in: their name and password instead of a token.
    username: SafeText | None = Field(None, max_length=64)
    password: str | None = Field(None, max_length=256)


class AppealQuery(Body):
    status: Literal["open", "granted", "denied", "all"] = "open"
    limit: int = Field(50, ge=1, le=200)


class AppealResolveIn(Body):
    outcome: Literal["granted", "denied"]
    note: SafeMultiline = Field("", max_length=1000)


class RulesQuery(Body):
    room: SafeText | None = Field(None, max_length=48)


class RulesIn(Body):
    rules: dict[str, Any]
    room: SafeText | None = Field(None, max_length=48)  # none: the world's rules (whole); a room: its override
    reason: SafeText = Field("", max_length=500)


# -- delivery ---------------------------------------------------------------------------------
class HubNotifier:
    """Notices to the person (any node); kicks as a control message, so every node drops its own
    connections of the user right after telling them why."""

    def __init__(self, ctx):
        self.ctx = ctx

    async def notice(self, user_id: str, data: dict[str, Any]) -> None:
        await self.ctx.realtime.to_user(user_id, "moderation:notice", data)

    async def kick(self, user_id: str, reason: str) -> None:
        await self.ctx.realtime.control(Kick(user_id=str(user_id), reason=reason))

    async def drop_local(self, message: Kick) -> None:
        ctx = self.ctx
        data = {"reason": message.reason or ""}
        for conn in ctx.realtime.connections_of(message.user_id):
            try:  # `kicked` goes onto the socket's queue ahead of the disconnect
                await ctx.realtime.drop(conn.sid, "kicked", data)
            except Exception:
                log.exception("disconnecting %s failed", conn.sid)


def setup(ctx) -> None:
    settings, hub, api = ctx.settings, ctx.hub, ctx.api
    store = RulesStore(ctx.db, (ctx.world or {}).get("moderation"))
    service = ctx.moderation = ModerationService(store, inference=ctx.inference,
                                                 model_deadline_s=settings.moderation_model_deadline_s)
    notifier = HubNotifier(ctx)
    policy = service.policy = Policy(ctx.db, Ladder.from_settings(settings), notifier, ctx.rooms)
    reviews = service.reviews = Reviews(ctx.db, policy, notifier, ctx.chat)
    appeals = service.appeals = Appeals(ctx.db, policy, notifier)
    ctx.public_text_checks.append(service.check_public_text)
    ctx.session_fields["sanctions"] = policy.active_list
    if ctx.chat is not None:
        ctx.chat.pipeline.add(ModerationStage(service, policy, reviews, ctx.rooms, settings))
    ctx.live_figures["moderation"] = lambda: {"verdicts": dict(service.tally), "model": service.model_state()[0]}

    # -- world bans: no connection, no login (an appeal still works with name and password) ---
    async def refuse_banned(conn: Connection) -> None:
        await policy.require_not_banned(conn.user_id)

    async def refuse_banned_login(user) -> None:
        await policy.require_not_banned(user.id)

    hub.on_connect.insert(0, refuse_banned)
    ctx.accounts.on_login.append(refuse_banned_login)

    async def reload_rules(message: RulesChanged) -> None:
        if message.sender != ctx.node_id:  # this node saved them
            await store.load()

    ctx.realtime.handle(Kick, notifier.drop_local)
    ctx.realtime.handle(RulesChanged, reload_rules)

    # -- socket: report ------------------------------------------------------------------------
    @hub.on("report", ReportIn, rate=settings.moderation_report_rate)
    async def report(conn: Connection, p: ReportIn):
        rid = await reviews.report(conn.user_id, conn.role, reason=p.reason, message_id=p.message_id,
                                   user_id=p.user_id)
        return {"report_id": rid}

    # -- REST: the review queue -----------------------------------------------------------------
    tag = "moderation"

    @api.route("GET", "/api/admin/moderation/queue", query=QueueQuery, auth="moderator", tag=tag)
    async def moderation_queue(request, query: QueueQuery):
        """Flagged lines, reports and automatic actions, most severe and newest first."""
        return {"items": await reviews.queue(status=query.status, kind=query.kind, limit=query.limit,
                                             context=query.context)}

    @api.route("GET", "/api/admin/moderation/queue/{review_id}", auth="moderator", tag=tag)
    async def moderation_queue_item(request):
        """One review item with the lines around it."""
        return {"item": await reviews.get(request.match_info["review_id"])}

    @api.route("POST", "/api/admin/moderation/queue/{review_id}/resolve", body=ResolveIn, auth="moderator", tag=tag)
    async def moderation_resolve(request, body: ResolveIn):
        """Uphold (a strike, and optionally an act) or dismiss; reporters are told. An automatic
        action: upheld keeps it, dismissed undoes it (lifts the mute, voids the strike)."""
        action = body.action.model_dump(exclude_none=True) if body.action else None
        return await reviews.resolve(request[CURRENT_USER], request.match_info["review_id"], outcome=body.outcome,
                                     note=body.note, action=action)

    # -- REST: acts, strikes and sanctions ------------------------------------------------------
    @api.route("POST", "/api/admin/moderation/act", body=ActIn, auth="moderator", tag=tag)
    async def moderation_act(request, body: ActIn):
        """Warn, mute, kick or ban a user (the world, or one room), or lift a mute or ban."""
        return await policy.act(request[CURRENT_USER], body.user_id, body.action, reason=body.reason,
                                minutes=body.minutes, room=body.room, sanction_id=body.sanction_id, kind=body.kind)

    @api.route("GET", "/api/admin/moderation/users/{user_id}", auth="moderator", tag=tag)
    async def moderation_user(request):
        """A user's strikes and sanctions, the active ones apart."""
        return await policy.user_record(request.match_info["user_id"])

    # -- REST: appeals --------------------------------------------------------------------------
    @api.route("POST", "/api/moderation/appeals", body=AppealIn, tag=tag)
    async def appeal_file(request, body: AppealIn):
        """Appeal a mute, a ban or a blocked line: with a token, or (banned from the world) name and password."""
        if request.headers.get("Authorization"):
            user = await ctx.auth.require(request, "user")
        elif body.username and body.password:
            user = await ctx.accounts.verify_login(body.username, body.password, ip=request.remote or "")
        else:
            raise ProtocolError("unauthorized", "log in, or give your username and password")
        return {"appeal": await appeals.file(user.id, body.text, sanction_id=body.sanction_id,
                                             message_id=body.message_id)}

    @api.route("GET", "/api/moderation/appeals", auth="user", tag=tag)
    async def appeal_mine(request):
        """Your appeals and their outcomes."""
        return {"appeals": await appeals.mine(request[CURRENT_USER].id)}

    @api.route("GET", "/api/admin/moderation/appeals", query=AppealQuery, auth="moderator", tag=tag)
    async def moderation_appeals(request, query: AppealQuery):
        """Appeals, oldest open first."""
        return {"appeals": await appeals.list(status=query.status, limit=query.limit)}

    @api.route("POST", "/api/admin/moderation/appeals/{appeal_id}/resolve", body=AppealResolveIn,
               auth="moderator", tag=tag)
    async def moderation_appeal_resolve(request, body: AppealResolveIn):
        """Grant (the sanction is lifted, the line's strikes voided) or deny; the user is told."""
        return await appeals.resolve(request[CURRENT_USER], request.match_info["appeal_id"], outcome=body.outcome,
                                     note=body.note)

    # -- REST: rules ----------------------------------------------------------------------------
    async def room_info(slug: str):
        info = await ctx.rooms.get_room(slug) if ctx.rooms is not None else None
        if info is None:
            raise ProtocolError("not_found", f"no room {slug!r}")
        return info

    @api.route("GET", "/api/admin/moderation/rules", query=RulesQuery, auth="moderator", tag=tag)
    async def moderation_rules(request, query: RulesQuery):
        """The world's rules (and a room's override, and what applies there)."""
        out: dict[str, Any] = {"rules": store.world.to_dict(), "source": store.world_source}
        if query.room:
            info = await room_info(query.room)
            override = store.room_override(info.id) or {}
            out.update(room=info.slug, override=override, effective=store.world.merged(override).to_dict())
        return out

    @api.route("PUT", "/api/admin/moderation/rules", body=RulesIn, auth="admin", tag=tag)
    async def moderation_rules_put(request, body: RulesIn):
        """Replace the world's rules, or set a room's override ({} removes it); applied at once."""
        info = await room_info(body.room) if body.room else None
        saved = await store.save(request[CURRENT_USER].id, body.rules, room_id=info.id if info else None,
                                 room_slug=info.slug if info else None, reason=body.reason)
        await ctx.realtime.control(RulesChanged())  # the other nodes reload
        out: dict[str, Any] = {"rules": store.world.to_dict()}
        if info is not None:
            out.update(room=info.slug, override=saved, effective=store.world.merged(saved).to_dict())
        return out

    @api.route("GET", "/api/admin/moderation/status", auth="moderator", tag=tag)
    async def moderation_status(request):
        """Active stages, the optional model's state, open review items."""
        return {"status": service.status(), "open_reviews": await reviews.open_count()}


async def startup(ctx) -> None:
    service = ctx.moderation
    await service.rules.load()
    state, why = service.model_state()
    if state == "loaded":
        log.info("moderation: toxicity model %s", why)
    else:
        log.warning("moderation: optional toxicity model %s (%s)", state, why)
    bundled = service.moderator.status()["bundled_model"]
    if not bundled["available"]:
        log.warning("moderation: bundled model unavailable (%s): rules and the lexicon moderate alone",
                    bundled["reason"])
