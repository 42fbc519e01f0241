"""A person's export and delete (from the profile) and the same for admins, over REST."""

from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from server.accounts.auth import CURRENT_USER
from server.privacy.service import Privacy
from server.protocol import ProtocolError


class DeleteMe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: str = Field(min_length=1, max_length=64)  # the person types their username


class AdminDelete(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=3, max_length=500)


def _uid(request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["uid"])
    except ValueError:
        raise ProtocolError("invalid_payload", "not a user id") from None


def _attachment(data: dict, name: str) -> web.Response:
    resp = web.json_response(data)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


def setup(ctx) -> None:
    svc = Privacy(ctx)
    api = ctx.api

    @api.route("GET", "/api/me/export", auth="user", tag="me")
    async def my_export(request):
        """Everything stored about you, residents' memories of you included, as one JSON file."""
        user = request[CURRENT_USER]
        return _attachment(await svc.export(user.id), f"townsquare-{user.username}.json")

    @api.route("POST", "/api/me/delete", body=DeleteMe, auth="user", tag="me")
    async def my_delete(request, body: DeleteMe):
        """Delete your account and what is stored about you; `confirm` must be your username."""
        user = request[CURRENT_USER]
        if body.confirm != user.username:
            raise ProtocolError("invalid_payload", "type your username to confirm")
        return await svc.erase(user.id, actor_id=user.id, reason="deleted by the person")

    @api.route("GET", "/api/admin/users/{uid}/export", auth="admin", tag="admin")
    async def admin_export(request):
        uid = _uid(request)
        return _attachment(await svc.export(uid), f"townsquare-{uid}.json")

    @api.route("POST", "/api/admin/users/{uid}/delete", body=AdminDelete, auth="admin", tag="admin")
    async def admin_delete(request, body: AdminDelete):
        """Delete a person's account and data; `confirm` must be their username."""
        uid = _uid(request)
        user = await ctx.accounts.get(uid)
        if user is None:
            raise ProtocolError("not_found", "no such user")
        if body.confirm != user.username:
            raise ProtocolError("invalid_payload", "type the username to confirm")
        return await svc.erase(uid, actor_id=request[CURRENT_USER].id, reason=body.reason)
