"""The text rule on the wire: a control character in any string of any socket event is
`invalid_payload` (or a clean result), never `internal`, and changes nothing."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from server.economy.ledger import check_key
from server.protocol import ProtocolError
from tests.conftest import call
from tests.realtime.conftest import person

BAD = ("a\x00b", "\x07", "x\x1by", "x\u0085y")


def _sample(node: dict, defs: dict) -> Any:
    """A plausible value for a JSON Schema node (so the one poisoned field is what gets judged)."""
    if "$ref" in node:
        return _sample(defs[node["$ref"].split("/")[-1]], defs)
    if "anyOf" in node:
        return _sample(next(n for n in node["anyOf"] if n.get("type") != "null"), defs)
    if "enum" in node:
        return node["enum"][0]
    t = node.get("type")
    if t == "string":
        return str(uuid.uuid4()) if node.get("format") == "uuid" else "plaza"
    if t == "integer":
        return max(1, node.get("minimum", 1))
    if t == "number":
        return 1.0
    if t == "boolean":
        return False
    if t == "array":
        return []
    if t == "object":
        return {k: _sample(v, defs) for k, v in node.get("properties", {}).items()}
    return "x"


def _string_paths(node: dict, defs: dict, path: tuple = ()) -> list[tuple]:
    """Paths to every string field of a schema, nested models included."""
    if "$ref" in node:
        return _string_paths(defs[node["$ref"].split("/")[-1]], defs, path)
    if "anyOf" in node:
        return [p for n in node["anyOf"] for p in _string_paths(n, defs, path)][:1] or []
    if node.get("type") == "object":
        return [p for k, v in node.get("properties", {}).items() for p in _string_paths(v, defs, path + (k,))]
    if node.get("type") == "string" or "enum" in node:
        return [path]
    return []


def _poisoned(schema, path: tuple, bad: str) -> dict:
    js = schema.model_json_schema()
    defs = js.get("$defs", {})
    payload = {k: _sample(v, defs) for k, v in js.get("properties", {}).items()}
    target = payload
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = bad
    return payload


async def test_a_control_character_in_any_string_of_any_event_is_invalid_payload(world, caplog):
    caplog.set_level(logging.ERROR)
    hub = world.ctx.hub
    account, client, inbox, _ = await person(world, "plaza")
    tried = []
    for event, schema in sorted(hub.schemas.items()):
        js = schema.model_json_schema()
        for path in _string_paths(js, js.get("$defs", {})):
            for bad in BAD[:1] if len(tried) > 40 else BAD[:2]:
                payload = _poisoned(schema, path, bad)
                r = await call(client, event, payload)
                tried.append((event, path, r["error"]["code"]))
                assert r["ok"] is False, (event, path, r)
                assert r["error"]["code"] in ("invalid_payload", "rate_limited"), (event, path, r)
                if r["error"]["code"] == "invalid_payload":
                    assert "control character" in r["error"]["message"], (event, path, r)
    events = {e for e, _, code in tried if code == "invalid_payload"}
    assert events == {e for e, _, _ in tried}  # every event with text was judged at least once, not just limited
    # The events people type text into are all covered (others' events come along as they are added).
    assert {"chat:send", "emote", "wallet:transfer", "shop:buy", "report", "profile:update"} <= events
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "a handler failed"
    assert not inbox.items["chat:message"]  # nothing was said


async def test_newlines_are_fine_in_chat_but_not_in_names(world):
    account, client, inbox, _ = await person(world, "plaza")
    r = await call(client, "chat:send", {"text": "two\nlines"})
    assert r["ok"], r
    r = await call(client, "emote", {"name": "wa\nve"})
    assert r["ok"] is False and r["error"]["code"] == "invalid_payload"
    r = await call(client, "profile:update", {"display_name": "Ann\u2028B"})
    assert r["ok"] is False and r["error"]["code"] == "invalid_payload"


async def test_bidi_controls_are_removed_from_names(world):
    account, client, inbox, _ = await person(world, "plaza")
    r = await call(client, "profile:update", {"display_name": "Ann\u202eB"})
    assert r["ok"] and r["profile"]["display_name"] == "AnnB"


@pytest.mark.parametrize("key", ["k\x00", "\x1b[31m", "k\u0085"])
def test_idempotency_keys_follow_the_text_rule(key):
    with pytest.raises(ProtocolError) as e:
        check_key(key)
    assert e.value.code == "invalid_payload"
    assert check_key("order-1") == "order-1"
