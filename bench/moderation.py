"""Moderation quality and speed on CPU.

Quality: precision, recall and F1 of the "block or mask" decision on the hand-labeled game
chat in tests/data/moderation_eval.jsonl (test split as the headline, all lines, and the
"late" batch written after the lexicon was frozen), the share of benign lines blocked or
masked, and the same with the lexicon or the bundled model switched off.
Speed: verdict latency p50/p99 for single messages with the default stages (normalization,
rules, lexicon, bundled model; no optional model) and throughput of batches.

Prints one JSON object, then a one-line summary. Usage: python bench/moderation.py [--passes N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ai.moderation import Action, ModerationRules, Moderator  # noqa: E402

EVAL = ROOT / "tests" / "data" / "moderation_eval.jsonl"
ACTS = (Action.BLOCK, Action.MASK)


def load_eval(path: Path = EVAL) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def score(rows: list[dict], verdicts) -> dict:
    tp = fp = fn = tn = 0
    flagged_ok = flagged_act = 0
    for row, v in zip(rows, verdicts):
        predicted = v.action in ACTS
        actual = row["label"] == "act"
        if v.action is Action.FLAG:
            flagged_ok += not actual
            flagged_act += actual
        if predicted and actual:
            tp += 1
        elif predicted:
            fp += 1
        elif actual:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    benign = fp + tn
    return {
        "n": len(rows),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "benign_blocked_or_masked_rate": round(fp / benign, 4) if benign else 0.0,
        "benign_flagged_rate": round(flagged_ok / benign, 4) if benign else 0.0,
        "harmful_flagged_only": flagged_act,
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
    }


def evaluate(moderator: Moderator, rows: list[dict]) -> dict:
    verdicts = moderator.check_many_sync([r["text"] for r in rows])
    subsets = {
        "test": [i for i, r in enumerate(rows) if r["split"] == "test"],
        "dev": [i for i, r in enumerate(rows) if r["split"] == "dev"],
        "all": list(range(len(rows))),
        "late": [i for i, r in enumerate(rows) if r.get("batch") == "late"],
    }
    return {
        name: score([rows[i] for i in idx], [verdicts[i] for i in idx])
        for name, idx in subsets.items()
        if idx
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def latency(moderator: Moderator, texts: list[str], passes: int) -> dict:
    for t in texts[:50]:  # warm up
        await moderator.check(t)
    samples = []
    for _ in range(passes):
        for t in texts:
            t0 = time.perf_counter()
            await moderator.check(t)
            samples.append((time.perf_counter() - t0) * 1000)
    return {
        "messages": len(samples),
        "p50_ms": round(percentile(samples, 50), 3),
        "p90_ms": round(percentile(samples, 90), 3),
        "p99_ms": round(percentile(samples, 99), 3),
        "max_ms": round(max(samples), 3),
        "mean_ms": round(statistics.fmean(samples), 3),
    }


async def throughput(moderator: Moderator, texts: list[str], batch: int, passes: int) -> dict:
    batches = [texts[i : i + batch] for i in range(0, len(texts), batch)]
    await moderator.check_many(batches[0])
    t0 = time.perf_counter()
    n = 0
    for _ in range(passes):
        for b in batches:
            await moderator.check_many(b)
            n += len(b)
    elapsed = time.perf_counter() - t0
    return {"batch": batch, "messages": n, "messages_per_s": round(n / elapsed, 1)}


async def main_async(args) -> dict:
    rows = load_eval()
    t0 = time.perf_counter()
    moderator = Moderator()
    cold_start_s = time.perf_counter() - t0
    texts = [r["text"] for r in rows]
    # longer lines: several eval lines glued together (~300-500 characters)
    long_texts = [" ".join(texts[i : i + 12]) for i in range(0, len(texts) - 12, 12)]

    quality = evaluate(moderator, rows)
    ablations = {
        "no_bundled_model": evaluate(Moderator(use_bundled_model=False), rows),
        "no_lexicon": evaluate(Moderator(ModerationRules(use_lexicon=False)), rows),
    }
    speed = {
        "single": await latency(moderator, texts, args.passes),
        "single_long": await latency(moderator, long_texts, args.passes),
        "batched": await throughput(moderator, texts, args.batch, args.passes),
        "single_no_bundled_model": await latency(Moderator(use_bundled_model=False), texts, 1),
    }
    return {
        "bench": "moderation",
        "eval_file": str(EVAL.relative_to(ROOT)),
        "stages": "normalize + rules + lexicon + bundled model (alt-profanity-check); no optional model",
        "quality": quality,
        "ablations": {k: {s: v[s] for s in ("test", "all")} for k, v in ablations.items()},
        "speed": speed,
        "cold_start_s": round(cold_start_s, 3),
        "targets": {"f1": 0.85, "benign_rate": 0.05, "p99_ms": 20.0},
        "targets_met": {
            "f1_test": quality["test"]["f1"] >= 0.85,
            "benign_rate_test": quality["test"]["benign_blocked_or_masked_rate"] <= 0.05,
            "p99_single": speed["single"]["p99_ms"] < 20.0,
        },
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3, help="passes over the eval lines for timing")
    parser.add_argument("--batch", type=int, default=64, help="batch size for throughput")
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    print(json.dumps(result, indent=2))
    q, s = result["quality"], result["speed"]
    print(
        f"moderation: test F1 {q['test']['f1']:.3f} (P {q['test']['precision']:.3f} R {q['test']['recall']:.3f}), "
        f"benign blocked/masked {q['test']['benign_blocked_or_masked_rate']:.1%}; "
        f"all F1 {q['all']['f1']:.3f}; late-batch F1 {q['late']['f1']:.3f}; "
        f"p50 {s['single']['p50_ms']:.2f} ms p99 {s['single']['p99_ms']:.2f} ms; "
        f"{s['batched']['messages_per_s']:.0f} msg/s in batches of {s['batched']['batch']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
