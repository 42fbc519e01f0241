"""Prometheus metrics of the inference queue, registered once per process (default registry).

They live in a private registry exposed through one collector on the default registry, so a node
can add the same families from its supervised inference child (`add_source`): one family per name,
values of equal labels summed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

_LOCAL = CollectorRegistry(auto_describe=True)
_SOURCES: dict[object, Callable[[], Iterable[Metric]]] = {}

_WAIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_COMPUTE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

QUEUE_DEPTH = Gauge(
    "townsquare_inference_queue_depth", "Requests waiting in the inference queue", ["model", "priority"], registry=_LOCAL
)
BATCH_SIZE = Histogram(
    "townsquare_inference_batch_size", "Requests per forward batch (generate: sequences per decode step)",
    ["model"], buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=_LOCAL
)
QUEUE_WAIT = Histogram(
    "townsquare_inference_queue_wait_seconds", "Time a request waited before a worker took it",
    ["model", "priority"], buckets=_WAIT_BUCKETS, registry=_LOCAL
)
COMPUTE_TIME = Histogram(
    "townsquare_inference_compute_seconds", "Time from a worker taking a request to its result",
    ["model", "priority"], buckets=_COMPUTE_BUCKETS, registry=_LOCAL
)
GENERATED_TOKENS = Counter(
    "townsquare_inference_generated_tokens", "Tokens generated", ["model"], registry=_LOCAL
)
TOKENS_PER_SECOND = Gauge(
    "townsquare_inference_tokens_per_second", "Decode throughput of the latest steps (moving average)", ["model"], registry=_LOCAL
)
SHED = Counter(
    "townsquare_inference_shed", "Requests refused or shed because the queue was full", ["model", "priority"], registry=_LOCAL
)
EXPIRED = Counter(
    "townsquare_inference_expired", "Requests dropped because their deadline passed", ["model", "priority"], registry=_LOCAL
)
REQUESTS = Counter(
    "townsquare_inference_requests", "Finished requests by outcome (ok, error, expired, shed, cancelled)",
    ["model", "priority", "outcome"], registry=_LOCAL
)


def add_source(key: object, fetch: Callable[[], Iterable[Metric]]) -> None:
    """Merge `fetch()`'s families (a supervised child's, parsed) into this process's on every scrape."""
    _SOURCES[key] = fetch


def remove_source(key: object) -> None:
    _SOURCES.pop(key, None)


class _Merged:
    """This process's inference families plus those of its sources, one family per name."""

    def describe(self) -> list[Metric]:
        return list(_LOCAL.collect())

    def collect(self) -> Iterable[Metric]:
        families = {m.name: m for m in _LOCAL.collect()}
        for fetch in list(_SOURCES.values()):
            try:
                fetched = list(fetch())
            except Exception:  # a source that cannot answer adds nothing this scrape
                continue
            for fam in fetched:
                mine = families.get(fam.name)
                if mine is None:
                    families[fam.name] = fam
                    continue
                index = {(s.name, tuple(sorted(s.labels.items()))): i for i, s in enumerate(mine.samples)}
                for s in fam.samples:
                    if s.name.endswith("_created"):
                        continue
                    at = index.get((s.name, tuple(sorted(s.labels.items()))))
                    if at is None:
                        mine.samples.append(s)
                    else:
                        mine.samples[at] = mine.samples[at]._replace(value=mine.samples[at].value + s.value)
        yield from families.values()


REGISTRY.register(_Merged())
