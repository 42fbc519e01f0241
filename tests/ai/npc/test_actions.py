"""Parsing what a model says into a reply and actions (canned outputs of the kinds small models
produce), and validating actions against the world: real items in stock, real rooms."""

from __future__ import annotations

import pytest

from ai.npc import Action, match_room, match_sku, parse_reply, validate

STOCK = {"lantern": {"name": "Brass lantern", "price": 120, "stock": 25},
         "oil": {"name": "Lamp oil flask", "price": 15, "stock": 0},
         "map": {"name": "Map of Townsquare", "price": 40, "stock": 50}}
ROOMS = {"plaza": "The Plaza", "market": "The Market", "library": "The Library"}


@pytest.mark.parametrize("raw, say, actions, how", [
    ('{"say": "A lantern is 120 coins.", "actions": [{"type": "sell", "sku": "lantern", "qty": 1}]}',
     "A lantern is 120 coins.", [("sell", {"sku": "lantern", "qty": 1})], "json"),
    ('Sure! Here is my answer:\n```json\n{"say": "The market is east.", "actions": [{"type": "give_directions", '
     '"room": "market"}]}\n```\nHope that helps.', "The market is east.",
     [("give_directions", {"room": "market"})], "json"),
    ("{'say': 'Hello there!', 'actions': [{'type': 'emote', 'name': 'wave'}], 'end': False}", "Hello there!",
     [("emote", {"name": "wave"})], "repaired"),
    ('{"say": "Take this map.", "actions": [{"type": "sell", "sku": "map", "qty": 1},], }', "Take this map.",
     [("sell", {"sku": "map", "qty": 1})], "repaired"),
    ('{say: "Bye now!", end: true}', "Bye now!", [], "repaired"),
    ('{"reply": "Follow me.", "action": {"type": "move_to", "room": "library"}}', "Follow me.",
     [("move_to", {"room": "library"})], "json"),
    ('{"say": "I\'ll wrap it up.", "actions": ["emote:bow", "sell lantern"]}', "I'll wrap it up.",
     [("emote", {"name": "bow"}), ("sell", {"sku": "lantern"})], "json"),
    ('{"say": "One moment, I am counting the', "One moment, I am counting the", [], "salvaged"),
    ("Tobin: Welcome, friend! Lanterns are my pride.", "Welcome, friend! Lanterns are my pride.", [], "text"),
    ('{"say": "Two maps!", "actions": [{"action": "offer", "item": "map", "quantity": "two"}]}', "Two maps!",
     [("sell", {"sku": "map", "qty": "two"})], "json"),
    ('{"thought": "they want tea"} {"say": "Tea is 5 coins."}', "Tea is 5 coins.", [], "json"),
    ("", "", [], "text"),
])
def test_parse_reply(raw, say, actions, how):
    r = parse_reply(raw, speaker_names=["Tobin"])
    assert r.text == say
    assert [(a.kind, a.args) for a in r.actions] == actions
    assert r.meta["parsed"] == how


def test_parse_end_and_long_text():
    r = parse_reply('{"say": "Goodbye!", "actions": [], "end": true}')
    assert r.end and r.text == "Goodbye!"
    long = "word " * 200
    assert len(parse_reply(long).text) <= 401


def test_match_sku_and_room():
    assert match_sku("lanterns", STOCK) == "lantern"
    assert match_sku("lamp oil", STOCK) == "oil"
    assert match_sku("a map of the town", STOCK) == "map"
    assert match_sku("sword", STOCK) is None
    assert match_room("the market", ROOMS) == "market"
    assert match_room("The Library", ROOMS) == "library"
    assert match_room("Plaza", ROOMS) == "plaza"
    assert match_room("the moon", ROOMS) is None


def test_validate_keeps_what_the_world_allows():
    ok, bad = validate([
        Action("sell", {"sku": "lanterns", "qty": "2"}),
        Action("give_directions", {"room": "The Market"}),
        Action("emote", {"name": "WAVE"}),
        Action("move_to", {"to": "speaker"}),
    ], stock=STOCK, rooms=ROOMS, here="plaza")
    assert [(a.kind, a.args) for a in ok] == [("sell", {"sku": "lantern", "qty": 2}),
                                              ("give_directions", {"room": "market"}),
                                              ("emote", {"name": "wave"}), ("move_to", {"to": "speaker"})]
    assert bad == []


@pytest.mark.parametrize("action, reason", [
    (Action("sell", {"sku": "oil", "qty": 1}), "out of stock"),
    (Action("sell", {"sku": "lantern", "qty": 26}), "qty must be 1 to 20"),
    (Action("sell", {"sku": "lantern", "qty": 21}), "qty must be 1 to 20"),
    (Action("sell", {"sku": "sword"}), "does not sell 'sword'"),
    (Action("sell", {"sku": "lantern", "qty": True}), "qty must be 1 to 20"),
    (Action("give_directions", {"room": "the moon"}), "no room 'the moon'"),
    (Action("move_to", {"room": "plaza"}), "already there"),
    (Action("emote", {"name": "explode"}), "emote must be one of"),
    (Action("fly", {}), "unknown action 'fly'"),
])
def test_validate_refuses(action, reason):
    ok, bad = validate([action], stock=STOCK, rooms=ROOMS, here="plaza")
    assert ok == [] and bad[0].reason.startswith(reason)


def test_a_resident_without_a_shop_sells_nothing_and_stock_is_checked():
    ok, bad = validate([Action("sell", {"sku": "lantern"})], stock=None, rooms=ROOMS)
    assert not ok and bad[0].reason == "keeps no shop"
    stock = {"lantern": {"name": "Brass lantern", "price": 120, "stock": 1}}
    ok, bad = validate([Action("sell", {"sku": "lantern", "qty": 2})], stock=stock, rooms=ROOMS)
    assert not ok and bad[0].reason == "out of stock"
    ok, bad = validate([Action("sell", {"sku": "lantern"}), Action("sell", {"sku": "lantern"})], stock=stock, rooms=ROOMS)
    assert len(ok) == 1 and bad[0].reason == "only one sell per reply"
