"""Tiled maps, paths and arrivals, without a server: the bundled maps read back as drawn, bad
maps are refused with a reason, paths go around obstacles and never through them."""

from __future__ import annotations

import base64
import copy
import json
import uuid
import zlib
from pathlib import Path

import pytest

from server.world.geometry import RoomInfo
from server.world.paths import Walkways, plan
from server.world.spawns import free_spot
from server.world.tiled import MapError, for_clients, parse_map, plain_map

MAPS = Path(__file__).resolve().parents[2] / "server" / "data" / "maps"


def load(slug: str) -> dict:
    return json.loads((MAPS / f"{slug}.tmj").read_text())


def info_of(doc: dict, slug: str = "r") -> RoomInfo:
    m = parse_map(doc)
    return RoomInfo(id=uuid.uuid4(), slug=slug, name=slug, description="", width=m.width, height=m.height,
                    capacity=10, access="public", owner_id=None, tiles=m.rows, spawn_x=m.spawns["default"][0],
                    spawn_y=m.spawns["default"][1], spawns=m.spawns, doors=m.doors, areas=m.areas, objects=m.objects)


def test_the_seeded_maps_keep_their_sizes_spawns_doors_and_places():
    plaza, market, library = (parse_map(load(s)) for s in ("plaza", "market", "library"))
    assert (plaza.width, plaza.height, plaza.spawns["default"]) == (40, 30, (20.0, 15.0))
    assert (market.width, market.height, market.spawns["default"]) == (32, 24, (4.0, 12.0))
    assert (library.width, library.height, library.spawns["default"]) == (28, 20, (14.0, 17.0))
    assert {d.room for d in plaza.doors} == {"library", "market"}
    assert {d.room for d in market.doors} == {"plaza"} and {d.room for d in library.doors} == {"plaza"}
    # Every door leads to a spawn that exists in its target room.
    spawns = {"plaza": plaza.spawns, "market": market.spawns, "library": library.spawns}
    for m in (plaza, market, library):
        for d in m.doors:
            assert d.spawn in spawns[d.room], d
    # The fountain's water and rim are blocked, the road around it is not.
    assert plaza.rows[11][19] == "#" and plaza.rows[9][17] == "#" and plaza.rows[15][20] == "."
    assert {"fountain", "benches", "plane trees"} <= {a.name for a in plaza.areas}
    assert "Tobin's stall" in {a.name for a in market.areas} and "bookshelves" in {a.name for a in library.areas}
    assert {o.kind for o in plaza.objects} == {"notice_board", "fountain"}
    shelf = next(o for o in library.objects if o.kind == "bookshelf")
    assert "Quiet Hours" in shelf.properties["books"]
    # The residents' posts (world.yaml) are walkable: Mira, Tobin, Odessa.
    assert plaza.rows[16][21] == "." and market.rows[4][8] == "." and library.rows[5][14] == "."


def test_served_maps_embed_the_bundled_tileset():
    out = for_clients(load("plaza"))
    (ts,) = out["tilesets"]
    assert ts["image"] == "/api/world/art/townsquare.png" and ts["firstgid"] == 1 and "source" not in ts
    assert parse_map(out).rows == parse_map(load("plaza")).rows  # still a valid map


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d.update(orientation="isometric"), "orthogonal"),
    (lambda d: d.update(width=500), "2 to 200"),
    (lambda d: d.update(tilesets=[]), "no tileset"),
    (lambda d: d.update(tilesets=[{"firstgid": 1, "source": "elsewhere.tsj"}]), "not one of the world's tilesets"),
    (lambda d: d["layers"][0].update(data=[1, 2, 3]), "tile numbers"),
    (lambda d: d["layers"][0]["data"].__setitem__(0, 999), "past the tilesets"),
    (lambda d: next(x for x in d["layers"] if x["name"] == "spawns").update(objects=[]), "no spawn point"),
    (lambda d: next(x for x in d["layers"] if x["name"] == "doors")["objects"][0].update(properties=[]), "target_room"),
    (lambda d: next(x for x in d["layers"] if x["name"] == "spawns")["objects"][0].update(x=19 * 32, y=11 * 32),
     "blocked tile"),
    (lambda d: d.update(infinite=True), "infinite"),
])
def test_bad_maps_are_refused_with_the_reason(mutate, words):
    doc = copy.deepcopy(load("plaza"))
    mutate(doc)
    with pytest.raises(MapError, match=words):
        parse_map(doc)


def test_compressed_layers_and_a_collision_layer_are_read():
    doc = plain_map(6, 4, ["......"] * 4, (1.0, 1.0))
    collision = [0] * 24
    collision[2 * 6 + 3] = 1
    raw = b"".join(g.to_bytes(4, "little") for g in collision)
    doc["layers"].append({"id": 9, "name": "collision", "type": "tilelayer", "width": 6, "height": 4, "x": 0, "y": 0,
                          "encoding": "base64", "compression": "zlib",
                          "data": base64.b64encode(zlib.compress(raw)).decode()})
    m = parse_map(doc)
    assert m.rows[2] == "...#.." and m.rows[1] == "......"


def test_paths_go_around_the_fountain_and_never_through_a_blocked_tile():
    info = info_of(load("plaza"), "plaza")
    start, goal = (20.0, 15.0), (19.5, 7.5)
    assert not info.clear(*start, *goal)
    points = plan(info, start, goal)
    assert points and points[-1] == goal and len(points) >= 2
    here = start
    for p in points:
        assert info.clear(*here, *p), (here, p)
        here = p
    # Blocked targets, and targets cut off from the walker, have no path.
    walls = info_of(plain_map(7, 5, [".......", "..###..", "..#.#..", "..###..", "......."], (0.0, 0.0)))
    ways = Walkways(walls.width, walls.height, walls.tiles)
    assert not ways.reachable((0.5, 0.5), (3.5, 2.5)) and plan(walls, (0.5, 0.5), (3.5, 2.5)) is None
    assert ways.reachable((0.5, 0.5), (6.5, 4.5))


def test_arrivals_spread_to_the_nearest_free_tile():
    info = info_of(plain_map(5, 5, [".....", ".#...", "....."], (1.0, 0.0)))
    assert free_spot(info, (1.0, 0.0), set()) == (1.0, 0.0)
    first = free_spot(info, (1.0, 0.0), {(1, 0)})
    assert first != (1.0, 0.0) and abs(first[0] - 1.0) + abs(first[1]) == 1.0
    taken = {(1, 0), (2, 0), (0, 0)}
    spot = free_spot(info, (1.0, 0.0), taken)
    assert (int(spot[0]), int(spot[1])) not in taken and not info.blocked(*spot)


def test_a_goal_on_a_tile_corner_beside_an_obstacle_is_reached():
    # The plaza's notice board stands at (24, 16); (25.0, 16.0) is a corner it shares.
    info = info_of(load("plaza"), "plaza")
    points = plan(info, (22.0, 16.0), (25.0, 16.0))
    assert points and points[-1] == (25.0, 16.0)
    here = (22.0, 16.0)
    for p in points:
        assert info.clear(*here, *p), (here, p)
        here = p
    # Exhaustively: every walkable point of a small maze reaches every other, corners included.
    maze = info_of(plain_map(6, 5, ["......", ".##.#.", "...#..", ".#....", "......"], (0.0, 0.0)))
    spots = [(c + dx, r + dy) for r in range(5) for c in range(6) for dx, dy in ((0.5, 0.5), (0.0, 0.0))
             if not maze.blocked(c + dx, r + dy)]
    for a in spots[::3]:
        for b in spots:
            route = plan(maze, a, b)
            assert route is not None and route[-1] == b, (a, b)
            here = a
            for p in route:
                assert maze.clear(*here, *p), (a, b, here, p)
                here = p
