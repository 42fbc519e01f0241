"""Held actions over the wire: a late confirmation runs nothing, a failed one is recorded as
failed, a purchase is held with its price, a tip to yourself is refused before anything is held."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update

from server.assistant.models import AssistantAction
from server.db.base import utcnow
from tests.conftest import call


def err(reply: dict) -> str:
    assert reply["ok"] is False and reply["error"]["message"], reply
    return reply["error"]["code"]


async def person(world, room: str | None = "plaza", username: str | None = None):
    account, client = await world.user(username or f"p{uuid.uuid4().hex[:8]}")
    if room:
        assert (await call(client, "room:join", {"room": room}))["ok"]
    return account, client


async def balance(client) -> int:
    return (await call(client, "wallet:balance"))["balance"]


async def test_a_confirmation_after_the_action_expired_runs_nothing(world):
    ana_name = f"ana{uuid.uuid4().hex[:6]}"
    _, a = await person(world, username=ana_name)
    _, client = await person(world)
    held = (await call(client, "assistant:ask", {"text": f"tip {ana_name} 30"}))["pending"]
    async with world.ctx.db.session() as s:  # two minutes have passed
        await s.execute(update(AssistantAction).where(AssistantAction.id == uuid.UUID(held["id"]))
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert err(await call(client, "assistant:confirm", {"id": held["id"]})) == "conflict"
    assert await balance(client) == 1000 and await balance(a) == 1000
    history = (await call(client, "assistant:history", {}))["actions"]
    assert [(x["tool"], x["status"]) for x in history] == [("tip", "expired")]


async def test_a_tip_beyond_the_wallet_fails_on_confirmation_and_is_recorded(world):
    ana_name = f"ana{uuid.uuid4().hex[:6]}"
    _, a = await person(world, username=ana_name)
    _, client = await person(world)
    held = (await call(client, "assistant:ask", {"text": f"give {ana_name} 5000 coins"}))["pending"]
    assert err(await call(client, "assistant:confirm", {"id": held["id"]})) == "insufficient_funds"
    assert await balance(client) == 1000 and await balance(a) == 1000
    (action,) = (await call(client, "assistant:history", {}))["actions"]
    assert action["status"] == "failed" and action["result"]["error"]["code"] == "insufficient_funds"
    assert err(await call(client, "assistant:confirm", {"id": held["id"]})) == "conflict"


async def test_a_tip_to_yourself_is_refused_before_anything_is_held(world):
    me, client = await person(world)
    reply = await call(client, "assistant:ask", {"text": f"tip {me['user']['username']} 5"})
    assert reply["ok"] and reply["understood"] is False and reply["reply"] == "I need to know who."
    assert (await call(client, "assistant:history", {}))["actions"] == []


async def test_a_purchase_is_held_with_its_price_then_bought(world):
    _, client = await person(world, "market")
    offer = await call(client, "assistant:ask", {"text": "what can I buy here?"})
    assert offer["ok"] and any(i["sku"] == "lantern" for s in offer["shops"] for i in s["items"]), offer
    held = await call(client, "assistant:ask", {"text": "buy two lanterns"})
    assert held["pending"]["args"]["total"] == 240 and "240" in held["reply"], held
    assert await balance(client) == 1000
    done = await call(client, "assistant:confirm", {"id": held["pending"]["id"]})
    assert done["ok"] and await balance(client) == 760
    inventory = (await call(client, "inventory:list"))["items"]
    assert [(i["sku"], i["qty"]) for i in inventory] == [("lantern", 2)]
