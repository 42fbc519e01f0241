"""Rooms over real Socket.IO clients on one node: joining, presence, movement, access, tabs."""

import asyncio
import math
import uuid

import pytest
import socketio

from server.world.models import Avatar
from tests.conftest import Inbox, call, eventually
from tests.realtime.conftest import EVENTS, fresh_room, nothing, person, position_of, sees, uid


async def saved_at(world, user_id: str, where: tuple) -> bool:
    """The avatar's saved (room id, x, y) is `where`."""
    async with world.ctx.db.session() as s:
        av = await s.get(Avatar, uuid.UUID(user_id))
    return (av.room_id, av.x, av.y) == where


async def test_room_list_counts_and_hides_private_rooms(world):
    a, ca, _, _ = await person(world, "library")
    owner, co, _, _ = await person(world, None)
    secret = await fresh_room(world, access="private", owner_id=owner["user"]["id"])
    r = await call(ca, "room:list")
    assert r["ok"]
    rooms = {x["slug"]: x for x in r["rooms"]}
    assert {"plaza", "market", "library"} <= set(rooms)
    assert rooms["library"]["occupants"] >= 1 and rooms["library"]["capacity"] == 40
    assert rooms["library"]["access"] == "public" and set(rooms["library"]) == {"slug", "name", "occupants",
                                                                                 "capacity", "access",
                                                                                 "description", "inside"}
    assert secret.slug not in rooms
    mine = {x["slug"] for x in (await call(co, "room:list"))["rooms"]}
    assert secret.slug in mine


async def test_two_people_see_each_other_join_walk_and_leave(world):
    room = await fresh_room(world, width=20, height=10, spawn=(2, 2))
    a, ca, ia, ja = await person(world, room.slug)
    assert ja["you"] == {"id": uid(a), "x": 2.0, "y": 2.0}
    assert ja["room"]["slug"] == room.slug and ja["room"]["width"] == 20 and ja["room"]["tiles"] == []
    await ia.wait_for("presence:join", lambda d: d["id"] == uid(a))
    b, cb, ib, jb = await person(world, room.slug)
    joined = await ia.wait_for("presence:join", lambda d: d["id"] == uid(b))
    # The spawn tile is taken: b arrives on the free tile beside it, not on top of a.
    bx, by = jb["you"]["x"], jb["you"]["y"]
    assert (bx, by) != (2.0, 2.0) and abs(bx - 2.0) + abs(by - 2.0) == 1.0
    assert joined == {"id": uid(b), "kind": "user", "name": b["user"]["username"], "x": bx, "y": by,
                      "appearance": {}, "room": room.slug}
    assert uid(a) in {o["id"] for o in jb["occupants"]} and jb["room"]["occupants"] == 2

    # A far target is walked step by step: at most move_speed / tick_hz tiles per tick, no teleport.
    r = await call(cb, "move", {"x": 8, "y": 2})
    assert r == {"ok": True, "x": 8.0, "y": 2.0}
    await position_of(ia, uid(b), 8.0, 2.0)
    max_step = world.ctx.settings.move_speed / world.ctx.settings.tick_hz
    xs = [bx] + [m[1] for d in ia.items["world:tick"] for m in d["moves"] if m[0] == uid(b)]
    assert len(xs) >= 1 + math.ceil((8.0 - bx) / max_step)
    assert all(0 < b_ - a_ <= max_step + 1e-6 for a_, b_ in zip(xs, xs[1:]))
    # One world:tick per room per tick carries every change of that tick.
    await call(ca, "move", {"x": 3, "y": 3})
    await call(cb, "move", {"x": 7, "y": 3})
    both = await ib.wait_for("world:tick", lambda d: {m[0] for m in d["moves"]} == {uid(a), uid(b)})
    assert both["room"] == room.slug and isinstance(both["t"], float)

    assert (await call(cb, "room:leave")) == {"ok": True}
    await ia.wait_for("presence:leave", lambda d: d == {"id": uid(b), "room": room.slug})
    assert (await call(cb, "move", {"x": 1, "y": 1}))["error"]["code"] == "not_found"


async def test_movement_is_clamped_blocked_tiles_refused_and_walls_walked_around(world):
    room = await fresh_room(world, width=10, height=6, spawn=(1, 1), tiles=["..........", "....#.....", "....#....."])
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, _, _ = await person(world, room.slug)  # walks as the barrier below
    r = await call(ca, "move", {"x": -5, "y": 99})
    assert r == {"ok": True, "x": 0.0, "y": 5.0}  # clamped to the room
    await position_of(ia, uid(a), 0.0, 5.0)
    mark = len(ia.items["world:tick"])
    r = await call(ca, "move", {"x": 4.5, "y": 1.5})
    assert r["error"]["code"] == "invalid_payload" and "blocked" in r["error"]["message"]
    # b's move comes after the refused one: a step of a's would show by b's arrival.
    to = await call(cb, "move", {"x": 1, "y": 4})
    await nothing(ia, "world:tick", lambda d: any(m[0] == uid(a) for m in d["moves"]), since=mark,
                  barrier=position_of(ia, uid(b), to["x"], to["y"]))
    # A target behind the wall: the walker goes around it (server path finding), never through it.
    await call(ca, "move", {"x": 1, "y": 1})
    await position_of(ia, uid(a), 1.0, 1.0)
    mark = len(ia.items["world:tick"])
    await call(ca, "move", {"x": 8, "y": 1})
    await position_of(ia, uid(a), 8.0, 1.0)
    steps = [(m[1], m[2]) for d in ia.items["world:tick"][mark:] for m in d["moves"] if m[0] == uid(a)]
    assert not any(4 <= x < 5 and 1 <= y < 3 for x, y in steps)
    assert any(y < 1 or y >= 3 for x, y in steps if 3.5 <= x <= 5.5)  # it passed the wall above or below


async def test_one_room_per_connection_and_rejoin_is_idempotent(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, jb = await person(world, room.slug)
    await sees(ib, jb, uid(a))
    again = await call(ca, "room:join", {"room": room.slug})
    assert again["ok"] and again["you"]["id"] == uid(a)
    # A leave would come at the owner's next tick: b's move after the rejoin shows in that tick or a later one.
    to = await call(cb, "move", {"x": 7, "y": 7})
    await nothing(ib, "presence:leave", lambda d: d["id"] == uid(a), barrier=position_of(ib, uid(b), to["x"], to["y"]))
    r = await call(ca, "room:join", {"room": "library"})
    assert r["ok"] and r["room"]["slug"] == "library"
    await ib.wait_for("presence:leave", lambda d: d["id"] == uid(a))
    assert world.ctx.rooms.room_of_user(uid(a)) in ("library", None)
    await eventually(lambda: world.ctx.rooms.room_of_user(uid(a)) == "library", what="the mirror has a in the library")


async def test_second_tab_takes_over_the_avatar(world):
    room = await fresh_room(world)
    a, tab1, i1, _ = await person(world, room.slug)
    watcher, cw, iw, jw = await person(world, room.slug)
    await sees(iw, jw, uid(a))
    await call(tab1, "move", {"x": 3, "y": 1})
    await position_of(iw, uid(a), 3.0, 1.0)
    tab2 = await world.connect(a["token"])
    i2 = Inbox(tab2, *EVENTS)
    r = await call(tab2, "room:join", {"room": room.slug})
    assert r["ok"] and r["you"] == {"id": uid(a), "x": 3.0, "y": 1.0}  # the same avatar, where it stood
    left = await i1.wait_for("room:left")
    assert left == {"room": room.slug, "reason": "replaced"}
    assert (await call(tab1, "move", {"x": 5, "y": 5}))["error"]["code"] == "not_found"
    # The avatar walks on for tab2: a leave at the takeover would have come at or before that tick.
    assert (await call(tab2, "move", {"x": 4, "y": 1}))["ok"]
    await nothing(iw, "presence:leave", lambda d: d["id"] == uid(a), barrier=position_of(iw, uid(a), 4.0, 1.0))
    counts = {x["slug"]: x["occupants"] for x in (await call(cw, "room:list"))["rooms"]}
    assert counts[room.slug] == 2
    # The replaced tab disconnecting does not take the avatar out (once the server has seen it go,
    # a walk of tab2's is ticked after any leave it would have caused).
    gone = tab1.get_sid()
    await tab1.disconnect()
    await eventually(lambda: gone not in world.ctx.hub.connections, what="the server saw tab1 go")
    assert (await call(tab2, "move", {"x": 5, "y": 1}))["ok"]
    await nothing(iw, "presence:leave", lambda d: d["id"] == uid(a), barrier=position_of(iw, uid(a), 5.0, 1.0))
    # A tab joining another room moves the avatar there; the first tab is told.
    r = await call(tab1 if tab1.connected else await world.connect(a["token"]), "room:join", {"room": "library"})
    assert r["ok"]
    await iw.wait_for("presence:leave", lambda d: d["id"] == uid(a))
    assert (await i2.wait_for("room:left"))["reason"] == "replaced"


async def test_reconnect_restores_room_and_position(world):
    room = await fresh_room(world, width=12, height=12, spawn=(1, 1))
    a, ca, ia, _ = await person(world, room.slug)
    await call(ca, "move", {"x": 6.5, "y": 4.25})
    await position_of(ia, uid(a), 6.5, 4.25)
    await ca.disconnect()
    await eventually(lambda: saved_at(world, uid(a), (room.id, 6.5, 4.25)), what="the position saved on leave")
    c2 = await world.connect(a["token"])
    i2 = Inbox(c2, *EVENTS)
    session = await i2.wait_for("session")
    assert session["user"]["id"] == uid(a)
    assert session["languages"] == world.ctx.settings.languages and session["sanctions"] == []
    assert session["avatar"]["room"] == room.slug and (session["avatar"]["x"], session["avatar"]["y"]) == (6.5, 4.25)
    r = await call(c2, "room:join", {"room": session["avatar"]["room"]})
    assert r["you"] == {"id": uid(a), "x": 6.5, "y": 4.25}
    # Another room starts at its spawn point, or beside it when someone stands there.
    r = await call(c2, "room:join", {"room": "library"})
    others = {(int(p["x"]), int(p["y"])) for p in r["occupants"] + r["npcs"] if p["id"] != uid(a)}
    if (14, 17) in others:
        assert abs(r["you"]["x"] - 14.0) + abs(r["you"]["y"] - 17.0) >= 1.0
        assert (int(r["you"]["x"]), int(r["you"]["y"])) not in others
    else:
        assert (r["you"]["x"], r["you"]["y"]) == (14.0, 17.0)


async def test_positions_are_saved_periodically_while_walking(world):
    settings = world.ctx.settings
    old = settings.avatar_save_s
    settings.avatar_save_s = 0.2
    try:
        room = await fresh_room(world)
        a, ca, ia, _ = await person(world, room.slug)
        await call(ca, "move", {"x": 5, "y": 2})
        await position_of(ia, uid(a), 5.0, 2.0)
        await eventually(lambda: saved_at(world, uid(a), (room.id, 5.0, 2.0)), what="the position saved while walking")
    finally:
        settings.avatar_save_s = old


async def test_capacity_is_enforced_and_room_full_changes_nothing(world):
    room = await fresh_room(world, capacity=2)
    await person(world, room.slug)
    await person(world, room.slug)
    c, cc, ic, _ = await person(world, "market")
    r = await call(cc, "room:join", {"room": room.slug})
    assert r["error"]["code"] == "room_full"
    assert (await call(cc, "move", {"x": 5, "y": 5}))["ok"]  # still in the market
    counts = {x["slug"]: x["occupants"] for x in (await call(cc, "room:list"))["rooms"]}
    assert counts[room.slug] == 2


async def test_private_rooms_need_an_invite_from_the_owner(world):
    owner, co, io, _ = await person(world, None)
    guest, cg, ig, _ = await person(world, None)
    other, cx, ix, _ = await person(world, None)
    room = await fresh_room(world, access="private", owner_id=owner["user"]["id"])
    assert (await call(cg, "room:join", {"room": room.slug}))["error"]["code"] == "forbidden"
    r = await call(cx, "room:invite", {"room": room.slug, "user_id": uid(guest)})
    assert r["error"]["code"] == "forbidden"  # only the owner invites
    assert (await call(co, "room:invite", {"room": room.slug, "user_id": "not-a-uuid"}))["error"]["code"] == "invalid_payload"
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await call(co, "room:invite", {"room": room.slug, "user_id": unknown}))["error"]["code"] == "not_found"
    assert (await call(co, "room:invite", {"room": room.slug, "user_id": uid(guest)})) == {"ok": True}
    assert (await call(co, "room:join", {"room": room.slug}))["ok"]
    assert (await call(cg, "room:join", {"room": room.slug}))["ok"]
    assert (await call(cx, "room:join", {"room": room.slug}))["error"]["code"] == "forbidden"
    # Uninvited while inside: put out of the room.
    assert (await call(co, "room:uninvite", {"room": room.slug, "user_id": uid(guest)})) == {"ok": True}
    assert (await ig.wait_for("room:left")) == {"room": room.slug, "reason": "uninvited"}
    assert (await call(cg, "room:join", {"room": room.slug}))["error"]["code"] == "forbidden"
    # Admins need no invite.
    admin = await world.ctx.accounts.register("adm_" + uid(other)[:8], "admin-password-1", role="admin")
    ca = await world.connect(world.ctx.accounts.issue_token(admin))
    assert (await call(ca, "room:join", {"room": room.slug}))["ok"]


async def test_bans_put_people_out_and_keep_them_out(world):
    owner, co, io, _ = await person(world, None)
    room = await fresh_room(world, owner_id=owner["user"]["id"])
    pest, cp, ip, _ = await person(world, room.slug)
    by, cb, ib, _ = await person(world, room.slug)
    await call(co, "room:join", {"room": room.slug})
    assert (await call(cb, "room:ban", {"room": room.slug, "user_id": uid(pest)}))["error"]["code"] == "forbidden"
    assert (await call(co, "room:ban", {"room": room.slug, "user_id": uid(pest), "reason": "spam"})) == {"ok": True}
    assert (await ip.wait_for("room:left")) == {"room": room.slug, "reason": "banned"}
    await ib.wait_for("presence:leave", lambda d: d["id"] == uid(pest))
    assert (await call(cp, "room:join", {"room": room.slug}))["error"]["code"] == "banned"
    assert (await call(cp, "move", {"x": 1, "y": 1}))["error"]["code"] == "not_found"
    assert (await call(co, "room:ban", {"room": room.slug, "user_id": uid(owner)}))["error"]["code"] == "forbidden"
    assert (await call(co, "room:unban", {"room": room.slug, "user_id": uid(pest)})) == {"ok": True}
    assert (await call(cp, "room:join", {"room": room.slug}))["ok"]


async def test_bad_input_gets_error_codes_and_changes_nothing(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    await call(ca, "move", {"x": 3, "y": 3})
    await position_of(ib, uid(a), 3.0, 3.0)
    mark = len(ib.items["world:tick"])
    bad = [
        ("move", {"x": 1}),
        ("move", {"x": 1, "y": 1, "speed": 99}),
        ("move", {"x": "far", "y": 1}),
        ("move", {"x": float("nan"), "y": 1}),
        ("move", [1, 2]),
        ("room:join", {"room": ""}),
        ("room:join", {"room": "Plaza!"}),
        ("room:join", {"room": "plaza", "x": 1}),
        ("room:leave", {"now": True}),
        ("chat:send", {"text": ""}),
        ("chat:send", {"text": "   "}),
        ("chat:send", {"text": "x" * (world.ctx.settings.chat_max_len + 1)}),
        ("chat:send", {"text": "hi", "to": "nobody"}),
        ("chat:send", {"text": "hi", "to": uid(a)}),
        ("emote", {"name": "moonwalk"}),
        ("profile:update", {"appearance": {"shirt": "red"}}),
        ("profile:update", {"appearance": {"wings": "#ffffff"}}),
        ("profile:update", {"language": "xx"}),
        ("profile:update", {}),
    ]
    for event, data in bad:
        r = await call(ca, event, data)
        assert r["ok"] is False and r["error"]["code"] == "invalid_payload", (event, data, r)
    assert (await call(ca, "room:join", {"room": "nowhere"}))["error"]["code"] == "not_found"
    # (a's chat allowance is spent on the bad lines above: invalid requests count too)
    assert (await call(ca, "chat:send", {"text": "one more"}))["error"]["code"] == "rate_limited"
    ghost = "00000000-0000-4000-8000-000000000000"
    assert (await call(cb, "chat:send", {"text": "psst", "to": ghost}))["error"]["code"] == "not_found"
    # Nothing moved, nobody left, nothing was said: b's walk, after every refusal, is the barrier.
    to = await call(cb, "move", {"x": 6, "y": 6})
    await nothing(ib, "world:tick", lambda d: any(m[0] == uid(a) for m in d["moves"]), since=mark,
                  barrier=position_of(ib, uid(b), to["x"], to["y"]))
    assert not any(d["id"] == uid(a) for d in ib.items["presence:leave"])
    assert not ib.items["chat:message"]
    assert world.ctx.rooms.mirror.position(room.slug, uid(a)) == (3.0, 3.0)
    assert world.ctx.rooms.room_of_user(uid(a)) == room.slug


async def test_rate_limits_on_moves_and_chat(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    replies = await asyncio.gather(*(call(ca, "move", {"x": 2 + i % 3, "y": 2}) for i in range(40)))
    codes = [r["error"]["code"] for r in replies if not r["ok"]]
    assert codes and set(codes) == {"rate_limited"}
    replies = [await call(ca, "chat:send", {"text": f"line {i}"}) for i in range(8)]
    assert [r["ok"] for r in replies][:5] == [True] * 5
    assert replies[-1]["error"]["code"] == "rate_limited"


async def test_bad_token_is_unauthorized(world):
    client = socketio.AsyncClient(reconnection=False)
    errors = []
    client.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(world.url, auth={"token": "forged"}, transports=["websocket"], wait_timeout=5)
    assert errors[0]["data"]["code"] == "unauthorized"


async def test_profile_update_reaches_the_room(world):
    from server.protocol import ProtocolError

    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    async def refuse_rude(text, **kw):
        if "rude" in text:
            raise ProtocolError("invalid_payload", "that name is not allowed")
        return text

    world.ctx.public_text_checks.append(refuse_rude)
    try:
        assert (await call(ca, "profile:update", {"display_name": "rude dude"}))["error"]["code"] == "invalid_payload"
        r = await call(ca, "profile:update", {"display_name": "Ada", "language": "de",
                                              "appearance": {"shirt": "#112233", "hat": "cap"}})
    finally:
        world.ctx.public_text_checks.remove(refuse_rude)
    assert r["profile"] == {"display_name": "Ada", "language": "de", "appearance": {"shirt": "#112233", "hat": "cap"}}
    seen = await ib.wait_for("presence:join", lambda d: d["id"] == uid(a) and d["name"] == "Ada")
    assert seen["appearance"] == {"shirt": "#112233", "hat": "cap"}
    r = await call(ca, "profile:update", {"appearance": {"hair": "#000000"}})
    assert r["profile"]["appearance"] == {"shirt": "#112233", "hat": "cap", "hair": "#000000"}
    said = await call(ca, "chat:send", {"text": "hallo"})
    msg = await ib.wait_for("chat:message", lambda d: d["id"] == said["message_id"])
    assert msg["from"]["name"] == "Ada" and msg["lang"] == "de"


async def test_npcs_through_the_rooms_interface(world):
    rooms = world.ctx.rooms
    room = await fresh_room(world, width=16, height=8, spawn=(1, 1))
    a, ca, ia, _ = await person(world, room.slug)
    await rooms.add_npc(room.slug, "npc:test-bot", "Bot", {"shirt": "#abcdef"}, 4, 4)
    seen = await ia.wait_for("presence:join", lambda d: d["id"] == "npc:test-bot")
    assert seen == {"id": "npc:test-bot", "kind": "npc", "name": "Bot", "x": 4.0, "y": 4.0,
                    "appearance": {"shirt": "#abcdef"}, "room": room.slug}
    assert await rooms.move_npc(room.slug, "npc:test-bot", 99, 4) == (15.0, 4.0)
    await position_of(ia, "npc:test-bot", 15.0, 4.0)
    occ = {o["id"]: o for o in rooms.occupants(room.slug)}
    assert occ["npc:test-bot"]["kind"] == "npc" and occ[uid(a)]["kind"] == "user"
    assert rooms.room_of_user(uid(a)) == room.slug
    snap = {r["slug"]: r for r in rooms.presence.rooms_snapshot()}[room.slug]
    assert snap["occupants"] == 1 and snap["npcs"] == 1
    assert (await rooms.get_room(room.slug)).capacity == room.capacity and await rooms.get_room("nope") is None
    b, cb, ib, jb = await person(world, room.slug)
    assert [n["id"] for n in jb["npcs"]] == ["npc:test-bot"] and jb["npcs"][0]["x"] == 15.0
    assert {o["id"] for o in jb["occupants"]} >= {uid(b)}
    await rooms.remove_npc(room.slug, "npc:test-bot")
    await ib.wait_for("presence:leave", lambda d: d["id"] == "npc:test-bot")
    assert rooms.room_of_user(uid(b)) == room.slug


async def test_a_moves_client_time_is_echoed_at_arrival_to_the_millisecond(world):
    room = await fresh_room(world, width=10, height=10, spawn=(1, 1))
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    assert (await call(ca, "move", {"x": 1.5, "y": 1, "t": 1795365000.1234567}))["ok"]
    tick = await ib.wait_for("world:tick", lambda d: any(m[0] == uid(a) and m[1] == 1.5 for m in d["moves"]))
    (entry,) = [m for m in tick["moves"] if m[0] == uid(a)]
    assert entry == [uid(a), 1.5, 1.0, 1795365000.123]  # the arrival's entry carries t, to the millisecond
    steps = [m for d in ib.items["world:tick"] for m in d["moves"] if m[0] == uid(a)]
    assert all(len(m) == 3 for m in steps[:-1])  # the steps on the way do not
    bad = await call(ca, "move", {"x": 2, "y": 1, "t": "soon"})
    assert bad["error"]["code"] == "invalid_payload"


async def test_a_domain_stuck_in_shutdown_does_not_keep_the_world_up(db_url, db, tmp_path):
    from tests.conftest import make_settings, start_world

    node = await start_world(make_settings(tmp_path, shutdown_timeout_s=0.5, avatar_save_s=600.0), db_url)
    a, ca, ia, _ = await person(node, "library")
    await call(ca, "move", {"x": 9.5, "y": 11.25})
    await position_of(ia, uid(a), 9.5, 11.25)

    async def stuck() -> None:  # e.g. a drain waiting on a peer that never answers
        await asyncio.Event().wait()

    node.ctx.chat.drain = stuck
    t0 = asyncio.get_running_loop().time()
    await node.runner.cleanup()
    assert asyncio.get_running_loop().time() - t0 < 5
    await node.close_clients()
    # Chat shuts down before the world: the world still saved where the person stood.
    async with db.session() as s:
        av = await s.get(Avatar, uuid.UUID(uid(a)))
    assert (av.x, av.y) == (9.5, 11.25)


async def test_a_crowd_leaves_on_shutdown_in_time_and_every_place_is_saved(db_url, db, tmp_path):
    from tests.conftest import make_settings, start_world

    node = await start_world(make_settings(tmp_path, shutdown_timeout_s=3.0, avatar_save_s=600.0), db_url)
    room = await fresh_room(node)
    people = []
    for i in range(24):
        a, ca, ia, _ = await person(node, room.slug)
        await call(ca, "move", {"x": 2 + i % 8, "y": 2 + i // 8})
        people.append((a, ia, (float(2 + i % 8), float(2 + i // 8))))
    for a, ia, (x, y) in people:
        await position_of(ia, uid(a), x, y)
    avatars = node.ctx.rooms.avatars
    slow_save = avatars.save_place

    async def save_place(*args) -> None:  # a database that takes 0.25 s a write: 24 in a row outlast 3 s
        await asyncio.sleep(0.25)
        await slow_save(*args)

    avatars.save_place = save_place
    await node.runner.cleanup()
    await node.close_clients()
    async with db.session() as s:
        for a, _, place in people:
            av = await s.get(Avatar, uuid.UUID(uid(a)))
            assert (av.room_id, av.x, av.y) == (room.id, *place)
