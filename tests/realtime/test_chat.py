"""Chat over real Socket.IO clients: room lines, whispers, history, emotes and pipeline stages."""

import asyncio
import uuid

from sqlalchemy import select

from server.chat.models import ChatMessage
from server.chat.pipeline import ChatDraft, ChatStage
from server.protocol import ProtocolError
from tests.conftest import call
from tests.realtime.conftest import fresh_room, nothing, person, sees, uid, waved


async def stored(world, message_id: str) -> ChatMessage:
    async with world.ctx.db.session() as s:
        return await s.get(ChatMessage, uuid.UUID(message_id))


async def test_room_chat_is_stored_then_delivered_to_everyone_in_the_room(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    elsewhere, ce, ie, _ = await person(world, "library")
    r = await call(ca, "chat:send", {"text": "  hello there  "})
    assert r == {"ok": True, "message_id": r["message_id"], "action": "allow"}
    got = await ib.wait_for("chat:message", lambda d: d["id"] == r["message_id"])
    assert got["room"] == room.slug and got["text"] == "hello there" and got["moderation"] == "allow"
    assert got["from"] == {"id": uid(a), "name": a["user"]["username"], "kind": "user"}
    assert got["lang"] == "en" and "to" not in got and got["created_at"]
    await ia.wait_for("chat:message", lambda d: d["id"] == r["message_id"])  # the sender sees it too
    row = await stored(world, r["message_id"])
    assert (row.text, row.original_text, row.action, row.sender_kind) == ("hello there", "hello there", "allow", "user")
    await nothing(ie, "chat:message", lambda d: d["id"] == r["message_id"], barrier=waved(ce, ie, uid(elsewhere)))


async def test_whispers_reach_only_the_two_people_and_their_history(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, jb = await person(world, room.slug)
    c, cc, ic, jc = await person(world, room.slug)
    await sees(ic, jc, uid(b))
    r = await call(ca, "chat:send", {"text": "just between us", "to": uid(b)})
    assert r["ok"], r
    got = await ib.wait_for("chat:message", lambda d: d["id"] == r["message_id"])
    assert got["to"] == uid(b) and got["text"] == "just between us"
    await ia.wait_for("chat:message", lambda d: d["id"] == r["message_id"])
    public = await call(cb, "chat:send", {"text": "hi all"})
    await ic.wait_for("chat:message", lambda d: d["id"] == public["message_id"])
    assert not [m for m in ic.items["chat:message"] if m["id"] == r["message_id"]]
    # History: the whisper for the two of them, not for the third.
    hist_c = (await call(cc, "room:join", {"room": "market"}), await call(cc, "room:join", {"room": room.slug}))[1]
    assert [m["text"] for m in hist_c["history"]] == ["hi all"]
    hist_b = (await call(cb, "room:join", {"room": "market"}), await call(cb, "room:join", {"room": room.slug}))[1]
    assert [m["text"] for m in hist_b["history"]] == ["just between us", "hi all"]
    # Whispering to someone who is not in the room.
    await call(cc, "room:leave")
    r = await call(ca, "chat:send", {"text": "you there?", "to": uid(c)})
    assert r["error"]["code"] == "not_found"


async def test_history_on_join_is_the_last_lines_in_order(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    for i in range(3):
        assert (await call(ca, "chat:send", {"text": f"line {i}"}))["ok"]
    b, cb, ib, jb = await person(world, room.slug)
    assert [m["text"] for m in jb["history"]] == ["line 0", "line 1", "line 2"]
    assert all(m["room"] == room.slug and m["from"]["id"] == uid(a) for m in jb["history"])
    size = world.ctx.chat.history_size
    world.ctx.chat.history_size = 2
    try:
        assert [m["text"] for m in await world.ctx.chat.history(room.slug, world.ctx.hub.connections[cb.get_sid()])] == [
            "line 1", "line 2"]
    finally:
        world.ctx.chat.history_size = size


async def test_emotes_are_broadcast_to_the_room(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    assert (await call(ca, "emote", {"name": "wave"})) == {"ok": True}
    assert (await ib.wait_for("emote")) == {"id": uid(a), "name": "wave", "room": room.slug}
    lonely, cl, il, _ = await person(world, None)
    assert (await call(cl, "emote", {"name": "wave"}))["error"]["code"] == "not_found"
    assert (await call(cl, "chat:send", {"text": "anyone?"}))["error"]["code"] == "not_found"


class Masker(ChatStage):
    name, order = "test-mask", 20

    async def check(self, draft):
        if "darn" in draft.text:
            draft.text = draft.text.replace("darn", "****")
            draft.action, draft.reason = "mask", "mild language"
            draft.moderation = {"profanity": 0.7}
        elif "spam" in draft.text:
            draft.action, draft.reason = "block", "looks like spam"
        elif "hmm" in draft.text:
            draft.action, draft.reason, draft.hold = "flag", "held for review", True


class Muter(ChatStage):
    name, order = "test-mute", 10
    muted: set[str] = set()

    async def check(self, draft):
        if draft.sender_id in self.muted:
            raise ProtocolError("muted", "you are muted")


class Recorder(ChatStage):
    name, order = "test-record", 90

    def __init__(self):
        self.stored, self.delivered = [], []

    async def check(self, draft):
        draft.lang = draft.lang or "en"

    async def after_store(self, message, draft):
        self.stored.append(message["id"])

    async def after_deliver(self, message, draft):
        await asyncio.sleep(0.05)
        self.delivered.append(message["id"])
        raise RuntimeError("a failing follower must not hurt anyone")

    async def transform_history(self, messages, conn):
        return [{**m, "text": m["text"].upper()} for m in messages]


async def test_pipeline_stages_mask_block_hold_and_mute(world):
    pipeline = world.ctx.chat.pipeline
    masker, muter, recorder = Masker(), Muter(), Recorder()
    for stage in (recorder, masker, muter):
        pipeline.add(stage)
    assert [s.name for s in pipeline.stages if s.name.startswith("test-")] == ["test-mute", "test-mask", "test-record"]
    try:
        room = await fresh_room(world)
        a, ca, ia, _ = await person(world, room.slug)
        b, cb, ib, _ = await person(world, room.slug)

        r = await call(ca, "chat:send", {"text": "well darn it"})
        assert r == {"ok": True, "message_id": r["message_id"], "action": "mask", "text": "well **** it",
                     "reason": "mild language"}
        got = await ib.wait_for("chat:message", lambda d: d["id"] == r["message_id"])
        assert got["text"] == "well **** it" and got["moderation"] == "mask"
        row = await stored(world, r["message_id"])
        assert (row.original_text, row.text, row.action, row.moderation) == ("well darn it", "well **** it", "mask",
                                                                              {"profanity": 0.7})

        blocked = await call(ca, "chat:send", {"text": "buy spam now"})
        assert blocked["ok"] and blocked["action"] == "block" and blocked["reason"] == "looks like spam"
        held = await call(ca, "chat:send", {"text": "hmm, meet me outside"})
        assert held["ok"] and held["action"] == "flag" and held.get("held") is True
        await nothing(ib, "chat:message", lambda d: d["id"] in (blocked["message_id"], held["message_id"]),
                      barrier=waved(cb, ib, uid(b)))
        assert (await stored(world, blocked["message_id"])).action == "block"
        assert (await stored(world, held["message_id"])).held is True
        assert recorder.stored[-3:] == [r["message_id"], blocked["message_id"], held["message_id"]]

        muter.muted.add(uid(a))
        count = len(recorder.stored)
        muted = await call(ca, "chat:send", {"text": "let me speak"})
        assert muted["ok"] is False and muted["error"] == {"code": "muted", "message": "you are muted"}
        assert len(recorder.stored) == count  # nothing stored
        async with world.ctx.db.session() as s:
            texts = set((await s.execute(select(ChatMessage.text).where(ChatMessage.sender_user_id == uuid.UUID(uid(a))))).scalars())
        assert "let me speak" not in texts

        await world.ctx.chat.drain()
        assert r["message_id"] in recorder.delivered and blocked["message_id"] not in recorder.delivered
        # History skips blocked and held lines and goes through transform_history.
        c, cc, ic, jc = await person(world, room.slug)
        assert [m["text"] for m in jc["history"]] == ["WELL **** IT"]
        # A moderator lets the held line through.
        released = await world.ctx.chat.release(held["message_id"])
        assert released["id"] == held["message_id"]
        await ic.wait_for("chat:message", lambda d: d["id"] == held["message_id"])
    finally:
        for stage in ("test-mute", "test-mask", "test-record"):
            pipeline.remove(stage)


async def test_npcs_speak_through_the_same_pipeline(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    await world.ctx.rooms.add_npc(room.slug, "npc:chatty", "Chatty", {}, 2, 2)
    await ia.wait_for("presence:join", lambda d: d["id"] == "npc:chatty")
    msg = await world.ctx.chat.send(ChatDraft(room=room.slug, sender_id="npc:chatty", sender_name="Chatty",
                                              sender_kind="npc", text="Welcome!", original_text="Welcome!"))
    got = await ia.wait_for("chat:message", lambda d: d["id"] == msg["id"])
    assert got["from"] == {"id": "npc:chatty", "name": "Chatty", "kind": "npc"}
    secret = await world.ctx.chat.send(ChatDraft(room=room.slug, sender_id="npc:chatty", sender_name="Chatty",
                                                 sender_kind="npc", text="psst", original_text="psst", to=uid(a)))
    assert (await ia.wait_for("chat:message", lambda d: d["id"] == secret["id"]))["to"] == uid(a)
    row = await stored(world, msg["id"])
    assert row.sender_npc_id == "npc:chatty" and row.sender_user_id is None
    await world.ctx.rooms.remove_npc(room.slug, "npc:chatty")
