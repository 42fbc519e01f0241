"""Maps over the wire: the map route, the admin's upload (a bad map changes nothing), targets
with no way to them, doors (the same rules as a join), and the helpers residents use."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import aiohttp

from server.world.tiled import plain_map
from tests.conftest import Inbox, call
from tests.realtime.conftest import fresh_room, nothing, person, position_of, uid

MAPS = Path(__file__).resolve().parents[2] / "server" / "data" / "maps"


async def req(world, method, path, token=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kw.pop("headers", {}))
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{world.url}{path}", headers=headers, **kw) as r:
            body = await r.read()
            return r.status, r.headers.get("Content-Type", ""), body


async def admin(world) -> dict:
    acct = await world.register()
    await world.set_role(acct, "admin")
    return acct


def map_with_door(width, height, rows, spawn, door_at, to, to_spawn=""):
    doc = plain_map(width, height, rows, spawn)
    x, y = door_at
    doc["layers"].append({"id": 5, "name": "doors", "type": "objectgroup", "x": 0, "y": 0, "opacity": 1, "visible": True,
                          "objects": [{"id": 7, "name": "the gate", "type": "door", "x": x * 32, "y": y * 32,
                                       "width": 32, "height": 32, "properties": [
                                           {"name": "target_room", "type": "string", "value": to},
                                           {"name": "target_spawn", "type": "string", "value": to_spawn}]}]})
    return doc


async def test_the_map_route_serves_tiled_json_and_the_art(world):
    a = await world.register()
    status, kind, body = await req(world, "GET", "/api/rooms/plaza/map", a["token"])
    doc = json.loads(body)
    assert status == 200 and doc["orientation"] == "orthogonal" and (doc["width"], doc["height"]) == (40, 30)
    assert doc["tilesets"][0]["image"] == "/api/world/art/townsquare.png"
    assert (await req(world, "GET", "/api/rooms/plaza/map"))[0] == 401
    assert (await req(world, "GET", "/api/rooms/nowhere/map", a["token"]))[0] == 404
    status, kind, png = await req(world, "GET", "/api/world/art/townsquare.png")
    assert status == 200 and kind == "image/png" and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (await req(world, "GET", "/api/world/art/..%2Fworld.yaml"))[0] == 404
    # A room without a map of its own is served a plain one drawn from its walls.
    room = await fresh_room(world, width=6, height=4, tiles=["......", "..#..."], spawn=(1, 1))
    doc = json.loads((await req(world, "GET", f"/api/rooms/{room.slug}/map", a["token"]))[2])
    assert (doc["width"], doc["height"]) == (6, 4) and doc["layers"][0]["data"][6 + 2] != doc["layers"][0]["data"][0]


async def test_a_bad_map_upload_is_refused_whole_and_a_good_one_replaces_the_room(world):
    boss, user = await admin(world), await world.register()
    room = await fresh_room(world, width=8, height=6, spawn=(1, 1))
    before = json.loads((await req(world, "GET", f"/api/rooms/{room.slug}/map", boss["token"]))[2])
    bad = copy.deepcopy(json.loads((MAPS / "plaza.tmj").read_text()))
    bad["layers"] = [layer for layer in bad["layers"] if layer["name"] != "spawns"]
    status, _, body = await req(world, "PUT", f"/api/admin/rooms/{room.slug}/map", boss["token"], json=bad)
    err = json.loads(body)["error"]
    assert status == 400 and err["code"] == "invalid_payload" and "no spawn point" in err["message"]
    status, _, body = await req(world, "PUT", f"/api/admin/rooms/{room.slug}/map", boss["token"], data=b"{not json",
                                headers={"Content-Type": "application/json"})
    assert status == 400 and "not JSON" in json.loads(body)["error"]["message"]
    lost = map_with_door(10, 5, [], (1.0, 1.0), (9, 2), "atlantis")
    status, _, body = await req(world, "PUT", f"/api/admin/rooms/{room.slug}/map", boss["token"], json=lost)
    assert status == 400 and "atlantis" in json.loads(body)["error"]["message"]
    assert (await req(world, "PUT", f"/api/admin/rooms/{room.slug}/map", user["token"], json=lost))[0] == 403
    after = json.loads((await req(world, "GET", f"/api/rooms/{room.slug}/map", boss["token"]))[2])
    assert after == before  # nothing changed
    # A good map: the room takes its size, walls and spawn, and the act is audited.
    good = map_with_door(10, 5, ["..........", "....#....."], (2.0, 3.0), (9, 2), "market")
    status, _, body = await req(world, "PUT", f"/api/admin/rooms/{room.slug}/map?reason=redrawn", boss["token"], json=good)
    assert status == 200 and json.loads(body)["room"]["doors"][0]["room"] == "market"
    a, ca, ia, ja = await person(world, room.slug)
    assert (ja["room"]["width"], ja["room"]["height"]) == (10, 5) and ja["room"]["tiles"][1][4] == "#"
    assert (ja["you"]["x"], ja["you"]["y"]) == (2.0, 3.0) and ja["room"]["map"].startswith(f"/api/rooms/{room.slug}/map")
    status, _, body = await req(world, "GET", "/api/admin/audit?action=room.map", boss["token"])
    assert any(e["target_id"] == room.slug and e["reason"] == "redrawn" for e in json.loads(body)["entries"])


async def test_a_target_with_no_way_to_it_is_refused_and_nothing_moves(world):
    room = await fresh_room(world, width=9, height=5, spawn=(0, 0),
                            tiles=[".........", "...###...", "...#.#...", "...###...", "........."])
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, _, _ = await person(world, room.slug)  # walks as the barrier below
    mark = len(ia.items["world:tick"])
    r = await call(ca, "move", {"x": 4.5, "y": 2.5})
    assert r["ok"] is False and r["error"]["code"] == "invalid_payload" and "no way" in r["error"]["message"]
    # b's move comes after the refused one: a step of a's would show by b's arrival.
    to = await call(cb, "move", {"x": 0, "y": 4})
    await nothing(ia, "world:tick", lambda d: any(m[0] == uid(a) for m in d["moves"]), since=mark,
                  barrier=position_of(ia, uid(b), to["x"], to["y"]))
    assert (await call(ca, "move", {"x": 8.0, "y": 4.0}))["ok"]  # around the box: about 10 tiles
    await position_of(ia, uid(a), 8.0, 4.0, timeout=20)


async def test_doors_take_people_through_with_the_rules_of_a_join(world):
    boss = await admin(world)
    hall = await fresh_room(world, width=8, height=4, spawn=(1, 1))
    vault = await fresh_room(world, width=6, height=4, spawn=(1, 1), access="private", owner_id=uuid.UUID(boss["user"]["id"]))
    for room, to in ((hall, vault.slug), (vault, hall.slug)):
        doc = map_with_door(room.width, room.height, [], (1.0, 1.0), (5, 1), to, "inside")
        doc["layers"][1]["objects"].append({"id": 3, "name": "inside", "type": "spawn", "point": True,
                                            "x": 2 * 32, "y": 2 * 32, "width": 0, "height": 0})
        status, _, body = await req(world, "PUT", f"/api/admin/rooms/{room.slug}/map", boss["token"], json=doc)
        assert status == 200, body
    a, ca, ia, _ = await person(world, hall.slug)
    doors = Inbox(ca, "room:door")
    await call(ca, "move", {"x": 5.5, "y": 1.5})
    refused = await doors.wait_for("room:door")
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden" and refused["to"] == vault.slug
    assert world.ctx.rooms.room_of_user(uid(a)) == hall.slug  # still in the hall, at the door
    # Invited, the same door lets them in, at the spawn it names.
    await world.ctx.rooms.access.invite(_Actor(boss), vault.slug, uid(a))
    await call(ca, "move", {"x": 3.5, "y": 1.5})
    await position_of(ia, uid(a), 3.5, 1.5)
    await call(ca, "move", {"x": 5.5, "y": 1.5})
    through = await doors.wait_for("room:door", lambda d: d["ok"])
    assert through["room"]["slug"] == vault.slug and (through["you"]["x"], through["you"]["y"]) == (2.0, 2.0)
    assert (await call(ca, "move", {"x": 3.0, "y": 1.0}))["ok"]  # the walker is in the vault now


class _Actor:
    """The room owner, as the rooms service sees a connection (invites take an actor)."""

    def __init__(self, account):
        self.user_id = uuid.UUID(account["user"]["id"])
        self.role = "admin"


async def test_residents_find_named_areas_and_paths(world):
    rooms = world.ctx.rooms
    await rooms.get_room("plaza")
    fountain = rooms.area("plaza", "Fountain")
    assert fountain["kind"] in ("area", "fountain")
    cx, cy = fountain["center"]
    assert not rooms.infos["plaza"].blocked(cx, cy)  # somewhere to stand, beside the water
    assert rooms.area("plaza", "the moon") is None
    assert {"fountain", "benches", "notice board"} <= {a["name"] for a in rooms.areas("plaza")}
    assert {d["room"] for d in rooms.doors("plaza")} == {"library", "market"}
    await rooms.get_room("market")
    assert rooms.area("market", "tobin's stall")["name"] == "Tobin's stall"
    route = rooms.path("plaza", (20.0, 15.0), (19.5, 7.5))
    assert route and route[-1] == (19.5, 7.5) and len(route) >= 2
    assert rooms.path("plaza", (20.0, 15.0), (19.5, 11.5)) is None  # the fountain's spout
