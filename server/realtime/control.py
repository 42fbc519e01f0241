"""Control messages between nodes, typed: one frozen dataclass per kind, each naming its `op`.

A domain declares its messages (`server/world/controls.py`, ...), sends them with
`ctx.realtime.control(Kick(user_id=..., reason=...))` and registers a handler per type with
`ctx.realtime.handle(Kick, fn)`; `fn` gets the typed message on every node (this one too).

On the wire (the room bus, Redis) a message stays the flat dict it always was, `{"op", <fields>}`
plus the bus's `"k": "ctl"` and `"n"` (the sending node), so nodes of different versions still
understand each other: `from_wire` takes the fields it knows and ignores the rest (a newer node's
additions), and a missing or mistyped field is `BadControl` (logged and dropped by the facade).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar, Self


class BadControl(ValueError):
    """A control message that cannot be read: not a dict, another op, a field missing or of the wrong type."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Control:
    """Base of every control message. Subclasses: `@dataclass(frozen=True)`, `op = "domain.what"`,
    fields of JSON types (str, int, float, bool, dict, list, `X | None`, Any)."""

    op: ClassVar[str]
    # The node that sent it (the bus stamps "n"); set on receipt, not a field on the wire.
    sender: str = dataclasses.field(default="", compare=False)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op}
        for f in dataclasses.fields(self):
            if f.name != "sender":
                out[f.name] = getattr(self, f.name)
        return out

    @classmethod
    def from_wire(cls, raw: Any) -> Self:
        if not isinstance(raw, dict) or raw.get("op") != cls.op:
            raise BadControl(f"not a {cls.op!r} message: {raw!r:.200}")
        hints = _hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "sender":
                continue
            if f.name not in raw:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise BadControl(f"{cls.op}: {f.name} is missing")
                continue
            value = raw[f.name]
            if not _fits(value, hints[f.name]):
                raise BadControl(f"{cls.op}: {f.name} is not {hints[f.name]}: {value!r:.100}")
            values[f.name] = value
        sender = raw.get("n")
        return cls(**values, sender=sender if isinstance(sender, str) else "")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _fits(value: Any, hint: Any) -> bool:
    """Whether a value read from JSON fits a field's annotation (the JSON types only)."""
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin is list or hint is list:
        args = typing.get_args(hint)
        return isinstance(value, list | tuple) and (not args or all(_fits(v, args[0]) for v in value))
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return isinstance(value, origin or hint)
