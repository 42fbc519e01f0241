"""The wire contract's error codes and the one shape every ack takes (design.md section 3)."""

from __future__ import annotations

import math
from typing import Any

ERROR_CODES = frozenset(
    {
        "invalid_payload",
        "unauthorized",
        "forbidden",
        "not_found",
        "rate_limited",
        "room_full",
        "muted",
        "banned",
        "insufficient_funds",
        "frozen",
        "conflict",
        "overloaded",
        "internal",
        "unavailable",
    }
)

# REST mirrors the socket codes with these HTTP statuses.
HTTP_STATUS = {
    "invalid_payload": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "rate_limited": 429,
    "room_full": 409,
    "muted": 403,
    "banned": 403,
    "insufficient_funds": 409,
    "frozen": 409,
    "overloaded": 503,
    "internal": 500,
    "unavailable": 503,  # the database is restarting: retry shortly
}


class ProtocolError(Exception):
    """A refusal the client is told about: services raise it, transports shape it."""

    def __init__(self, code: str, message: str, **extra: Any):
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        err = {"code": self.code, "message": self.message}
        err.update(self.extra)
        return err


def ok(**result: Any) -> dict[str, Any]:
    return {"ok": True, **result}


def error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": ProtocolError(code, message, **extra).to_dict()}


def cents(v: float) -> float:
    """`v` to 1/100 (positions on the wire and in rooms): round(v, 2) without its decimal conversion,
    a third of the time; the same value but at exact binary ties (such as 0.125), which go up."""
    return math.floor(v * 100 + 0.5) / 100
