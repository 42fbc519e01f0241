"""Prometheus metrics of the inference queue, registered once per process (default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_WAIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_COMPUTE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

QUEUE_DEPTH = Gauge(
    "townsquare_inference_queue_depth", "Requests waiting in the inference queue", ["model", "priority"]
)
BATCH_SIZE = Histogram(
    "townsquare_inference_batch_size", "Requests per forward batch (generate: sequences per decode step)",
    ["model"], buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
QUEUE_WAIT = Histogram(
    "townsquare_inference_queue_wait_seconds", "Time a request waited before a worker took it",
    ["model", "priority"], buckets=_WAIT_BUCKETS,
)
COMPUTE_TIME = Histogram(
    "townsquare_inference_compute_seconds", "Time from a worker taking a request to its result",
    ["model", "priority"], buckets=_COMPUTE_BUCKETS,
)
GENERATED_TOKENS = Counter(
    "townsquare_inference_generated_tokens", "Tokens generated", ["model"]
)
TOKENS_PER_SECOND = Gauge(
    "townsquare_inference_tokens_per_second", "Decode throughput of the latest steps (moving average)", ["model"]
)
SHED = Counter(
    "townsquare_inference_shed", "Requests refused or shed because the queue was full", ["model", "priority"]
)
EXPIRED = Counter(
    "townsquare_inference_expired", "Requests dropped because their deadline passed", ["model", "priority"]
)
REQUESTS = Counter(
    "townsquare_inference_requests", "Finished requests by outcome (ok, error, expired, shed, cancelled)",
    ["model", "priority", "outcome"],
)
