"""The moderators' tools: reports through resolution, role checks, warn / mute / kick / ban / lift
with notices and audit entries, world bans at connect and login, and appeals."""

import asyncio
import uuid

import pytest
import socketio
from sqlalchemy import select

from server.moderation.models import Strike
from tests.conftest import Inbox, call
from tests.moderation.conftest import audit_actions, fresh_room, nothing, person, rest, staff, stored, uid


async def test_reports_through_resolution_with_the_reporter_told(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    c, cc, ic, _ = await person(world, room.slug)
    mod = await staff(world)
    await call(cb, "chat:send", {"text": "anyone up for a game?"})
    bad = await call(ca, "chat:send", {"text": "you play like a potato"})
    await call(cc, "chat:send", {"text": "be nice"})
    await ib.wait_for("chat:message", lambda d: d["id"] == bad["message_id"])

    r = await call(cb, "report", {"message_id": bad["message_id"], "reason": "rude"})
    assert r["ok"], r
    again = await call(cb, "report", {"message_id": bad["message_id"], "reason": "still rude"})
    assert again["report_id"] == r["report_id"]  # one open report per person and line
    r2 = await call(cc, "report", {"message_id": bad["message_id"], "reason": "mean"})
    d, cd, idd, _ = await person(world, room.slug)

    async def refused(client, payload):
        return (await call(client, "report", payload))["error"]["code"]

    assert await refused(cd, {"reason": "no target"}) == "invalid_payload"
    assert await refused(cd, {"message_id": str(uuid.uuid4()), "reason": "x"}) == "not_found"
    assert await refused(cd, {"message_id": "nope", "reason": "x"}) == "invalid_payload"
    assert await refused(ca, {"message_id": bad["message_id"], "reason": "me"}) == "not_found"
    # A whisper between two others cannot be reported by a third: they never saw it.
    w = await call(ca, "chat:send", {"text": "secret", "to": uid(c)})
    assert await refused(cd, {"message_id": w["message_id"], "reason": "x"}) == "not_found"
    # A line in a private room the reporter cannot enter, neither.
    private = await fresh_room(world, access="private", owner_id=uuid.UUID(uid(a)))
    await call(ca, "room:join", {"room": private.slug})
    hidden = await call(ca, "chat:send", {"text": "private words"})
    assert await refused(cd, {"message_id": hidden["message_id"], "reason": "x"}) == "not_found"
    assert await refused(cd, {"user_id": uid(a), "reason": "x"}) == "rate_limited"  # 5 a minute
    user_report = await call(cb, "report", {"user_id": uid(a), "reason": "keeps being rude"})
    assert user_report["ok"]

    status, body = await rest(world, "GET", "/api/admin/moderation/queue?kind=report", mod["token"])
    mine = [i for i in body["items"] if i["target"] and i["target"]["id"] == uid(a)]
    assert {i["id"] for i in mine} == {r["report_id"], r2["report_id"], user_report["report_id"]}
    status, body = await rest(world, "GET", f"/api/admin/moderation/queue/{r['report_id']}", mod["token"])
    item = body["item"]
    assert item["reporter"]["id"] == uid(b) and item["message"]["text"] == "you play like a potato"
    assert item["reports"] == 2
    ctx_lines = [(line["text"], line["is_reported"]) for line in item["context"]]
    assert ctx_lines[:3] == [("anyone up for a game?", False), ("you play like a potato", True), ("be nice", False)]

    # Upheld with a mute in the same call: a strike, the line leaves history, both reporters told.
    status, body = await rest(world, "POST", f"/api/admin/moderation/queue/{r['report_id']}/resolve", mod["token"],
                              json={"outcome": "upheld", "note": "insulting a player",
                                    "action": {"action": "mute", "minutes": 10, "reason": "insulting a player"}})
    assert status == 200, body
    assert set(body["resolved"]) == {r["report_id"], r2["report_id"]} and body["action"]["sanction"]["kind"] == "mute"
    for inbox, rid in ((ib, r["report_id"]), (ic, r2["report_id"])):
        n = await inbox.wait_for("moderation:notice", lambda d, rid=rid: d.get("report_id") == rid)
        assert n["action"] == "report_resolved" and n["outcome"] == "upheld" and n["reason"] == "insulting a player"
    n = await ia.wait_for("moderation:notice", lambda d: d["action"] == "mute")
    assert n["until"] and n["reason"] == "insulting a player"
    assert (await stored(world, bad["message_id"])).action == "block"
    async with world.ctx.db.session() as s:
        strikes = (await s.execute(select(Strike).where(Strike.user_id == uuid.UUID(uid(a))))).scalars().all()
    assert [x.source for x in strikes] == ["report"]
    # Dismissed: the reporter hears that too.
    status, body = await rest(world, "POST", f"/api/admin/moderation/queue/{user_report['report_id']}/resolve",
                              mod["token"], json={"outcome": "dismissed"})
    n = await ib.wait_for("moderation:notice", lambda d: d.get("report_id") == user_report["report_id"])
    assert n["outcome"] == "dismissed" and n["reason"]
    assert {"moderation.review.upheld", "moderation.mute"} <= set(await audit_actions(world, mod["token"], uid(a)))


async def test_users_get_403_on_every_moderation_route(world):
    user = await staff(world, "user")
    mod = await staff(world)
    routes = [("GET", "/api/admin/moderation/queue"), ("GET", f"/api/admin/moderation/queue/{uuid.uuid4()}"),
              ("POST", f"/api/admin/moderation/queue/{uuid.uuid4()}/resolve"), ("POST", "/api/admin/moderation/act"),
              ("GET", f"/api/admin/moderation/users/{uid(mod)}"), ("GET", "/api/admin/moderation/appeals"),
              ("POST", f"/api/admin/moderation/appeals/{uuid.uuid4()}/resolve"),
              ("GET", "/api/admin/moderation/rules"), ("PUT", "/api/admin/moderation/rules"),
              ("GET", "/api/admin/moderation/status")]
    for method, path in routes:
        status, body = await rest(world, method, path, user["token"], json={})
        assert status == 403 and body["error"]["code"] == "forbidden", (path, body)
    status, _ = await rest(world, "GET", "/api/admin/moderation/queue", "not-a-token")
    assert status == 401
    # A moderator may not act on staff, nor on themselves.
    other = await staff(world)
    admin = await staff(world, "admin")
    for target in (other, admin, mod):
        status, body = await rest(world, "POST", "/api/admin/moderation/act", mod["token"],
                                  json={"user_id": uid(target), "action": "mute", "reason": "x"})
        assert status == 403, body
    status, body = await rest(world, "POST", "/api/admin/moderation/act", admin["token"],
                              json={"user_id": uid(other), "action": "warn", "reason": "be careful"})
    assert status == 200  # an admin may warn a moderator
    status, body = await rest(world, "POST", "/api/admin/moderation/act", mod["token"],
                              json={"user_id": uid(user), "action": "warn", "reason": "x", "minutes": 5})
    assert status == 400


async def test_warn_mute_lift_and_room_kick_and_ban(world):
    room = await fresh_room(world)
    mod = await staff(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)

    async def act(**body):
        status, reply = await rest(world, "POST", "/api/admin/moderation/act", mod["token"],
                                   json={"user_id": uid(a), **body})
        assert status == 200, reply
        return reply

    await act(action="warn", reason="mind your language")
    n = await ia.wait_for("moderation:notice", lambda d: d["action"] == "warn")
    assert n == {"action": "warn", "reason": "mind your language"}

    muted = await act(action="mute", minutes=15, reason="cool off")
    n = await ia.wait_for("moderation:notice", lambda d: d["action"] == "mute")
    assert n["until"] == muted["sanction"]["expires_at"] and n["reason"] == "cool off"
    r = await call(ca, "chat:send", {"text": "hello?"})
    assert r["error"]["code"] == "muted" and r["error"]["until"] == n["until"]
    # A reload knows it is muted before speaking: `session` lists the active sanctions.
    tab = await world.connect(a["token"])
    session = await Inbox(tab, "session").wait_for("session")
    assert session["sanctions"] == [{"kind": "mute", "scope": "world", "room": None, "reason": "cool off",
                                     "until": n["until"]}]
    await tab.disconnect()
    await act(action="lift", kind="mute", reason="apologised")
    n = await ia.wait_for("moderation:notice", lambda d: d["action"] == "lift")
    assert n["lifted"] == "mute"
    assert (await call(ca, "chat:send", {"text": "sorry everyone"}))["ok"]

    # A mute of one room only.
    await act(action="mute", room=room.slug, reason="off-topic here")
    assert (await call(ca, "chat:send", {"text": "more"}))["error"]["code"] == "muted"
    await act(action="lift", kind="mute", room=room.slug, reason="ok")
    assert (await call(ca, "chat:send", {"text": "more"}))["ok"]

    await act(action="kick", room=room.slug, reason="take a break")
    left = await ia.wait_for("room:left", lambda d: d["room"] == room.slug)
    assert left["reason"] == "kicked"
    await ia.wait_for("moderation:notice", lambda d: d["action"] == "kick" and d["room"] == room.slug)
    assert (await call(ca, "room:join", {"room": room.slug}))["ok"]  # a kick is not a ban

    banned = await act(action="ban", room=room.slug, minutes=60, reason="trolling")
    left = await ia.wait_for("room:left", lambda d: d["reason"] == "banned")
    join = await call(ca, "room:join", {"room": room.slug})
    assert join["error"]["code"] == "banned"
    assert (await call(ca, "room:join", {"room": "plaza"}))["ok"]  # other rooms are open
    await act(action="lift", sanction_id=banned["sanction"]["id"], reason="second chance")
    assert (await call(ca, "room:join", {"room": room.slug}))["ok"]

    status, body = await rest(world, "GET", f"/api/admin/moderation/users/{uid(a)}", mod["token"])
    kinds = [s["kind"] for s in body["sanctions"]]
    assert kinds.count("mute") == 2 and "ban" in kinds and "kick" in kinds and "warn" in kinds
    assert body["active"] == []
    actions = await audit_actions(world, mod["token"], uid(a))
    assert actions.count("moderation.lift") == 3 and {"moderation.warn", "moderation.mute", "moderation.kick",
                                                       "moderation.ban"} <= set(actions)


async def test_world_kick_and_ban_disconnect_and_a_banned_user_appeals(world):
    mod = await staff(world)
    a, ca, ia, _ = await person(world, "plaza")
    second_tab = await world.connect(a["token"])
    tab_kicked = asyncio.Event()
    second_tab.on("kicked", lambda data=None: tab_kicked.set())

    status, _ = await rest(world, "POST", "/api/admin/moderation/act", mod["token"],
                           json={"user_id": uid(a), "action": "kick", "reason": "go outside"})
    assert status == 200
    kicked = await ia.wait_for("kicked")
    assert kicked == {"reason": "go outside"}
    await asyncio.wait_for(tab_kicked.wait(), 5)
    for _ in range(50):
        if not ca.connected and not second_tab.connected:
            break
        await asyncio.sleep(0.05)
    assert not ca.connected and not second_tab.connected
    assert not world.ctx.hub.connections_of(uid(a))

    a_client = await world.connect(a["token"])  # a kick is not a ban: back in at once
    from tests.conftest import Inbox
    ia = Inbox(a_client, "kicked", "moderation:notice")
    status, body = await rest(world, "POST", "/api/admin/moderation/act", mod["token"],
                              json={"user_id": uid(a), "action": "ban", "minutes": 60, "reason": "spamming"})
    assert status == 200
    ban_id = body["sanction"]["id"]
    assert (await ia.wait_for("kicked"))["reason"] == "spamming"
    refused = socketio.AsyncClient(reconnection=False)
    errors = []
    refused.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(world.url, auth={"token": a["token"]}, transports=["websocket"], wait_timeout=5)
    assert errors[0]["data"]["code"] == "banned" and errors[0]["data"]["until"], errors
    status, body = await rest(world, "POST", "/api/auth/login",
                              json={"username": a["user"]["username"], "password": a["password"]})
    assert status == 403 and body["error"]["code"] == "banned" and body["error"]["until"]

    # The appeal: no login, so name and password; a wrong password gets nowhere.
    status, body = await rest(world, "POST", "/api/moderation/appeals",
                              json={"username": a["user"]["username"], "password": "wrong-password", "text": "sorry"})
    assert status == 401
    status, body = await rest(world, "POST", "/api/moderation/appeals",
                              json={"username": a["user"]["username"], "password": a["password"],
                                    "text": "it was my little brother"})
    assert status == 200 and body["appeal"]["sanction_id"] == ban_id, body
    appeal_id = body["appeal"]["id"]
    # The ban ended the old token (401 everywhere): a second appeal, by name and password, is a conflict.
    status, body = await rest(world, "POST", "/api/moderation/appeals",
                              json={"username": a["user"]["username"], "password": a["password"], "text": "again"})
    assert status == 409
    status, body = await rest(world, "GET", "/api/admin/moderation/appeals", mod["token"])
    listed = next(x for x in body["appeals"] if x["id"] == appeal_id)
    assert listed["sanction"]["kind"] == "ban" and listed["username"] == a["user"]["username"]
    status, body = await rest(world, "POST", f"/api/admin/moderation/appeals/{appeal_id}/resolve", mod["token"],
                              json={"outcome": "granted", "note": "one more chance"})
    assert status == 200 and body["lifted"][0]["id"] == ban_id
    status, body = await rest(world, "POST", "/api/auth/login",
                              json={"username": a["user"]["username"], "password": a["password"]})
    assert status == 200
    a["token"] = body["token"]
    back = await world.connect(a["token"])
    assert back.connected
    status, body = await rest(world, "GET", "/api/moderation/appeals", a["token"])
    assert body["appeals"][0]["status"] == "granted"
    actions = await audit_actions(world, mod["token"], uid(a))
    assert {"moderation.kick", "moderation.ban", "moderation.appeal.granted", "moderation.lift"} <= set(actions)


async def test_appeal_of_a_blocked_line_voids_its_strike(world):
    room = await fresh_room(world)
    mod = await staff(world)
    a, ca, ia, _ = await person(world, room.slug)
    r = await call(ca, "chat:send", {"text": "you are an idiot"})
    assert r["action"] == "block"
    status, body = await rest(world, "POST", "/api/moderation/appeals", a["token"],
                              json={"message_id": r["message_id"], "text": "I was quoting a film"})
    assert status == 200, body
    ok = await call(ca, "chat:send", {"text": "fine words"})
    status, body = await rest(world, "POST", "/api/moderation/appeals", a["token"],
                              json={"message_id": ok["message_id"], "text": "?"})
    assert status == 400
    status, _ = await rest(world, "POST", "/api/admin/moderation/appeals/not-an-id/resolve", mod["token"],
                           json={"outcome": "granted"})
    assert status == 400
    status, listing = await rest(world, "GET", "/api/admin/moderation/appeals", mod["token"])
    appeal = next(x for x in listing["appeals"] if x["message_id"] == r["message_id"])
    status, body = await rest(world, "POST", f"/api/admin/moderation/appeals/{appeal['id']}/resolve", mod["token"],
                              json={"outcome": "granted", "note": "fair enough"})
    assert status == 200
    n = await ia.wait_for("moderation:notice", lambda d: d["action"] == "appeal_resolved")
    assert n["outcome"] == "granted" and n["reason"] == "fair enough"
    status, body = await rest(world, "GET", f"/api/admin/moderation/users/{uid(a)}", mod["token"])
    assert [s["voided"] for s in body["strikes"]] == [True]
    # Notices go out in order and appeal_resolved is the resolution's last: a mute would have come before it.
    await nothing(ia, "moderation:notice", lambda d: d["action"] == "mute",
                  barrier=ia.wait_for("moderation:notice", lambda d: d["action"] == "appeal_resolved"))
