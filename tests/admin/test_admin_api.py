"""Admin REST for rooms, users, the audit log and live figures, role-checked."""

import asyncio
import uuid

import aiohttp


async def _as_role(world, role: str) -> dict:
    acct = await world.register()
    if role != "user":
        await world.set_role(acct, role)
    return acct


async def _req(world, method, path, token, **kw):
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{world.url}{path}", headers={"Authorization": f"Bearer {token}"}, **kw) as r:
            return r.status, await r.json()


async def test_users_are_refused_admin_routes(world):
    user = await _as_role(world, "user")
    for method, path in [("GET", "/api/admin/rooms"), ("GET", "/api/admin/users"), ("GET", "/api/admin/audit"),
                         ("POST", "/api/admin/rooms"), ("GET", "/api/admin/live")]:
        status, body = await _req(world, method, path, user["token"], json={"slug": "x1", "name": "X"})
        assert status == 403 and body["error"]["code"] == "forbidden", (path, body)
    status, body = await _req(world, "GET", "/api/admin/rooms", "bad-token")
    assert status == 401


async def test_moderator_reads_but_cannot_create_rooms(world):
    mod = await _as_role(world, "moderator")
    status, body = await _req(world, "GET", "/api/admin/rooms", mod["token"])
    assert status == 200 and {"plaza", "market", "library"} <= {r["slug"] for r in body["rooms"]}
    status, body = await _req(world, "POST", "/api/admin/rooms", mod["token"], json={"slug": "mods", "name": "Mods"})
    assert status == 403


async def test_admin_creates_edits_archives_a_room_and_it_is_audited(world):
    admin = await _as_role(world, "admin")
    status, body = await _req(world, "POST", "/api/admin/rooms", admin["token"],
                              json={"slug": "garden", "name": "The Garden", "capacity": 3, "reason": "spring"})
    assert status == 200 and body["room"]["capacity"] == 3
    status, body = await _req(world, "POST", "/api/admin/rooms", admin["token"], json={"slug": "garden", "name": "Again"})
    assert status == 409 and body["error"]["code"] == "conflict"
    status, body = await _req(world, "POST", "/api/admin/rooms", admin["token"], json={"slug": "Bad Slug!", "name": "x"})
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    status, body = await _req(world, "PATCH", "/api/admin/rooms/garden", admin["token"],
                              json={"capacity": 10, "access": "private", "reason": "bigger"})
    assert status == 200 and body["room"]["capacity"] == 10 and body["room"]["access"] == "private"
    status, body = await _req(world, "PATCH", "/api/admin/rooms/garden", admin["token"], json={"capacity": 0})
    assert status == 400
    status, body = await _req(world, "PATCH", "/api/admin/rooms/nowhere", admin["token"], json={"capacity": 5})
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = await _req(world, "PATCH", "/api/admin/rooms/garden", admin["token"], json={"archived": True})
    assert body["room"]["archived"] is True
    status, body = await _req(world, "GET", "/api/admin/audit?target=garden", admin["token"])
    actions = [e["action"] for e in body["entries"]]
    assert actions == ["room.update", "room.update", "room.create"]
    assert body["entries"][1]["details"]["before"] == {"capacity": 3, "access": "public"}
    assert body["entries"][1]["actor_id"] == admin["user"]["id"]


async def test_admin_changes_roles_with_a_reason(world):
    admin = await _as_role(world, "admin")
    target = await _as_role(world, "user")
    path = f"/api/admin/users/{target['user']['id']}/role"
    status, body = await _req(world, "POST", path, admin["token"], json={"role": "moderator"})
    assert status == 400  # a reason is required
    status, body = await _req(world, "POST", path, admin["token"], json={"role": "moderator", "reason": "trusted"})
    assert status == 200 and body["user"]["role"] == "moderator"
    # A role change revokes the person's older tokens (accounts: token versions); a new login has the role.
    status, body = await _req(world, "GET", "/api/admin/rooms", target["token"])
    assert status == 401 and body["error"]["code"] == "unauthorized"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{world.url}/api/auth/login", json={"username": target["user"]["username"],
                                                                  "password": target["password"]}) as r:
            fresh = await r.json()
    assert fresh["user"]["role"] == "moderator"
    status, body = await _req(world, "GET", "/api/admin/rooms", fresh["token"])
    assert status == 200
    status, body = await _req(world, "POST", f"/api/admin/users/{admin['user']['id']}/role", admin["token"],
                              json={"role": "user", "reason": "oops"})
    assert status == 403
    status, body = await _req(world, "POST", "/api/admin/users/not-a-uuid/role", admin["token"],
                              json={"role": "user", "reason": "x"})
    assert status == 400
    status, body = await _req(world, "GET", f"/api/admin/users?q={target['user']['username'][:6]}", admin["token"])
    assert any(u["id"] == target["user"]["id"] for u in body["users"])


async def test_one_users_admin_view_says_where_they_are(world):
    from tests.conftest import call

    mod = await _as_role(world, "moderator")
    account, client = await world.user()
    path = f"/api/admin/users/{account['user']['id']}"
    status, body = await _req(world, "GET", path, mod["token"])
    assert status == 200 and body["user"]["username"] == account["user"]["username"]
    assert body["user"]["role"] == "user" and body["user"]["in_room"] is None
    assert (await call(client, "room:join", {"room": "library"}))["ok"]
    for _ in range(40):  # the join shows with the room's next tick
        status, body = await _req(world, "GET", path, mod["token"])
        if body["user"]["in_room"]:
            break
        await asyncio.sleep(0.05)
    assert body["user"]["in_room"] == "library"
    status, body = await _req(world, "GET", f"/api/admin/users/{uuid.uuid4()}", mod["token"])
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = await _req(world, "GET", "/api/admin/users/nope", mod["token"])
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    status, body = await _req(world, "GET", path, account["token"])
    assert status == 403


async def test_live_figures(world):
    admin = await _as_role(world, "admin")
    _, client = await world.user()
    status, body = await _req(world, "GET", "/api/admin/live", admin["token"])
    assert status == 200 and body["figures"]["connections"] >= 1
