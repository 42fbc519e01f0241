"""Benchmark of the shared inference queue (ai.inference).

1. Generation throughput through the queue at 1, 8 and 32 concurrent callers, against calling
   transformers' `generate` one request at a time (no queue) in the same run.
2. Moderation (priority 0 classify on a tiny BERT) queue wait while 32+ generation callers
   keep the queue saturated.

By default both models are tiny random ones built on the fly (a ~3M-parameter Llama); pass
--model PATH_OR_CACHED_HF_ID to use a real causal LM instead. Prints one JSON object, then a
one-line summary.

    .venv/bin/python bench/inference.py [--threads 1] [--tokens 32] [--model DIR] [--device auto]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from ai.inference import InferenceService, ModelSpec, Priority, resolve_device, tiny  # noqa: E402

TOPICS = ["the market", "bread and cheese", "the weather today", "the old bridge", "gold coins", "the night guard",
          "a long walk to the river", "the mayor and the town square", "fish", "my neighbor the baker"]


def prompt(i: int) -> list[dict]:
    words = " ".join(["tell me about"] + [TOPICS[(i + k) % len(TOPICS)] for k in range(1 + i % 4)])
    return [{"role": "system", "content": "you are a friendly merchant"}, {"role": "user", "content": words}]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[k]


def one_by_one(model_dir: str, device: str, n: int, tokens: int) -> dict:
    """The baseline: transformers generate, one request at a time, no queue."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).to(device).eval()
    eos = None if tok.eos_token_id is None else tok.eos_token_id
    produced = 0
    start = time.perf_counter()
    for i in range(n):
        text = tok.apply_chat_template(prompt(i), tokenize=False, add_generation_prompt=True) \
            if tok.chat_template else "\n".join(f"{m['role']}: {m['content']}" for m in prompt(i))
        enc = tok(text, add_special_tokens=not tok.chat_template, return_tensors="pt").to(device)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=tokens, do_sample=False, pad_token_id=eos)
        produced += out.shape[1] - enc["input_ids"].shape[1]
    elapsed = time.perf_counter() - start
    return {"requests": n, "seconds": round(elapsed, 3), "req_s": round(n / elapsed, 2),
            "tok_s": round(produced / elapsed, 1)}


async def through_queue(svc: InferenceService, model: str, callers: int, n: int, tokens: int) -> dict:
    counter = iter(range(n))
    produced = 0
    latencies: list[float] = []

    async def caller() -> None:
        nonlocal produced
        for i in counter:
            t0 = time.perf_counter()
            result = await svc.generate(model, prompt(i), max_new_tokens=tokens, priority=Priority.NPC_REPLY)
            latencies.append(time.perf_counter() - t0)
            produced += result.tokens

    start = time.perf_counter()
    await asyncio.gather(*[caller() for _ in range(callers)])
    elapsed = time.perf_counter() - start
    return {"callers": callers, "requests": n, "seconds": round(elapsed, 3), "req_s": round(n / elapsed, 2),
            "tok_s": round(produced / elapsed, 1), "p50_latency_ms": round(1000 * statistics.median(latencies), 1)}


async def moderation_under_load(svc: InferenceService, gen: str, clf: str, tokens: int, waits: list[float],
                                n_checks: int, gen_callers: int) -> dict:
    """Keep the generate model saturated while a moderation caller classifies at priority 0."""
    stop = asyncio.Event()
    produced = 0

    async def chatter(i: int) -> None:
        nonlocal produced
        while not stop.is_set():
            result = await svc.generate(gen, prompt(i), max_new_tokens=tokens, priority=Priority.BACKGROUND)
            produced += result.tokens
            i += gen_callers

    gen_tasks = [asyncio.create_task(chatter(i)) for i in range(gen_callers)]
    await asyncio.sleep(0.5)  # let the generation batch fill up
    depth_seen = 0
    latencies = []
    waits.clear()
    for i in range(n_checks):
        depth_seen = max(depth_seen, svc.queue_depth()[Priority.BACKGROUND])
        t0 = time.perf_counter()
        await svc.classify(clf, [f"check message {i}: {TOPICS[i % len(TOPICS)]}"], priority=Priority.MODERATION)
        latencies.append(time.perf_counter() - t0)
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.gather(*gen_tasks)
    return {
        "checks": n_checks, "generation_callers": gen_callers, "background_queue_depth_max": depth_seen,
        "queue_wait_p50_ms": round(1000 * percentile(waits, 50), 2),
        "queue_wait_p99_ms": round(1000 * percentile(waits, 99), 2),
        "queue_wait_max_ms": round(1000 * max(waits), 2),
        "latency_p99_ms": round(1000 * percentile(latencies, 99), 2),
    }


def record_waits(svc: InferenceService, model: str, waits: list[float]) -> None:
    """Record the exact queue wait of every request of `model` as its worker takes it."""
    queue = svc._queue
    take = queue.take

    def timed_take(name, *args, **kwargs):
        batch = take(name, *args, **kwargs)
        if name == model:
            now = time.monotonic()
            waits.extend(now - r.enqueued for r in batch)
        return batch

    queue.take = timed_take


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="causal LM directory or cached HF id (default: tiny random Llama)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--tokens", type=int, default=32, help="max_new_tokens per request")
    parser.add_argument("--batch", type=int, default=32, help="max_batch_size of the generate model")
    parser.add_argument("--requests", type=int, default=128, help="requests per queue measurement")
    parser.add_argument("--baseline-requests", type=int, default=24)
    parser.add_argument("--checks", type=int, default=200, help="moderation requests under load")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)

    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            model_dir = args.model
            model_desc = args.model
        else:
            model_dir = str(tiny.build_tiny_llama(Path(tmp) / "llama", hidden_size=256, layers=4))
            model_desc = "tiny random Llama (hidden 256, 4 layers)"
        clf_dir = str(tiny.build_tiny_bert_classifier(Path(tmp) / "bert", hidden_size=64))

        baseline = one_by_one(model_dir, device, args.baseline_requests, args.tokens)

        svc = InferenceService([
            ModelSpec("npc", "generate", model_dir, device=args.device, max_batch_size=args.batch, max_wait_ms=10),
            ModelSpec("toxicity", "classify", clf_dir, device=args.device, max_batch_size=16, max_wait_ms=10),
        ], max_queue=256)
        await svc.start()
        worker = svc._workers["npc"]
        params = sum(p.numel() for p in worker.engine.model.parameters())
        waits: list[float] = []
        record_waits(svc, "toxicity", waits)
        try:
            await through_queue(svc, "npc", 8, 16, args.tokens)  # warm-up
            queue = {}
            for callers in (1, 8, 32):
                n = args.baseline_requests if callers == 1 else args.requests
                queue[str(callers)] = await through_queue(svc, "npc", callers, n, args.tokens)
            moderation = await moderation_under_load(
                svc, "npc", "toxicity", args.tokens, waits, args.checks, gen_callers=args.batch + 16
            )
        finally:
            await svc.stop()

    speedup = queue["32"]["req_s"] / baseline["req_s"]
    result = {
        "bench": "inference",
        "device": device,
        "torch_threads": args.threads,
        "model": model_desc,
        "parameters": params,
        "max_new_tokens": args.tokens,
        "max_batch_size": args.batch,
        "one_by_one": baseline,
        "queue": queue,
        "speedup_32_vs_one_by_one": round(speedup, 2),
        "speedup_32_vs_queue_1": round(queue["32"]["req_s"] / queue["1"]["req_s"], 2),
        "moderation_under_load": moderation,
        "targets": {
            "speedup_32_ge_4x": speedup >= 4,
            "moderation_p99_wait_lt_50ms": moderation["queue_wait_p99_ms"] < 50,
        },
    }
    print(json.dumps(result, indent=2))
    print(
        f"inference: {queue['32']['req_s']} req/s, {queue['32']['tok_s']} tok/s at 32 callers = "
        f"{speedup:.1f}x one-by-one ({baseline['req_s']} req/s); moderation p99 queue wait "
        f"{moderation['queue_wait_p99_ms']} ms under saturation "
        f"[{'PASS' if all(result['targets'].values()) else 'FAIL'}]"
    )


if __name__ == "__main__":
    asyncio.run(main())
