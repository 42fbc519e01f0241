"""The assistant over Socket.IO (thin: validate, call the Assistant, shape the ack) and its tool
list over REST for clients that want it before connecting."""

from __future__ import annotations

import uuid

from pydantic import Field, StrictInt

from ai.assistant import Planner
from server.assistant.service import Assistant
from server.economy.updates import purchase_update, push_updates, transfer_updates
from server.realtime.hub import Connection, Empty, Payload
from server.text import SafeText

MAX_REQUEST = 500


class AskIn(Payload):
    text: SafeText = Field(min_length=1, max_length=MAX_REQUEST)
    lang: SafeText | None = Field(None, min_length=2, max_length=8)  # default: the person's language


class ActionIn(Payload):
    id: uuid.UUID


class HistoryIn(Payload):
    limit: StrictInt = Field(20, ge=1, le=100)


def setup(ctx) -> None:
    async def after_transfer(t, sender_name: str) -> None:
        await push_updates(ctx.realtime, transfer_updates(t, sender_name))

    async def after_purchase(user_id, r: dict, shop: str, sku: str, qty: int) -> None:
        await push_updates(ctx.realtime, [(user_id, purchase_update(r, shop, sku, qty))])

    planner = Planner(ctx.inference, model="npc", embed_model="embed")
    assistant = ctx.assistant = Assistant(ctx, planner, after_transfer=after_transfer, after_purchase=after_purchase)
    ctx.live_figures["assistant"] = lambda: {"mode": planner.mode(), **planner.figures}
    hub = ctx.hub

    @hub.on("assistant:tools", Empty, rate="5/second")
    async def tools(conn: Connection, _: Empty):
        return {"tools": assistant.tools(), "mode": planner.mode()}

    @hub.on("assistant:ask", AskIn, rate="2/second")
    async def ask(conn: Connection, p: AskIn):
        return await assistant.ask(conn, p.text, p.lang)

    @hub.on("assistant:confirm", ActionIn, rate="5/second")
    async def confirm(conn: Connection, p: ActionIn):
        return await assistant.confirm(conn, p.id)

    @hub.on("assistant:cancel", ActionIn, rate="5/second")
    async def cancel(conn: Connection, p: ActionIn):
        return await assistant.cancel(conn, p.id)

    @hub.on("assistant:history", HistoryIn, rate="5/second")
    async def history(conn: Connection, p: HistoryIn):
        return {"actions": await assistant.history(conn.user_id, p.limit)}

    @ctx.api.route("GET", "/api/assistant/tools", auth="user", tag="assistant")
    async def tools_rest(request):
        """The assistant's declared tools: name, JSON-schema arguments, whether the person confirms first."""
        return {"tools": assistant.tools(), "mode": planner.mode()}
