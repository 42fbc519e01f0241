"""Benchmark of the realtime world: N people moving in one room, and idle connections.

Load shape of ../shared/peers/README.md: 2 bot processes of Socket.IO clients moving at 5 Hz
with their send time in the move, 10 sampled receivers per process measuring move-to-seen
latency (the other bots receive without decoding), a 5 s warm-up, then a 20 s window; server
CPU and RSS read from /proc over the window.

Runs, each against a fresh `townsquare serve` process:
- tick: the peer's shape, everyone sees everyone (one 200x200 room, interest management off),
  N = 50, 200, 500, 1000; clients on `--wire` 2 (compact world:frame, acks folded; the default) or 1
  (JSON world:tick, a Socket.IO ack per move); `--move-acks none`: wire-2 moves without `s`, no reply,
  as the Colyseus peer's bots send theirs (the side-by-side uses it)
- interest: the interest-managed shape (`--interest-n`): bots spread at random over a 500x400
  room, each seeing per tick the moves within its 30x20 view plus margin; delivery counts the
  moves of the bodies inside a sampled receiver's view when the window opened
- peer: with `--peer`, the Colyseus peer (../shared/peers/colyseus, installed under /tmp/peer-colyseus
  by its run.sh) at the same N right after each tick run, back to back
- per-move: tick batching off (one world:tick broadcast per move), the baseline
- bots: `--bots python` (the default: bench/realtime_bots.py, python-socketio sampled receivers and
  raw aiohttp websockets, one process per `--procs`) or `--bots node` (bench/bots/townsquare_bot.mjs,
  the same bots ported to Node: socket.io-client sampled receivers, raw `ws` websockets, from
  client_web/node_modules), so that the side-by-side with the Colyseus peer, whose bots are Node,
  uses the same kind of load generator for both servers. The harness makes the users and tokens
  either way, and computes the same JSON from the same per-process results (`"bots"` says which).
- pin: with `--pin`, each server worker on a core of its own (0..K-1) and the bots on the others,
  every thread of every process (the Colyseus peer's too: its server on core 0): the server is then
  not preempted by its own load generator, as when the clients are other machines
- idle: 2,000 (and 10,000 with `--idle 2000 10000`) connected clients that do nothing: the world
  process's RSS at boot and connected, with the default settings (the bundled embedder in the
  node's supervised inference child, whose RSS is reported apart). `--idle-shape` says where they
  are: `room` (all joined the one bench room, the default), `rooms` (joined, spread over 50 small
  rooms: 200 each at 10,000) or `unjoined` (connected and authenticated, in no room). In one room
  every join is told to everyone (presence) and answered with everyone (occupants), so connecting
  N costs O(N^2): 10,000 in one room does not finish connecting on a 2-core box; spread them.
  The bench raises its open-file limit to the hard limit (each client is a socket on both sides).

The bench starts its own PostgreSQL (embedded, in a temp dir; or a scratch database on the
server named by TOWNSQUARE_DATABASE_URL, dropped afterwards) and cleans up. Users are inserted
directly and tokens signed with the bench's own secret, so registration hashing is not measured.
AI models are not loaded by the server (TOWNSQUARE_MODELS__EMBED=""), pass --with-models to keep
the configured ones. Prints one JSON object, then a one-line summary.

    .venv/bin/python bench/realtime.py [--n 50 200 500 1000] [--baseline-n 50 200 500] [--idle 2000]
                                       [--warmup 5] [--duration 20] [--tick-hz 10] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from array import array
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from common import BenchDatabase, ServerProcess  # noqa: E402  (bench/ is on sys.path)

os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/townsquare-runtime-{os.getuid()}")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)

import psutil  # noqa: E402

SECRET = "bench-realtime-" + "s" * 40
WORLD = """
name: Bench
rooms:
  - slug: bench
    name: Bench room
    width: 200
    height: 200
    capacity: 10000
    access: public
    spawn: [100, 100]
  - slug: plaza
    name: Bench plaza
    width: 500
    height: 400
    capacity: 10000
    access: public
    spawn: [250, 200]
""" + "".join(f"""  - slug: idle-{i:02d}
    name: Idle room {i}
    width: 40
    height: 30
    capacity: 1000
    access: public
    spawn: [20, 15]
""" for i in range(50))
IDLE_ROOMS = [f"idle-{i:02d}" for i in range(50)]
PLAZA = (500, 400)
VIEW = (30, 20)
PEER_DIR = Path("/tmp/peer-colyseus")
NODE_BOT = REPO / "bench" / "bots" / "townsquare_bot.mjs"



def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of a process and of its children onto `cpus` (affinity is per thread on Linux;
    threads started later inherit their creator's)."""
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        for t in proc.threads():
            try:
                os.sched_setaffinity(t.id, cpus)
            except OSError:
                pass  # the thread is gone


def pct(values, q):
    if not values:
        return None
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


# -- users ---------------------------------------------------------------------------------------
async def make_users(url: str, n: int) -> list[str]:
    """n users with avatars, inserted in bulk; returns their tokens."""
    import asyncpg
    import jwt
    from argon2 import PasswordHasher

    pw = PasswordHasher().hash("bench-password")
    ids = [uuid.uuid4() for _ in range(n)]
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.executemany("INSERT INTO users (id, username, password_hash, role, language) VALUES ($1, $2, $3, 'user', 'en')",
                               [(i, f"bot_{i.hex[:12]}", pw) for i in ids])
        await conn.executemany("INSERT INTO avatars (user_id, display_name, appearance) VALUES ($1, $2, '{}')",
                               [(i, f"bot {i.hex[:6]}") for i in ids])
    finally:
        await conn.close()
    now = int(time.time())
    return [jwt.encode({"sub": str(i), "role": "user", "iat": now, "exp": now + 86400}, SECRET, algorithm="HS256")
            for i in ids]


async def spread_over_plaza(url: str, tokens: list[str]) -> None:
    """Put the bench users' avatars at random spots of the plaza (joining puts them back there)."""
    import random

    import asyncpg
    import jwt

    ids = [uuid.UUID(jwt.decode(t, options={"verify_signature": False})["sub"]) for t in tokens]
    rng = random.Random(18)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        room = await conn.fetchval("SELECT id FROM rooms WHERE slug = 'plaza'")
        await conn.executemany("UPDATE avatars SET room_id = $2, x = $3, y = $4 WHERE user_id = $1",
                               [(i, room, float(rng.randint(3, PLAZA[0] - 4)), float(rng.randint(3, PLAZA[1] - 4)))
                                for i in ids])
    finally:
        await conn.close()


# -- the server ---------------------------------------------------------------------------------
class Server(ServerProcess):
    def __init__(self, url: str, tmp: Path, *, tick_hz: float, batching: bool, with_models: bool,
                 profile: str | None = None, trace: Path | None = None, port: int | None = None,
                 redis: dict[str, str] | None = None):
        env = {**(redis or {}), "TOWNSQUARE_WORLD_FILE": str(tmp / "world.yaml"), "TOWNSQUARE_TICK_HZ": str(tick_hz),
               "TOWNSQUARE_TICK_BATCHING": "true" if batching else "false",
               # the peer's shape: everyone sees everyone in the bench room; the plaza is interest-managed
               "TOWNSQUARE_INTEREST_ROOMS": json.dumps({"bench": False, "plaza": True}),
               "TOWNSQUARE_INTEREST_VIEW": json.dumps(list(VIEW))}
        if not with_models:
            env["TOWNSQUARE_MODELS__EMBED"] = ""
        argv = ["-m", "cProfile", "-o", profile, "-m", "server.cli", "serve"] if profile else None
        if trace is not None:  # tracemalloc from the start; SIGUSR1 dumps a snapshot to trace/<k>.snap
            argv = ["-X", "tracemalloc=8", "-c", TRACE_PROBE, str(trace)]
        # language id's accuracy from the shell: the idle runs compare the world's memory with each;
        # the far updates' settings too: the interest shape compares them
        super().__init__(url, tmp, SECRET, env, argv=argv, keep=("TOWNSQUARE_TRANSLATION_LANGID_ACCURACY", "TOWNSQUARE_INTEREST_FAR_EVERY",
                                                                   "TOWNSQUARE_INTEREST_FAR_STEP", "TOWNSQUARE_INTEREST_FAR_VIEW",
                                                                   "TOWNSQUARE_INTEREST_FAR_ALL_EVERY", "TOWNSQUARE_ROOM_LEASE_TTL_S"),
                         port=port)
        self.trace = trace


TRACE_PROBE = """
import itertools, signal, sys, tracemalloc
out, seq = sys.argv[1], itertools.count()
signal.signal(signal.SIGUSR1, lambda *a: tracemalloc.take_snapshot().dump(f"{out}/{next(seq)}.snap"))
sys.argv = ["townsquare", "serve"]
from server.cli import main
sys.exit(main())
"""


def trace_snapshot(proc: psutil.Process, trace: Path, k: int, timeout: float = 120.0):
    """Ask the traced server for snapshot k and load it."""
    import tracemalloc

    proc.send_signal(signal.SIGUSR1)
    path, deadline = trace / f"{k}.snap", time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            size = -1
            while size != path.stat().st_size:  # written in one go, but wait until it stops growing
                size = path.stat().st_size
                time.sleep(0.5)
            return tracemalloc.Snapshot.load(str(path))
        time.sleep(0.2)
    raise TimeoutError("no tracemalloc snapshot from the server")


def memory_by_site(before, after, n: int, top: int = 25) -> list[dict]:
    """What the connected clients added, per allocation site (its innermost frames), per client."""
    import tracemalloc

    keep = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    diff = after.filter_traces(keep).compare_to(before.filter_traces(keep), "traceback")
    rows = []
    for d in sorted(diff, key=lambda d: -d.size_diff)[:top]:
        frames = [f"{f.filename.split('site-packages/')[-1].replace(str(REPO) + '/', '')}:{f.lineno}"
                  for f in reversed(d.traceback[-4:])]  # innermost first (tracemalloc lists oldest first)
        rows.append({"bytes_per_client": round(d.size_diff / max(1, n)), "blocks_per_client": round(d.count_diff / max(1, n), 2),
                     "at": frames})
    total = sum(d.size_diff for d in diff)
    rows.insert(0, {"bytes_per_client": round(total / max(1, n)), "at": ["(all traced Python allocations)"]})
    return rows


def rss_mib(proc: psutil.Process) -> float:
    return proc.memory_info().rss / 2**20


def _has_torch(proc: psutil.Process) -> bool:
    """Whether the world process mapped torch's library (it imported torch)."""
    try:
        return any("libtorch" in m.path for m in proc.memory_maps())
    except psutil.Error:
        return False


def cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def busy_s() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0)


class NodeBots:
    """`--bots node`: one bench/bots/townsquare_bot.mjs process, driven like a bench/realtime_bots.py
    worker (the same messages on `q`; `go(t0)` where the Python workers read the shared t0)."""

    def __init__(self, wid: int, url: str, tokens: list[str], bot_args: dict, q, tmp: Path):
        d = Path(tempfile.mkdtemp(prefix=f"node-bots-{wid}-", dir=tmp))
        (d / "tokens.json").write_text(json.dumps(tokens))
        (d / "cfg.json").write_text(json.dumps({"url": url, "wid": wid, "tokens_file": str(d / "tokens.json"),
                                                "lat_file": str(d / "lat.f64"), "args": bot_args}))
        self.wid, self.q, self.dir = wid, q, d
        self.proc: subprocess.Popen | None = None
        self.pid = None

    def start(self) -> None:
        self.err = open(self.dir / "stderr.log", "wb")
        self.proc = subprocess.Popen(["node", str(NODE_BOT), str(self.dir / "cfg.json")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.pid = self.proc.pid
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for text in self.proc.stdout:
            try:
                m = json.loads(text)
            except ValueError:
                continue
            if m["type"] == "ready":
                self.q.put(("ready", self.wid, m["connected"], m["failed"], m["secs"]))
            elif m["type"] == "result":
                r = m["result"]
                if r:
                    r["lat"] = Path(r.pop("lat_file")).read_bytes()  # float64, as array("d") reads it
                self.q.put(("result", self.wid, r))
            elif m["type"] == "error":
                self.q.put(("error", self.wid, m["error"]))
        rc = self.proc.wait()
        if rc:  # a crash after its result is reported too (the run's errors)
            self.err.flush()
            self.q.put(("error", self.wid, f"node bots exited {rc}: {(self.dir / 'stderr.log').read_text()[-300:]}"))

    def go(self, t0: float) -> None:
        try:
            self.proc.stdin.write(f"{t0}\n")
            self.proc.stdin.flush()
        except OSError:
            pass

    def join(self, timeout: float | None = None) -> None:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def is_alive(self) -> bool:
        return self.proc.poll() is None

    def terminate(self) -> None:
        self.proc.terminate()  # our own child, by handle


# -- one run ------------------------------------------------------------------------------------
def run_once(mode: str, n: int, tokens: list[str], url: str, tmp: Path, args, shape: str = "room") -> dict:
    from bench.realtime_bots import worker_main

    idle = mode == "idle"
    interest = mode == "interest"
    if interest:
        asyncio.run(spread_over_plaza(url, tokens))
    # idle runs measure the world process with the default settings: models in its inference child
    k = 1 if idle else args.workers
    redis = None
    if k > 1:  # one room served by k worker processes on one port (SO_REUSEPORT), sharing it over Redis
        redis = {"TOWNSQUARE_REUSE_PORT": "true", "TOWNSQUARE_REDIS_URL": args.redis_url,
                 "TOWNSQUARE_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:"}
    servers: list[Server] = []
    try:
        for i in range(k):
            servers.append(Server(url, tmp, tick_hz=args.tick_hz, batching=(mode != "per-move"),
                                  with_models=args.with_models or idle, port=servers[0].port if servers else None,
                                  profile=f"{args.profile}.{mode}-{n}.{i}" if args.profile else None, redis=redis,
                                  trace=(Path(args.trace_dir or tmp) / f"trace-{mode}-{n}-{shape}")
                                  if args.trace_memory and idle else None))
            if servers[-1].trace is not None:
                servers[-1].trace.mkdir(parents=True)
            servers[-1].wait()  # one at a time: the first migrates and seeds
        time.sleep(0.5 if k > 1 else 0)
        if any(s.proc.poll() is not None for s in servers):  # a worker's /healthz may be answered by another
            raise RuntimeError(f"a worker exited; see {tmp}/server-*.log")
        server = servers[0]
        sprocs = [psutil.Process(s.proc.pid) for s in servers]
        sproc = sprocs[0]
        boot_rss = sum(rss_mib(p) for p in sprocs)
        traced = trace_snapshot(sproc, server.trace, 0) if server.trace is not None else None
        child_rss = round(sum(rss_mib(c) for c in sproc.children(recursive=True)), 1)
        ctx = mp.get_context("spawn")
        node = args.bots == "node"
        q = queue.Queue() if node else ctx.Queue()
        t0v = ctx.Value("d", 0.0)
        procs_n = args.procs
        per = [tokens[i::procs_n] for i in range(procs_n)]
        warmup, duration = (2.0, 5.0) if idle else (args.warmup, args.duration)
        bot_args = {"idle": idle, "sample": args.sample, "rate": args.rate, "warmup": warmup, "duration": duration,
                    "timeout": 30.0, "ready_timeout": args.ready_timeout, "connect_concurrency": 32, "grace": 1.0,
                    "wire": 2 if interest else (1 if mode == "per-move" else args.wire), "acks": args.move_acks}
        if interest:
            bot_args.update(room="plaza", bounds=(2, 2, PLAZA[0] - 3, PLAZA[1] - 3), view=VIEW)
        if idle and shape != "room":
            bot_args["idle_rooms"] = IDLE_ROOMS if shape == "rooms" else []
        if node:
            workers = [NodeBots(i, server.base, per[i], bot_args, q, tmp) for i in range(procs_n)]
        else:
            workers = [ctx.Process(target=worker_main, args=(i, server.base, per[i], bot_args, t0v, q), daemon=True)
                       for i in range(procs_n)]
        for w in workers:
            w.start()
        if args.pin:  # the server's workers one core each, the load generator the rest
            for i, s in enumerate(servers):
                pin(s.proc.pid, {i})
            for w in workers:
                pin(w.pid, set(range(k, os.cpu_count())))
        ready, errors = {}, []
        deadline = time.time() + args.ready_timeout
        while len(ready) < procs_n and time.time() < deadline:
            try:
                msg = q.get(timeout=1)
            except Exception:
                continue
            if msg[0] == "ready":
                ready[msg[1]] = msg[2:]
            elif msg[0] == "error":
                errors.append(msg)
                break
        connected = sum(r[0] for r in ready.values())
        failed = sum(r[1] for r in ready.values())
        out = {"mode": mode, "n": n, "wire": bot_args["wire"], "bots": args.bots, "acks": bot_args["acks"] if bot_args["wire"] == 2 else "socketio", **({"shape": shape} if idle else {}), "loadavg": [round(v, 2) for v in os.getloadavg()],
               "tick_hz": args.tick_hz if mode != "per-move" else None, "connected": connected,
               "connect_failed": failed, "connect_s": round(max((r[2] for r in ready.values()), default=0), 1),
               "workers": k, "pinned": bool(args.pin), "server_rss_boot_mib": round(boot_rss, 1),
               "server_rss_connected_mib": round(sum(rss_mib(p) for p in sprocs), 1),
               "inference_child_rss_mib": child_rss, "torch_in_world": _has_torch(sproc)}
        t0 = time.time() + 0.5
        ws, we = t0 + warmup, t0 + warmup + duration
        t0v.value = t0 if len(ready) == procs_n else -1.0
        if node:
            for w in workers:
                w.go(t0v.value)
        if t0v.value > 0:
            time.sleep(max(0.0, ws - time.time()))
            bots = [psutil.Process(w.pid) for w in workers]
            cs0 = [cpu_s(p) for p in sprocs]
            c0, b0, m0, w0 = sum(cs0), [cpu_s(b) for b in bots], busy_s(), time.time()
            time.sleep(max(0.0, we - time.time()))
            cs1 = [cpu_s(p) for p in sprocs]
            c1, b1, m1, w1 = sum(cs1), [cpu_s(b) for b in bots], busy_s(), time.time()
            wall = w1 - w0
            out["server_cpu_pct"] = round(100 * (c1 - c0) / wall, 1)
            out["bots_cpu_pct"] = [round(100 * (b - a) / wall, 1) for a, b in zip(b0, b1)]
            out["other_cpu_pct"] = round(100 * ((m1 - m0) - (c1 - c0) - sum(b - a for a, b in zip(b0, b1))) / wall, 1)
            out["server_rss_mib"] = round(sum(rss_mib(p) for p in sprocs), 1)
            if k > 1:
                out["server_cpu_pct_per_worker"] = [round(100 * (b - a) / wall, 1) for a, b in zip(cs0, cs1)]
            out["server_cpu_pct_per_100_clients"] = round(100 * out["server_cpu_pct"] / max(1, n), 2)
            out["rss_kib_per_client"] = round(1024 * (out["server_rss_mib"] - boot_rss) / max(1, n), 1)
            if traced is not None:
                out["traced_by_site"] = memory_by_site(traced, trace_snapshot(sproc, server.trace, 1), connected,
                                                       top=args.trace_top)
                for row in out["traced_by_site"]:
                    print(f"  {row['bytes_per_client']:>7} B/client  {' <- '.join(row['at'])}", file=sys.stderr)
        results = []
        deadline = time.time() + 120
        while len(results) < len(ready) and time.time() < deadline:
            try:
                msg = q.get(timeout=1)
            except Exception:
                continue
            if msg[0] == "result":
                results.append(msg[2] or {})
            elif msg[0] == "error":
                errors.append(msg)
        for w in workers:
            w.join(timeout=30)
            if w.is_alive():
                w.terminate()  # our own child, by handle
                w.join(5)
        results = [r for r in results if r]
        if results and not idle:
            lat = array("d")
            for r in results:
                lat.frombytes(r["lat"])
            lat = sorted(lat)
            sent = sum(r["sent"] for r in results)
            own = [s for r in results for s in r["own_sent"]]
            expected = len(own) * sent - sum(own)  # each sampled receiver should see everyone else's moves
            if interest:  # ... or, interest-managed, the moves of the bodies inside its view
                sent_by = {k: v for r in results for k, v in r["sent_by"].items()}
                inner = [ids for r in results for ids in r["inner"]]
                expected = sum(sent_by.get(i, 0) for ids in inner for i in ids)
                out["inner_per_receiver"] = round(sum(map(len, inner)) / max(1, len(inner)), 1)
            recv = sum(r["recv"] for r in results)
            out.update({
                "sent_per_s": round(sent / duration, 1),
                "expected_sends_per_s": round(n * args.rate, 1),
                "sampled_receivers": len(own),
                "delivery_ratio": round(recv / expected, 4) if expected else None,
                "lat_samples": len(lat),
                "p50_ms": round(pct(lat, 0.50) * 1e3, 1) if lat else None,
                "p95_ms": round(pct(lat, 0.95) * 1e3, 1) if lat else None,
                "p99_ms": round(pct(lat, 0.99) * 1e3, 1) if lat else None,
                "max_ms": round(lat[-1] * 1e3, 1) if lat else None,
                "raw_frames_per_client_s": round(sum(r["raw_frames"] for r in results) / max(1, sum(r["raw_clients"] for r in results)) / duration, 1),
                "disconnects": sum(r["disconnects"] for r in results),
                "bot_loop_lag_p99_ms": [round(r["loop_lag_p99_ms"], 1) if r["loop_lag_p99_ms"] is not None else None
                                        for r in results],
            })
        out["errors"] = [list(map(str, e)) for e in errors]
        return out
    finally:
        for s in servers:
            s.stop()


def pin_peer(root: int, stop: threading.Event) -> None:
    """Pin the Colyseus peer's processes as they appear: server.mjs on core 0, the rest on the others."""
    rest, seen = set(range(1, os.cpu_count())), set()
    while not stop.wait(0.2):
        try:
            procs = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
        except psutil.Error:
            return
        for p in procs:
            try:
                if p.pid not in seen:
                    pin(p.pid, {0} if any("server.mjs" in a for a in p.cmdline()) else rest)
                    seen.add(p.pid)
            except psutil.Error:
                pass


def run_peer(n: int, args) -> dict:
    """The Colyseus peer at the same N and shape, right after ours (its own bench.js)."""
    import subprocess

    if not (PEER_DIR / "node_modules" / "@colyseus" / "core").exists():
        return {"mode": "colyseus", "n": n, "error": f"not installed: bash ../shared/peers/colyseus/run.sh once ({PEER_DIR})"}
    load = [round(v, 2) for v in os.getloadavg()]
    proc = subprocess.Popen(["node", "bench.js", "--n", str(n), "--procs", str(args.procs), "--sampled", str(args.sample),
                             "--warmup", str(args.warmup), "--measure", str(args.duration), "--port", "2567"],
                            cwd=PEER_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop = threading.Event()
    if args.pin:  # as ours: its server on core 0, its orchestrator and bots on the others
        threading.Thread(target=pin_peer, args=(proc.pid, stop), daemon=True).start()
    try:
        out, err = proc.communicate(timeout=400)
    except subprocess.TimeoutExpired:
        proc.kill()
        return {"mode": "colyseus", "n": n, "error": "timed out"}
    finally:
        stop.set()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    for text in reversed(done.stdout.splitlines()):
        if text.startswith("{") and '"framework"' in text:
            r = json.loads(text)
            r["mode"], r["n"], r["loadavg"] = "colyseus", n, load
            if r.get("serverCpuPct") is not None:
                r["server_cpu_pct_per_100_clients"] = round(100 * r["serverCpuPct"] / max(1, n), 2)
            return r
    return {"mode": "colyseus", "n": n, "error": (done.stderr or done.stdout)[-300:]}


def wait_quiet(max_s: float, pct: float) -> float:
    """Wait (bounded) until other work on this shared machine uses < pct % of one core."""
    end = time.monotonic() + max_s
    while True:
        b0 = busy_s()
        time.sleep(3)
        used = 100 * (busy_s() - b0) / 3
        if used < pct or time.monotonic() > end:
            return used
        time.sleep(5)


def line(r: dict) -> str:
    if r["mode"] == "idle":
        return (f"[idle {r.get('shape')}] n={r['connected']}/{r['n']} rss={r.get('server_rss_mib')} MiB (boot {r['server_rss_boot_mib']}) "
                f"cpu={r.get('server_cpu_pct')}% inference child {r.get('inference_child_rss_mib')} MiB "
                f"torch in world: {r.get('torch_in_world')}")
    workers = r.get("workers", 1)
    tag = (f" x{workers} workers" if workers > 1 else "") + (" pinned" if r.get("pinned") else "")
    return (f"[{r['mode']} w{r.get('wire')} acks={r.get('acks')} {r.get('bots', 'python')} bots{tag}] n={r['connected']}/{r['n']} p50={r.get('p50_ms')} p99={r.get('p99_ms')} ms "
            f"delivery={r.get('delivery_ratio')} srv_cpu={r.get('server_cpu_pct')}% rss={r.get('server_rss_mib')} MiB "
            f"bots_cpu={r.get('bots_cpu_pct')} other_cpu={r.get('other_cpu_pct')}% lag99={r.get('bot_loop_lag_p99_ms')}")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))  # clean up (server, database) on kill
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="*", default=[50, 200, 500, 1000])
    ap.add_argument("--baseline-n", type=int, nargs="*", default=[50, 200, 500, 1000])
    ap.add_argument("--idle", type=int, nargs="*", default=[2000], help="idle client counts (none: skip)")
    ap.add_argument("--idle-shape", nargs="+", choices=("room", "rooms", "unjoined"), default=["room"],
                    help="idle clients all in one room, spread over 50 rooms, or in none (each shape a run)")
    ap.add_argument("--interest-n", type=int, nargs="*", default=[1000, 3000])
    ap.add_argument("--wire", type=int, choices=(1, 2), default=2, help="the tick runs' wire (per-move is always 1)")
    ap.add_argument("--move-acks", choices=("folded", "none"), default="folded",
                    help="wire 2: moves tagged with `s` (acks folded into frames) or fire-and-forget, as the Colyseus peer's bots")
    ap.add_argument("--peer", action="store_true", help="run the Colyseus peer at each tick N right after ours")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--bots", choices=("python", "node"), default="python",
                    help="the load generator: bench/realtime_bots.py or bench/bots/townsquare_bot.mjs (same bots in Node)")
    ap.add_argument("--workers", type=int, default=1,
                    help="serve the room from this many worker processes (reuse_port + Redis; docs/realtime.md)")
    ap.add_argument("--pin", action="store_true",
                    help="pin each server worker to a core of its own (0..K-1) and the bots to the others")
    ap.add_argument("--redis-url", default=os.environ.get("TOWNSQUARE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    ap.add_argument("--sample", type=int, default=10)
    ap.add_argument("--rate", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--tick-hz", type=float, default=10.0)
    ap.add_argument("--with-models", action="store_true")
    ap.add_argument("--profile", help="run the server under cProfile, stats to PROFILE.<mode>-<n>")
    ap.add_argument("--trace-memory", action="store_true",
                    help="idle runs: the server under tracemalloc; print what each connected client adds, per site")
    ap.add_argument("--trace-top", type=int, default=25, help="--trace-memory: how many sites to print")
    ap.add_argument("--trace-dir", help="--trace-memory: keep the snapshots (0.snap at ready, 1.snap connected) here")
    ap.add_argument("--quick", action="store_true", help="N=50 only, short window: a smoke run")
    ap.add_argument("--jsonl", help="also append each run's JSON line here")
    ap.add_argument("--max-other-cpu", type=float, default=40.0,
                    help="redo a run when other processes used more than this %% of a core in its window")
    ap.add_argument("--attempts", type=int, default=3)
    ap.add_argument("--ready-timeout", type=float, default=300.0,
                    help="seconds for every client to connect and join (10,000 idle on 2 busy cores: ~1,200)")
    ap.add_argument("--quiet-wait", type=float, default=120.0, help="seconds to wait for a quiet machine before a run")
    args = ap.parse_args()
    if args.pin and args.workers >= (os.cpu_count() or 1):
        ap.error(f"--pin: {args.workers} worker(s) on {os.cpu_count()} cores leave none for the bots")
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the server and the bot processes inherit it
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if args.quick:
        args.n, args.baseline_n, args.idle, args.warmup, args.duration = [50], [50], [100], 2.0, 5.0
        args.interest_n = [100]

    tmp = Path(tempfile.mkdtemp(prefix="ts-bench-rt-"))
    (tmp / "world.yaml").write_text(WORLD)
    db = BenchDatabase(tmp, "rt")
    runs = []
    try:
        db.start()
        url = db.new("run")
        from server.cli import _seed
        from server.config import Settings

        asyncio.run(_seed(url, Settings(world_file=tmp / "world.yaml", data_dir=tmp / "data", secret_key=SECRET),
                          only_if_empty=True))
        most = max([*args.n, *args.baseline_n, *args.idle, *args.interest_n, 1])
        tokens = asyncio.run(make_users(url, most))
        plan = [("tick", n) for n in args.n] + [("interest", n) for n in args.interest_n]
        plan += [("per-move", n) for n in args.baseline_n]
        plan = [(mode, n, "room") for mode, n in plan]
        plan += [("idle", n, shape) for shape in args.idle_shape for n in args.idle]
        for mode, n, shape in plan:
            for attempt in range(1, args.attempts + 1):
                before = wait_quiet(args.quiet_wait, 30.0)
                r = run_once(mode, n, tokens[:n], url, tmp, args, shape)
                r["attempt"], r["busy_before_pct"] = attempt, round(before, 1)
                if (r.get("other_cpu_pct") or 0) <= args.max_other_cpu:
                    break
                print(f"{line(r)} -> other processes busy, again", file=sys.stderr, flush=True)
            runs.append(r)
            print(line(r), file=sys.stderr, flush=True)
            if args.jsonl:
                with open(args.jsonl, "a") as f:
                    f.write(json.dumps(r) + "\n")
            if args.peer and mode == "tick":
                p = run_peer(n, args)
                runs.append(p)
                print(f"[colyseus] n={n} {json.dumps(p)}", file=sys.stderr, flush=True)
                if args.jsonl:
                    with open(args.jsonl, "a") as f:
                        f.write(json.dumps(p) + "\n")
    finally:
        db.stop()
        if not os.environ.get("BENCH_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)

    def find(mode, n):
        return next((r for r in runs if r["mode"] == mode and r["n"] == n), None)

    t500 = find("tick", 500)
    idles = [r for r in runs if r["mode"] == "idle"]
    targets = {}
    if t500 and t500.get("p99_ms") is not None:
        targets["tick_500_p99_lt_150ms"] = t500["p99_ms"] < 150
    for idle in idles:
        targets.setdefault("boot_rss_lt_150MiB", idle["server_rss_boot_mib"] < 150)
        if idle.get("server_rss_mib") is not None:
            limit = 400 if idle["n"] >= 10000 else 1024
            targets[f"idle_{idle['n']}_{idle['shape']}_rss_lt_{limit}MiB"] = idle["server_rss_mib"] < limit
    result = {"bench": "realtime", "load": {"bots": args.bots, "procs": args.procs, "sampled_per_proc": args.sample, "rate_hz": args.rate,
                                            "warmup_s": args.warmup, "window_s": args.duration, "tick_hz": args.tick_hz},
              "cpus": psutil.cpu_count(), "runs": runs, "targets": targets}
    print(json.dumps(result, indent=2))
    ticks = " ".join(f"N={r['n']}:{r.get('p99_ms')}ms/{r.get('delivery_ratio')}" for r in runs if r["mode"] == "tick")
    base = " ".join(f"N={r['n']}:{r.get('p99_ms')}ms/{r.get('delivery_ratio')}" for r in runs if r["mode"] == "per-move")
    idle_txt = (", ".join(f"idle {r['connected']} ({r['shape']}): {r.get('server_rss_mib')} MiB (boot {r['server_rss_boot_mib']})"
                          for r in idles) or "idle: skipped")
    verdict = "PASS" if targets and all(targets.values()) else ("FAIL" if targets else "n/a")
    print(f"realtime: tick p99/delivery {ticks} | per-move {base} | {idle_txt} [{verdict}]")


if __name__ == "__main__":
    main()
