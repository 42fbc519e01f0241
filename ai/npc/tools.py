"""The world's actions as tools a model calls: OpenAI-style function specs, and reading the calls
back into a `Reply` whole or not at all.

A local transformers model gets `TOOLS` through its chat template and answers with Hermes/Qwen
`<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks (or one such JSON object); an
OpenAI-compatible server answers with `tool_calls`. Either way `reply_from_calls` checks each
call against its schema: a call whose arguments are malformed is repaired when that is
unambiguous (single quotes, trailing commas, a number in a string) and dropped otherwise; a call
missing a required argument is dropped. A dropped call is never executed in part, and the
actions that remain still go through `actions.validate` (real items in stock, real rooms).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .actions import EMOTES, MAX_QTY, Action, Reply, _loads, _repair

TOOLS: list[dict] = [
    {"type": "function", "function": {
        "name": "say", "description": "Say a line to the person you are talking with.",
        "parameters": {"type": "object", "properties": {
            "text": {"type": "string", "maxLength": 400},
            "end": {"type": "boolean", "description": "true when the conversation is over"}},
            "required": ["text"]}}},
    {"type": "function", "function": {
        "name": "offer", "description": "Offer one of your wares; the person must say yes before paying.",
        "parameters": {"type": "object", "properties": {
            "sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1, "maximum": MAX_QTY}},
            "required": ["sku"]}}},
    {"type": "function", "function": {
        "name": "sell", "description": "The same as offer (the person confirms before money moves).",
        "parameters": {"type": "object", "properties": {
            "sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1, "maximum": MAX_QTY}},
            "required": ["sku"]}}},
    {"type": "function", "function": {
        "name": "give_directions", "description": "Point the person to a room of the world.",
        "parameters": {"type": "object", "properties": {"room": {"type": "string"}}, "required": ["room"]}}},
    {"type": "function", "function": {
        "name": "move_to", "description": "Walk to a room of the world, or over to the person (to: speaker).",
        "parameters": {"type": "object", "properties": {"room": {"type": "string"},
                                                        "to": {"type": "string", "enum": ["speaker"]}}}}},
    {"type": "function", "function": {
        "name": "emote", "description": "A gesture.",
        "parameters": {"type": "object", "properties": {"name": {"type": "string", "enum": list(EMOTES)}},
                       "required": ["name"]}}},
    {"type": "function", "function": {
        "name": "remember", "description": "Remember something the person told you about themselves.",
        "parameters": {"type": "object", "properties": {
            "fact": {"type": "string", "enum": ["is", "from", "likes"]}, "value": {"type": "string", "maxLength": 60}},
            "required": ["fact", "value"]}}},
]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)


def calls_in(text: str) -> list[dict]:
    """The calls a model wrote as text: `<tool_call>` blocks, else a JSON list or object of calls."""
    blocks = [m.group(1) for m in _BLOCK.finditer(text or "")]
    if not blocks and (text or "").strip().startswith(("{", "[")):
        blocks = [text.strip()]
    out: list[dict] = []
    for raw in blocks:
        obj = _loads(raw)
        if obj is None:
            obj = _loads(_repair(raw))
        items = obj if isinstance(obj, list) else [obj]
        out += [o for o in items if isinstance(o, dict) and "name" in o]
    return out


def _arguments(raw: Any) -> dict | None:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        obj = _loads(raw)
        if obj is None:
            obj = _loads(_repair(raw))
        return obj if isinstance(obj, dict) else None
    return {} if raw is None else None


def _conform(name: str, args: dict) -> dict | None:
    """Arguments that fit the tool's schema (numbers in strings read as numbers); None: drop the call."""
    schema = SCHEMAS.get(name)
    if schema is None:
        return None
    props = schema.get("properties", {})
    out: dict[str, Any] = {}
    for key, spec in props.items():
        if key not in args:
            continue
        v = args[key]
        kind = spec.get("type")
        if kind == "integer":
            if isinstance(v, str) and v.strip().isdigit():
                v = int(v.strip())
            if not isinstance(v, int) or isinstance(v, bool) or not spec.get("minimum", v) <= v <= spec.get("maximum", v):
                return None
        elif kind == "string":
            if not isinstance(v, str) or not v.strip():
                return None
            v = v.strip()[: spec.get("maxLength", 400)]
            if "enum" in spec and v not in spec["enum"]:
                return None
        elif kind == "boolean":
            v = bool(v)
        out[key] = v
    if any(r not in out for r in schema.get("required", [])):
        return None
    return out


def reply_from_calls(calls: list[dict]) -> Reply:
    """A Reply from tool calls ({"name", "arguments"} or OpenAI's {"function": {...}}); bad calls dropped."""
    text, end, actions, dropped, fact = [], False, [], 0, {}
    for call in calls:
        fn = call.get("function", call) if isinstance(call, dict) else {}
        name = fn.get("name") if isinstance(fn, dict) else None
        args = _arguments(fn.get("arguments", fn.get("parameters"))) if isinstance(fn, dict) else None
        args = _conform(str(name), args) if args is not None else None
        if args is None:
            dropped += 1
            continue
        if name == "say":
            text.append(args["text"])
            end = end or bool(args.get("end"))
        elif name in ("offer", "sell"):
            actions.append(Action("sell", {"sku": args["sku"], "qty": int(args.get("qty", 1))}))
        elif name == "remember":
            fact[args["fact"]] = args["value"]
        elif name == "move_to":
            if "room" in args:
                actions.append(Action("move_to", {"room": args["room"]}))
            elif args.get("to") == "speaker":
                actions.append(Action("move_to", {"to": "speaker"}))
            else:
                dropped += 1
        else:
            actions.append(Action(str(name), args))
    meta: dict[str, Any] = {"parsed": "tools", "dropped_calls": dropped}
    if fact:
        meta["fact"] = fact
    return Reply(" ".join(text), actions, end, meta)


def as_json(calls: list[dict]) -> str:
    return json.dumps(calls, ensure_ascii=False)
