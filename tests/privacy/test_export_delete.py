"""A person's export holds what residents remember of them; delete (confirmed) removes it, their
lines and activity, and leaves an account that cannot log in; admins can do both."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest_asyncio
import socketio
from sqlalchemy import text

from tests.conftest import eventually, start_world
from tests.residents.conftest import ask, person, resident_id, resident_settings


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db_url, tmp_path_factory):
    server = await start_world(resident_settings(tmp_path_factory.mktemp("privacy")), db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


async def req(world, method, path, token, **kw):
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{world.url}{path}", headers={"Authorization": f"Bearer {token}"}, **kw) as r:
            return r.status, await r.json(content_type=None), r.headers


async def remembered(world, who: str) -> int:
    async with world.ctx.db.session() as s:
        return await s.scalar(text("SELECT count(*) FROM resident_memories WHERE subject_id = :u"), {"u": who})


async def talk_to_odessa(world) -> tuple[dict, socketio.AsyncClient]:
    odessa = resident_id(world, "odessa")
    acct, client, inbox, _ = await person(world, "library")
    await ask(client, inbox, odessa, "Hello Odessa, I love poems. Which book would you recommend?")
    stream = world.ctx.residents.agents[odessa].stream

    async def kept() -> bool:  # the line `ask` saw may be Odessa's greeting, said before her answer is remembered
        await stream.flush()  # written now, not within the next second
        return await remembered(world, acct["user"]["id"]) > 0
    await eventually(kept, 10, "Odessa remembers the person")
    return acct, client


async def test_export_contains_residents_memories_and_delete_removes_them(world):
    acct, client = await talk_to_odessa(world)
    uid, token = acct["user"]["id"], acct["token"]
    st, export, headers = await req(world, "GET", "/api/me/export", token)
    assert st == 200 and "attachment" in headers["Content-Disposition"]
    assert export["account"]["username"] == acct["user"]["username"] and "password_hash" not in export["account"]
    odessa_mem = [m for m in export["resident_memories"] if m["resident"] == "odessa"]
    assert odessa_mem and any("poem" in m["text"].lower() or m["subject_name"] for m in odessa_mem)
    assert any(a["resident"] == "odessa" for a in export["resident_acquaintances"])
    assert any(m["original_text"].startswith("Hello Odessa") for m in export["tables"]["chat_messages"])
    assert export["ledger_history"][0]["kind"] == "grant"
    assert export["tables"]["person_activity"]  # the library visit

    st, wrong, _ = await req(world, "POST", "/api/me/delete", token, json={"confirm": "someone-else"})
    assert st == 400 and wrong["error"]["code"] == "invalid_payload"
    assert await remembered(world, uid) > 0  # nothing changed

    gone = asyncio.Event()
    client.on("disconnect", lambda *a: gone.set())
    st, done, _ = await req(world, "POST", "/api/me/delete", token, json={"confirm": acct["user"]["username"]})
    assert st == 200 and done["deleted"]["resident_memories"] > 0 and done["deleted"]["chat_messages"] >= 1, done
    assert await remembered(world, uid) == 0
    async with world.ctx.db.session() as s:
        assert await s.scalar(text("SELECT count(*) FROM resident_people WHERE person_id = :u"), {"u": uid}) == 0
        assert await s.scalar(text("SELECT count(*) FROM chat_messages WHERE sender_user_id = :u"),
                              {"u": uuid.UUID(uid)}) == 0
        assert await s.scalar(text("SELECT count(*) FROM person_activity WHERE user_id = :u"), {"u": uuid.UUID(uid)}) == 0
    await asyncio.wait_for(gone.wait(), 10)  # every node drops the deleted person's sockets
    st, _, _ = await req(world, "GET", "/api/me", token)
    assert st == 401  # the token is revoked
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{world.url}/api/auth/login",
                             json={"username": acct["user"]["username"], "password": acct["password"]}) as r:
            assert r.status == 401


async def test_admin_exports_and_deletes_a_person(world):
    acct, _ = await talk_to_odessa(world)
    uid = acct["user"]["id"]
    adm = await world.register()
    await world.set_role(adm, "admin")
    user = await world.register()
    st, _, _ = await req(world, "GET", f"/api/admin/users/{uid}/export", user["token"])
    assert st == 403
    st, export, _ = await req(world, "GET", f"/api/admin/users/{uid}/export", adm["token"])
    assert st == 200 and export["resident_memories"]
    st, out, _ = await req(world, "POST", f"/api/admin/users/{uid}/delete", adm["token"],
                           json={"confirm": acct["user"]["username"], "reason": "asked by email"})
    assert st == 200 and await remembered(world, uid) == 0
    st, again, _ = await req(world, "POST", f"/api/admin/users/{uid}/delete", adm["token"],
                             json={"confirm": out["account"], "reason": "twice"})
    assert st == 409
    async with world.ctx.db.session() as s:
        entry = (await s.execute(text("SELECT actor_id, details FROM audit_log WHERE action = 'privacy.erase' "
                                      "AND target_id = :u"), {"u": uid})).one()
    assert str(entry.actor_id) == adm["user"]["id"] and entry.details["deleted"]["resident_memories"] > 0
