"""What an idle websocket connection holds on the server: its read loop and nothing else running
(no writer task waiting on an empty queue, no task sleeping until the next PING), while the
heartbeat goes on and a queued packet still gets written."""

from __future__ import annotations

import asyncio
import inspect
import json

import aiohttp
from engineio import packet as eio_packet

from server.realtime.transport import enqueue
from tests.conftest import eventually, make_settings, start_world

# the coroutines an idle connection used to keep running, besides its read loop
PER_CONNECTION = ("AsyncSocket._send_ping", "_websocket_loop.<locals>.writer", "_drain")


def idle_tasks(before: set) -> list[str]:
    """Such coroutines running now that were not before this test (the suite's other worlds, on the
    same event loop, may hold connections of their own)."""
    names = [t.get_coro().__qualname__ for t in asyncio.all_tasks() if not t.done() and t not in before]
    return [n for n in names if n in PER_CONNECTION]


async def raw_client(server, token: str, http: aiohttp.ClientSession):
    ws = await http.ws_connect(f"{server.url}/socket.io/?EIO=4&transport=websocket")
    assert (await ws.receive_str()).startswith("0")
    await ws.send_str("40" + json.dumps({"token": token}))
    while not (await ws.receive_str()).startswith("40"):
        pass
    return ws


async def next_ping(ws) -> None:
    while (await ws.receive_str()) != "2":
        pass


async def test_idle_connections_hold_no_task_of_their_own_and_keep_their_heartbeat(db_url, tmp_path):
    before = set(asyncio.all_tasks())
    server = await start_world(make_settings(tmp_path, ping_interval_s=1.0, ping_timeout_s=5.0), db_url, seed=False)
    try:
        async with aiohttp.ClientSession() as http:
            accounts = [await server.register() for _ in range(5)]
            sockets = [await raw_client(server, a["token"], http) for a in accounts]
            assert len(server.ctx.hub.connections) == 5
            sio = server.ctx.sio
            for sid in server.ctx.hub.connections:  # upgraded: read without aiohttp's HTTP parser (the heartbeats below)
                request = sio.environ[sio.manager.eio_sid_from_sid(sid, "/")]["aiohttp.request"]
                assert request.protocol._parser is None
            for beat in range(3):  # three heartbeats, each answered
                await asyncio.gather(*(next_ping(ws) for ws in sockets))
                assert idle_tasks(before) == [], beat  # between PINGs nothing of theirs runs but the read loops
                await asyncio.gather(*(ws.send_str("3") for ws in sockets))
                assert len(server.ctx.hub.connections) == 5, beat
            assert len(server.ctx.hub.connections) == 5
            # packets queued (what a client that reads slowly gets) are written by a writer that then ends
            conn = next(iter(server.ctx.hub.connections.values()))
            sock = server.ctx.sio.eio.sockets[server.ctx.sio.manager.eio_sid_from_sid(conn.sid, "/")]
            enqueue(sock, [eio_packet.Packet(eio_packet.MESSAGE, data=f'2["test:hello",{{"n":{i}}}]') for i in range(3)])
            ws = sockets[[a["user"]["id"] for a in accounts].index(conn.uid)]
            got = []
            while len(got) < 3:
                msg = await ws.receive_str()
                if msg.startswith('42["test:hello"'):
                    got.append(json.loads(msg[2:]))
            assert got == [["test:hello", {"n": i}] for i in range(3)]
            await eventually(lambda: sock.queue.empty() and sock.ts_writer is None, what="the writer ends")
            for ws in sockets:
                await ws.close()
    finally:
        await server.close_clients()
        await server.runner.cleanup()


def test_aiohttp_reads_an_upgraded_connection_without_its_http_parser():
    """transport.drop_http_parser relies on this shape of aiohttp: once an upgrade is accepted only
    the websocket reader is fed, and a None HTTP parser is a state aiohttp already handles."""
    from aiohttp import base_protocol, web_protocol

    assert {"_parser", "_upgraded"} <= set(base_protocol.BaseProtocol.__slots__)
    assert "self._payload_parser is None and not self._upgraded" in inspect.getsource(
        web_protocol.RequestHandler.data_received)
    assert "self._parser = None" in inspect.getsource(web_protocol.RequestHandler.connection_lost)
    assert "if not self._upgraded:" in inspect.getsource(base_protocol.BaseProtocol.pause_reading)
