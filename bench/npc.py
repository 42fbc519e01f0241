"""Benchmark of the residents: 10 residents and 100 bot users chatting in their rooms.

Measures, each against a fresh `townsquare serve` process and database:
- reply latency p50/p99 with the retrieval brain (no generative model; the bundled embedder),
- the same with an LLM brain: the configured one (TOWNSQUARE_MODELS__NPC or __NPC_BASE_URL in the
  environment) or else a tiny random Llama built on the spot (CPU; its text is gibberish, so only
  the plumbing's cost is measured),
- model calls per resident per hour (embeddings and generations, from the residents' budgets),
- memory rows per resident after the run's messages (10,000 by default; the stream is bounded by
  residents_memory_max, set to 300 here so the folding shows),
- retrieval time per query (SQL candidate selection + scoring + touch, without the query's
  embedding, which is measured apart) at 1k and 100k memories of one resident.

Load: bots are spread over 5 rooms with 2 residents each. Each bot sends `--rate` lines a second:
mostly chatter the residents overhear, and a share (`--addressed`) of questions to a resident in
its room, sent as whispers (npc:whisper) so each reply is attributed to its question without doubt;
the latency is from sending the question to the resident's answer ("one moment" lines are counted
apart, not as answers).

    .venv/bin/python bench/npc.py [--bots 100] [--messages 10000] [--rate 0.5] [--addressed 0.15]
                                  [--llm-bots 20] [--llm-messages 400] [--sizes 1000 100000] [--quick]

Prints one JSON object, then a one-line summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from common import BenchDatabase, ServerProcess  # noqa: E402  (bench/ is on sys.path)

os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/townsquare-runtime-{os.getuid()}")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SECRET = "bench-npc-" + "s" * 40
ROOMS = ["plaza", "market", "library", "garden", "harbor"]
EXTRA_RESIDENTS = [
    ("pell", "Pell", "baker", "plaza", ["Fresh bread comes out of the oven at dawn.", "Rye keeps longest."]),
    ("wren", "Wren", "herbalist", "market", ["Mint tea settles the stomach.", "Sage grows by the garden wall."]),
    ("quill", "Quill", "scribe", "library", ["Letters can be sent from the library desk.", "Ink is made of oak galls."]),
    ("fern", "Fern", "gardener", "garden", ["The roses bloom in late spring.", "The pond has three golden carp."]),
    ("moss", "Moss", "groundskeeper", "garden", ["The garden gate closes at dusk.", "Benches were painted green."]),
    ("tide", "Tide", "harbour master", "harbor", ["Boats leave with the morning tide.", "The lighthouse is north."]),
    ("gull", "Gull", "fisher", "harbor", ["Mackerel run in summer.", "Nets are mended on Sundays."]),
]
QUESTIONS = ["hello!", "what do you sell?", "where is the library?", "how do I talk privately?", "who are you?",
             "where should I go next?", "what can I do with coins?", "do you remember me?", "I'm a sailor",
             "tell me something interesting", "how much is the map?", "where is the harbor?", "thanks!"]
TAILS = ["", " today", " please", " by the way", " now", " again", " friend", " if you know"]
SUBJECTS = ["the weather", "my cat", "this town", "the fountain", "the harbor", "the market", "the library",
            "my neighbour", "the bread", "the roses", "the boats", "the lanterns", "my hat", "the music"]
VERBS = ["looks", "seems", "is", "was", "feels", "sounds"]
ADJ = ["lovely", "busy", "quiet", "strange", "grand", "odd", "bright", "sleepy", "noisy", "fine", "great", "calm"]


def chatter(rnd: random.Random) -> str:
    """A varied line (the moderation's repeat and flood rules would mute a bot that says the same)."""
    return f"{rnd.choice(SUBJECTS)} {rnd.choice(VERBS)} {rnd.choice(ADJ)} {rnd.choice(['', 'today', 'tonight', 'lately', 'again'])}".strip()


def question(rnd: random.Random) -> str:
    q = rnd.choice(QUESTIONS)
    tail = rnd.choice(TAILS)
    return q[:-1] + tail + q[-1] if q[-1] in "?!" else q + tail



def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def ms(v):
    return None if v is None else round(v * 1000, 1)


def world_yaml() -> str:
    import yaml

    from server.world.seed import load_world_file

    world = load_world_file()
    for slug in ("garden", "harbor"):
        world["rooms"].append({"slug": slug, "name": f"The {slug.title()}", "description": f"The town's {slug}.",
                               "width": 32, "height": 24, "capacity": 200, "access": "public", "spawn": [10, 10]})
    for key, name, role, home, knowledge in EXTRA_RESIDENTS:
        world["residents"].append({"key": key, "name": name, "role": role, "home": home, "position": [12, 10],
                                   "appearance": {"body": "#c68642"},
                                   "persona": {"identity": f"{name} is the town's {role}.", "traits": ["kind"],
                                               "knowledge": knowledge},
                                   "routine": [{"from": "00:00", "to": "00:00", "room": home}]})
    for r in world["residents"]:  # stay put: no routine moves during a run
        r["routine"] = [{"from": "00:00", "to": "00:00", "room": r["home"]}]
    return yaml.safe_dump(world, sort_keys=False)


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def make_users(url: str, n: int) -> tuple[list[tuple[str, str, str]], str]:
    """n bot users (id, display name, token) and an admin token, inserted in bulk."""
    import asyncpg
    import jwt
    from argon2 import PasswordHasher

    pw = PasswordHasher().hash("bench-password")
    ids = [uuid.uuid4() for _ in range(n + 1)]
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.executemany("INSERT INTO users (id, username, password_hash, role, language) VALUES ($1, $2, $3, $4, 'en')",
                               [(i, f"bot_{i.hex[:12]}", pw, "admin" if k == n else "user") for k, i in enumerate(ids)])
        await conn.executemany("INSERT INTO avatars (user_id, display_name, appearance) VALUES ($1, $2, '{}')",
                               [(i, f"bot{i.hex[:6]}") for i in ids])
    finally:
        await conn.close()
    now = int(time.time())

    def tok(i, role):
        return jwt.encode({"sub": str(i), "role": role, "iat": now, "exp": now + 86400}, SECRET, algorithm="HS256")

    return [(str(i), f"bot{i.hex[:6]}", tok(i, "user")) for i in ids[:n]], tok(ids[n], "admin")


# -- the server -------------------------------------------------------------------------------------
class Server(ServerProcess):
    def __init__(self, url: str, tmp: Path, extra_env: dict[str, str]):
        env = {"TOWNSQUARE_WORLD_FILE": str(tmp / "world.yaml"),
               "TOWNSQUARE_CHAT_RATE": "100/second", "TOWNSQUARE_RESIDENTS_MEMORY_MAX": "300",
               "TOWNSQUARE_RESIDENTS_WANDER_S": "0", "TOWNSQUARE_RESIDENTS_IDLE_CHATTER_S": "0",
               "TOWNSQUARE_RESIDENTS_CLOCK_RATE": "0.000001", "TOWNSQUARE_RESIDENTS_CLOCK_OFFSET_MIN": "600",
               "TOWNSQUARE_RESIDENTS_REPLY_DEADLINE_S": "15", **extra_env}
        super().__init__(url, tmp, SECRET, env, keep=(
            "TOWNSQUARE_MODELS__NPC", "TOWNSQUARE_MODELS__NPC_BASE_URL", "TOWNSQUARE_MODELS__NPC_API_KEY",
            "TOWNSQUARE_MODELS__DEVICE"))

    def get(self, path: str, token: str) -> dict:
        req = urllib.request.Request(f"{self.base}{path}", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        super().stop(timeout=60)


# -- one load run -----------------------------------------------------------------------------------
async def drive(server: Server, bots: list[tuple[str, str, str]], admin: str, messages: int, rate: float,
                addressed: float) -> dict:
    import socketio

    loop = asyncio.get_running_loop()
    residents = server.get("/api/admin/residents", admin)["residents"]
    by_room: dict[str, list[tuple[str, str]]] = {}
    for r in residents:
        by_room.setdefault(r["room"] or r["home"], []).append((r["id"], r["name"]))
    rooms = [r for r in ROOMS if by_room.get(r)]
    waiting: dict[tuple[str, str], asyncio.Future] = {}
    stats = {"latency": [], "hold": [], "timeouts": 0, "sent": 0, "questions": 0, "errors": 0, "greetings": 0,
             "blocked": 0, "codes": {}}
    clients = []
    t_start = None

    async def connect(i: int, bot) -> None:
        uid, name, token = bot
        c = socketio.AsyncClient(reconnection=False)

        @c.on("kicked")
        async def on_kicked(d):
            stats["codes"][f"kicked: {d}"] = stats["codes"].get(f"kicked: {d}", 0) + 1

        @c.on("moderation:notice")
        async def on_notice(d):
            key = f"notice: {d.get('action')} {d.get('reason')}"
            stats["codes"][key] = stats["codes"].get(key, 0) + 1

        @c.on("disconnect")
        async def on_disconnect(*a):
            key = f"disconnect {a} at {round(loop.time() - (t_start or loop.time()))}s, sent {stats['sent']}"
            stats["codes"][key] = stats["codes"].get(key, 0) + 1

        @c.on("chat:message")
        async def on_message(d):
            if d["from"]["kind"] != "npc":
                return
            if d.get("to") == uid:
                if "one moment" in d["text"].lower():
                    stats["hold"].append(loop.time())
                    return
                fut = waiting.pop((uid, d["from"]["id"]), None)
                if fut is not None and not fut.done():
                    fut.set_result(loop.time())
            elif name in d["text"] and "welcome" in d["text"].lower():
                stats["greetings"] += 1

        await c.connect(server.base, auth={"token": token}, transports=["websocket"], wait_timeout=20)
        room = rooms[i % len(rooms)]
        r = await c.call("room:join", {"room": room}, timeout=20)
        assert r["ok"], r
        clients.append((c, uid, name, room))

    for i in range(0, len(bots), 20):
        await asyncio.gather(*(connect(i + k, b) for k, b in enumerate(bots[i:i + 20])))
    await asyncio.sleep(3.0)  # greetings settle
    per_bot = math.ceil(messages / len(clients))
    t0 = t_start = loop.time()

    def note(r: dict) -> None:
        code = r["error"]["code"] if not r.get("ok") else f"block: {r.get('reason')}"
        stats["errors"] += 1
        stats["codes"][code] = stats["codes"].get(code, 0) + 1

    async def run_bot(c, uid, name, room) -> None:
        rnd = random.Random(uid)
        await asyncio.sleep(rnd.random() / rate)
        start = loop.time()
        for k in range(per_bot):
            if stats["sent"] >= messages:
                return
            try:
                if rnd.random() < addressed and by_room.get(room):
                    npc, npc_name = rnd.choice(by_room[room])
                    fut = loop.create_future()
                    waiting[(uid, npc)] = fut
                    sent = loop.time()
                    r = await c.call("npc:whisper", {"npc": npc, "text": question(rnd)}, timeout=30)
                    stats["sent"] += 1
                    stats["questions"] += 1
                    if not r.get("ok") or r.get("action") == "block":
                        note(r)
                        waiting.pop((uid, npc), None)
                    else:
                        try:
                            stats["latency"].append(await asyncio.wait_for(fut, 30) - sent)
                        except TimeoutError:
                            stats["timeouts"] += 1
                            waiting.pop((uid, npc), None)
                else:
                    r = await c.call("chat:send", {"text": chatter(rnd)}, timeout=30)
                    stats["sent"] += 1
                    if not r.get("ok") or r.get("action") == "block":
                        note(r)
            except Exception as e:
                stats["errors"] += 1
                key = f"{type(e).__name__}: {str(e)[:80]}"
                stats["codes"][key] = stats["codes"].get(key, 0) + 1
            delay = start + (k + 1) / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)

    await asyncio.gather(*(run_bot(*c) for c in clients))
    elapsed = loop.time() - t0
    try:
        live = server.get("/api/admin/live", admin)
    except Exception as e:
        live = {"error": f"{type(e).__name__}: {e}"}
    figures = live.get("figures") or live
    for c, *_ in clients:
        try:
            await c.disconnect()
        except Exception:
            pass
    lat = stats["latency"]
    return {"bots": len(clients), "rooms": len(rooms), "residents": len(residents), "messages": stats["sent"],
            "questions": stats["questions"], "answered": len(lat), "timeouts": stats["timeouts"],
            "errors": stats["errors"], "error_codes": stats["codes"], "one_moment_lines": len(stats["hold"]), "greetings_seen": stats["greetings"],
            "seconds": round(elapsed, 1), "messages_per_s": round(stats["sent"] / elapsed, 1),
            "reply_p50_ms": ms(pct(lat, 0.5)), "reply_p90_ms": ms(pct(lat, 0.9)), "reply_p99_ms": ms(pct(lat, 0.99)),
            "reply_max_ms": ms(max(lat) if lat else None), "models": figures.get("models"),
            "live": figures.get("residents") or {}}


async def memory_rows(url: str) -> dict:
    import asyncpg

    conn = await asyncpg.connect(dsn(url))
    try:
        rows = await conn.fetch("SELECT r.key, m.kind, count(*) AS n FROM resident_memories m "
                                "JOIN residents r ON r.id = m.resident_id GROUP BY r.key, m.kind ORDER BY r.key")
        people = await conn.fetch("SELECT r.key, count(*) AS n FROM resident_people p JOIN residents r "
                                  "ON r.id = p.resident_id GROUP BY r.key")
    finally:
        await conn.close()
    out: dict[str, dict] = {}
    for r in rows:
        out.setdefault(r["key"], {})[r["kind"]] = r["n"]
    totals = {k: sum(v.values()) for k, v in out.items()}
    return {"per_resident": totals, "by_kind": out, "max": max(totals.values()) if totals else 0,
            "mean": round(sum(totals.values()) / max(len(totals), 1), 1),
            "people_met": {r["key"]: r["n"] for r in people}}


def load_run(db: BenchDatabase, tmp: Path, label: str, bots_n: int, messages: int, rate: float, addressed: float,
             extra_env: dict[str, str]) -> dict:
    url = db.new(label)
    bots, admin = asyncio.run(make_users(url, bots_n))
    server = Server(url, tmp, extra_env)
    try:
        server.wait()
        result = asyncio.run(drive(server, bots, admin, messages, rate, addressed))
    finally:
        server.stop()  # residents write what they remember on the way down
    live = result.pop("live")
    budgets = (live or {}).get("budgets") or {}
    hours = max(result["seconds"] / 3600, 1e-9)
    kinds: dict[str, dict[str, int]] = {}
    for k, n in (budgets.get("by_kind") or {}).items():
        rid, kind = k.rsplit(":", 1)
        kinds.setdefault(kind, {})[rid] = n
    per_res = {kind: round(sum(v.values()) / max(result["residents"], 1) / hours) for kind, v in kinds.items()}
    result["model_calls_per_resident_per_hour"] = per_res
    result["shed_per_resident_per_hour"] = round(sum((budgets.get("shed") or {}).values())
                                                 / max(result["residents"], 1) / hours)
    result["memory_rows"] = asyncio.run(memory_rows(url))
    agents = (live or {}).get("agents") or {}
    result["agents"] = {k: {x: a.get(x) for x in ("replies", "holding", "fallbacks", "greetings", "overheard",
                                                  "latency_p50", "latency_p99", "phases_p50")}
                        for k, a in agents.items()}
    return result


# -- retrieval time per query -----------------------------------------------------------------------
async def retrieval_times(url: str, sizes: list[int], queries: int) -> dict:
    import asyncpg

    from ai.inference import InferenceService, Priority, default_specs
    from ai.npc import MemoryStream, StreamConfig
    from server.db import Database
    from server.residents.store import PgMemoryStore

    rnd = random.Random(7)

    def vec() -> list[float]:
        v = [rnd.gauss(0, 1) for _ in range(384)]
        n = math.sqrt(sum(x * x for x in v))
        return [x / n for x in v]

    import numpy as np
    from pgvector.asyncpg import register_vector

    rid = uuid.uuid4()
    conn = await asyncpg.connect(dsn(url))
    await register_vector(conn)
    await conn.execute("INSERT INTO residents (id, key, name, home) VALUES ($1, 'bench', 'Bench', 'plaza')", rid)
    db = Database(url, pool_size=4)
    store = PgMemoryStore(db)
    stream = MemoryStream(str(rid), store, None, config=StreamConfig())
    gen = np.random.default_rng(7)

    def unit_rows(n: int):
        m = gen.standard_normal((n, 384)).astype(np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    out = {}
    have = 0
    svc = InferenceService(default_specs())
    await svc.start()
    t = time.perf_counter()
    for _ in range(20):
        await svc.embed("embed", ["where can I buy a lantern?"], priority=Priority.NPC_REPLY)
    embed_ms = (time.perf_counter() - t) / 20 * 1000
    await svc.stop()
    try:
        for size in sorted(sizes):
            add = size - have
            if add > 0:
                await conn.execute("DROP INDEX IF EXISTS ix_resident_memories_embedding")
                batch = 5000
                for start in range(0, add, batch):
                    n = min(batch, add - start)
                    rows = [(rid, "observation", f"memory {have + start + i} about person {i % 997}",
                             f"p{i % 997}", float(1 + (i % 9)), v)
                            for i, v in zip(range(n), unit_rows(n))]
                    await conn.copy_records_to_table(
                        "resident_memories", records=rows,
                        columns=["resident_id", "kind", "text", "subject_id", "importance", "embedding"])
                t_idx = time.perf_counter()
                await conn.execute("SET maintenance_work_mem = '256MB'")
                await conn.execute("CREATE INDEX ix_resident_memories_embedding ON resident_memories "
                                   "USING hnsw (embedding vector_cosine_ops)")
                await conn.execute("ANALYZE resident_memories")
                index_s = time.perf_counter() - t_idx
                have = size
            times, cand = [], []
            for q in range(queries):
                qv = vec()
                t = time.perf_counter()
                got = await stream.retrieve("", k=6, subject_id=f"p{q % 997}", query_vector=qv)
                times.append(time.perf_counter() - t)
                cand.append(len(got))
            n = min(queries, 50)
            t = time.perf_counter()
            for _ in range(n):
                await store.candidates(str(rid), vec(), subject_id=None, k_relevant=40, k_recent=20, k_subject=0)
            sql_ms = (time.perf_counter() - t) / n * 1000
            t = time.perf_counter()
            for q in range(n):
                await store.candidates(str(rid), vec(), subject_id=f"p{q % 997}", k_relevant=40, k_recent=20,
                                       k_subject=12)
            sql_subject_ms = (time.perf_counter() - t) / n * 1000
            t = time.perf_counter()
            for q in range(n):
                await store.touch(str(rid), [q * 7 + i for i in range(6)])
            touch_ms = (time.perf_counter() - t) / n * 1000
            plan = await conn.fetch("EXPLAIN SELECT id FROM resident_memories WHERE resident_id = $1 AND embedding IS "
                                    "NOT NULL ORDER BY embedding <=> $2 LIMIT 40", rid, unit_rows(1)[0])
            out[str(size)] = {"memories": size, "retrieve_p50_ms": ms(pct(times, 0.5)),
                              "retrieve_p99_ms": ms(pct(times, 0.99)), "candidates_sql_ms": round(sql_ms, 2),
                              "candidates_with_person_sql_ms": round(sql_subject_ms, 2), "touch_ms": round(touch_ms, 2),
                              "uses_hnsw": any("ix_resident_memories_embedding" in r[0] for r in plan),
                              "hnsw_build_s": round(index_s, 1)}
    finally:
        await conn.close()
        await db.dispose()
    return {"per_size": out, "query_embedding_ms": round(embed_ms, 1)}


def summary(r: dict) -> str:
    a, b = r.get("retrieval_brain") or {}, r.get("llm_brain") or {}
    rt = (r.get("retrieval") or {}).get("per_size") or {}
    sizes = " ".join(f"{int(k) // 1000}k={v['retrieve_p50_ms']}ms" for k, v in sorted(rt.items(), key=lambda kv: int(kv[0])))
    calls = a.get("model_calls_per_resident_per_hour") or {}
    return (f"npc: retrieval brain p50={a.get('reply_p50_ms')} p99={a.get('reply_p99_ms')} ms "
            f"({a.get('answered')}/{a.get('questions')} answered, {a.get('messages')} msgs); "
            f"LLM ({b.get('model', '-')}) p50={b.get('reply_p50_ms')} p99={b.get('reply_p99_ms')} ms; "
            f"calls/resident/h {calls}; memory rows/resident max={(a.get('memory_rows') or {}).get('max')}; "
            f"retrieval p50 {sizes}")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bots", type=int, default=100)
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--rate", type=float, default=0.5, help="lines per second per bot")
    ap.add_argument("--addressed", type=float, default=0.15, help="share of lines that are questions to a resident")
    ap.add_argument("--llm-bots", type=int, default=20)
    ap.add_argument("--llm-messages", type=int, default=400)
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 100000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--skip", nargs="*", default=[], choices=["retrieval_brain", "llm_brain", "retrieval"])
    ap.add_argument("--quick", action="store_true", help="small numbers: a smoke run")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args()
    if args.quick:
        args.bots, args.messages, args.llm_bots, args.llm_messages = 20, 400, 10, 60
        args.sizes, args.queries = [1000, 5000], 50
    tmp = Path(tempfile.mkdtemp(prefix="ts-bench-npc-"))
    (tmp / "world.yaml").write_text(world_yaml())
    db = BenchDatabase(tmp, "npc")
    db.start()
    results: dict = {"args": vars(args)}
    try:
        if "retrieval_brain" not in args.skip:
            results["retrieval_brain"] = load_run(db, tmp, "retrieval", args.bots, args.messages, args.rate,
                                                  args.addressed, {"TOWNSQUARE_RESIDENTS_BRAIN": "retrieval"})
        if "llm_brain" not in args.skip:
            env = {"TOWNSQUARE_RESIDENTS_BRAIN": "auto"}
            model = os.environ.get("TOWNSQUARE_MODELS__NPC_BASE_URL") or os.environ.get("TOWNSQUARE_MODELS__NPC")
            if not model:
                from ai.inference.tiny import build_tiny_llama

                model = str(build_tiny_llama(tmp / "tiny-llama"))
                env.update({"TOWNSQUARE_MODELS__NPC": model, "TOWNSQUARE_MODELS__DEVICE": "cpu"})
                label = "tiny random Llama (CPU)"
            else:
                label = model
            r = load_run(db, tmp, "llm", args.llm_bots, args.llm_messages, args.rate, args.addressed, env)
            r["model"] = label
            results["llm_brain"] = r
        if "retrieval" not in args.skip:
            results["retrieval"] = asyncio.run(retrieval_times(db.new("retr"), args.sizes, args.queries))
    finally:
        db.stop()
        if os.environ.get("BENCH_KEEP"):
            print("kept", tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    print(summary(results))


if __name__ == "__main__":
    main()
