"""Every line checked before anyone sees it: verdicts through real chat, the escalation ladder,
NPC output, names, and the pipeline without the optional model."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from server.chat.pipeline import ChatDraft
from server.moderation.models import ReviewItem, Sanction, Strike
from server.protocol import ProtocolError
from tests.conftest import call
from tests.moderation.conftest import fresh_room, lines_of, nothing, person, rest, staff, stored, uid, waved


async def lines_reached(client, inbox, who: str, to: str) -> None:
    """A barrier for a room line and a whisper alike: `who` waves to the room, then whispers to
    `to`; their own `inbox` waits for both (a room line and a whisper take different paths)."""
    await waved(client, inbox, who)
    w = await call(client, "chat:send", {"text": "are you there?", "to": to})
    assert w["ok"], w
    await inbox.wait_for("chat:message", lambda d: d["id"] == w["message_id"])


async def test_allow_and_mask_reach_the_room_block_tells_the_sender_only(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)

    r = await call(ca, "chat:send", {"text": "hello there, nice plaza"})
    assert r["ok"] and r["action"] == "allow" and "text" not in r, r
    got = await ib.wait_for("chat:message", lambda d: d["id"] == r["message_id"])
    assert got["text"] == "hello there, nice plaza" and got["moderation"] == "allow"
    row = await stored(world, r["message_id"])
    assert row.moderation["action"] == "allow" and "categories" in row.moderation

    r = await call(ca, "chat:send", {"text": "what the fuck is this"})
    assert r["action"] == "mask" and r["text"] == "what the ### is this" and "fuck" in r["reason"], r
    got = await ib.wait_for("chat:message", lambda d: d["id"] == r["message_id"])
    assert got["text"] == "what the ### is this" and got["moderation"] == "mask"  # clean words kept
    row = await stored(world, r["message_id"])
    assert (row.action, row.original_text) == ("mask", "what the fuck is this")
    assert row.moderation["categories"]["profanity"] > 0.5 and row.moderation["reasons"]

    r = await call(ca, "chat:send", {"text": "you are an idiot"})
    assert r["ok"] and r["action"] == "block" and "insult" in r["reason"], r
    # b's wave goes to the room after the blocked line would have (delivery comes before the ack).
    await nothing(ib, "chat:message", lambda d: d["id"] == r["message_id"], barrier=waved(cb, ib, uid(b)))
    await nothing(ia, "chat:message", lambda d: d["id"] == r["message_id"],
                  barrier=ia.wait_for("emote", lambda d: d["id"] == uid(b)))  # the same wave, at a
    row = await stored(world, r["message_id"])
    assert row.action == "block" and row.moderation["categories"]["insult"] >= 0.85
    # Nobody sees a blocked line in history either.
    c, cc, ic, join = await person(world, room.slug)
    assert [m["text"] for m in join["history"]] == ["hello there, nice plaza", "what the ### is this"]
    # Whispers are moderated the same way.
    w = await call(ca, "chat:send", {"text": "shit, where is the market?", "to": uid(b)})
    got = await ib.wait_for("chat:message", lambda d: d["id"] == w["message_id"])
    assert got["text"] == "###, where is the market?" and got["to"] == uid(b)


async def test_flagged_lines_are_delivered_or_held_and_queued_for_review(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    await call(ca, "chat:send", {"text": "before the flag"})
    r = await call(ca, "chat:send", {"text": "i want to hurt myself"})
    assert r["action"] == "flag" and "held" not in r, r
    got = await ib.wait_for("chat:message", lambda d: d["id"] == r["message_id"])
    assert got["moderation"] == "flag"
    async with world.ctx.db.session() as s:
        item = await s.scalar(select(ReviewItem).where(ReviewItem.message_id == uuid.UUID(r["message_id"])))
    assert item.kind == "flag" and item.status == "open" and str(item.target_user_id) == uid(a)

    world.ctx.settings.moderation_hold_flagged = True
    try:
        h = await call(ca, "chat:send", {"text": "i want to hurt myself again"})
    finally:
        world.ctx.settings.moderation_hold_flagged = False
    assert h["action"] == "flag" and h["held"] is True, h
    await nothing(ib, "chat:message", lambda d: d["id"] == h["message_id"], barrier=waved(cb, ib, uid(b)))
    assert (await stored(world, h["message_id"])).held

    mod = await staff(world)
    status, body = await rest(world, "GET", "/api/admin/moderation/queue?kind=flag&context=true", mod["token"])
    assert status == 200
    mine = [i for i in body["items"] if i["message"] and i["message"]["id"] in (r["message_id"], h["message_id"])]
    assert len(mine) == 2 and all(i["kind"] == "flag" and i["target"]["id"] == uid(a) for i in mine)
    held_item = next(i for i in mine if i["message"]["id"] == h["message_id"])
    assert held_item["message"]["held"] and held_item["details"]["held"]
    texts = [c["text"] for c in held_item["context"]]
    assert texts[:3] == ["before the flag", "i want to hurt myself", "i want to hurt myself again"]
    # Dismissed: the held line was fine after all, and goes out now.
    status, body = await rest(world, "POST", f"/api/admin/moderation/queue/{held_item['id']}/resolve", mod["token"],
                              json={"outcome": "dismissed", "note": "song lyrics"})
    assert status == 200 and body["released"] == h["message_id"], body
    await ib.wait_for("chat:message", lambda d: d["id"] == h["message_id"])
    status, body = await rest(world, "POST", f"/api/admin/moderation/queue/{held_item['id']}/resolve", mod["token"],
                              json={"outcome": "upheld"})
    assert status == 409


async def test_blocks_escalate_to_automatic_mutes_of_growing_length(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    for text in ("you are an idiot", "kys", "nobody likes you"):
        r = await call(ca, "chat:send", {"text": text})
        assert r["action"] == "block", r
    notice = await ia.wait_for("moderation:notice", lambda d: d["action"] == "mute")
    until = datetime.fromisoformat(notice["until"])
    assert 290 <= (until - datetime.now(UTC)).total_seconds() <= 300 and notice["automatic"]
    assert "3 strikes" in notice["reason"]

    before = await lines_of(world, uid(a))
    r = await call(ca, "chat:send", {"text": "can I talk now?"})
    assert r["ok"] is False and r["error"]["code"] == "muted", r
    assert r["error"]["until"] == notice["until"] and "muted for another 5 min" in r["error"]["message"]
    w = await call(ca, "chat:send", {"text": "psst", "to": uid(b)})
    assert w["error"]["code"] == "muted"
    assert await lines_of(world, uid(a)) == before  # nothing stored
    await nothing(ib, "chat:message", lambda d: d["from"]["id"] == uid(a) and d["text"] in ("can I talk now?", "psst"),
                  barrier=lines_reached(cb, ib, uid(b), uid(a)))

    # The next rungs: strikes before the last automatic mute do not count again.
    policy = world.ctx.moderation.policy
    assert await policy.strike(uid(a), "block", "one more") is None
    assert await policy.strike(uid(a), "block", "two more") is None
    second = await policy.strike(uid(a), "block", "three more")
    third = [await policy.strike(uid(a), "block", f"again {i}") for i in range(3)][-1]
    assert (second.expires_at - second.created_at).total_seconds() == 1800
    assert (third.expires_at - third.created_at).total_seconds() == 86400
    async with world.ctx.db.session() as s:
        autos = (await s.execute(select(Sanction).where(Sanction.user_id == uuid.UUID(uid(a)),
                                                        Sanction.source == "auto"))).scalars().all()
        strikes = (await s.execute(select(Strike).where(Strike.user_id == uuid.UUID(uid(a))))).scalars().all()
    assert len(autos) == 3 and len(strikes) == 9
    mod = await staff(world)
    status, body = await rest(world, "GET", f"/api/admin/moderation/users/{uid(a)}", mod["token"])
    assert status == 200 and len(body["strikes"]) == 9 and len(body["active"]) == 3
    status, audit = await rest(world, "GET", f"/api/admin/audit?target={uid(a)}&action=moderation.auto_mute",
                               mod["token"])
    assert len(audit["entries"]) == 3 and audit["entries"][0]["actor_id"] is None


async def test_npc_lines_are_moderated_too(world):
    room = await fresh_room(world)
    b, cb, ib, _ = await person(world, room.slug)
    chat = world.ctx.chat

    def npc(text):
        return ChatDraft(room=room.slug, sender_id="npc-barkeep", sender_name="Barkeep", sender_kind="npc",
                         text=text, original_text=text)

    ok = await chat.send(npc("welcome, traveller"))
    assert ok["moderation"] == "allow"
    masked = await chat.send(npc("this damn shit is expensive"))
    got = await ib.wait_for("chat:message", lambda d: d["id"] == masked["id"])
    assert got["text"] == "this damn ### is expensive" and got["from"] == {"id": "npc-barkeep", "name": "Barkeep",
                                                                           "kind": "npc"}
    draft = npc("you are an idiot")
    blocked = await chat.send(draft)
    assert draft.action == "block" and blocked["moderation"] == "block"
    await nothing(ib, "chat:message", lambda d: d["id"] == blocked["id"], barrier=waved(cb, ib, uid(b)))
    # The same greeting to every newcomer is not spam for an NPC.
    for _ in range(5):
        assert (await chat.send(npc("welcome, traveller")))["moderation"] == "allow"
    flagged = await chat.send(npc("i want to hurt myself"))
    async with world.ctx.db.session() as s:
        item = await s.scalar(select(ReviewItem).where(ReviewItem.message_id == uuid.UUID(flagged["id"])))
    assert item.target_npc_id == "npc-barkeep" and item.target_user_id is None


async def test_display_names_and_room_names_are_checked(world):
    status, body = await rest(world, "POST", "/api/auth/register",
                              json={"username": f"n{uuid.uuid4().hex[:8]}", "password": "correct-horse-9",
                                    "display_name": "ShitLord"})
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    assert body["error"]["message"].startswith("that name is not allowed: ")
    a, ca, ia, _ = await person(world, None, display_name="Friendly Fern")
    r = await call(ca, "profile:update", {"display_name": "fuckface"})
    assert r["error"]["code"] == "invalid_payload" and "not allowed" in r["error"]["message"]
    r = await call(ca, "profile:update", {"display_name": "Classic Cassandra"})  # no Scunthorpe problem
    assert r["ok"] and r["profile"]["display_name"] == "Classic Cassandra"

    admin = await staff(world, "admin")
    status, body = await rest(world, "POST", "/api/admin/rooms", admin["token"],
                              json={"slug": f"b{uuid.uuid4().hex[:8]}", "name": "Shitty Room"})
    assert status == 400 and "not allowed" in body["error"]["message"]
    status, body = await rest(world, "POST", "/api/admin/rooms", admin["token"],
                              json={"slug": f"b{uuid.uuid4().hex[:8]}", "name": "Tea Room",
                                    "description": "kill yourself"})
    assert status == 400
    with pytest.raises(ProtocolError) as e:
        await world.ctx.rooms.create_room(f"b{uuid.uuid4().hex[:8]}", "Fuck Zone")
    assert e.value.code == "invalid_payload"
    status, body = await rest(world, "POST", "/api/admin/rooms", admin["token"],
                              json={"slug": f"b{uuid.uuid4().hex[:8]}", "name": "The Bass Club"})
    assert status == 200, body


async def test_pipeline_delivers_without_the_optional_model_and_doctor_says_so(world):
    from server.domains import doctor_sections

    assert world.ctx.inference is not None and not world.ctx.inference.available("toxicity")
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    r = await call(ca, "chat:send", {"text": "is anyone selling apples?"})
    await ib.wait_for("chat:message", lambda d: d["id"] == r["message_id"])
    row = await stored(world, r["message_id"])
    assert row.moderation["model"] is None and "not configured" in row.moderation["model_missing"]
    assert "rules plus the bundled model" in row.moderation["model_missing"]

    report = doctor_sections()["moderation"](world.ctx.settings)
    assert report["toxicity model (optional)"][0] == "missing"
    assert report["bundled model"][0] == "found"
    assert report["pipeline"] == ("ok", report["pipeline"][1]) and "still delivers" in report["pipeline"][1]
    mod = await staff(world)
    status, body = await rest(world, "GET", "/api/admin/moderation/status", mod["token"])
    assert status == 200 and body["status"]["model"]["state"] == "missing"
    assert body["status"]["bundled_model"]["available"] is True


async def test_world_rules_and_room_overrides_apply_at_once(world):
    admin = await staff(world, "admin")
    mod = await staff(world)
    room = await fresh_room(world)
    other = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    status, body = await rest(world, "GET", "/api/admin/moderation/rules", mod["token"])
    assert status == 200 and body["rules"]["link_policy"] == "allow_listed"
    original = body["rules"]
    status, body = await rest(world, "PUT", "/api/admin/moderation/rules", mod["token"], json={"rules": original})
    assert status == 403
    try:
        rules = {**original, "block_words": ["zorblax"]}
        status, body = await rest(world, "PUT", "/api/admin/moderation/rules", admin["token"],
                                  json={"rules": rules, "reason": "new slur"})
        assert status == 200 and body["rules"]["block_words"] == ["zorblax"]
        assert (await call(ca, "chat:send", {"text": "you zorblax"}))["action"] == "block"
        status, body = await rest(world, "PUT", "/api/admin/moderation/rules", admin["token"],
                                  json={"room": room.slug, "rules": {"mask_words": ["frobnicate"]}})
        assert status == 200 and body["effective"]["block_words"] == ["zorblax"]
        r = await call(ca, "chat:send", {"text": "please frobnicate the widget"})
        assert r["action"] == "mask" and r["text"] == "please ### the widget"
        await call(ca, "room:join", {"room": other.slug})
        assert (await call(ca, "chat:send", {"text": "please frobnicate it"}))["action"] == "allow"
        status, body = await rest(world, "GET", f"/api/admin/moderation/rules?room={room.slug}", mod["token"])
        assert body["override"] == {"mask_words": ["frobnicate"]}
        status, body = await rest(world, "PUT", "/api/admin/moderation/rules", admin["token"],
                                  json={"rules": {"link_policy": "sometimes"}})
        assert status == 400 and "link_policy" in body["error"]["message"]
        assert "moderation.rules" in [e["action"] for e in (await rest(
            world, "GET", "/api/admin/audit?action=moderation.rules", admin["token"]))[1]["entries"]]
    finally:
        await rest(world, "PUT", "/api/admin/moderation/rules", admin["token"], json={"rules": original})
        await rest(world, "PUT", "/api/admin/moderation/rules", admin["token"], json={"room": room.slug, "rules": {}})
    assert (await call(ca, "chat:send", {"text": "zorblax!"}))["action"] == "allow"
