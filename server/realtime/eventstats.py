"""Client events' counts and handling times for /metrics, kept as plain numbers until scraped.

prometheus_client's Counter and Histogram take a lock and walk their buckets on every update; at
thousands of moves a second that was ~3 µs a move on the event loop. The hub updates these from the
event loop only, so a tally is plain ints and floats, and a custom collector (prometheus_client's
documented way) turns them into the same two families when /metrics is read:
`townsquare_socket_events_total{event,result}` and `townsquare_socket_event_seconds{event}`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, float("inf"))


class EventTally:
    """One event's figures: results counted, handling times bucketed (non-cumulative here)."""

    __slots__ = ("results", "buckets", "sum")

    def __init__(self) -> None:
        self.results: dict[str, int] = {}
        self.buckets = [0] * len(BUCKETS)
        self.sum = 0.0

    def add(self, result: str, seconds: float) -> None:
        results = self.results
        results[result] = results.get(result, 0) + 1
        self.buckets[bisect_left(BUCKETS, seconds)] += 1  # first bound >= seconds: Prometheus's `le`
        self.sum += seconds


class EventStats(Collector):
    def __init__(self) -> None:
        self.tallies: dict[str, EventTally] = {}

    def tally(self, event: str) -> EventTally:
        t = self.tallies.get(event)
        if t is None:
            t = self.tallies[event] = EventTally()
        return t

    def collect(self) -> Iterator:
        counts = CounterMetricFamily("townsquare_socket_events", "Client events handled", labels=["event", "result"])
        seconds = HistogramMetricFamily("townsquare_socket_event_seconds", "Time to handle a client event", labels=["event"])
        for event, t in sorted(self.tallies.items()):
            for result, n in sorted(t.results.items()):
                counts.add_metric([event, result], n)
            running, cumulative = 0, []
            for bound, n in zip(BUCKETS, t.buckets):
                running += n
                cumulative.append((floatToGoString(bound), running))
            seconds.add_metric([event], cumulative, t.sum)
        yield counts
        yield seconds

    def describe(self) -> Iterator:
        return iter(())  # the families are known only once events came: checked at collection, as prometheus_client allows
