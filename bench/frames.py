"""Benchmark of a tick's wire-2 frames on the event loop: the Python work of `Frames.tick`, alone.

The realtime bench measures the whole server under load, and on a 2-core box shared with the load
generator (a VM with noisy neighbours) its CPU figures move by 10-30 % from run to run. This one
runs `server/realtime/frames.py` in one process with N connections whose sockets count the bytes
written instead of sending them (the syscall is left out: ~5 us a write, docs/realtime.md), moves
half the bodies each tick (5 Hz movers at 10 ticks a second, as the realtime bench's bots) and times
each tick with the process's CPU clock. Shapes: `interest` (N bodies spread at random over a
500x400 room, 30x20 view + margin) and `peer` (everyone sees everyone, 200x200).

The baseline runs in the same process: `--base REV` (default HEAD) loads that revision's
frames.py beside this checkout's, each with its own connections and sockets, and the two take
turns tick by tick on the same moves, so a busy moment of the machine hits both alike. Whether both
wrote the same bytes is checked (where they differ on purpose, the ratio of the bytes is given).
Prints one JSON object, then a one-line summary.

    .venv/bin/python bench/frames.py [--n 1500 3000] [--shape interest peer] [--base REV] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ROOM_NAME = "plaza"
SIZES = {"interest": (500.0, 400.0), "peer": (200.0, 200.0)}  # the realtime bench's rooms


class _Transport:
    """A client's socket: counts what is written."""

    __slots__ = ("bytes", "writes")

    def __init__(self) -> None:
        self.bytes = self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.bytes += len(data)

    def writelines(self, parts) -> None:
        self.writes += 1
        self.bytes += sum(map(len, parts))

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0


def _socket(transport: _Transport):
    """An engine.io socket upgraded to a websocket with nothing queued: frames go straight out."""
    writer = SimpleNamespace(_closing=False, protocol=SimpleNamespace(_paused=False), transport=transport)
    queue = SimpleNamespace(qsize=lambda: 0)
    return SimpleNamespace(ts_ws=SimpleNamespace(_writer=writer), ts_pending=0, upgraded=True, upgrading=False,
                           closed=False, closing=False, queue=queue)


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


class _World:
    """One frames module with its own room: n connections, their sockets, a mirror."""

    def __init__(self, module, n: int, shape: str, start: dict[str, tuple[float, float]]):
        from server.realtime.fanout import Fanout
        from server.realtime.hub import Connection
        from server.world.runtime import Mirror

        self.transports: list[_Transport] = []
        members, sockets, connections = {}, {}, {}
        for i, uid in enumerate(start):
            sid, eio_sid = f"s{i}", f"e{i}"
            conn = Connection(sid=sid, user_id=uid, username=f"u{i}", role="user", language="en", display_name=f"u{i}")
            conn.room, conn.wire = ROOM_NAME, 2
            connections[sid], members[sid] = conn, eio_sid
            t = _Transport()
            self.transports.append(t)
            sockets[eio_sid] = _socket(t)
        self.mirror = Mirror()
        self.mirror.load(ROOM_NAME, [{"id": u, "kind": "user", "name": u, "x": x, "y": y} for u, (x, y) in start.items()])
        sio = SimpleNamespace(manager=SimpleNamespace(rooms={"/": {f"room:{ROOM_NAME}": members}}),
                              eio=SimpleNamespace(sockets=sockets))
        interest = module.Interest() if shape == "interest" else None
        self.frames = module.Frames(SimpleNamespace(connections=connections, folded=set()), Fanout(sio, queue_limit=256),
                                    self.mirror, lambda room: interest)
        self.seconds: list[float] = []

    def tick(self, data: dict, timed: bool) -> None:
        occ = self.mirror.rooms[ROOM_NAME]
        for mv in data["moves"]:  # the mirror follows the tick's moves before the frames are built, as in the server
            p = occ[mv[0]]
            p["x"], p["y"] = mv[1], mv[2]
        c0 = time.process_time()
        self.frames.tick(ROOM_NAME, data)
        if timed:
            self.seconds.append(time.process_time() - c0)

    def written(self) -> tuple[int, int]:
        return sum(t.writes for t in self.transports), sum(t.bytes for t in self.transports)


def run(n: int, shape: str, ticks: int, seed: int, base_path: Path | None) -> dict:
    """Both frames modules, ticks interleaved on the same moves."""
    rnd = random.Random(seed)
    w, h = SIZES[shape]
    pos = {f"00000000-0000-0000-0000-{i:012d}": (rnd.uniform(2, w - 3), rnd.uniform(2, h - 3)) for i in range(n)}
    uids = list(pos)
    made = [("this", REPO / "server/realtime/frames.py")] + ([("base", base_path)] if base_path is not None else [])
    if seed % 2:  # which world is made first (its objects' place in memory) alternates with the seed
        made.reverse()
    worlds = {name: _World(_load(path, f"frames_{name}"), n, shape, pos) for name, path in made}
    gc.freeze()  # the connections and sockets made above, as the server freezes its start-up heap
    for k in range(ticks + 10):  # 10 untimed ticks first: areas given, caches filled
        t = 1765000000.0 + k / 10
        moves = []
        for j, uid in enumerate(uids):
            if (j + k) % 2:  # 5 Hz movers at 10 ticks a second
                continue
            x, y = pos[uid]
            x = round(min(max(x + rnd.uniform(-0.6, 0.6), 2), w - 3), 2)
            y = round(min(max(y + rnd.uniform(-0.6, 0.6), 2), h - 3), 2)
            pos[uid] = (x, y)
            moves.append([uid, x, y, round(t - 0.05, 3)] if j % 3 == 0 else [uid, x, y])
        data = {"room": ROOM_NAME, "t": round(t, 3), "moves": moves}
        order = list(worlds.values()) if k % 2 else list(worlds.values())[::-1]  # who goes first alternates too
        for world in order:
            gc.collect()  # outside the clock: a collection would land on whichever tick tripped it
            world.tick(data, timed=k >= 10)
    gc.unfreeze()  # this run's worlds may go once it returns
    out = {"n": n, "shape": shape, "ticks": ticks}
    for name, world in worlds.items():
        writes, nbytes = world.written()
        out[name] = {"ms_per_tick": round(1000 * statistics.fmean(world.seconds), 3),
                     "ms_per_tick_median": round(1000 * statistics.median(world.seconds), 3),
                     "us_per_client_tick": round(1e6 * statistics.median(world.seconds) / n, 3),
                     "writes_per_tick": round(writes / (ticks + 10), 1), "bytes_per_write": round(nbytes / max(writes, 1), 1),
                     "bytes_per_client_tick": round(nbytes / (n * (ticks + 10)), 1)}
    if "base" in worlds:
        this, base = worlds["this"].seconds, worlds["base"].seconds
        out["made_first"] = made[0][0]
        out["ratio_median"] = round(statistics.median(this) / statistics.median(base), 3)
        out["ratio_total"] = round(sum(this) / sum(base), 3)
        out["same_bytes"] = worlds["this"].written() == worlds["base"].written()
        out["bytes_ratio"] = round(worlds["this"].written()[1] / max(worlds["base"].written()[1], 1), 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[1500, 3000])
    ap.add_argument("--shape", nargs="+", choices=list(SIZES), default=list(SIZES))
    ap.add_argument("--base", default="HEAD", help="git revision whose frames.py is the baseline ('' for none)")
    ap.add_argument("--ticks", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="a smoke run: 300 clients, 20 ticks")
    args = ap.parse_args()
    if args.quick:
        args.n, args.ticks = [300], 20
    with tempfile.TemporaryDirectory() as tmp:
        base_path = None
        if args.base:
            base_path = Path(tmp) / "frames_base.py"
            base_path.write_text(subprocess.run(["git", "show", f"{args.base}:server/realtime/frames.py"], cwd=REPO,
                                                capture_output=True, text=True, check=True).stdout)
        runs = []
        for shape in args.shape:
            for n in args.n:
                # twice, each world made first once: the order alone moves the ratio by up to ~10 % here
                pair = [run(n, shape, args.ticks, seed, base_path) for seed in (args.seed, args.seed + 1)]
                row = {"shape": shape, "n": n, "runs": pair,
                       "us_per_client_tick": round(statistics.fmean(r["this"]["us_per_client_tick"] for r in pair), 3)}
                if base_path is not None:
                    row["ratio"] = round(statistics.geometric_mean(r["ratio_median"] for r in pair), 3)
                    row["same_bytes"] = all(r["same_bytes"] for r in pair)
                    row["bytes_ratio"] = pair[0]["bytes_ratio"]
                runs.append(row)
    print(json.dumps({"bench": "frames", "base": args.base or None, "runs": runs}, indent=2))
    print("frames: " + " | ".join(
        f"{r['shape']} {r['n']}: {r['us_per_client_tick']} us/client-tick"
        + (f", x{r['ratio']} of {args.base}" + ("" if r["same_bytes"] else f" (bytes x{r['bytes_ratio']})") if "ratio" in r else "")
        for r in runs))


if __name__ == "__main__":
    main()
