"""The wire's door, spoken by hand: raw engine.io / Socket.IO text frames over aiohttp's websocket
client, so malformed frames, binary placeholders and silent sockets can be sent at all."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest
import pytest_asyncio

from tests.conftest import call, make_settings, start_world


class RawSocket:
    """One engine.io v4 websocket session; Socket.IO packets are written and read as text."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse):
        self.http, self.ws = http, ws
        self.acks: dict[int, list] = {}
        self.packets: list[str] = []
        self.closed = asyncio.Event()
        self._cond = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, **headers) -> RawSocket:
        http = aiohttp.ClientSession()
        try:
            ws = await http.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket", headers=headers)
        except Exception:
            await http.close()
            raise
        return cls(http, ws)

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = msg.data
                if data == "2":  # engine.io ping
                    await self.ws.send_str("3")
                    continue
                async with self._cond:
                    if data.startswith("43"):  # Socket.IO ACK: 43<id>[...]
                        i = 2
                        while data[i].isdigit():
                            i += 1
                        self.acks[int(data[2:i])] = json.loads(data[i:])
                    self.packets.append(data)
                    self._cond.notify_all()
        finally:
            self.closed.set()
            async with self._cond:
                self._cond.notify_all()

    async def wait(self, pred, timeout: float = 5.0):
        async def until():
            async with self._cond:
                while True:
                    for p in self.packets:
                        if pred(p):
                            return p
                    if self.closed.is_set():
                        raise ConnectionError("closed")
                    await self._cond.wait()
        return await asyncio.wait_for(until(), timeout)

    async def ack(self, ack_id: int, timeout: float = 5.0) -> list:
        async def until():
            async with self._cond:
                while ack_id not in self.acks:
                    if self.closed.is_set():
                        raise ConnectionError("closed before the ack")
                    await self._cond.wait()
                return self.acks[ack_id]
        return await asyncio.wait_for(until(), timeout)

    async def send(self, text: str) -> None:
        await self.ws.send_str(text)

    async def authenticate(self, token: str) -> str:
        await self.wait(lambda p: p.startswith("0{"))  # engine.io OPEN
        await self.send("40" + json.dumps({"token": token}))
        reply = await self.wait(lambda p: p.startswith("40{") or p.startswith("44"))
        assert reply.startswith("40{"), reply
        return json.loads(reply[2:])["sid"]

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        await self.http.close()


@pytest_asyncio.fixture(loop_scope="session")
async def raw(world):
    sockets: list[RawSocket] = []

    async def open_authenticated() -> tuple[RawSocket, str]:
        account = await world.register()
        s = await RawSocket.open(world.url)
        sockets.append(s)
        return s, await s.authenticate(account["token"])

    yield open_authenticated
    for s in sockets:
        await s.close()


def _guard_records(caplog):
    return [r for r in caplog.records if r.name == "server.realtime.guard" and "refused a frame" in r.getMessage()]


async def test_an_unknown_event_is_acked_not_found(world):
    account, client = await world.user()
    r = await call(client, "no:such:event", {"a": 1})
    assert r["ok"] is False and r["error"]["code"] == "not_found"
    assert (await call(client, "room:list"))["ok"]


async def test_malformed_frames_get_invalid_payload_and_one_log_line(world, raw, caplog):
    caplog.set_level(logging.INFO)
    world.ctx.sio.eio.ts_guard._next_log = 0.0  # a fresh throttle window, whatever ran before
    s, sid = await raw()
    frames = {
        1: '421["room:list",{',  # cut-off JSON
        2: "422" + "[" * 60000,  # nesting past the decoder's recursion limit
        3: '423["move",{"x":' + "9" * 5000 + ',"y":1}]',  # a 5000-digit number
        4: '424{"event":"room:list"}',  # an object, not [name, payload]
        5: "425[]",
        6: '426[7,{}]',  # the event name is not a string
        7: '427["room:list",{},{}]',  # extra arguments
    }
    for text in frames.values():
        await s.send(text)
    for ack_id in frames:
        reply = await s.ack(ack_id)
        assert reply[0]["ok"] is False and reply[0]["error"]["code"] == "invalid_payload", (ack_id, reply)
    await s.send('428["room:list",{}]')
    assert (await s.ack(8))[0]["ok"] is True  # the socket still works
    assert sid in world.ctx.hub.connections
    lines = _guard_records(caplog)
    assert 1 <= len(lines) <= 2  # throttled: not one per frame
    assert not [r for r in caplog.records if r.exc_info]  # no tracebacks


async def test_a_binary_placeholder_is_refused_and_does_not_jam_the_socket(world, raw):
    s, sid = await raw()
    await s.send('451-1["chat:send",{"_placeholder":true,"num":0}]')
    reply = await s.ack(1)
    assert reply[0]["error"]["code"] == "invalid_payload" and "binary" in reply[0]["error"]["message"]
    await s.send('422["room:list",{}]')  # before: taken as the awaited attachment, never answered
    assert (await s.ack(2))[0]["ok"] is True
    await s.ws.send_bytes(b"\x04hello")  # a binary websocket frame
    await s.send('423["room:list",{}]')
    assert (await s.ack(3))[0]["ok"] is True


async def test_a_client_that_keeps_sending_garbage_is_disconnected(world, raw):
    s, sid = await raw()
    limit = world.ctx.settings.bad_frame_limit
    for i in range(limit):
        await s.send("42[" if i % 2 else "zzz")  # Socket.IO garbage and engine.io garbage
    await asyncio.wait_for(s.closed.wait(), 10)
    for _ in range(100):  # the disconnect hook runs just after the socket closes
        if sid not in world.ctx.hub.connections:
            break
        await asyncio.sleep(0.02)
    assert sid not in world.ctx.hub.connections


@pytest_asyncio.fixture(loop_scope="session")
async def strict_world(db_url, tmp_path):
    """A server with a short authentication deadline and one extra allowed origin."""
    server = await start_world(make_settings(tmp_path, auth_timeout_s=1.0, allowed_origins=["http://play.example"]),
                               db_url, seed=False)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


async def test_sockets_that_do_not_authenticate_in_time_are_closed(strict_world):
    world = strict_world
    account = await world.register()
    good = await RawSocket.open(world.url)
    silent = await RawSocket.open(world.url)
    refused = await RawSocket.open(world.url)
    try:
        sid = await good.authenticate(account["token"])
        await silent.wait(lambda p: p.startswith("0{"))  # opened, then never sends CONNECT
        await refused.wait(lambda p: p.startswith("0{"))
        await refused.send('40{"token":"garbage"}')
        err = await refused.wait(lambda p: p.startswith("44"))
        assert json.loads(err[2:])["data"]["code"] == "unauthorized"
        await asyncio.wait_for(silent.closed.wait(), 5)
        await asyncio.wait_for(refused.closed.wait(), 5)
        # Opened before the other two and authenticated: still here after their deadline passed.
        assert not good.closed.is_set() and sid in world.ctx.hub.connections
        await good.send('421["room:list",{}]')
        assert (await good.ack(1))[0]["ok"] is True
    finally:
        for s in (good, silent, refused):
            await s.close()


async def test_a_slow_authentication_is_not_cut_off_by_the_deadline(strict_world):
    world = strict_world
    slow = await world.register()
    release = asyncio.Event()

    async def hold(conn) -> None:  # a database slow to answer (a reconnect storm): auth outlasts the deadline
        if conn.uid == slow["user"]["id"]:
            await release.wait()

    world.ctx.hub.on_connect.insert(0, hold)
    s = await RawSocket.open(world.url)
    silent = None
    try:
        await s.wait(lambda p: p.startswith("0{"))
        await s.send("40" + json.dumps({"token": slow["token"]}))
        silent = await RawSocket.open(world.url)  # opened after s: closed after s's deadline passed
        await asyncio.wait_for(silent.closed.wait(), 5)
        assert not s.closed.is_set()
        release.set()
        reply = await s.wait(lambda p: p.startswith("40{") or p.startswith("44"))
        assert reply.startswith("40{")
        await s.send('421["room:list",{}]')
        assert (await s.ack(1))[0]["ok"] is True
    finally:
        world.ctx.hub.on_connect.remove(hold)
        release.set()
        for sock in (s, silent):
            if sock is not None:
                await sock.close()


async def test_cross_origin_websockets_are_refused(strict_world):
    world = strict_world
    with pytest.raises(aiohttp.WSServerHandshakeError) as e:
        await RawSocket.open(world.url, Origin="http://evil.example")
    assert e.value.status == 400
    for headers in ({"Origin": world.url}, {"Origin": "http://play.example"}, {}):
        s = await RawSocket.open(world.url, **headers)
        try:
            await s.wait(lambda p: p.startswith("0{"))
        finally:
            await s.close()
    # The python-socketio client sends no Origin: accepted as before.
    account, client = await world.user()
    assert client.connected


async def test_the_default_allows_only_the_same_origin(world):
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await RawSocket.open(world.url, Origin="http://play.example")
    s = await RawSocket.open(world.url, Origin=world.url)
    try:
        await s.wait(lambda p: p.startswith("0{"))
    finally:
        await s.close()
