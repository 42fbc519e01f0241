"""Database refusals -> protocol errors. The SQL functions raise their own SQLSTATEs (see
migration 0003_economy); constraint violations that back them up map to the same codes."""

from __future__ import annotations

from typing import Any

from server.protocol import ProtocolError

SQLSTATE_CODES = {
    "TS001": "insufficient_funds",
    "TS002": "frozen",
    "TS003": "conflict",
    "TS004": "not_found",
    "TS005": "invalid_payload",
    "TS006": "forbidden",  # append-only / balance-through-entries guards: never reached by the service
}
RETRYABLE = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected


def pg_error(exc: BaseException) -> Any | None:
    """The asyncpg error behind `exc` (raw asyncpg, or wrapped by SQLAlchemy), if any."""
    seen = 0
    while exc is not None and seen < 5:
        if hasattr(exc, "sqlstate") and hasattr(exc, "constraint_name"):
            return exc
        exc = getattr(exc, "orig", None) or exc.__cause__
        seen += 1
    return None


def sqlstate(exc: BaseException) -> str | None:
    err = pg_error(exc)
    return getattr(err, "sqlstate", None) if err is not None else None


def to_protocol_error(exc: BaseException) -> ProtocolError | None:
    """A ProtocolError for a refusal we know, else None (the caller re-raises)."""
    err = pg_error(exc)
    if err is None:
        return None
    state, constraint = err.sqlstate, getattr(err, "constraint_name", None) or ""
    message = getattr(err, "message", None) or str(err)
    if state in SQLSTATE_CODES:
        return ProtocolError(SQLSTATE_CODES[state], message)
    if state == "23514" and constraint.startswith("ck_ledger_accounts_") and constraint.endswith("nonnegative"):
        return ProtocolError("insufficient_funds", "insufficient funds")
    if state == "23505" and constraint == "uq_ledger_transactions_reverses":
        return ProtocolError("conflict", "that transaction was already reversed")
    if state == "23505" and constraint == "uq_ledger_transactions_initiator_id":
        return ProtocolError("conflict", "that idempotency key is already in use")
    if state == "22003":  # numeric out of range: an amount beyond bigint slipped past validation
        return ProtocolError("invalid_payload", "amount out of range")
    return None
