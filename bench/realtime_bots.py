"""Load bots for bench/realtime.py (one OS process each, started by the orchestrator).

Each process runs N/P clients in one room. Every client moves at RATE Hz with its send time in
the move (`t`); the server echoes it in the world:tick entry that shows the arrival.
- SAMPLE clients per process are real python-socketio AsyncClients that decode every world:tick
  and record move-to-seen latency for other clients' entries.
- The others speak the same Socket.IO protocol over a raw aiohttp WebSocket (connect with auth,
  acked events, engine.io pings) but only count the frames they receive without decoding them,
  so the bots are not what is measured.

With wire 2 (the default) every client joins with `"wire": 2` and tags its moves with `s` instead
of asking for a Socket.IO ack: the acks come folded into its `world:frame`s (`args["acks"] == "none"`:
no `s` either, moves are fire-and-forget as the Colyseus peer's bots send theirs). In the interest shape
(`args["room"]` a large room with interest management) a sampled receiver counts deliveries only
from the bodies that stood well inside its view when the window opened (`inner`); the orchestrator
divides by the moves those bodies sent (`sent_by`).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from array import array

ROOM = "bench"


class RawClient:
    """A minimal Socket.IO v5 client: enough to join a room, send acked moves and count frames."""

    def __init__(self, session, url: str, token: str, wire: int = 1, acked: bool = True):
        self.session = session
        self.url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.token = token
        self.ws = None
        self.frames = 0
        self.ack_id = 0
        self.pending: dict[int, asyncio.Future] = {}
        self.closed = False
        self.x = self.y = 0.0
        self.wire = wire
        self.acked = acked
        self.uid = None
        self._reader = None

    async def connect(self, timeout: float) -> None:
        self.ws = await self.session.ws_connect(self.url, autoping=True, max_msg_size=0, compress=0,
                                                timeout=timeout)
        opened = await asyncio.wait_for(self.ws.receive(), timeout)
        if not str(opened.data).startswith("0"):
            raise ConnectionError(f"no engine.io open packet: {opened.data!r}")
        await self.ws.send_str("40" + json.dumps({"token": self.token}))
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), timeout)
            data = str(msg.data)
            if data.startswith("40"):
                break
            if data.startswith("44"):
                raise ConnectionError(f"refused: {data}")
        self._reader = asyncio.ensure_future(self._read())

    async def call(self, event: str, data, timeout: float):
        self.ack_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.ack_id] = fut
        await self.ws.send_str(f"42{self.ack_id}" + json.dumps([event, data], separators=(",", ":")))
        return await asyncio.wait_for(fut, timeout)

    async def move(self, x: float, y: float, t: float) -> None:
        self.ack_id += 1  # acked like every client event; the ack is counted as a frame, not awaited
        if self.wire == 2 and not self.acked:  # fire-and-forget
            await self.ws.send_str(f'42["move",{{"x":{x},"y":{y},"t":{t}}}]')
        elif self.wire == 2:  # the ack comes folded into the next world:frame
            await self.ws.send_str(f'42["move",{{"x":{x},"y":{y},"t":{t},"s":{self.ack_id}}}]')
        else:
            await self.ws.send_str(f'42{self.ack_id}["move",{{"x":{x},"y":{y},"t":{t}}}]')

    async def _read(self) -> None:
        ws = self.ws
        try:
            while True:
                msg = await ws.receive()
                data = msg.data
                if not isinstance(data, str):
                    break
                self.frames += 1
                if data == "2":
                    await ws.send_str("3")
                elif data.startswith("43") and self.pending:
                    i = data.index("[")
                    fut = self.pending.pop(int(data[2:i]), None)
                    if fut is not None and not fut.done():
                        fut.set_result(json.loads(data[i:])[0])
        except Exception:
            pass
        finally:
            self.closed = True

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()


def worker_main(wid: int, url: str, tokens: list[str], args: dict, t0v, q) -> None:
    try:
        asyncio.run(worker(wid, url, tokens, args, t0v, q))
    except Exception as e:  # report, never hang the parent
        q.put(("error", wid, repr(e)))


async def worker(wid: int, url: str, tokens: list[str], args: dict, t0v, q) -> None:
    import aiohttp
    import socketio

    idle = args["idle"]
    room = args.get("room") or ROOM
    wire = args.get("wire", 1)
    acked = args.get("acks", "folded") != "none"
    lo_x, lo_y, hi_x, hi_y = args.get("bounds") or (2, 2, 190, 190)
    view = args.get("view")  # (w, h): the interest shape; None: everyone sees everyone
    join = {"room": room, "wire": 2} if wire == 2 else {"room": room}
    sent_by: dict[str, int] = {}
    n_sample = 0 if idle else min(args["sample"], len(tokens))
    rate = args["rate"]
    win = [0.0, 0.0]
    lat = array("d")
    st = {"sent": 0, "recv": 0, "ticks": 0, "disc": 0}
    sampled: list[tuple[socketio.AsyncClient, dict]] = []
    raws: list[RawClient] = []
    failed = 0
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    sem = asyncio.Semaphore(args["connect_concurrency"])

    def make_sampled(me: dict) -> socketio.AsyncClient:
        c = socketio.AsyncClient(reconnection=False)

        def on_tick(d):
            st["ticks"] += 1
            now = time.time()
            w0, w1 = win
            mine = me["id"]
            for m in d["moves"]:
                if len(m) > 3 and m[0] != mine and w0 <= m[3] < w1:
                    lat.append(now - m[3])
                    st["recv"] += 1

        def on_frame(d):
            st["ticks"] += 1
            now = time.time()
            w0, w1 = win
            mine, pos = me["n"], me["pos"]
            for part in ("m", "f"):
                flat = d.get(part) or ()
                for i in range(0, len(flat), 3):
                    pos[flat[i]] = (flat[i + 1] / 100, flat[i + 2] / 100)  # hundredths of a tile
            if view is not None and me["inner"] is None and now >= w0:
                # The bodies well inside my view as the window opens: their moves must all reach me.
                x, y = pos.get(mine, (me["x"], me["y"]))
                me["inner"] = {n for n, (bx, by) in pos.items()
                               if n != mine and abs(bx - x) <= view[0] / 2 and abs(by - y) <= view[1] / 2}
            inner = me["inner"]
            e = d["e"]
            for i in range(0, len(e), 2):
                n, t = e[i], d["t"] - e[i + 1] / 1000  # echoed as ms before the frame's t
                if n != mine and w0 <= t < w1 and (inner is None or n in inner):
                    lat.append(now - t)
                    st["recv"] += 1

        def on_presence(p):
            if p and "n" in p:
                me["ids"][p["n"]] = p["id"]
                me["pos"][p["n"]] = (p["x"], p["y"])

        def on_disconnect(*a):
            st["disc"] += 1

        c.on("world:tick", on_tick)
        c.on("world:frame", on_frame)
        c.on("presence:join", on_presence)
        c.on("disconnect", on_disconnect)
        return c

    async def connect_sampled(token: str):
        nonlocal failed
        me = {"id": None, "n": None, "ids": {}, "pos": {}, "inner": None}
        c = make_sampled(me)
        async with sem:
            try:
                await c.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=args["timeout"])
                r = await c.call("room:join", join, timeout=args["timeout"])
                if not r.get("ok"):
                    raise RuntimeError(r)
                me["id"], me["x"], me["y"], me["n"] = r["you"]["id"], r["you"]["x"], r["you"]["y"], r["you"].get("n")
                for p in r["occupants"]:
                    on_presence_of(me, p)
                sampled.append((c, me))
            except Exception:
                failed += 1
                try:
                    await c.disconnect()
                except Exception:
                    pass

    def on_presence_of(me: dict, p: dict) -> None:
        if "n" in p:
            me["ids"][p["n"]] = p["id"]
            me["pos"][p["n"]] = (p["x"], p["y"])

    idle_rooms = args.get("idle_rooms")  # idle shapes: None: all in `room`; []: never join; [slugs]: spread

    async def connect_raw(token: str, i: int):
        nonlocal failed
        c = RawClient(session, url, token, wire, acked)
        async with sem:
            try:
                await c.connect(args["timeout"])
                if idle_rooms == []:  # connected and authenticated, in no room
                    raws.append(c)
                    return
                here = {**join, "room": idle_rooms[i % len(idle_rooms)]} if idle_rooms else join
                r = await c.call("room:join", here, args["timeout"])
                if not r.get("ok"):
                    raise RuntimeError(r)
                c.x, c.y, c.uid = r["you"]["x"], r["you"]["y"], r["you"]["id"]
                raws.append(c)
            except Exception:
                failed += 1
                await c.close()

    started = time.time()
    await asyncio.gather(*(connect_sampled(t) for t in tokens[:n_sample]),
                         *(connect_raw(t, i) for i, t in enumerate(tokens[n_sample:])))
    q.put(("ready", wid, len(sampled) + len(raws), failed, time.time() - started))

    deadline = time.time() + args["ready_timeout"]
    while t0v.value == 0.0 and time.time() < deadline:
        await asyncio.sleep(0.05)
    t0 = t0v.value
    if t0 <= 0:
        q.put(("result", wid, None))
        return
    win[0] = t0 + args["warmup"]
    win[1] = win[0] + args["duration"]
    stop_at = win[1]
    own_sent = []  # per sampled client, its moves in the window

    def step(p: float, lo: float, hi: float) -> float:
        d = random.uniform(0.05, 0.4) * random.choice((-1, 1))
        v = p + d
        if v < lo or v > hi:
            v = p - d
        return round(v, 2)

    async def mover(send, pos: dict, counter: list | None, who: str | None = None):
        period = 1.0 / rate
        nxt = t0 + random.uniform(0, period)
        while True:
            now = time.time()
            if now >= stop_at:
                return
            if nxt > now:
                await asyncio.sleep(nxt - now)
            t = time.time()
            if t >= stop_at:
                return
            pos["x"], pos["y"] = step(pos["x"], lo_x, hi_x), step(pos["y"], lo_y, hi_y)
            try:
                await send(pos["x"], pos["y"], round(t, 4))
            except Exception:
                return
            if win[0] <= t < win[1]:
                st["sent"] += 1
                if who is not None:
                    sent_by[who] = sent_by.get(who, 0) + 1
                if counter is not None:
                    counter[0] += 1
            nxt += period
            if nxt < time.time():  # fell behind: skip, do not burst
                nxt = time.time() + period

    loop_lag = array("d")

    async def lag_probe():
        while time.time() < stop_at:
            t = time.perf_counter()
            await asyncio.sleep(0.05)
            loop_lag.append(time.perf_counter() - t - 0.05)

    movers = []
    if not idle:
        for c, me in sampled:
            counter = [0]
            own_sent.append(counter)

            box = [0]

            async def send_sio(x, y, t, c=c, box=box):
                if wire == 2 and not acked:
                    await c.emit("move", {"x": x, "y": y, "t": t})
                elif wire == 2:
                    box[0] += 1
                    await c.emit("move", {"x": x, "y": y, "t": t, "s": box[0]})
                else:
                    await c.emit("move", {"x": x, "y": y, "t": t}, callback=lambda *a: None)

            movers.append(asyncio.ensure_future(mover(send_sio, me, counter, me["id"])))
        for c in raws:
            pos = {"x": c.x, "y": c.y}
            movers.append(asyncio.ensure_future(mover(lambda x, y, t, c=c: c.move(x, y, t), pos, None, c.uid)))
    probe = asyncio.ensure_future(lag_probe())

    snap = {}

    async def snapshot(at: float, key: str):
        d = at - time.time()
        if d > 0:
            await asyncio.sleep(d)
        snap[key] = (sum(c.frames for c in raws), st["ticks"])

    await asyncio.gather(snapshot(win[0], "start"), snapshot(win[1], "end"))
    await asyncio.sleep(args["grace"])  # let ticks of the window's last moves arrive
    for m in movers:
        m.cancel()
    await asyncio.gather(*movers, probe, return_exceptions=True)
    lag = sorted(loop_lag)
    res = {
        "wid": wid,
        "connected": len(sampled) + len(raws),
        "failed": failed,
        "sampled": len(sampled),
        "sent": st["sent"],
        "own_sent": [c[0] for c in own_sent],
        "recv": st["recv"],
        "raw_frames": snap["end"][0] - snap["start"][0],
        "raw_clients": len(raws),
        "sampled_ticks": snap["end"][1] - snap["start"][1],
        "disconnects": st["disc"] + sum(1 for c in raws if c.closed),
        "loop_lag_p99_ms": lag[int(0.99 * (len(lag) - 1))] * 1e3 if lag else None,
        "lat": lat.tobytes(),
        "sent_by": sent_by if view is not None else {},
        "inner": [[me["ids"].get(n) for n in (me["inner"] or ())] for _, me in sampled] if view is not None else [],
    }
    q.put(("result", wid, res))
    try:
        await asyncio.wait_for(asyncio.gather(*(c.disconnect() for c, _ in sampled), *(c.close() for c in raws),
                                              return_exceptions=True), 20)
    except Exception:
        pass
    await session.close()
