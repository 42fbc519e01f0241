"""The realtime facade on one node: control messages are typed and reach the handlers of their type
only (this node included); the wire stays the dicts older nodes send and read; an unknown or
malformed message is logged and dropped; a failing handler does not keep the others from the
message; leases are local."""

import json
import logging
from datetime import UTC, datetime

import pytest
import socketio

from ai.npc.interface import Offer, Sale
from server.moderation.controls import Kick, RulesChanged
from server.realtime.control import BadControl, Control
from server.realtime.facade import Realtime
from server.realtime.hub import Hub
from server.residents.controls import Bought, Declined, Hear, Reload, SaleDone
from server.world.controls import Door, Evict


def one_node() -> Realtime:
    sio = socketio.AsyncServer(async_mode="aiohttp")
    return Realtime(sio, Hub(sio), "node-a")


OFFER = Offer("o1", "npc:tobin", "u1", "lantern", "Lantern", 1, 12, 12, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))

# Each message as this version writes it, and the dict that nodes before typed messages wrote and read.
WIRE = [
    (Evict(sid="s1", room="plaza", reason="replaced"), {"op": "evict", "sid": "s1", "room": "plaza", "reason": "replaced"}),
    (Door(uid="u1", room="plaza", door={"name": "east", "to": "market", "spawn": "west"}),
     {"op": "door", "uid": "u1", "room": "plaza", "door": {"name": "east", "to": "market", "spawn": "west"}}),
    (Kick(user_id="u1", reason="spam"), {"op": "moderation.kick", "user_id": "u1", "reason": "spam"}),
    (RulesChanged(), {"op": "moderation.rules"}),
    (Hear(npcs=["npc:mira"], message={"id": "m1", "room": "plaza", "from": {"id": "u1", "name": "Ann"}, "text": "hi"},
          kind="user", whisper=False),
     {"op": "residents:hear", "npcs": ["npc:mira"], "kind": "user", "whisper": False,
      "message": {"id": "m1", "room": "plaza", "from": {"id": "u1", "name": "Ann"}, "text": "hi"}}),
    (SaleDone.of(Sale(True, OFFER, "t1", 88, None, "done"), "u1", "Ann"),
     {"op": "residents:sale", "npc": "npc:tobin", "user": "u1", "user_name": "Ann", "ok": True, "code": None,
      "message": "done", "transaction_id": "t1", "balance": 88,
      "offer": {"id": "o1", "npc_id": "npc:tobin", "user_id": "u1", "sku": "lantern", "name": "Lantern", "qty": 1,
                "price": 12, "total": 12, "expires_at": "2026-01-02T03:04:05+00:00"}}),
    (Declined(npc="npc:tobin", user="u1", user_name="Ann"),
     {"op": "residents:declined", "npc": "npc:tobin", "user": "u1", "user_name": "Ann"}),
    (Bought(npc="npc:tobin", user="u1", user_name="Ann", sku="oil", name="Lamp oil", qty=2, total=6),
     {"op": "residents:bought", "npc": "npc:tobin", "user": "u1", "user_name": "Ann", "sku": "oil",
      "name": "Lamp oil", "qty": 2, "total": 6}),
    (Reload(), {"op": "residents:reload"}),
]


@pytest.mark.parametrize("message,legacy", WIRE, ids=[type(m).__name__ for m, _ in WIRE])
def test_messages_keep_the_wire_format_and_survive_a_round_trip(message: Control, legacy: dict):
    assert message.to_wire() == legacy
    # As another node gets it: through JSON, with the bus's "k" and "n".
    received = type(message).from_wire(json.loads(json.dumps({**legacy, "k": "ctl", "n": "node-b"})))
    assert received == message and received.sender == "node-b"


def test_a_sale_comes_back_as_the_sale_that_was_sent():
    sale = Sale(False, OFFER, None, None, "insufficient_funds", "not enough coins")
    assert SaleDone.from_wire(json.loads(json.dumps(SaleDone.of(sale, "u1", "Ann").to_wire()))).sale() == sale


@pytest.mark.parametrize("raw", [
    {"op": "moderation.kick"},                                   # a field missing
    {"op": "moderation.kick", "user_id": 7},                     # the wrong type
    {"op": "moderation.kick", "user_id": "u1", "reason": None},  # None where it may not be
    {"op": "residents:hear", "npcs": "npc:mira", "message": {}},  # a list that is a string
    {"op": "residents:bought", "npc": "n", "user": "u", "qty": True},  # a bool is not a count
    {"op": "evict", "sid": "s1"},
    {"op": "residents:reload-typo"},
    ["moderation.kick"],
])
def test_a_malformed_message_is_bad_control(raw):
    kind = {"moderation.kick": Kick, "residents:hear": Hear, "residents:bought": Bought, "evict": Evict}.get(
        raw.get("op") if isinstance(raw, dict) else None, Reload)
    with pytest.raises(BadControl):
        kind.from_wire(raw)


def test_a_newer_nodes_extra_fields_are_ignored():
    assert Kick.from_wire({"op": "moderation.kick", "user_id": "u1", "reason": "r", "until": 60}) == Kick(user_id="u1", reason="r")


async def test_control_messages_reach_the_handlers_of_their_type():
    rt = one_node()
    seen: list[tuple[str, Control]] = []

    async def broken(msg: Kick) -> None:
        raise RuntimeError("a bug in one handler")

    async def kick(msg: Kick) -> None:
        seen.append(("kick", msg))

    async def reload(msg: RulesChanged) -> None:
        seen.append(("reload", msg))

    rt.handle(Kick, broken)
    rt.handle(Kick, kick)
    rt.handle(RulesChanged, reload)
    await rt.control(Kick(user_id="u1"))
    await rt.control(Reload())  # nobody here handles it
    assert seen == [("kick", Kick(user_id="u1", reason=""))]
    assert seen[0][1].sender == "node-a"  # this node's own message, as the bus stamps it


async def test_unknown_and_malformed_messages_are_logged_and_dropped(caplog):
    rt = one_node()
    seen: list[Kick] = []

    async def kick(msg: Kick) -> None:
        seen.append(msg)

    rt.handle(Kick, kick)
    caplog.set_level(logging.WARNING, logger="server.realtime.facade")
    # The bus hands the facade what came off Redis: raw dicts, as another node (any version) wrote them.
    await rt.bus.control({"op": "moderation.shout", "user_id": "u1"})
    await rt.bus.control({"op": "moderation.kick", "user_id": ["u1"]})
    await rt.bus.control({"user_id": "u1"})
    await rt.bus.control({"op": "moderation.kick", "user_id": "u2", "reason": "spam"})
    assert seen == [Kick(user_id="u2", reason="spam")]  # the good one still arrives after the bad ones
    logged = [r.getMessage() for r in caplog.records]
    assert any("unknown op 'moderation.shout'" in m for m in logged), logged
    assert any("malformed" in m and "user_id" in m for m in logged), logged
    assert any("unknown op None" in m for m in logged), logged


def test_two_types_cannot_claim_one_op():
    rt = one_node()

    async def nothing(msg) -> None:
        pass

    class Impostor(Kick):
        pass

    rt.handle(Kick, nothing)
    with pytest.raises(ValueError, match="moderation.kick"):
        rt.handle(Impostor, nothing)


async def test_one_node_runs_everything():
    rt = one_node()
    assert not rt.shared
    leases = rt.leases("resident")
    assert await leases.hold(["a", "b"], 10.0) == {"a", "b"} and await leases.owner("a") is None
