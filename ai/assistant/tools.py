"""The assistant's declared tools: the one list a model calls, the intent parser produces, the
server runs and the client shows. Each tool has JSON-schema arguments and says whether the
person must confirm it first (it moves money or acts on another person)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_AMOUNT = 1_000_000  # coins in one tip; the ledger has its own, larger bound
MAX_MUTE_MINUTES = 24 * 60


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    confirm: bool = False  # shown to the person and run only after assistant:confirm

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters,
                "confirm": self.confirm}

    def openai(self) -> dict[str, Any]:
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


NAME = {"type": "string", "minLength": 1, "maxLength": 64}

TOOLS: tuple[Tool, ...] = (
    Tool("go_to", "Take the person to a room of the world (join it).", _obj({"room": NAME}, ("room",))),
    Tool("walk_to", "Walk the person to a named place of a room (the fountain, Tobin's stall); "
                    "room: the place's room when it is not the one they are in.",
         _obj({"place": NAME, "room": NAME}, ("place",))),
    Tool("tip", "Give coins from the person's wallet to another person.",
         _obj({"person": NAME, "amount": {"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT},
               "memo": {"type": "string", "maxLength": 200}}, ("person", "amount")), confirm=True),
    Tool("shop", "What the shops in a room sell (default: the person's room).", _obj({"room": NAME})),
    Tool("buy", "Buy an item from a shop in the person's room.",
         _obj({"item": NAME, "qty": {"type": "integer", "minimum": 1, "maximum": 99}}, ("item",)), confirm=True),
    Tool("who_is_in", "Who is in a room (default: the person's room).", _obj({"room": NAME})),
    Tool("catch_up", "What happened lately: the recent lines of the person's room and their wallet.", _obj({})),
    Tool("balance", "How many coins the person has.", _obj({})),
    Tool("mute", "Mute another person in the world (moderators only).",
         _obj({"person": NAME, "minutes": {"type": "integer", "minimum": 1, "maximum": MAX_MUTE_MINUTES}},
              ("person",)), confirm=True),
    Tool("report", "Report another person to the moderators, or their last line (what: line).",
         _obj({"person": NAME, "what": {"type": "string", "enum": ["line", "person"]},
               "reason": {"type": "string", "maxLength": 300}}, ("person",)), confirm=True),
)
BY_NAME = {t.name: t for t in TOOLS}


class BadCall(ValueError):
    """A tool call that is not on the list or whose arguments break its schema."""


def _check(value: Any, schema: dict[str, Any], where: str) -> Any:
    kind = schema.get("type")
    if kind == "string":
        if not isinstance(value, str):
            raise BadCall(f"{where} must be text")
        value = " ".join(value.split())
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 10**6):
            raise BadCall(f"{where} has the wrong length")
        if "enum" in schema and value not in schema["enum"]:
            raise BadCall(f"{where} must be one of {', '.join(schema['enum'])}")
        return value
    if kind == "integer":
        if isinstance(value, str) and value.strip().isdigit():  # a model's "20"
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadCall(f"{where} must be a whole number")
        if value < schema.get("minimum", -10**18) or value > schema.get("maximum", 10**18):
            raise BadCall(f"{where} is out of range")
        return value
    raise BadCall(f"{where}: unsupported schema")


def validate(name: Any, args: Any) -> dict[str, Any]:
    """The call's arguments, cleaned, or BadCall: unknown tool, unknown or missing argument, wrong type."""
    tool = BY_NAME.get(name) if isinstance(name, str) else None
    if tool is None:
        raise BadCall(f"no tool {name!r}")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise BadCall("arguments must be an object")
    props = tool.parameters["properties"]
    out: dict[str, Any] = {}
    for key, value in args.items():
        if key not in props:
            raise BadCall(f"{name} takes no argument {key!r}")
        if value is None:
            continue
        out[key] = _check(value, props[key], key)
    missing = [k for k in tool.parameters["required"] if k not in out]
    if missing:
        raise BadCall(f"{name} needs {', '.join(missing)}")
    return out


def openai_tools() -> list[dict[str, Any]]:
    return [t.openai() for t in TOOLS]
