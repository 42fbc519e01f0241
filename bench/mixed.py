"""Mixed load, two placements of the models: 500 people moving in one room while 10 chat lines a
second go through moderation, translation (the tiny random Marian, readers of three languages) and
two residents (retrieval brain, bundled embedder).

Placements, each against a fresh `townsquare serve`:
- world: the models inside the world process (TOWNSQUARE_INFERENCE_LOCAL=process)
- service: the models in the node's supervised inference child (the default)

Measured over the window: move-to-seen latency (the realtime bench's bots: 2 processes, 10
sampled receivers each, 5 Hz moves; `--bots node` (the default) runs bench/bots/townsquare_bot.mjs,
`--bots python` bench/realtime_bots.py, whose own event loops lag tens of ms at a few hundred
clients; on `--wire` 2, the browser client's, by default), chat delivery (chat:send -> chat:message at the three
readers), translation arrival (chat:send -> chat:translation), residents' answers, world and
child CPU and RSS. The machine is shared and has 2 cores: figures are noisy.

    .venv/bin/python bench/mixed.py [--movers 500] [--lines-per-s 10] [--warmup 5] [--duration 20]
                                    [--placements world service] [--bots node|python] [--wire 2|1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
import uuid
from array import array
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from common import BenchDatabase, ServerProcess  # noqa: E402  (bench/ is on sys.path)

os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/townsquare-runtime-{os.getuid()}")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)

import psutil  # noqa: E402

SECRET = "bench-mixed-" + "s" * 40
ROOM = "bench"
READER_LANGS = ("es", "de", "fr")
LINES = ["where is the market today", "the baker has fresh bread", "does anyone want to trade a lantern",
         "Mira, where can I find the library?", "good morning everyone", "Odessa, what do you recommend to read?",
         "I found a map near the fountain", "who wants to meet at the plaza later"]


def world_yaml() -> str:
    """One open room and two residents of the bundled world, moved into it."""
    import yaml

    src = yaml.safe_load((REPO / "server" / "data" / "world.yaml").read_text())
    residents = []
    for r in src["residents"]:
        if r["key"] in ("mira", "odessa"):
            r = dict(r, home=ROOM)
            r.pop("routine", None)
            r["position"] = [100 + len(residents) * 3, 100]
            residents.append(r)
    return yaml.safe_dump({"name": "Bench", "languages": ["en", *READER_LANGS],
                           "rooms": [{"slug": ROOM, "name": "Bench room", "width": 200, "height": 200,
                                      "capacity": 10000, "access": "public", "spawn": [100, 100]}],
                           "residents": residents})


async def make_users(url: str, langs: list[str]) -> list[str]:
    import asyncpg
    import jwt
    from argon2 import PasswordHasher

    pw = PasswordHasher().hash("bench-password")
    ids = [uuid.uuid4() for _ in langs]
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.executemany("INSERT INTO users (id, username, password_hash, role, language) "
                               "VALUES ($1, $2, $3, 'user', $4)",
                               [(i, f"bot_{i.hex[:12]}", pw, lang) for i, lang in zip(ids, langs)])
        await conn.executemany("INSERT INTO avatars (user_id, display_name, appearance) VALUES ($1, $2, '{}')",
                               [(i, f"bot {i.hex[:6]}") for i in ids])
    finally:
        await conn.close()
    now = int(time.time())
    return [jwt.encode({"sub": str(i), "role": "user", "iat": now, "exp": now + 86400}, SECRET, algorithm="HS256")
            for i in ids]


# -- the chat side (its own process) --------------------------------------------------------------
def chat_main(url: str, senders: list[str], readers: list[str], args: dict, t0v, q) -> None:
    try:
        asyncio.run(chat_worker(url, senders, readers, args, t0v, q))
    except Exception as e:  # report, never hang the parent
        q.put(("error", "chat", repr(e)))


async def chat_worker(url: str, senders: list[str], readers: list[str], args: dict, t0v, q) -> None:
    import socketio

    sent_at: dict[str, float] = {}
    delivery, translation = array("d"), array("d")
    counts = {"sent": 0, "send_failed": 0, "delivered": 0, "translated": 0, "unavailable": 0, "resident_lines": 0}
    win = [0.0, 0.0]

    async def connect(token: str, reader: bool) -> socketio.AsyncClient:
        c = socketio.AsyncClient(reconnection=False)
        if reader:
            def on_message(d):
                now = time.time()
                if d["from"]["kind"] == "npc":
                    counts["resident_lines"] += 1
                at = sent_at.get(d["text"])
                if at is not None and win[0] <= at < win[1]:
                    delivery.append(now - at)
                    counts["delivered"] += 1

            def on_translation(d):
                now = time.time()
                at = sent_at.get(d["id"])
                if at is None or not win[0] <= at < win[1]:
                    return
                if d.get("unavailable"):
                    counts["unavailable"] += 1
                else:
                    translation.append(now - at)
                    counts["translated"] += 1

            c.on("chat:message", on_message)
            c.on("chat:translation", on_translation)
        await c.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=30)
        r = await c.call("room:join", {"room": ROOM}, timeout=30)
        if not r.get("ok"):
            raise RuntimeError(r)
        return c

    send_clients = [await connect(t, False) for t in senders]
    read_clients = [await connect(t, True) for t in readers]
    q.put(("ready", "chat", len(send_clients) + len(read_clients), 0, 0.0))
    deadline = time.time() + 300
    while t0v.value == 0.0 and time.time() < deadline:
        await asyncio.sleep(0.05)
    t0 = t0v.value
    if t0 <= 0:
        q.put(("result", "chat", None))
        return
    win[0], win[1] = t0 + args["warmup"], t0 + args["warmup"] + args["duration"]
    period = len(send_clients) / args["lines_per_s"]  # each sender's interval

    async def send(c, text: str, at: float) -> None:
        try:
            r = await c.call("chat:send", {"text": text}, timeout=30)
        except Exception:
            r = {"ok": False}
        if r.get("ok"):
            sent_at[r["message_id"]] = at
            if win[0] <= at < win[1]:
                counts["sent"] += 1
                if r.get("action", "allow") != "allow":
                    counts.setdefault("actions", {})[r["action"]] = counts.get("actions", {}).get(r["action"], 0) + 1
        elif win[0] <= at < win[1]:
            counts["send_failed"] += 1
            code = (r.get("error") or {}).get("code", "no_ack")
            counts.setdefault("refused", {})[code] = counts.get("refused", {}).get(code, 0) + 1

    async def sender(i: int, c) -> None:
        # Open loop: a line every `period` whether or not the last one was acknowledged (waiting for
        # the ack made a slow server offer ~2.5 lines/s instead of the target, a fast one get bursts).
        nxt = t0 + i * period / len(send_clients)
        k = 0
        inflight = set()
        while True:
            now = time.time()
            if now >= win[1]:
                break
            if nxt > now:
                await asyncio.sleep(nxt - now)
            k += 1
            text = f"{LINES[(i + k) % len(LINES)]} {i}x{k}"  # unique: how readers find its send time
            at = time.time()
            sent_at[text] = at
            task = asyncio.create_task(send(c, text, at))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
            nxt += period
        if inflight:
            await asyncio.wait(inflight, timeout=30)

    await asyncio.gather(*(sender(i, c) for i, c in enumerate(send_clients)))
    await asyncio.sleep(args["grace"])
    q.put(("result", "chat", {**counts, "delivery": delivery.tobytes(), "translation": translation.tobytes()}))
    for c in send_clients + read_clients:
        try:
            await asyncio.wait_for(c.disconnect(), 5)
        except Exception:
            pass


# -- one placement -------------------------------------------------------------------------------
def pct(values, q):
    if not values:
        return None
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))] * 1e3, 1)


def run_placement(placement: str, url: str, tmp: Path, marian: Path, tokens: dict, args) -> dict:
    from bench.realtime import NodeBots
    from bench.realtime_bots import worker_main

    env = {"TOWNSQUARE_WORLD_FILE": str(tmp / "world.yaml"), "TOWNSQUARE_TICK_HZ": "10",
           "TOWNSQUARE_MODELS__TRANSLATION": str(marian), "TOWNSQUARE_MODELS__DEVICE": "cpu",
           "TOWNSQUARE_MODELS__THREADS": "1", "TOWNSQUARE_MODELS__MAX_WAIT_MS": "20",
           "TOWNSQUARE_INFERENCE_LOCAL": "process" if placement == "world" else "child",
           "TOWNSQUARE_CHAT_RATE": "5/second", "TOWNSQUARE_RESIDENTS_WANDER_S": "0",
           "TOWNSQUARE_RESIDENTS_IDLE_CHATTER_S": "0", "TOWNSQUARE_RESIDENTS_GREET": "false",
           "TOWNSQUARE_LANGUAGES": json.dumps(["en", *READER_LANGS])}
    server = ServerProcess(url, tmp, SECRET, env)
    try:
        server.wait(300)
        world = psutil.Process(server.proc.pid)
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        t0v = ctx.Value("d", 0.0)
        movers = tokens["movers"]
        per = [movers[i::args.procs] for i in range(args.procs)]
        bot_args = {"idle": False, "sample": 10, "rate": 5.0, "warmup": args.warmup, "duration": args.duration,
                    "timeout": 30.0, "ready_timeout": 300.0, "connect_concurrency": 32, "grace": 1.0,
                    "wire": args.wire}
        chat_args = {"warmup": args.warmup, "duration": args.duration, "lines_per_s": args.lines_per_s, "grace": 3.0}
        if args.bots == "node":
            procs = [NodeBots(i, server.base, per[i], bot_args, q, tmp) for i in range(args.procs)]
        else:
            procs = [ctx.Process(target=worker_main, args=(i, server.base, per[i], bot_args, t0v, q), daemon=True)
                     for i in range(args.procs)]
        procs.append(ctx.Process(target=chat_main, args=(server.base, tokens["senders"], tokens["readers"],
                                                         chat_args, t0v, q), daemon=True))
        for p in procs:
            p.start()
        ready, errors = {}, []
        deadline = time.time() + 300
        while len(ready) < len(procs) and time.time() < deadline:
            try:
                msg = q.get(timeout=1)
            except Exception:
                continue
            if msg[0] == "ready":
                ready[msg[1]] = msg[2]
            elif msg[0] == "error":
                errors.append(msg)
                break
        children = world.children(recursive=True)
        t0 = time.time() + 0.5
        t0v.value = t0 if len(ready) == len(procs) else -1.0
        for p in procs:
            if isinstance(p, NodeBots):  # the Node bots read t0 on stdin, the others from t0v
                p.go(t0v.value)
        out = {"placement": placement, "bots": args.bots, "wire": args.wire, "connected": sum(ready.values()),
               "loadavg": [round(v, 2) for v in os.getloadavg()]}
        if t0v.value > 0:
            time.sleep(max(0.0, t0 + args.warmup - time.time()))
            c0 = {p.pid: sum(p.cpu_times()[:2]) for p in [world, *children]}
            w0 = time.time()
            time.sleep(max(0.0, t0 + args.warmup + args.duration - time.time()))
            wall = time.time() - w0
            c1 = {p.pid: sum(p.cpu_times()[:2]) for p in [world, *children]}
            out["world_cpu_pct"] = round(100 * (c1[world.pid] - c0[world.pid]) / wall, 1)
            out["child_cpu_pct"] = round(100 * sum(c1[p.pid] - c0[p.pid] for p in children) / wall, 1)
            out["world_rss_mib"] = round(world.memory_info().rss / 2**20, 1)
            out["child_rss_mib"] = round(sum(p.memory_info().rss for p in children) / 2**20, 1)
        results = {}
        deadline = time.time() + 120
        while len(results) < len(ready) and time.time() < deadline:
            try:
                msg = q.get(timeout=1)
            except Exception:
                continue
            if msg[0] == "result":
                results[msg[1]] = msg[2] or {}
            elif msg[0] == "error":
                errors.append(msg)
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()  # our own child, by handle
                p.join(5)
        lat = array("d")
        for key, r in results.items():
            if key != "chat" and r:
                lat.frombytes(r["lat"])
        lat = sorted(lat)
        chat = results.get("chat") or {}
        delivery = array("d")
        delivery.frombytes(chat.get("delivery", b""))
        delivery = sorted(delivery)
        trans = array("d")
        trans.frombytes(chat.get("translation", b""))
        trans = sorted(trans)
        out.update({
            "move_to_seen_p50_ms": pct(lat, 0.5), "move_to_seen_p99_ms": pct(lat, 0.99), "move_samples": len(lat),
            "chat_delivery_p50_ms": pct(delivery, 0.5), "chat_delivery_p99_ms": pct(delivery, 0.99),
            "translation_p50_ms": pct(trans, 0.5), "translation_p99_ms": pct(trans, 0.99),
            **{k: chat.get(k) for k in ("sent", "send_failed", "refused", "actions", "delivered", "translated",
                                        "unavailable", "resident_lines")},
            "errors": [list(map(str, e)) for e in errors],
        })
        return out
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--movers", type=int, default=500)
    ap.add_argument("--lines-per-s", type=float, default=10.0)
    # 20 people at 0.5 lines/s each: 10 at 1 line/s broke the default flood rule (8 lines in 10 s), so
    # their lines were blocked as flooding, three blocks muted them and the rest was refused "muted"
    ap.add_argument("--senders", type=int, default=20)
    ap.add_argument("--procs", type=int, default=2, help="mover bot processes")
    ap.add_argument("--bots", choices=("node", "python"), default="node",
                    help="the movers: bench/bots/townsquare_bot.mjs (the default) or bench/realtime_bots.py")
    ap.add_argument("--wire", type=int, choices=(1, 2), default=2, help="the movers' wire (2: the browser client's)")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--placements", nargs="*", default=["world", "service"], choices=["world", "service"])
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ts-bench-mixed-"))
    (tmp / "world.yaml").write_text(world_yaml())
    db = BenchDatabase(tmp, "mixed")
    runs = []
    try:
        from ai.inference import tiny

        marian = tiny.build_tiny_marian(tmp / "marian")
        db.start()
        for placement in args.placements:
            url = db.new(placement)  # a fresh database each: residents' memories do not carry over
            from server.cli import _seed
            from server.config import Settings

            asyncio.run(_seed(url, Settings(world_file=tmp / "world.yaml", data_dir=tmp / "data", secret_key=SECRET),
                              only_if_empty=True))
            langs = ["en"] * (args.movers + args.senders) + list(READER_LANGS)
            all_tokens = asyncio.run(make_users(url, langs))
            tokens = {"movers": all_tokens[:args.movers],
                      "senders": all_tokens[args.movers:args.movers + args.senders],
                      "readers": all_tokens[args.movers + args.senders:]}
            r = run_placement(placement, url, tmp, marian, tokens, args)
            runs.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
    finally:
        db.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"bench": "mixed", "movers": args.movers, "bots": args.bots, "wire": args.wire, "lines_per_s": args.lines_per_s,
                      "warmup_s": args.warmup, "window_s": args.duration, "cpus": psutil.cpu_count(),
                      "runs": runs}, indent=2))
    cells = [f"{r['placement']}: move p99 {r.get('move_to_seen_p99_ms')} ms, chat p99 {r.get('chat_delivery_p99_ms')} ms, "
             f"translation p99 {r.get('translation_p99_ms')} ms, world RSS {r.get('world_rss_mib')} MiB" for r in runs]
    print("mixed: " + " | ".join(cells))


if __name__ == "__main__":
    main()
