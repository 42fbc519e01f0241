"""On a Redis fleet, moves take the fast path too: read in the websocket's data_received, pushed
into the node's next RPUSH without waiting for it, and walked in the order they were sent."""

from __future__ import annotations

import pytest

from tests.conftest import Inbox, call, world_fleet
from tests.realtime.conftest import echoed, fresh_room, uid

pytestmark = pytest.mark.multinode

FRAME = "world:frame"


def at(frame: dict, n: int) -> tuple[float, float] | None:
    m = frame.get("m") or []
    for i in range(0, len(m) - 2, 3):
        if m[i] == n:
            return m[i + 1], m[i + 2]
    return None


async def test_moves_on_a_redis_fleet_are_taken_in_data_received_and_walked_in_order(db_url, tmp_path_factory, redis_url):
    async with world_fleet(db_url, tmp_path_factory, redis_url) as (a_node, b_node):
        room = await fresh_room(a_node, width=40, height=10, spawn=(2.0, 2.0))
        acc_a, ca = await a_node.user()
        acc_b, cb = await b_node.user()
        ia, ib = Inbox(ca, FRAME, "presence:join"), Inbox(cb, FRAME, "presence:join")
        ja = await call(ca, "room:join", {"room": room.slug, "wire": 2})
        assert ja["ok"], ja
        jb = await call(cb, "room:join", {"room": room.slug, "wire": 2})
        assert jb["ok"], jb
        b_on_a = next((p["n"] for p in ja["occupants"] if p["id"] == uid(acc_b)), None)
        if b_on_a is None:  # b joined after a's snapshot: a learns b's number from presence
            b_on_a = (await ia.wait_for("presence:join", lambda d: d["id"] == uid(acc_b), 10))["n"]

        taken = []
        for node in (a_node, b_node):
            now = node.ctx.hub.now
            original = now["move"]

            def counting(sid, data, original=original):
                done = original(sid, data)
                taken.append(done)
                return done

            now["move"] = counting
        targets = [(3.0 + k, 2.0 + (k % 3)) for k in range(8)]
        for k, (x, y) in enumerate(targets):
            await cb.emit("move", {"x": x, "y": y, "t": 1000.0 + k, "s": k})
        got: dict[int, dict] = {}
        while len(got) < len(targets):
            frame = await ib.wait_for(FRAME, lambda d: any(s not in got for s, _ in d.get("a") or []), 10)
            got.update({s: r for s, r in frame["a"]})
        assert [got[k] for k in range(len(targets))] == [{"ok": True, "x": x, "y": y} for x, y in targets]
        assert len(taken) == len(targets) and all(taken), "each move was taken in data_received on b's node"
        # Pushed without waiting for Redis, they still reach the room's owner in order: b comes to rest at the
        # last target, seen there by a on the other node, with that move's time echoed.
        last = targets[-1]
        arrived = await ia.wait_for(FRAME, lambda d: at(d, b_on_a) == (round(last[0] * 100), round(last[1] * 100)), 15)
        assert echoed(arrived, b_on_a) == 1000.0 + len(targets) - 1
