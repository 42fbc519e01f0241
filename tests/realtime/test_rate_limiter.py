"""RateLimiter: a moving window per (event, user), kept as a short list of hit times."""

from __future__ import annotations

from limits import parse

from server.realtime import hub as hub_module
from server.realtime.hub import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_moving_window_per_event_and_user(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(hub_module.time, "monotonic", clock)
    limiter, limit = RateLimiter(), parse("3/second")
    assert [limiter.hit(limit, "move", "a") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(limit, "move", "b") and limiter.hit(limit, "join", "a")  # other keys: their own windows
    clock.now += 0.5
    assert not limiter.hit(limit, "move", "a")  # the three hits are still inside the window
    clock.now += 0.6  # the first three fell out
    assert [limiter.hit(limit, "move", "a") for _ in range(4)] == [True, True, True, False]


def test_window_slides_one_hit_at_a_time(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(hub_module.time, "monotonic", clock)
    limiter, limit = RateLimiter(), parse("2/second")
    assert limiter.hit(limit, "e", "u")
    clock.now += 0.6
    assert limiter.hit(limit, "e", "u")
    assert not limiter.hit(limit, "e", "u")
    clock.now += 0.5  # only the first hit left the window
    assert limiter.hit(limit, "e", "u")
    assert not limiter.hit(limit, "e", "u")


def test_sweep_forgets_idle_keys(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(hub_module.time, "monotonic", clock)
    limiter, limit = RateLimiter(), parse("5/second")
    for who in ("a", "b", "c"):
        limiter.hit(limit, "join", who)
    assert len(limiter._windows["join"][0]) == 3
    clock.now += RateLimiter.SWEEP_S + 1
    limiter.hit(limit, "join", "d")
    assert list(limiter._windows["join"][0]) == ["d"]
