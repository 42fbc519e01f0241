"""Movement input and walkability: coordinates are numbers only, and walkers never slip
diagonally between two blocked tiles that meet at a corner."""

from __future__ import annotations

import random
import uuid

from server.protocol import cents
from server.world.geometry import RoomInfo
from tests.conftest import call
from tests.realtime.conftest import fresh_room, person, position_of, uid


def room(tiles: list[str], width: int = 10, height: int = 10) -> RoomInfo:
    return RoomInfo(id=uuid.uuid4(), slug="r", name="r", description="", width=width, height=height, capacity=5,
                    access="public", owner_id=None, tiles=tuple(tiles))


def test_a_diagonal_gap_between_two_corner_touching_walls_is_closed():
    r = room(["#.", ".#"])  # (0,0) and (1,1) blocked: they meet at the corner (1,1)
    assert not r.clear(1.5, 0.5, 0.5, 1.5)  # exactly through the corner
    assert not r.clear(0.5, 1.5, 1.5, 0.5)  # and back
    assert not r.clear(1.9, 0.3, 0.2, 1.6)  # off the corner: through a wall
    # Walking toward the gap in small steps: stopped before it, never on the other side.
    x, y = 1.7, 0.2
    for _ in range(20):
        x, y, state = r.step(x, y, 0.3, 1.8, 0.25)
        assert int(x) == 1 and int(y) == 0
        if state != "walk":
            break
    assert state == "blocked"


def test_one_wall_at_a_corner_still_lets_a_walker_past():
    r = room(["#.", ".."])
    assert r.clear(1.5, 0.5, 0.5, 1.5)
    assert room(["..", ".#"]).clear(1.5, 0.5, 0.5, 1.5)


def test_the_exact_walk_agrees_with_fine_sampling():
    rng = random.Random(7)
    tiles = ["".join("#" if rng.random() < 0.3 else "." for _ in range(10)) for _ in range(10)]
    r = room(tiles)
    for _ in range(2000):
        x0, y0 = round(rng.uniform(0, 9.99), 2), round(rng.uniform(0, 9.99), 2)
        x1, y1 = round(rng.uniform(0, 9.99), 2), round(rng.uniform(0, 9.99), 2)
        if r.blocked(x0, y0):
            continue
        hit = any(r.blocked(x0 + (x1 - x0) * i / 4000, y0 + (y1 - y0) * i / 4000) for i in range(4001))
        if hit:  # whatever a fine sampling sees in a wall, the exact walk refuses too
            assert not r.clear(x0, y0, x1, y1), (x0, y0, x1, y1)


async def test_move_takes_numbers_only(world):
    room_ = await fresh_room(world)
    a, ca, ia, _ = await person(world, room_.slug)
    for bad in ({"x": "1", "y": 1}, {"x": 1, "y": True}, {"x": 1, "y": None}, {"x": [1], "y": 1},
                {"x": 1, "y": 1, "t": "5"}, {"x": 1, "y": 10**400}, {"x": float("-inf"), "y": 1},
                {"x": 1, "y": float("nan")}, {"x": 1, "y": 1, "t": float("inf")}):
        r = await call(ca, "move", bad)
        assert r["ok"] is False and r["error"]["code"] == "invalid_payload", (bad, r)
    assert await call(ca, "move", {"x": 2, "y": 1}) == {"ok": True, "x": 2.0, "y": 1.0}  # an integer is a number
    await position_of(ia, uid(a), 2.0, 1.0)


async def test_a_walker_cannot_cut_between_corner_walls(world):
    # Row 1: wall at col 3; row 2: wall at col 2. They meet at the corner (3, 2).
    room_ = await fresh_room(world, width=8, height=6, spawn=(2.9, 1.9), tiles=["........", "...#....", "..#....."])
    a, ca, ia, join = await person(world, room_.slug)
    assert (join["you"]["x"], join["you"]["y"]) == (2.9, 1.9)
    b, cb, ib, _ = await person(world, room_.slug)
    # One step through the corner, to a walkable tile on the other side.
    assert (await call(ca, "move", {"x": 3.1, "y": 2.1}))["ok"]
    # A barrier: moves are applied in order each tick, so once b's move shows, a's step was taken.
    assert (await call(cb, "move", {"x": 0.5, "y": 0.5}))["ok"]
    await ia.wait_for("world:tick", lambda d: any(m[0] == uid(b) for m in d["moves"]))
    assert (await call(ca, "move", {"x": 1.5, "y": 1.5}))["ok"]
    await position_of(ia, uid(a), 1.5, 1.5)
    seen = [(m[1], m[2]) for d in ia.items["world:tick"] for m in d["moves"] if m[0] == uid(a)]
    assert all(x < 3 or y < 2 for x, y in seen), seen  # never on the far side of the corner


def test_positions_are_kept_to_the_hundredth_as_round_would():
    rng = random.Random(11)
    for _ in range(20000):
        v = rng.uniform(-5, 300)
        assert cents(v) == round(v, 2), v
        assert repr(cents(v)) == repr(round(v, 2))  # the same text on the wire
    assert cents(cents(12.345678)) == cents(12.345678) == 12.35


async def test_a_move_time_is_echoed_to_the_millisecond(world):
    room_ = await fresh_room(world)
    a, ca, ia, _ = await person(world, room_.slug)
    assert (await call(ca, "move", {"x": 1.5, "y": 1.5, "t": 1765000000.12345}))["ok"]
    tick = await ia.wait_for("world:tick", lambda d: any(m[0] == uid(a) and len(m) > 3 for m in d["moves"]))
    assert [m[3] for m in tick["moves"] if m[0] == uid(a) and len(m) > 3] == [1765000000.123]
