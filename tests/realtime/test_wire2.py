"""Wire 2: compact world:frames with folded move acks, and interest management in large rooms."""

from __future__ import annotations

import asyncio
import json
import time

from server.realtime.frames import _Far
from tests.conftest import Inbox, call
from tests.realtime.conftest import EVENTS, echoed, fresh_room, person, uid

FRAME = "world:frame"


async def wire2(world, room: str):
    """A person on wire 2: (account, client, inbox, join reply)."""
    account, client = await world.user()
    inbox = Inbox(client, *EVENTS, FRAME)
    reply = await call(client, "room:join", {"room": room, "wire": 2})
    assert reply["ok"], reply
    return account, client, inbox, reply


def triples(flat: list) -> list[tuple]:
    """A frame's `m` or `f` as (n, x, y) in tiles: positions come as whole hundredths of a tile."""
    for v in flat:
        assert type(v) is int, flat
    return [(flat[i], flat[i + 1] / 100, flat[i + 2] / 100) for i in range(0, len(flat), 3)]


def seen_at(inbox: Inbox, n: int, part: str = "m") -> list[tuple[float, float]]:
    return [(x, y) for d in inbox.items[FRAME] for (k, x, y) in triples(d.get(part) or []) if k == n]


async def test_a_wire2_client_gets_one_compact_frame_per_tick_with_its_acks_folded_in(world):
    room = await fresh_room(world)
    a, ca, ia, ja = await wire2(world, room.slug)
    b, cb, ib, jb = await person(world, room.slug)  # an old client: world:tick and acks as before
    frames_b = []
    cb.on(FRAME, frames_b.append)
    me = ja["you"]["n"]
    b_n = next((p["n"] for p in ja["occupants"] if p["id"] == uid(b)), None)
    if b_n is None:
        b_n = (await ia.wait_for("presence:join", lambda d: d["id"] == uid(b)))["n"]

    await ca.emit("move", {"x": 4, "y": 3, "t": 123.5, "s": 7})  # no Socket.IO ack asked: it comes in a frame
    frame = await ia.wait_for(FRAME, lambda d: d.get("a"))
    assert frame["a"] == [[7, {"ok": True, "x": 4.0, "y": 3.0}]]
    assert frame["room"] == room.slug
    arrived = await ia.wait_for(FRAME, lambda d: (me, 4.0, 3.0) in triples(d["m"]))
    assert echoed(arrived, me) == 123.5
    assert not ia.items["world:tick"]  # a wire-2 client gets frames only
    # The old client sees the same walk in its world:tick, and its acked moves still answer.
    await ib.wait_for("world:tick", lambda d: any(m[0] == uid(a) and m[1:3] == [4.0, 3.0] for m in d["moves"]))
    assert (await call(cb, "move", {"x": 6, "y": 5}))["ok"]
    await ia.wait_for(FRAME, lambda d: (b_n, 6.0, 5.0) in triples(d["m"]))
    assert not frames_b

    # A refused move answers in the frame too; an `s` from a wire-1 client is refused.
    await ca.emit("move", {"x": "far", "y": 3, "s": 8})
    bad = await ia.wait_for(FRAME, lambda d: any(s == 8 for s, _ in d.get("a") or []))
    assert [r for s, r in bad["a"] if s == 8][0]["error"]["code"] == "invalid_payload"
    refused = await call(cb, "move", {"x": 1, "y": 1, "s": 3})
    assert refused["error"]["code"] == "invalid_payload"


async def test_an_echo_is_the_milliseconds_before_the_frame_and_a_time_too_far_off_is_left_out(world):
    room = await fresh_room(world)
    a, ca, ia, ja = await wire2(world, room.slug)
    b, cb, ib, jb = await wire2(world, room.slug)
    a_n, b_n = ja["you"]["n"], jb["you"]["n"]
    await ia.wait_for("presence:join", lambda d: d["id"] == uid(b))
    sent = round(time.time(), 3)
    await ca.emit("move", {"x": 2, "y": 2, "t": sent, "s": 1})
    await cb.emit("move", {"x": 3, "y": 3, "t": 1e300, "s": 1})  # finite, but no JS number holds it in ms
    frame = await ia.wait_for(FRAME, lambda d: (a_n, 2.0, 2.0) in triples(d["m"]))
    ms = frame["e"][frame["e"].index(a_n) + 1]
    assert 0 <= ms < 5000 and echoed(frame, a_n) == sent  # a few bytes, not the 14 of the time itself
    far_off = await ib.wait_for(FRAME, lambda d: (b_n, 3.0, 3.0) in triples(d["m"]))
    assert echoed(far_off, b_n) is None  # walked, not echoed
    await ca.emit("move", {"x": 4, "y": 4, "t": sent, "s": 2})  # and the room's frames go on
    later = await ib.wait_for(FRAME, lambda d: (a_n, 4.0, 4.0) in triples(d["m"]))
    assert echoed(later, a_n) == sent


async def test_interest_management_sends_near_moves_each_tick_and_far_ones_seldom(world):
    rooms, settings = world.ctx.rooms, world.ctx.settings
    room = await fresh_room(world, width=80, height=12, spawn=(2.0, 2.0))
    settings.interest_rooms = {room.slug: True}
    settings.interest_view, settings.interest_margin, settings.interest_cell = (10.0, 6.0), 2.0, 4.0
    settings.interest_far_every = 3
    try:
        a, ca, ia, ja = await wire2(world, room.slug)
        b, cb, ib, jb = await wire2(world, room.slug)
        await ia.wait_for("presence:join", lambda d: d["id"] == uid(b))
        b_n = jb["you"]["n"]
        rooms.ownership.owned[room.slug].max_step = 2.0  # 20 tiles a second: the walks below take a second or two
        assert (await call(ca, "move", {"x": 3, "y": 3}))["ok"]
        # A's area: its block (8 tiles: x 0-8) and 7 tiles around it, rounded out to 4-tile cells: x < 16.
        assert (await call(cb, "move", {"x": 60, "y": 3}))["ok"]
        await ib.wait_for(FRAME, lambda d: (b_n, 60.0, 3.0) in triples(d["m"]), timeout=15)
        # Far: A gets B's position in the seldom `f` part, not tick by tick.
        await ia.wait_for(FRAME, lambda d: (b_n, 60.0, 3.0) in triples(d.get("f") or []), timeout=15)
        far_ticks = [x for x, _ in seen_at(ia, b_n)]
        assert all(x < 16 for x in far_ticks)
        assert len(seen_at(ia, b_n, "f")) < len(seen_at(ib, b_n)), "far moves come at a lower rate"

        # B walks into A's area: its moves reach A every tick from the edge on.
        mark = len(ia.items[FRAME])
        assert (await call(cb, "move", {"x": 6, "y": 3}))["ok"]
        await ia.wait_for(FRAME, lambda d: (b_n, 6.0, 3.0) in triples(d["m"]), timeout=15)
        near = [x for d in ia.items[FRAME][mark:] for (k, x, _) in triples(d["m"]) if k == b_n]
        assert near and all(x < 16 for x in near)
        walked = [x for d in ib.items[FRAME][mark:] for (k, x, _) in triples(d["m"]) if k == b_n]
        assert len([x for x in walked if x < 16]) <= len(near) + 1  # every step inside, give or take the edge tick

        # B walks out again: its moves stop at the edge; the far update brings where it ended.
        mark = len(ia.items[FRAME])
        assert (await call(cb, "move", {"x": 70, "y": 3}))["ok"]
        await ia.wait_for(FRAME, lambda d: (b_n, 70.0, 3.0) in triples(d.get("f") or []), timeout=20)
        out = [x for d in ia.items[FRAME][mark:] for (k, x, _) in triples(d["m"]) if k == b_n]
        assert out and all(x < 16 for x in out)

        # Presence of the far ones stays right: C joins and leaves far away; A hears both.
        c, cc, ic, jc = await wire2(world, room.slug)
        assert (await call(cc, "move", {"x": 75, "y": 8}))["ok"]
        await ia.wait_for("presence:join", lambda d: d["id"] == uid(c))
        assert (await call(cc, "room:leave"))["ok"]
        await ia.wait_for("presence:leave", lambda d: d["id"] == uid(c))
        assert rooms.presence.interest_of(room.slug) is not None
    finally:
        settings.interest_rooms = {}
        settings.interest_view, settings.interest_margin, settings.interest_cell = (30.0, 20.0), 4.0, 10.0
        settings.interest_far_every = 10


async def test_far_updates_skip_small_steps_and_an_area_that_moves_brings_the_bodies_it_takes_in(world):
    rooms, settings = world.ctx.rooms, world.ctx.settings
    room = await fresh_room(world, width=80, height=12, spawn=(2.0, 2.0))
    settings.interest_rooms = {room.slug: True}
    settings.interest_view, settings.interest_margin, settings.interest_cell = (10.0, 6.0), 2.0, 4.0
    settings.interest_far_every, settings.interest_far_step = 3, 1.0
    try:
        a, ca, ia, ja = await wire2(world, room.slug)
        b, cb, ib, jb = await wire2(world, room.slug)
        await ia.wait_for("presence:join", lambda d: d["id"] == uid(b))
        b_n = jb["you"]["n"]
        rooms.ownership.owned[room.slug].max_step = 2.0
        assert (await call(ca, "move", {"x": 3, "y": 3}))["ok"]
        assert (await call(cb, "move", {"x": 60, "y": 3}))["ok"]
        await ia.wait_for(FRAME, lambda d: (b_n, 60.0, 3.0) in triples(d.get("f") or []), timeout=15)

        # Small steps far away (each under a tile from where `f` last put B), then B stands still: A's
        # far updates bring B's exact resting place (the listing rules are tested on `_Far` below).
        for x in (60.4, 60.8, 60.2):
            assert (await call(cb, "move", {"x": x, "y": 3}))["ok"]
            await ib.wait_for(FRAME, lambda d, x=x: (b_n, x, 3.0) in triples(d["m"]), timeout=15)
        await ia.wait_for(FRAME, lambda d: (b_n, 60.2, 3.0) in triples(d.get("f") or []), timeout=15)

        # Near A, small steps too: a frame's `f` never carries an older place than its `m`.
        mark = len(ia.items[FRAME])
        for x in (6.0, 6.4, 6.8, 6.5):
            assert (await call(cb, "move", {"x": x, "y": 3}))["ok"]
            await ia.wait_for(FRAME, lambda d, x=x: (b_n, x, 3.0) in triples(d["m"]), timeout=15)
        for d in ia.items[FRAME][mark:]:
            near = [t for t in triples(d["m"]) if t[0] == b_n]
            far = [t for t in triples(d.get("f") or []) if t[0] == b_n]
            assert not (near and far) or near[-1] == far[-1], d

        # Presence only (no far updates): B walks away unseen; when A's area moves over B's cell, A's
        # frame carries where B stands, though B has not moved since.
        settings.interest_far_every = 0
        assert (await call(cb, "move", {"x": 40, "y": 3}))["ok"]
        await ib.wait_for(FRAME, lambda d: (b_n, 40.0, 3.0) in triples(d["m"]), timeout=15)
        assert (b_n, 40.0, 3.0) not in [t for d in ia.items[FRAME] for t in triples(d["m"]) + triples(d.get("f") or [])]
        mark_b = len(ib.items[FRAME])
        assert (await call(ca, "move", {"x": 34, "y": 3}))["ok"]  # A's area then reaches x = 34 + 7: B's cell (40-43)
        await ia.wait_for(FRAME, lambda d: (b_n, 40.0, 3.0) in triples(d["m"]), timeout=15)
        assert all(k != b_n for d in ib.items[FRAME][mark_b:] for (k, _, _) in triples(d["m"])), "B stood still"
    finally:
        settings.interest_rooms = {}
        settings.interest_view, settings.interest_margin, settings.interest_cell = (30.0, 20.0), 4.0, 10.0
        settings.interest_far_every, settings.interest_far_step = 10, 1.0


async def test_far_bodies_in_the_far_view_come_each_far_period_the_rest_only_with_the_whole_rooms(world):
    rooms, settings = world.ctx.rooms, world.ctx.settings
    room = await fresh_room(world, width=80, height=12, spawn=(2.0, 2.0))
    settings.interest_rooms = {room.slug: True}
    settings.interest_view, settings.interest_margin, settings.interest_cell = (10.0, 6.0), 2.0, 4.0
    settings.interest_far_every, settings.interest_far_view, settings.interest_far_all_every = 2, (40.0, 6.0), 0
    try:
        a, ca, ia, ja = await wire2(world, room.slug)
        b, cb, ib, jb = await wire2(world, room.slug)
        d, cd, id_, jd = await wire2(world, room.slug)
        await ia.wait_for("presence:join", lambda p: p["id"] == uid(d))
        b_n, d_n = jb["you"]["n"], jd["you"]["n"]
        assert (await call(ca, "move", {"x": 3, "y": 3}))["ok"]
        # A's area ends at x = 16; its far view at x = 3 + 20, rounded out to 8-tile blocks: x < 24.
        rooms.ownership.owned[room.slug].max_step = 0.5
        for x in (20.0, 22.0, 18.0):  # D walks to and fro inside A's far view, outside its area
            assert (await call(cd, "move", {"x": x, "y": 4}))["ok"]
            await ia.wait_for(FRAME, lambda f, x=x: (d_n, x, 4.0) in triples(f.get("f") or []), timeout=15)
        for x in (60.0, 70.0):  # B walks far beyond it: with no whole-room updates, A never gets B's place
            assert (await call(cb, "move", {"x": x, "y": 4}))["ok"]
            await ib.wait_for(FRAME, lambda f, x=x: (b_n, x, 4.0) in triples(f["m"]), timeout=15)
        await ia.wait_for(FRAME, lambda f: (d_n, 18.0, 4.0) in triples(f.get("f") or []), timeout=15)
        # (both set out from the spawn point, in A's area: A saw them go until they left its area, or its far view)
        b_seen = [t[1] for f in ia.items[FRAME] for t in triples(f["m"]) + triples(f.get("f") or []) if t[0] == b_n]
        assert b_seen and max(b_seen) < 24
        d_near = [t[1] for f in ia.items[FRAME] for t in triples(f["m"]) if t[0] == d_n]
        assert d_near and max(d_near) < 16

        # The whole room's updates, every 4 ticks: B's place comes to A in them.
        settings.interest_far_all_every = 4
        assert (await call(cb, "move", {"x": 66, "y": 4}))["ok"]
        await ia.wait_for(FRAME, lambda f: (b_n, 66.0, 4.0) in triples(f.get("f") or []), timeout=15)
    finally:
        settings.interest_rooms = {}
        settings.interest_view, settings.interest_margin, settings.interest_cell = (30.0, 20.0), 4.0, 10.0
        settings.interest_far_every, settings.interest_far_view, settings.interest_far_all_every = 10, (100.0, 60.0), 100


async def test_a_client_that_says_what_its_screen_shows_gets_that_area_and_a_bad_view_is_refused(world):
    rooms, settings = world.ctx.rooms, world.ctx.settings
    room = await fresh_room(world, width=80, height=12, spawn=(2.0, 2.0))
    settings.interest_rooms = {room.slug: True}
    settings.interest_view, settings.interest_margin, settings.interest_cell = (10.0, 6.0), 2.0, 4.0
    settings.interest_view_max = (40.0, 50.0)
    try:
        a, ca = await world.user()
        ia = Inbox(ca, *EVENTS, FRAME)
        for bad in ("wide", [0, 6], [30, 6, 1], ["30", 6]):
            reply = await call(ca, "room:join", {"room": room.slug, "wire": 2, "view": bad})
            assert reply["error"]["code"] == "invalid_payload", bad
        await asyncio.sleep(1.1)  # joins are limited to 5 a second
        assert (await call(ca, "room:join", {"room": room.slug, "wire": 2, "view": [500, 6]}))["ok"]  # counts as 40
        c, cc, ic, jc = await wire2(world, room.slug)  # says nothing: the room's view, 10 x 6
        b, cb, ib, jb = await wire2(world, room.slug)
        await ia.wait_for("presence:join", lambda d: d["id"] == uid(b))
        b_n = jb["you"]["n"]
        rooms.ownership.owned[room.slug].max_step = 2.0
        assert (await call(ca, "move", {"x": 3, "y": 3}))["ok"] and (await call(cc, "move", {"x": 3, "y": 3}))["ok"]
        # A's area: its block (x 0-8) and 20 + 2 tiles around it, in 4-tile cells: x < 32; C's: x < 16.
        for x in (28.0, 60.0):
            assert (await call(cb, "move", {"x": x, "y": 3}))["ok"]
            await ib.wait_for(FRAME, lambda d, x=x: (b_n, x, 3.0) in triples(d["m"]), timeout=15)
        await ia.wait_for(FRAME, lambda d: (b_n, 28.0, 3.0) in triples(d["m"]), timeout=15)
        a_near = [x for d in ia.items[FRAME] for (k, x, _) in triples(d["m"]) if k == b_n]
        c_near = [x for d in ic.items[FRAME] for (k, x, _) in triples(d["m"]) if k == b_n]
        assert max(a_near) < 32 and max(c_near) < 16 and 28.0 not in c_near

        # A's screen gets smaller (a window resized): its area follows; a bad view changes nothing.
        assert (await call(ca, "view", {"view": [10, "6"]}))["error"]["code"] == "invalid_payload"
        assert (await call(ca, "view", {"view": [10, 6]})) == {"ok": True}
        mark = len(ia.items[FRAME])
        for x in (26.0, 6.0):
            assert (await call(cb, "move", {"x": x, "y": 3}))["ok"]
            await ib.wait_for(FRAME, lambda d, x=x: (b_n, x, 3.0) in triples(d["m"]), timeout=15)
        await ia.wait_for(FRAME, lambda d: (b_n, 6.0, 3.0) in triples(d["m"]), timeout=15)
        assert 26.0 not in [x for d in ia.items[FRAME][mark:] for (k, x, _) in triples(d["m"]) if k == b_n]
    finally:
        settings.interest_rooms = {}
        settings.interest_view, settings.interest_margin, settings.interest_cell = (30.0, 20.0), 4.0, 10.0
        settings.interest_view_max = (80.0, 50.0)


async def test_unacked_moves_are_taken_in_data_received_with_the_same_checks_and_acks(world):
    """The move fast path (transport.py, 8.): no read-loop wake per move, and nothing skipped."""
    room = await fresh_room(world)
    a, ca, ia, ja = await wire2(world, room.slug)
    me = ja["you"]["n"]
    now = world.ctx.hub.now
    original, taken = now["move"], []

    def counting(sid, data):
        done = original(sid, data)
        taken.append(done)
        return done

    now["move"] = counting
    try:
        await ca.emit("move", {"x": 5, "y": 2, "s": 1})
        await ca.emit("move", {"x": "far", "y": 2, "s": 2})
        await ca.emit("move", {"x": 5, "y": 2, "s": 3, "z": 1})
        await ca.emit("move", {"x": 9999, "y": -5, "t": 1.23456, "s": 4})  # clamped to the room
        await ca.emit("move", {"x": 5, "y": 2, "s": -1})
        got: dict[int, dict] = {}
        while len(got) < 5:
            frame = await ia.wait_for(FRAME, lambda d: d.get("a") and not any(s in got for s, _ in d["a"]))
            got.update({s: r for s, r in frame["a"]})
        assert got[1] == {"ok": True, "x": 5.0, "y": 2.0}
        assert got[2]["error"]["code"] == got[3]["error"]["code"] == got[-1]["error"]["code"] == "invalid_payload"
        assert got[4] == {"ok": True, "x": float(room.width - 1), "y": 0.0}
        await ia.wait_for(FRAME, lambda d: (me, float(room.width - 1), 0.0) in triples(d["m"]), timeout=20)
        # The rate limit (20 a second) counts these moves as it counted the queued ones.
        for s in range(10, 40):
            await ca.emit("move", {"x": 3, "y": 3, "s": s})
        while not all(s in got for s in range(10, 40)):
            frame = await ia.wait_for(FRAME, lambda d: d.get("a") and any(s >= 10 and s not in got for s, _ in d["a"]))
            got.update({s: r for s, r in frame["a"]})
        codes = [got[s].get("error", {}).get("code") for s in range(10, 40)]
        assert "rate_limited" in codes and codes[0] is None
        assert taken and all(taken), "every move was taken in data_received (the read loop was idle)"
        assert len(taken) == 35
    finally:
        now["move"] = original


def test_far_listing_takes_a_body_past_the_dead_band_or_at_rest_at_its_latest_place():
    """`_Far`, tick by tick: what a room's `f` lists (far view every 3 ticks, whole room every 6, dead
    band 1 tile), and by cell for the far view."""
    fs = _Far(3, 6)

    def tick(no: int, *moves: tuple[int, float, float], window: int = 3) -> list[tuple]:
        fs.start(no)
        for n, x, y in moves:
            fs.moved_to(n, f"{n},{round(x * 100)},{round(y * 100)}", x, y, 1.0, no)
        return triples(json.loads("{" + fs.text(no - window)[1:] + "}")["f"])

    assert tick(1, (7, 10.0, 5.0)) == [(7, 10.0, 5.0)]  # first seen: listed
    assert tick(2, (7, 10.4, 5.0)) == [(7, 10.4, 5.0)]  # inside the band, still listed: its latest place
    assert tick(3, (7, 10.8, 5.0)) == [(7, 10.8, 5.0)]
    assert tick(4, (7, 10.6, 5.0)) == []  # the listing lapsed; small steps do not renew it
    assert tick(4, window=6) == [(7, 10.6, 5.0)]  # the whole room's `f` looks twice as far back
    assert tick(5) == [] and tick(6) == []
    assert tick(7) == [(7, 10.6, 5.0)]  # no move for 3 ticks: at rest, listed at its exact place
    assert tick(8, (7, 11.7, 5.0), (9, 80.0, 5.0)) == [(7, 11.7, 5.0), (9, 80.0, 5.0)]  # a tile or more from its listing
    rows = fs.rows(8 - 3, 20.0)  # the far view's listings by 20-tile cell
    assert rows.text((0, 1, 0, 0))[0] == "7,1170,500" and rows.text((3, 4, 0, 0))[0] == "9,8000,500"
    assert rows.text((1, 2, 0, 0))[0] == ""
    assert fs.pending(8) and not _Far(3, 6).pending(8)
    fs = _Far(5, 0, fs)  # the periods changed: what was listed and held is kept
    assert tick(9, (7, 11.9, 5.0)) == [(7, 11.9, 5.0), (9, 80.0, 5.0)]
    assert fs.unsettled() == ["7,1190,500"]  # what a room leaving interest management sends to all once
    fs.prune({7}, 20)  # 9 left the room; listings older than every client's window are dropped
    assert fs.text(0) == ',"f":[]' and fs.unsettled() == ["7,1190,500"]


def test_a_frame_written_in_parts_goes_to_the_queue_whole_when_it_cannot_go_straight_out():
    """Far frames are written as parts (the shared `f` not copied per client); a client that cannot take a
    direct write (backed up, or not upgraded yet) gets the same frame whole, in one packet on its queue."""
    import asyncio

    from server.realtime.fanout import Fanout

    class Sock:  # an engine.io socket without a websocket to write to: the queue path
        closed = closing = False

        def __init__(self) -> None:
            self.queue = asyncio.Queue()

    sock, parts = Sock(), [b'42["world:frame",{"room":"r","t":1.5,"m":[1,2.5,3.0],"e":[]', b',"f":[4,5.0,6.0]', b"}]"]
    assert Fanout(sio=None, queue_limit=8).push_parts("e1", sock, parts)
    pkt = sock.queue.get_nowait()
    assert pkt.encode() == b"".join(parts).decode()
    assert json.loads(pkt.encode()[2:])[1]["f"] == [4, 5.0, 6.0]


def test_an_areas_moves_are_exactly_those_of_its_cells_however_the_room_is_cut():
    """`_Rows` (a tick's moves laid out by row, an area cut as slices) against the plain reading: every
    entry of a cell inside the area, none outside, echoes with their cells, for areas of every shape and
    place (half off the room too), rooms sparse and dense."""
    import random

    from server.realtime.frames import _Rows

    def groups(text: str, k: int) -> list[tuple]:  # "1,2,3,4,5,6" -> [(1, 2, 3), (4, 5, 6)], as JSON reads it
        flat = json.loads(f"[{text}]")
        assert len(flat) % k == 0, text
        return [tuple(flat[i:i + k]) for i in range(0, len(flat), k)]

    rnd = random.Random(7)
    for occupied in (3, 40, 400):
        cells: dict[tuple[int, int], tuple[list[str], list[str]]] = {}
        for k in range(occupied):
            key = (rnd.randrange(0, 50), rnd.randrange(0, 40))
            m, e = cells.setdefault(key, ([], []))
            m.append(f"{k},{key[0] * 1000},{key[1] * 1000}")
            if k % 3 == 0:
                e.append(f"{k},{k % 90}")
        rows = _Rows(cells)
        for _ in range(300):
            cx0, cy0 = rnd.randrange(-4, 52), rnd.randrange(-4, 42)
            area = (cx0, cx0 + rnd.randrange(0, 6), cy0, cy0 + rnd.randrange(0, 5))
            m, e = rows.text(area)
            inside = [v for (cx, cy), v in cells.items() if area[0] <= cx <= area[1] and area[2] <= cy <= area[3]]
            assert sorted(groups(m, 3)) == sorted(t for v in inside for x in v[0] for t in groups(x, 3)), area
            assert sorted(groups(e, 2)) == sorted(t for v in inside for x in v[1] for t in groups(x, 2)), area
        whole_m, _ = rows.text(None)
        assert len(json.loads(f"[{whole_m}]")) == 3 * sum(len(v[0]) for v in cells.values())


def test_a_viewer_keeps_its_area_inside_the_keep_box_and_only_there():
    """`Interest.keep_box`, the bounds checked each tick, against the rule: an area is kept while its cells
    cover the view plus half the margin around the viewer; at random places and on the edges."""
    import random

    from server.realtime.frames import Interest

    cfg, rnd = Interest(), random.Random(3)
    hw, hh, c = cfg.view_w / 2 + cfg.margin / 2, cfg.view_h / 2 + cfg.margin / 2, cfg.cell

    def covers(area: tuple[int, int, int, int], x: float, y: float) -> bool:
        cx0, cx1, cy0, cy1 = area
        return cx0 * c <= x - hw and x + hw < (cx1 + 1) * c and cy0 * c <= y - hh and y + hh < (cy1 + 1) * c

    for _ in range(2000):
        ax, ay = rnd.uniform(0, 500), rnd.uniform(0, 400)
        area = cfg.cells(ax, ay)
        x0, x1, y0, y1 = cfg.keep_box(area)
        for x, y in [(ax + rnd.uniform(-12, 12), ay + rnd.uniform(-12, 12)), (x0, ay), (x1, ay), (ax, y0), (ax, y1)]:
            assert (x0 <= x < x1 and y0 <= y < y1) == covers(area, x, y), (area, x, y)


def test_an_area_covers_the_view_and_margin_from_anywhere_in_its_block_and_no_cell_more():
    """`Interest.cells`: the viewers of one block share one area; it covers the view plus margin of each
    of them, and each of its edge cells is needed by some place in the block."""
    import random

    from server.realtime.frames import Interest

    for cfg in (Interest(), Interest(view_w=10, view_h=6, margin=2, cell=4)):
        rnd, b, c = random.Random(5), cfg.block, cfg.cell
        hw, hh = cfg.view_w / 2 + cfg.margin, cfg.view_h / 2 + cfg.margin
        for _ in range(2000):
            x, y = rnd.uniform(-5, 500), rnd.uniform(-5, 400)
            cx0, cx1, cy0, cy1 = area = cfg.cells(x, y)
            assert cx0 * c <= x - hw and x + hw < (cx1 + 1) * c and cy0 * c <= y - hh and y + hh < (cy1 + 1) * c
            bx, by = x // b * b, y // b * b
            assert cfg.cells(bx, by) == cfg.cells(bx + b - 1e-6, by + b - 1e-6) == area  # one area per block
            # the block's first place needs the first cell, its last place the last one
            assert int((bx - hw) // c) == cx0 and int((bx + b - 1e-6 + hw) // c) == cx1
            assert int((by - hh) // c) == cy0 and int((by + b - 1e-6 + hh) // c) == cy1
