"""Issue 13: whispers never become room lines, bidi overrides cannot hide words from moderation,
strikes from upheld reports follow the rank rules, and automatic actions are listed and can be undone."""

import uuid

from sqlalchemy import select

from server.moderation.models import Sanction, Strike
from tests.conftest import call, waved
from tests.moderation.conftest import audit_actions, fresh_room, lines_of, nothing, person, rest, staff, stored, uid


async def test_a_whisper_without_a_present_target_is_refused_and_never_reaches_the_room(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    c, cc, ic, _ = await person(world, room.slug)
    before = await lines_of(world, uid(a))

    no_target = await call(ca, "chat:send", {"text": "just for you", "whisper": True})
    assert no_target["ok"] is False and no_target["error"]["code"] == "invalid_payload", no_target
    assert "to" in no_target["error"]["message"]

    left = await call(cb, "room:leave", {})
    assert left["ok"], left
    gone = await call(ca, "chat:send", {"text": "still there?", "to": uid(b), "whisper": True})
    assert gone["ok"] is False and gone["error"]["code"] == "not_found", gone
    await cb.disconnect()
    offline = await call(ca, "chat:send", {"text": "hello?", "to": uid(b), "whisper": True})
    assert offline["error"]["code"] == "not_found", offline
    assert await lines_of(world, uid(a)) == before  # nothing stored
    # a's wave goes to the room after any of those lines would have (delivery comes before the ack).
    await nothing(ic, "chat:message", lambda d: d["from"]["id"] == uid(a), barrier=waved(ca, ic, uid(a)))

    # With a target in the room it is a whisper: only the two of them see it.
    ok = await call(ca, "chat:send", {"text": "psst", "to": uid(c), "whisper": True})
    assert ok["ok"], ok
    got = await ic.wait_for("chat:message", lambda d: d["id"] == ok["message_id"])
    assert got["to"] == uid(c)


async def test_bidi_controls_are_removed_before_moderation_and_delivery(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    # A slur split by an override: the browser would draw it whole; without the controls it is matched.
    r = await call(ca, "chat:send", {"text": "you are a nig\u202dger"})
    assert r["ok"] and r["action"] == "block", r
    shown = await call(ca, "chat:send", {"text": "hello \u202eworld\u202c friends"})
    assert shown["ok"] and shown["action"] == "allow", shown
    line = await ib.wait_for("chat:message", lambda d: d["id"] == shown["message_id"])
    assert line["text"] == "hello world friends"
    assert (await stored(world, shown["message_id"])).text == "hello world friends"


async def test_an_upheld_report_cannot_strike_someone_of_equal_or_higher_rank(world):
    room = await fresh_room(world)
    admin = await staff(world, "admin")
    mod = await staff(world)
    u, cu, iu, _ = await person(world, room.slug)
    report = await call(cu, "report", {"user_id": uid(admin), "reason": "rude to me"})
    assert report["ok"], report

    status, body = await rest(world, "POST", f"/api/admin/moderation/queue/{report['report_id']}/resolve",
                              mod["token"], json={"outcome": "upheld", "note": "rude"})
    assert status == 403 and body["error"]["code"] == "forbidden", body
    async with world.ctx.db.session() as s:
        strikes = (await s.execute(select(Strike).where(Strike.user_id == uuid.UUID(uid(admin))))).scalars().all()
    assert strikes == []
    status, body = await rest(world, "GET", f"/api/admin/moderation/queue/{report['report_id']}", mod["token"])
    assert body["item"]["status"] == "open"  # nothing changed: an admin can still decide
    # Dismissing is not an act against the person: a moderator may.
    status, body = await rest(world, "POST", f"/api/admin/moderation/queue/{report['report_id']}/resolve",
                              mod["token"], json={"outcome": "dismissed"})
    assert status == 200, body


async def test_automatic_blocks_masks_and_mutes_are_queued_and_a_wrong_mute_is_undone(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    mod = await staff(world)
    masked = await call(ca, "chat:send", {"text": "this shit is hard"})
    assert masked["action"] == "mask", masked
    blocked = []
    for text in ("you are an idiot", "kys", "nobody likes you"):
        r = await call(ca, "chat:send", {"text": text})
        assert r["action"] == "block", r
        blocked.append(r["message_id"])
    await ia.wait_for("moderation:notice", lambda d: d["action"] == "mute")

    status, body = await rest(world, "GET", "/api/admin/moderation/queue?kind=auto", mod["token"])
    assert status == 200, body
    mine = [i for i in body["items"] if i["target"] and i["target"]["id"] == uid(a)]
    by_action = {}
    for i in mine:
        by_action.setdefault(i["details"]["action"], []).append(i)
    assert len(by_action["block"]) == 3 and len(by_action["mask"]) == 1 and len(by_action["mute"]) == 1
    assert {i["message"]["id"] for i in by_action["block"]} == set(blocked)
    mute_item = by_action["mute"][0]
    assert "3 strikes" in mute_item["reason"] and mute_item["details"]["until"]

    # Undo the automatic mute: lifted, the person told, audited; they can talk again.
    status, body = await rest(world, "POST", f"/api/admin/moderation/queue/{mute_item['id']}/resolve", mod["token"],
                              json={"outcome": "dismissed", "note": "banter among friends"})
    assert status == 200, body
    assert [x["id"] for x in body["undone"]["lifted"]] == [mute_item["details"]["sanction_id"]]
    await ia.wait_for("moderation:notice", lambda d: d["action"] == "lift")
    again = await call(ca, "chat:send", {"text": "thanks"})
    assert again["ok"], again
    async with world.ctx.db.session() as s:
        mute = await s.get(Sanction, uuid.UUID(mute_item["details"]["sanction_id"]))
    assert mute.lifted_by == uuid.UUID(uid(mod))

    # Undo one block: its strike is voided; keep another: no new strike is added.
    undo, keep = by_action["block"][0], by_action["block"][1]
    status, body = await rest(world, "POST", f"/api/admin/moderation/queue/{undo['id']}/resolve", mod["token"],
                              json={"outcome": "dismissed", "note": "not an insult"})
    assert status == 200 and body["undone"]["voided_strikes"] == 1, body
    status, body = await rest(world, "POST", f"/api/admin/moderation/queue/{keep['id']}/resolve", mod["token"],
                              json={"outcome": "upheld"})
    assert status == 200, body
    async with world.ctx.db.session() as s:
        strikes = (await s.execute(select(Strike).where(Strike.user_id == uuid.UUID(uid(a))))).scalars().all()
    assert len(strikes) == 3 and sum(x.voided for x in strikes) == 1
    actions = await audit_actions(world, mod["token"], uid(a))
    assert "moderation.auto.undone" in actions and "moderation.auto.kept" in actions
    # An action goes on the person's record, not on an automatic item; a second resolution conflicts.
    status, body = await rest(world, "POST", f"/api/admin/moderation/queue/{keep['id']}/resolve", mod["token"],
                              json={"outcome": "dismissed"})
    assert status == 409, body


async def test_moderation_text_fields_refuse_control_characters_and_drop_bidi_controls(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    mod = await staff(world)
    bad = await call(cb, "report", {"user_id": uid(a), "reason": "rude\x00"})
    assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload", bad
    ok = await call(cb, "report", {"user_id": uid(a), "reason": "rude \u202eedih\u202c"})
    assert ok["ok"], ok
    status, body = await rest(world, "GET", f"/api/admin/moderation/queue/{ok['report_id']}", mod["token"])
    assert body["item"]["reason"] == "rude edih"
    status, body = await rest(world, "POST", f"/api/admin/moderation/queue/{ok['report_id']}/resolve", mod["token"],
                              json={"outcome": "dismissed", "note": "no\x1b[31m"})
    assert status == 400 and body["error"]["code"] == "invalid_payload", body
    status, body = await rest(world, "GET", f"/api/admin/moderation/queue/{ok['report_id']}", mod["token"])
    assert body["item"]["status"] == "open"  # the refused call changed nothing


async def test_the_queue_puts_a_persons_report_and_an_automatic_mute_before_automatic_masks(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    mod = await staff(world)
    masked = await call(ca, "chat:send", {"text": "what the hell, this shit lags"})
    assert masked["action"] == "mask", masked
    report = await call(cb, "report", {"message_id": masked["message_id"], "reason": "swearing at me"})
    for text in ("you are an idiot", "kys", "nobody likes you"):
        await call(ca, "chat:send", {"text": text})
    await ia.wait_for("moderation:notice", lambda d: d["action"] == "mute")
    status, body = await rest(world, "GET", "/api/admin/moderation/queue?limit=200", mod["token"])
    mine = [i for i in body["items"] if i["target"] and i["target"]["id"] == uid(a)]
    order = [(i["kind"], (i.get("details") or {}).get("action")) for i in mine]
    assert order.index(("auto", "mute")) < order.index(("auto", "mask"))
    assert order.index(("report", None)) < order.index(("auto", "mask"))
    assert [i["id"] for i in mine if i["kind"] == "report"] == [report["report_id"]]
