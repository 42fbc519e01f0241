"""Personas from the world file, routines on the world clock, scoring, and the model-call budgets
that shed background work first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ai.inference import Priority
from ai.npc import Budgets, Memory, Persona, PersonaError, WorldClock, heuristic_importance, score_memories
from ai.npc.memory import MemoryDraft
from server.world.seed import load_world_file


def test_world_file_residents_parse_and_round_trip():
    world = load_world_file()
    personas = {p.key: p for p in (Persona.from_dict(r) for r in world["residents"])}
    assert set(personas) == {"mira", "tobin", "odessa"}
    mira = personas["mira"]
    assert mira.role == "guide" and mira.home == "plaza" and "warm" in mira.traits and mira.knowledge
    assert Persona.from_dict(mira.to_dict()) == mira
    assert "You are Mira, the guide." in mira.describe()


def test_routine_follows_the_clock_and_wraps_midnight():
    mira = Persona.from_dict(load_world_file()["residents"][0])
    assert mira.room_at(10 * 60) == "plaza"
    assert mira.room_at(21 * 60) == "market"
    assert mira.room_at(23 * 60 + 30) == "plaza" and mira.room_at(2 * 60) == "plaza"
    nobody = Persona(key="x", name="X", home="library")
    assert nobody.room_at(100) == "library"


@pytest.mark.parametrize("data, msg", [
    ({"key": "Bad Key", "name": "X"}, "key must be"),
    ({"key": "x", "name": ""}, "name must be"),
    ({"key": "x", "name": "X", "routine": [{"from": "25:00", "to": "01:00", "room": "plaza"}]}, "time must be"),
    ({"key": "x", "name": "X", "routine": [{"from": "01:00"}]}, "a routine entry needs"),
    ({"key": "x", "name": "X", "persona": {"traits": 5}}, "traits must be"),
])
def test_bad_personas_say_what_is_wrong(data, msg):
    with pytest.raises(PersonaError, match=msg):
        Persona.from_dict(data)


def test_world_clock_scaled_and_utc():
    t = [0.0]
    clock = WorldClock("scaled", 1.0, now=lambda: t[0])  # 1 real minute = 1 world hour
    assert clock.label() == "00:00"
    t[0] = 60 * 10  # ten real minutes
    assert clock.label() == "10:00" and clock.part_of_day() == "morning"
    t[0] = 60 * 25
    assert clock.label() == "01:00"
    utc = WorldClock("utc", now=lambda: 3600 * 13.5)
    assert utc.label() == "13:30"
    assert WorldClock("scaled", 1.0, offset_minutes=90, now=lambda: 0).label() == "01:30"
    with pytest.raises(ValueError):
        WorldClock("lunar")


def test_budgets_shed_background_first_and_count_calls():
    t = [0.0]
    b = Budgets(per_resident=10, world=100, background_reserve=0.3, now=lambda: t[0])
    # background may use the bucket down to the reserve (30%): 7 calls of 10
    assert sum(b.take("a", Priority.BACKGROUND) for _ in range(10)) == 7
    # a person's reply may still spend the rest
    assert sum(b.take("a", Priority.NPC_REPLY) for _ in range(10)) == 3
    assert not b.take("a", Priority.NPC_REPLY)
    assert b.take("b", Priority.NPC_REPLY)  # another resident has its own bucket
    t[0] = 60.0  # a minute later the bucket is full again
    assert b.take("a", Priority.NPC_REPLY)
    snap = b.snapshot()
    assert snap["calls"]["a"] == 11 and snap["shed"]["a"] == 3 + 7 + 1


def test_world_budget_and_a_busy_queue_stop_background():
    depth = [0]
    b = Budgets(per_resident=100, world=10, queue_depth=lambda: depth[0], busy_queue=5, now=lambda: 0.0)
    assert sum(b.take(f"r{i}", Priority.NPC_REPLY) for i in range(20)) == 10  # the world's bucket is shared
    b2 = Budgets(per_resident=100, world=100, queue_depth=lambda: depth[0], busy_queue=5, now=lambda: 0.0)
    depth[0] = 9
    assert not b2.take("a", Priority.BACKGROUND) and b2.take("a", Priority.NPC_REPLY)


def test_scoring_normalises_each_component():
    now = datetime.now(UTC)

    def m(i, hours, imp, sim):
        t = now - timedelta(hours=hours)
        return Memory(i, "observation", f"m{i}", imp, t, t, similarity=sim)

    got = score_memories([m(1, 1, 1, 0.1), m(2, 50, 9, 0.2), m(3, 10, 5, 0.9)], now=now)
    parts = {x.id: x.parts for x in got}
    assert parts[1]["recency"] == 1.0 and parts[2]["recency"] == 0.0
    assert parts[2]["importance"] == 1.0 and parts[1]["importance"] == 0.0
    assert parts[3]["relevance"] == 1.0 and parts[1]["relevance"] == 0.0
    # memories a moment apart are not told apart by recency
    close = score_memories([m(4, 0.0001, 3, None), m(5, 0.0002, 3, None)], now=now)
    assert abs(close[0].parts["recency"] - close[1].parts["recency"]) < 0.05


def test_heuristic_importance():
    low = heuristic_importance(MemoryDraft("observation", "Bo: nice weather", meta={"event": "overheard"}))
    sale = heuristic_importance(MemoryDraft("observation", "Ana bought a lantern", meta={"event": "purchase"}))
    personal = heuristic_importance(MemoryDraft("observation", "Ana said: my name is Ana and I love painting",
                                                meta={"event": "said"}))
    assert low < sale and low < personal and 1 <= low and personal <= 10
