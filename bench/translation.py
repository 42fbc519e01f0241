"""Benchmark of chat translation: throughput and the latency translation adds, and the cache hit rate.

1. Load: a fresh `townsquare serve` process with a translation model (`--model`, default: the tiny
   random Marian built into a temp dir; give a Hugging Face id or path for a real one), on the CPU
   unless `--device` says otherwise. In one room: 2 English senders, and 2 readers each of Spanish,
   German and French (every line needs 3 translations). Lines are sent at 10, 50 and 200 lines/s
   for `--duration` seconds each after a warm-up; every line is new (no cache help). Measured at the
   readers: send -> chat:message, send -> chat:translation, and chat:message -> chat:translation
   (what translation adds for a reader), translations delivered per second, lines whose
   translations did not all arrive, server CPU.
2. Cache: a synthetic chat log with the repeats of a real room (greetings, thanks, "lol", questions
   said again, mentions of different people) translated into 3 languages through `Translator` and
   its LRU; the hit rate over translatable lines.

The bench starts its own embedded PostgreSQL in a temp dir and cleans up. Prints one JSON object,
then a one-line summary.

    .venv/bin/python bench/translation.py [--rates 10 50 200] [--duration 10] [--model ID] [--device cpu]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from common import ServerProcess  # noqa: E402  (bench/ is on sys.path)

os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/townsquare-runtime-{os.getuid()}")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SECRET = "bench-translation-" + "s" * 40
READER_LANGS = ("es", "de", "fr")



def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))] * 1000, 1)


# -- the server ---------------------------------------------------------------------------------
class Server(ServerProcess):
    def __init__(self, url: str, tmp: Path, model: str, device: str, max_wait_ms: int, batch: int,
                 switch_interval: float | None = None):
        env = {"TOWNSQUARE_CHAT_RATE": "1000/second", "TOWNSQUARE_MODELS__EMBED": "",
               "TOWNSQUARE_MODELS__TRANSLATION": model, "TOWNSQUARE_MODELS__DEVICE": device,
               "TOWNSQUARE_MODELS__MAX_WAIT_MS": str(max_wait_ms), "TOWNSQUARE_MODELS__MAX_BATCH_SIZE": str(batch)}
        # the default world, with flood limits out of the way (the bench talks fast on purpose)
        import yaml

        world = yaml.safe_load((REPO / "server" / "data" / "world.yaml").read_text())
        world["moderation"] = {**(world.get("moderation") or {}), "flood": {"max_messages": 1_000_000, "window_s": 1}}
        (tmp / "world.yaml").write_text(yaml.safe_dump(world, allow_unicode=True))
        env["TOWNSQUARE_WORLD_FILE"] = str(tmp / "world.yaml")
        pre = ""
        if switch_interval:  # how often a thread holding the GIL hands it over (Python's default: 5 ms)
            pre += f"sys.setswitchinterval({switch_interval}); "
        if model == ECHO:  # the translation path without a model: an instant backend that echoes
            pre += "import bench_echo; bench_echo.install(); "
            env["TOWNSQUARE_MODELS__TRANSLATION"] = ""
            env["PYTHONPATH"] = f"{tmp}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
            (tmp / "bench_echo.py").write_text(ECHO_MODULE)
        super().__init__(url, tmp, SECRET, env, argv=[
            "-c", f"import sys, runpy; {pre}sys.argv = ['townsquare', 'serve']; "
                  "runpy.run_module('server.cli', run_name='__main__')"])


ECHO = "echo"
ECHO_MODULE = '''
"""Loaded by the bench's server process for --model echo: every pair "translates" instantly."""


class Echo:
    def route(self, source, target):
        return [("echo", source, target)]

    def why_not(self, source, target):
        return ""

    async def run(self, model, texts, source, target, *, deadline):
        return [f"[{target}] {t}" for t in texts]


def install():
    from server.translation import service

    service.TranslationService._backend = lambda self, inference: Echo()
'''


# -- people --------------------------------------------------------------------------------------
class Person:
    def __init__(self, base: str, language: str):
        self.base, self.language = base, language
        self.client = None
        self.messages: dict[str, float] = {}  # message id -> arrival
        self.translations: dict[str, tuple[float, str, bool]] = {}  # id -> (arrival, lang, ok)

    async def start(self, http) -> None:
        import socketio

        async with http.post(f"{self.base}/api/auth/register",
                             json={"username": f"b{uuid.uuid4().hex[:10]}", "password": "bench-password-1",
                                   "language": self.language}) as r:
            token = (await r.json())["token"]
        self.client = socketio.AsyncClient(reconnection=False)

        @self.client.on("chat:message")
        async def on_message(data):
            self.messages[data["id"]] = time.perf_counter()

        @self.client.on("chat:translation")
        async def on_translation(data):
            self.translations[data["id"]] = (time.perf_counter(), data["lang"], data.get("text") is not None)

        await self.client.connect(self.base, auth={"token": token}, transports=["websocket"], wait_timeout=20)
        reply = await self.client.call("room:join", {"room": "plaza"}, timeout=20)
        assert reply["ok"], reply


def unique_lines(seed: int):
    """Endless new lines over the tiny model's vocabulary (plain English for a real model)."""
    from ai.inference.tiny import vocabulary

    rng = random.Random(seed)
    rude = {"spam", "scam", "hate", "kill", "stupid", "idiot", "ugly", "dumb", "nasty", "rude"}  # moderation's
    words = [w for w in vocabulary() if w.isalpha() and len(w) > 2 and w not in rude]
    n = 0
    while True:
        n += 1
        k = rng.randint(5, 14)
        yield " ".join(rng.choice(words) for _ in range(k)) + rng.choice([" .", " ?", " !"]) + f" {n}"


async def load_run(base: str, senders: list[Person], readers: list[Person], rate: float, warmup: float,
                   duration: float, lines, server: Server, settle: float) -> dict:
    sent: dict[str, float] = {}
    total = warmup + duration
    start = time.perf_counter()
    window = (start + warmup, start + total)
    c0 = None
    i = 0
    pending: set[asyncio.Task] = set()

    outcomes: dict[str, int] = {}

    async def send(person: Person, text: str) -> None:
        t = time.perf_counter()
        try:
            reply = await person.client.call("chat:send", {"text": text}, timeout=30)
        except Exception as e:  # a timeout: counted
            outcomes[type(e).__name__] = outcomes.get(type(e).__name__, 0) + 1
            return
        key = reply.get("action") if reply.get("ok") else reply["error"]["code"]
        outcomes[key] = outcomes.get(key, 0) + 1
        if reply.get("ok") and reply.get("action") in ("allow", "mask", "flag") and not reply.get("held"):
            sent[reply["message_id"]] = t

    while True:
        now = time.perf_counter()
        if now >= start + total:
            break
        if c0 is None and now >= window[0]:
            c0, w0 = server.cpu_s(), now
        due = start + i / rate
        if due > now:
            await asyncio.sleep(due - now)
        task = asyncio.create_task(send(senders[i % len(senders)], next(lines)))
        pending.add(task)
        task.add_done_callback(pending.discard)
        i += 1
    c1, w1 = server.cpu_s(), time.perf_counter()
    if pending:
        await asyncio.wait(pending, timeout=30)
    # let the last translations arrive
    deadline = time.perf_counter() + settle
    in_window = {m: t for m, t in sent.items() if window[0] <= t < window[1]}
    while time.perf_counter() < deadline:
        if all(all(m in r.translations for r in readers) for m in in_window):
            break
        await asyncio.sleep(0.1)
    to_msg, to_tr, added = [], [], []
    missing = failed = 0
    done_times = []
    for mid, t in in_window.items():
        for r in readers:
            m = r.messages.get(mid)
            if m is not None:
                to_msg.append(m - t)
            tr = r.translations.get(mid)
            if tr is None:
                missing += 1
                continue
            if not tr[2]:
                failed += 1
                continue
            to_tr.append(tr[0] - t)
            if m is not None:
                added.append(tr[0] - m)
            done_times.append(tr[0])
    n = len(in_window)
    per_lang = {lang: sum(1 for r in readers if r.language == lang) for lang in READER_LANGS}
    translations = len(to_tr) / max(1, sum(per_lang.values())) * len(per_lang)  # distinct (line, language)
    return {
        "rate": rate, "lines": n, "sent_per_s": round(n / duration, 1), "acks": outcomes,
        "translations_per_s": round(translations / duration, 1),
        "translated_lines_per_s": round(translations / len(per_lang) / duration, 1),
        "send_to_message_ms": {"p50": pct(to_msg, .5), "p95": pct(to_msg, .95)},
        "send_to_translation_ms": {"p50": pct(to_tr, .5), "p95": pct(to_tr, .95), "p99": pct(to_tr, .99),
                                   "max": pct(to_tr, 1.0)},
        "added_by_translation_ms": {"p50": pct(added, .5), "p95": pct(added, .95)},
        "reader_deliveries_missing": missing, "reader_deliveries_unavailable": failed,
        "server_cpu_pct": round(100 * (c1 - c0) / (w1 - w0), 1) if c0 is not None else None,
    }


async def load(args, url: str, tmp: Path, model: str) -> dict:
    import aiohttp

    server = Server(url, tmp, model, args.device, args.max_wait_ms, args.batch, args.switch_interval)
    try:
        server.wait()
        async with aiohttp.ClientSession() as http:
            senders = [Person(server.base, "en") for _ in range(args.senders)]
            readers = [Person(server.base, lang) for lang in READER_LANGS for _ in range(args.readers_per_language)]
            for p in senders + readers:
                await p.start(http)
        await asyncio.sleep(1.0)  # presence settles
        lines = unique_lines(7)
        runs = []
        for rate in args.rates:
            runs.append(await load_run(server.base, senders, readers, rate, args.warmup, args.duration, lines,
                                       server, args.settle))
            print(f"# rate {rate}: {json.dumps(runs[-1])}", file=sys.stderr)
        for p in senders + readers:
            await p.client.disconnect()
        return {"runs": runs}
    finally:
        server.stop()


# -- the cache on a chat log with repeats -------------------------------------------------------
COMMON = [
    "hi everyone", "hello", "hey {name}", "good morning", "good night all", "thanks!", "thank you {name}",
    "how are you?", "i'm fine, and you?", "where is the market?", "anyone selling bread?", "brb", "back",
    "see you later", "welcome {name}!", "what time is it?", "nice", "me too", "yes", "no", "maybe later",
    "how much is the fish?", "does anyone have a spare coin?", "i love this place", "who wants to trade?",
    "let's go to the inn", "sorry, i have to go", "that's funny", "congrats {name}!", "happy birthday {name}",
]
TOKENS = ["lol", "ok", "gg", "😂", "haha", "👍", "xD", "+1"]


def chat_log(n: int, seed: int = 3) -> list[str]:
    """A room's log: ~45% stock phrases (Zipf over 30, some with a mention of one of 40 people),
    ~10% chat tokens, ~45% lines said once."""
    rng = random.Random(seed)
    names = [f"Player{i}" for i in range(40)]
    weights = [1 / (k + 1) for k in range(len(COMMON))]
    fresh = unique_lines(seed)
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.45:
            out.append(rng.choices(COMMON, weights)[0].format(name="@" + rng.choice(names)))
        elif r < 0.55:
            out.append(rng.choice(TOKENS))
        else:
            out.append(next(fresh).rsplit(" ", 1)[0] + f" {rng.randint(0, 10**6)}")
    return out


async def cache_hit_rate(n: int) -> dict:
    from ai.translation import TranslationCache, Translator, needs_translation

    class Instant:
        def route(self, s, t):
            return [("fake", s, t)]

        def why_not(self, s, t):
            return ""

        async def run(self, model, texts, s, t, *, deadline):
            return list(texts)

    tr = Translator(Instant(), cache=TranslationCache(20_000))
    log = chat_log(n)
    translatable = [line for line in log if needs_translation(line)]
    for line in translatable:
        for target in READER_LANGS:
            await tr.translate(line, "en", target)
    return {"lines": n, "translatable": len(translatable), "targets": len(READER_LANGS),
            "model_calls": tr.requests, "hit_rate": round(tr.cache.hit_rate, 3),
            "model_calls_saved_pct": round(100 * (1 - tr.requests / max(1, len(translatable) * len(READER_LANGS))), 1)}


# -- main ----------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", type=float, nargs="+", default=[10, 50, 200])
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--settle", type=float, default=15.0, help="seconds to wait for the last translations")
    ap.add_argument("--model", default="", help="models.translation (default: the tiny random Marian; "
                                                 "'none': the baseline without translation; 'echo': an instant "
                                                 "backend, the translation path without a model)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-wait-ms", type=int, default=10)
    ap.add_argument("--senders", type=int, default=2)
    ap.add_argument("--readers-per-language", type=int, default=2)
    ap.add_argument("--log-lines", type=int, default=5000)
    ap.add_argument("--switch-interval", type=float, default=None,
                    help="sys.setswitchinterval in the server (default: Python's 0.005 s)")
    ap.add_argument("--quick", action="store_true", help="rates 10 50, 4 s each")
    args = ap.parse_args()
    if args.quick:
        args.rates, args.duration, args.warmup = [10, 50], 4.0, 1.0

    from server.db.embedded import EmbeddedPostgres

    result: dict = {"bench": "translation", "device": args.device, "readers": {lang: args.readers_per_language
                                                                                 for lang in READER_LANGS},
                    "senders": args.senders, "cpu_count": os.cpu_count(), "switch_interval": args.switch_interval,
                    "loadavg_1m_before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(prefix="ts-bench-tr-") as d:
        tmp = Path(d)
        model = args.model
        if model == "none":  # the baseline: no translation model, lines go out untranslated
            model = ""
            result["model"] = "none (baseline)"
        elif model == ECHO:
            result["model"] = "echo (instant backend: the translation path without a model)"
        elif not model:
            from ai.inference.tiny import build_tiny_marian

            model = str(build_tiny_marian(tmp / "tiny-marian"))
            result["model"] = "tiny random Marian (d_model 32)"
        else:
            result["model"] = model
        pg = EmbeddedPostgres(tmp / "pgdata")
        url = pg.start()
        try:
            result.update(asyncio.run(load(args, url, tmp, model)))
        finally:
            pg.stop()
    result["cache"] = asyncio.run(cache_hit_rate(args.log_lines))
    result["loadavg_1m_after"] = round(os.getloadavg()[0], 2)  # the machine may be shared: read figures with it
    print(json.dumps(result))
    parts = []
    for r in result["runs"]:
        parts.append(f"{r['rate']:g}/s: {r['translations_per_s']} tr/s, send->translation p50 "
                     f"{r['send_to_translation_ms']['p50']} p95 {r['send_to_translation_ms']['p95']} ms, "
                     f"added p50 {r['added_by_translation_ms']['p50']} ms, missing {r['reader_deliveries_missing']}")
    print(f"translation ({result['model']}, {args.device}): " + "; ".join(parts)
          + f"; cache hit rate {result['cache']['hit_rate']:.0%} on a {args.log_lines}-line log")


if __name__ == "__main__":
    main()
