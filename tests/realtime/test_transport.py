"""Transport limits: oversized frames, and clients that stop reading."""

import asyncio
import socket

from server.chat.pipeline import ChatDraft
from server.realtime.fanout import SLOW_DROPPED
from tests.conftest import call, eventually, make_settings, start_world
from tests.realtime.conftest import fresh_room, person, uid


async def test_a_frame_over_the_size_cap_closes_only_that_connection(world):
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    sid = ca.get_sid()
    assert sid in world.ctx.hub.connections
    gone = asyncio.Event()
    ca.on("disconnect", lambda *args: gone.set())
    await ca.emit("chat:send", {"text": "x" * (80 * 1024)})  # over the 64 KiB transport cap
    await asyncio.wait_for(gone.wait(), 10)
    await ib.wait_for("presence:leave", lambda d: d["id"] == uid(a))
    # presence:leave goes out from a disconnect hook, before the hub lets go of the connection
    await eventually(lambda: sid not in world.ctx.hub.connections, what="the hub lets go of the connection")
    assert (await call(cb, "room:list"))["ok"]  # the server and everyone else carry on
    assert not [m for m in ib.items["chat:message"] if m["from"]["id"] == uid(a)]


async def test_a_client_that_stops_reading_is_dropped_not_buffered(world):
    fanout = world.ctx.realtime.fanout
    old_limit = fanout.queue_limit
    fanout.queue_limit = 16
    try:
        room = await fresh_room(world)
        slow, cs, is_, _ = await person(world, room.slug)
        fine, cf, if_, _ = await person(world, room.slug)
        slow_sid = cs.get_sid()
        # The slow reader: its client stops reading, and the buffers on the way are made small
        # so the server's writer blocks after a few KB instead of a few MB.
        client_transport = cs.eio.ws._conn.transport
        client_transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client_transport.pause_reading()
        eio_sid = world.ctx.sio.manager.eio_sid_from_sid(slow_sid, "/")
        server_transport = world.ctx.sio.environ[eio_sid]["aiohttp.request"].transport
        server_transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        server_transport.set_write_buffer_limits(high=1024)
        dropped_before = SLOW_DROPPED._value.get()

        sent = []
        for i in range(800):  # aiohttp buffers 64 KiB per socket before it waits
            msg = await world.ctx.chat.send(ChatDraft(room=room.slug, sender_id="npc:loud", sender_name="Loud",
                                                      sender_kind="npc", text=f"{i} " + "blah " * 95, original_text=""))
            sent.append(msg["id"])
            if slow_sid not in world.ctx.hub.connections:
                break
        for _ in range(50):
            if slow_sid not in world.ctx.hub.connections:
                break
            await asyncio.sleep(0.1)
        assert slow_sid not in world.ctx.hub.connections
        assert SLOW_DROPPED._value.get() > dropped_before
        await if_.wait_for("presence:leave", lambda d: d["id"] == uid(slow))
        # The reader that keeps up got every line.
        await if_.wait_for("chat:message", lambda d: d["id"] == sent[-1])
        got = {m["id"] for m in if_.items["chat:message"]}
        assert set(sent) <= got
        client_transport.resume_reading()  # let the slow client notice it was dropped
        for _ in range(50):
            if not cs.connected:
                break
            await asyncio.sleep(0.1)
    finally:
        fanout.queue_limit = old_limit


async def test_an_idle_client_stays_connected_across_many_heartbeats(db_url, tmp_path):
    # Short heartbeats: an idle websocket must outlive several ping_interval + ping_timeout spans
    # (engine.io's writer closes a socket whose send queue stays empty that long).
    server = await start_world(make_settings(tmp_path, ping_interval_s=1.5, ping_timeout_s=1.5), db_url, seed=False)
    try:
        account, client = await server.user()
        sid = client.get_sid()
        dropped = asyncio.Event()
        client.on("disconnect", lambda *args: dropped.set())
        await asyncio.sleep(8)  # more than twice interval + timeout
        assert not dropped.is_set() and client.connected
        assert sid in server.ctx.hub.connections
        assert (await call(client, "room:list"))["ok"]
    finally:
        await server.close_clients()
        await server.runner.cleanup()


async def test_frames_of_every_length_class_arrive_intact(world):
    # Direct writes build the websocket header themselves: 7-bit, 16-bit and 64-bit lengths.
    room = await fresh_room(world)
    a, ca, _, _ = await person(world, room.slug)
    b, cb, ib, _ = await person(world, room.slug)
    got: list = []
    ca.on("test:blob", got.append)
    sizes = [10, 125, 126, 20_000, 65_535, 100_000]
    for n in sizes:
        await world.ctx.hub.to_user(uid(a), "test:blob", {"n": n, "blob": "é" * n})
    big = [[f"{i:036d}", i / 7, i / 3] for i in range(3000)]  # a room event well over 64 KiB
    await world.ctx.hub.to_room(room.slug, "world:tick", {"room": room.slug, "t": 1.0, "moves": big})
    for _ in range(100):
        if len(got) == len(sizes):
            break
        await asyncio.sleep(0.05)
    assert [(d["n"], d["blob"]) for d in got] == [(n, "é" * n) for n in sizes]
    tick = await ib.wait_for("world:tick", lambda d: len(d["moves"]) == 3000)
    assert tick["moves"] == big
    assert (await call(ca, "room:list"))["ok"] and (await call(cb, "room:list"))["ok"]


async def test_a_client_that_stops_answering_pings_is_closed(db_url, tmp_path):
    # The websocket read loop has no timeout of its own: engine.io's ping check must close it.
    import json

    import aiohttp

    server = await start_world(make_settings(tmp_path, ping_interval_s=1.0, ping_timeout_s=1.0), db_url)
    try:
        watcher, cw = await server.user()
        assert (await call(cw, "room:join", {"room": "plaza"}))["ok"]
        left = asyncio.Event()
        account = await server.register()
        cw.on("presence:leave", lambda d: left.set() if d["id"] == account["user"]["id"] else None)
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(f"{server.url}/socket.io/?EIO=4&transport=websocket")
            assert (await ws.receive_str()).startswith("0")
            await ws.send_str("40" + json.dumps({"token": account["token"]}))
            while not (await ws.receive_str()).startswith("40"):
                pass
            await ws.send_str('421["room:join",{"room":"plaza"}]')
            while not (await ws.receive_str()).startswith("431"):
                pass
            assert account["user"]["id"] in {c.uid for c in server.ctx.hub.connections.values()}
            # From here on it never answers the server's engine.io PING.
            await asyncio.wait_for(left.wait(), 10)
            # presence:leave goes out while the hub is still letting go of the connection: wait for that to finish
            for _ in range(100):
                if account["user"]["id"] not in {c.uid for c in server.ctx.hub.connections.values()}:
                    break
                await asyncio.sleep(0.05)
            assert account["user"]["id"] not in {c.uid for c in server.ctx.hub.connections.values()}
            await ws.close()
    finally:
        await server.close_clients()
        await server.runner.cleanup()
