"""The Ledger: a double-entry currency ledger in PostgreSQL that never loses or invents money.

The rules are enforced by the database (migration 0003_economy): wallets never go negative,
entries are append-only, every transaction sums to zero at commit, balances change only
through entries. Each money movement is one call of a PL/pgSQL function, so a transfer is one
round trip: idempotency claim, row locks in account-id order, checks, entries, balances.

Hot paths (transfer, balance, history) use a small asyncpg pool of their own (pgpool.py): one
autocommit statement per call, no BEGIN/COMMIT round trips, no pre-ping, no reset. Admin acts go through a
SQLAlchemy session so that the act and its audit-log entry commit together.
No Socket.IO or HTTP objects here; errors are ProtocolErrors with the protocol's codes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

import server.accounts.models  # noqa: F401  (the audit log's and wallets' foreign keys name users)
from server.audit import record
from server.db.health import DatabaseFull, DatabaseUnavailable, is_connection_loss, is_disk_full
from server.db.retry import ride_out
from server.economy.errors import RETRYABLE, sqlstate, to_protocol_error
from server.economy.invariants import AuditCheck, run_checks
from server.economy.pgpool import StatementPool
from server.protocol import ProtocolError
from server.text import clean_text

log = logging.getLogger(__name__)

MAX_AMOUNT = 10**12  # far below 2**63: sums of many amounts stay exact in bigint
MAX_MEMO = 200
MAX_REASON = 500
MAX_KEY = 128
MAX_RETRIES = 5
T = TypeVar("T")
WALLET_NOT_OPEN = "TS007"


class _WalletNotOpen(Exception):
    """ledger_transfer met a user whose wallet is not open yet (rolled back; open it and retry)."""


# -- validation ---------------------------------------------------------------------------------
def check_amount(amount: Any, what: str = "amount") -> int:
    """A positive whole number of the smallest unit: no bool, float, string or huge values."""
    if type(amount) is not int:
        raise ProtocolError("invalid_payload", f"{what} must be a whole number, not {type(amount).__name__}")
    if amount <= 0:
        raise ProtocolError("invalid_payload", f"{what} must be greater than 0")
    if amount > MAX_AMOUNT:
        raise ProtocolError("invalid_payload", f"{what} must be at most {MAX_AMOUNT}")
    return amount


def check_key(key: Any) -> str:
    """An idempotency key under the text rule (a NUL would fail in the database, not here)."""
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        raise ProtocolError("invalid_payload", f"idempotency_key must be a non-empty string of at most {MAX_KEY} characters")
    clean_text(key, "idempotency_key")
    return key


def check_text(value: Any, what: str, max_len: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ProtocolError("invalid_payload", f"{what} must be a string")
    value = value.strip()
    if len(value) > max_len:
        raise ProtocolError("invalid_payload", f"{what} must be at most {max_len} characters")
    if required and len(value) < 3:
        raise ProtocolError("invalid_payload", f"{what} is required (at least 3 characters)")
    if any(ord(c) < 32 and c not in "\t\n" for c in value):
        raise ProtocolError("invalid_payload", f"{what} has control characters")
    return value


def as_uuid(value: Any, what: str = "user id") -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise ProtocolError("invalid_payload", f"{what} is not a valid id") from None


def fingerprint(*parts: Any) -> bytes:
    """The hash of a request's parameters: the same key with other parameters is a conflict."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(UTC).isoformat() if t else None


# -- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Transfer:
    transaction_id: uuid.UUID
    from_user: uuid.UUID
    to_user: uuid.UUID
    amount: int
    memo: str
    balance: int  # the sender's balance right after this transfer (the first result, on a replay)
    to_balance: int
    replayed: bool
    created_at: datetime


@dataclass
class AuditReport:
    ok: bool
    checks: list[AuditCheck]
    figures: dict[str, Any]
    checked_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        lines = [f"economy audit at {self.checked_at}: {'OK' if self.ok else 'FAILED'}"]
        for c in self.checks:
            lines.append(f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.description}")
            for row in c.offending:
                lines.append("      " + ", ".join(f"{k}={v}" for k, v in row.items()))
        f = self.figures
        lines.append(f"  supply {f['supply']} (minted {f['minted']} - burned {f['burned']}), "
                     f"circulating {f['circulating']}; {f['accounts']} accounts, {f['transactions']} "
                     f"transactions, {f['entries']} entries")
        return "\n".join(lines)


def _jsonable(row: Any) -> dict[str, Any]:
    out = {}
    for k, v in dict(row).items():
        if isinstance(v, uuid.UUID):
            v = str(v)
        elif isinstance(v, datetime):
            v = _iso(v)
        elif isinstance(v, bytes):
            v = v.hex()
        elif isinstance(v, Decimal):  # sum() of bigint
            v = int(v)
        out[k] = v
    return out


# -- SQL ----------------------------------------------------------------------------------------
SQL_TRANSFER = "SELECT * FROM ledger_transfer($1::uuid, $2::uuid, $3::bigint, $4::text, $5::text, $6::bytea, $7::bigint)"
SQL_BALANCE = "SELECT id, balance, frozen FROM ledger_accounts WHERE owner_id = $1"
SQL_WALLET = "SELECT ledger_wallet($1::uuid, $2::bigint)"
SQL_HISTORY = """
SELECT e.id AS entry_id, t.id AS transaction_id, t.kind, e.amount, e.balance_after AS balance, t.memo,
       t.created_at, t.reverses, c.kind AS cp_kind, c.key AS cp_key, c.owner_id AS cp_user, c.username AS cp_name
  FROM ledger_entries e
  JOIN ledger_transactions t ON t.id = e.transaction_id
  LEFT JOIN LATERAL (
       SELECT a.kind, a.key, a.owner_id, u.username
         FROM ledger_entries o
         JOIN ledger_accounts a ON a.id = o.account_id
         LEFT JOIN users u ON u.id = a.owner_id
        WHERE o.transaction_id = e.transaction_id AND o.account_id <> e.account_id
        ORDER BY abs(o.amount) DESC, o.account_id
        LIMIT 1) c ON true
 WHERE e.account_id = $1 AND ($2::bigint IS NULL OR e.id < $2)
 ORDER BY e.id DESC
 LIMIT $3
"""
SQL_ENTRIES_OF = """
SELECT e.transaction_id, e.account_id, a.kind AS account_kind, a.key AS account_key, a.owner_id AS user_id,
       u.username, e.amount, e.balance_after AS balance
  FROM ledger_entries e
  JOIN ledger_accounts a ON a.id = e.account_id
  LEFT JOIN users u ON u.id = a.owner_id
 WHERE e.transaction_id = ANY($1::uuid[])
 ORDER BY e.id
"""


class Ledger:
    """The currency ledger. `start()` opens its pool (done lazily on first use as well)."""

    def __init__(self, db, *, starting_grant: int = 1000, currency: str = "coins", pool_size: int = 10,
                 max_retries: int = MAX_RETRIES, grant_policy: dict[str, int | None] | None = None):
        self.db = db
        self.starting_grant = int(starting_grant)
        # {"daily_budget", "per_address_per_day"}: written at start when the database has no policy yet.
        self.initial_grant_policy = grant_policy
        self.currency = currency
        self.pool_size = pool_size
        self.max_retries = max_retries
        self._pool: StatementPool | None = None
        self._pool_lock = asyncio.Lock()
        self.retries = 0  # serialization failures / deadlocks retried (a figure for /metrics and benches)

    # -- lifecycle ------------------------------------------------------------------------------
    @staticmethod
    def asyncpg_dsn(url: str) -> str:
        return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def start(self) -> None:
        pool = await self.pool()
        if self.initial_grant_policy is not None:
            p = self.initial_grant_policy
            await pool.execute("INSERT INTO ledger_grant_policy (id, daily_budget, per_address_daily) "
                               "VALUES (true, $1, $2) ON CONFLICT (id) DO NOTHING",
                               p.get("daily_budget"), p.get("per_address_per_day"))

    async def pool(self) -> StatementPool:
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    pool = StatementPool(self.asyncpg_dsn(self.db.url), max_size=self.pool_size, command_timeout=60,
                                         server_settings={"application_name": "townsquare-ledger"})
                    await pool.fetchval("SELECT 1")  # fail here, clearly, when the database is unreachable
                    self._pool = pool
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    # -- plumbing -------------------------------------------------------------------------------
    async def _retrying(self, attempt_fn: Callable[[], Awaitable[T]]) -> T:
        """Runs one attempt at a time; retries serialization failures and deadlocks a bounded
        number of times (each attempt rolled back entirely), maps refusals to ProtocolErrors."""
        for attempt in range(self.max_retries + 1):
            try:
                return await attempt_fn()
            except ProtocolError:
                raise
            except Exception as e:
                if is_connection_loss(e):  # the database went away: `unavailable`, and a retry with the key is safe
                    raise DatabaseUnavailable() from e
                if is_disk_full(e):  # rolled back whole; a clear `unavailable`, not `internal`
                    raise DatabaseFull() from e
                state = sqlstate(e)
                if state == WALLET_NOT_OPEN:
                    raise _WalletNotOpen() from None
                if state in RETRYABLE and attempt < self.max_retries:
                    self.retries += 1
                    await asyncio.sleep(random.uniform(0, 0.002 * 2**attempt))
                    continue
                mapped = to_protocol_error(e)
                if mapped is not None:
                    raise mapped from None
                if state in RETRYABLE:
                    raise ProtocolError("conflict", "the ledger is busy, try again") from None
                raise
        raise AssertionError("unreachable")

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        pool = await self.pool()
        # Every ledger statement is a read or carries an idempotency key: safe to run again after a restart.
        return await ride_out(self.db, lambda: self._retrying(lambda: pool.fetchrow(sql, *args)))

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        pool = await self.pool()
        return await ride_out(self.db, lambda: self._retrying(lambda: pool.fetch(sql, *args)))

    async def _in_session(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """One SQLAlchemy unit of work (committed on success), retried as a whole."""
        async def attempt() -> T:
            async with self.db.session() as s:
                return await fn(s)
        return await ride_out(self.db, lambda: self._retrying(attempt))

    # -- wallets --------------------------------------------------------------------------------
    async def on_user_created(self, session: AsyncSession, user) -> None:
        """accounts.on_user_created hook: the wallet and its starting grant commit with the user."""
        try:
            await session.execute(text("SELECT ledger_wallet(:u, :g)"), {"u": user.id, "g": self.starting_grant})
        except Exception as e:
            mapped = to_protocol_error(e)
            if mapped is not None:
                raise mapped from None
            raise

    async def open_wallet(self, user_id: Any) -> int:
        """The user's wallet account id, opened with the starting grant if it did not exist."""
        return await self._fetchrow_val(SQL_WALLET, as_uuid(user_id), self.starting_grant)

    async def _fetchrow_val(self, sql: str, *args: Any) -> Any:
        row = await self._fetchrow(sql, *args)
        return row[0] if row is not None else None

    async def wallet(self, user_id: Any) -> dict[str, Any]:
        """{"account_id", "balance", "frozen"} of a user's wallet (opened on first touch)."""
        uid = as_uuid(user_id)
        row = await self._fetchrow(SQL_BALANCE, uid)
        if row is None:
            await self.open_wallet(uid)
            row = await self._fetchrow(SQL_BALANCE, uid)
        return {"account_id": row["id"], "balance": row["balance"], "frozen": row["frozen"]}

    async def balance(self, user_id: Any) -> int:
        return (await self.wallet(user_id))["balance"]

    # -- transfers ------------------------------------------------------------------------------
    async def transfer(self, from_user: Any, to_user: Any, amount: Any, *, idempotency_key: Any,
                       memo: Any = "") -> Transfer:
        """User to user (a tip). The same key again returns the first result and moves nothing;
        the same key with other parameters is a `conflict`."""
        amount = check_amount(amount)
        key = check_key(idempotency_key)
        memo = check_text(memo, "memo", MAX_MEMO)
        src, dst = as_uuid(from_user), as_uuid(to_user, "recipient")
        if src == dst:
            raise ProtocolError("invalid_payload", "you cannot send money to yourself")
        fp = fingerprint("transfer", dst, amount, memo)
        try:
            row = await self._fetchrow(SQL_TRANSFER, src, dst, amount, memo, key, fp, self.starting_grant)
        except _WalletNotOpen:
            # first touch: each wallet opens (with its grant) in its own short transaction
            await self.open_wallet(src)
            await self.open_wallet(dst)
            row = await self._fetchrow(SQL_TRANSFER, src, dst, amount, memo, key, fp, self.starting_grant)
        return Transfer(transaction_id=row["tx_id"], from_user=src, to_user=dst, amount=amount, memo=memo,
                        balance=row["from_balance"], to_balance=row["to_balance"], replayed=row["was_replayed"],
                        created_at=row["tx_created_at"])

    async def pay(self, user_id: Any, account: str, amount: Any, *, idempotency_key: Any, memo: Any = "") -> dict[str, Any]:
        """User to a system account of the world (a coin in the fountain): the account, a sink, is
        opened on first use. The same key again returns the first result and moves nothing."""
        amount = check_amount(amount)
        key = check_key(idempotency_key)
        memo = check_text(memo, "memo", MAX_MEMO)
        uid = as_uuid(user_id)
        if not isinstance(account, str) or not account or account in ("mint", "treasury") or ":" in account:
            raise ProtocolError("invalid_payload", "payments go to a world account such as 'fountain'")

        async def op(s: AsyncSession) -> dict[str, Any]:
            wallet = await s.scalar(text("SELECT ledger_wallet(:u, :g)"), {"u": uid, "g": self.starting_grant})
            await s.execute(text("INSERT INTO ledger_accounts (kind, key) VALUES ('sink', :k) ON CONFLICT (key) DO NOTHING"),
                            {"k": account})
            sink = await s.scalar(text("SELECT id FROM ledger_accounts WHERE key = :k"), {"k": account})
            row = await self._post(s, "purchase", uid, key, fingerprint("pay", account, amount, memo), memo,
                                   [wallet, sink], [-amount, amount])
            balance = await s.scalar(text("SELECT balance FROM ledger_accounts WHERE id = :a"), {"a": wallet})
            return {"transaction_id": str(row.tx_id), "balance": balance, "amount": amount, "account": account,
                    "memo": memo, "replayed": row.was_replayed, "created_at": _iso(row.tx_created_at)}

        return await self._in_session(op)

    async def reward(self, user_id: Any, amount: Any, *, idempotency_key: Any, memo: Any = "") -> dict[str, Any]:
        """From the treasury to a wallet (a quest's reward), kind "reward"; the key is the person's,
        so the same key again returns the first result and moves nothing. A short treasury is
        `insufficient_funds` (an admin mints into it)."""
        amount = check_amount(amount)
        key = check_key(idempotency_key)
        memo = check_text(memo, "memo", MAX_MEMO)
        uid = as_uuid(user_id)

        async def op(s: AsyncSession) -> dict[str, Any]:
            wallet = await s.scalar(text("SELECT ledger_wallet(:u, :g)"), {"u": uid, "g": self.starting_grant})
            treasury = await s.scalar(text("SELECT id FROM ledger_accounts WHERE key = 'treasury'"))
            row = await self._post(s, "reward", uid, key, fingerprint("reward", amount, memo), memo,
                                   [treasury, wallet], [-amount, amount])
            balance = await s.scalar(text("SELECT balance FROM ledger_accounts WHERE id = :a"), {"a": wallet})
            return {"transaction_id": str(row.tx_id), "balance": balance, "amount": amount, "memo": memo,
                    "replayed": row.was_replayed, "created_at": _iso(row.tx_created_at)}

        return await self._in_session(op)

    # -- history --------------------------------------------------------------------------------
    async def history(self, user_id: Any, *, before: Any = None, limit: int = 20) -> list[dict[str, Any]]:
        """The user's entries, newest first; `before` is a transaction id from a previous page."""
        if type(limit) is not int or not 1 <= limit <= 100:
            raise ProtocolError("invalid_payload", "limit must be a whole number from 1 to 100")
        account_id = (await self.wallet(user_id))["account_id"]
        before_entry = None
        if before is not None:
            tx = as_uuid(before, "before")
            before_entry = await self._fetchrow_val(
                "SELECT id FROM ledger_entries WHERE transaction_id = $1 AND account_id = $2", tx, account_id)
            if before_entry is None:
                raise ProtocolError("not_found", "before: no such transaction in this wallet")
        rows = await self._fetch(SQL_HISTORY, account_id, before_entry, limit)
        return [self._history_item(r) for r in rows]

    @staticmethod
    def _history_item(r: asyncpg.Record) -> dict[str, Any]:
        if r["cp_kind"] is None:
            counterparty = None
        elif r["cp_kind"] == "user":
            counterparty = {"kind": "user", "id": str(r["cp_user"]), "name": r["cp_name"]}
        else:
            counterparty = {"kind": r["cp_kind"], "key": r["cp_key"]}
        return {"transaction_id": str(r["transaction_id"]), "kind": r["kind"], "amount": r["amount"],
                "balance": r["balance"], "memo": r["memo"], "counterparty": counterparty,
                "reverses": str(r["reverses"]) if r["reverses"] else None, "created_at": _iso(r["created_at"])}

    # -- admin acts (each audited in the same transaction) -------------------------------------
    async def _resolve_account(self, s: AsyncSession, user_id: Any, account: Any, default: str) -> tuple[int, str, str]:
        """(account id, kind, label) for a user's wallet or a system account key."""
        if user_id is not None and account is not None:
            raise ProtocolError("invalid_payload", "give user_id or account, not both")
        if user_id is not None:
            uid = as_uuid(user_id)
            acc = await s.scalar(text("SELECT ledger_wallet(:u, :g)"), {"u": uid, "g": self.starting_grant})
            return acc, "user", str(uid)
        key = account if account is not None else default
        if not isinstance(key, str):
            raise ProtocolError("invalid_payload", "account must be a system account key")
        row = (await s.execute(text("SELECT id, kind FROM ledger_accounts WHERE key = :k"), {"k": key})).first()
        if row is None:
            raise ProtocolError("not_found", f"no system account {key!r}")
        return row.id, row.kind, key

    async def _post(self, s: AsyncSession, kind: str, actor: uuid.UUID, key: str, fp: bytes, memo: str,
                    accounts: list[int], amounts: list[int]):
        return (await s.execute(text(
            "SELECT * FROM ledger_post(:kind, :actor, :key, :fp, :memo, CAST(:acc AS bigint[]), CAST(:amt AS bigint[]))"),
            {"kind": kind, "actor": actor, "key": key, "fp": fp, "memo": memo, "acc": accounts, "amt": amounts})).one()

    async def _posted(self, s: AsyncSession, tx_id: uuid.UUID, replayed: bool, created_at: datetime) -> dict[str, Any]:
        rows = (await s.execute(text(SQL_ENTRIES_OF.replace("$1::uuid[]", "CAST(:ids AS uuid[])")),
                                {"ids": [tx_id]})).mappings().all()
        return {"transaction_id": str(tx_id), "replayed": replayed, "created_at": _iso(created_at),
                "entries": [self._entry_json(r) for r in rows]}

    @staticmethod
    def _entry_json(r: Any) -> dict[str, Any]:
        return {"account": r["account_key"] or f"user:{r['user_id']}", "account_id": r["account_id"],
                "user_id": str(r["user_id"]) if r["user_id"] else None, "username": r["username"],
                "amount": r["amount"], "balance": r["balance"]}

    async def _issue(self, kind: str, amount: Any, *, actor_id: Any, reason: Any, idempotency_key: Any,
                     user_id: Any, account: Any) -> dict[str, Any]:
        amount = check_amount(amount)
        reason = check_text(reason, "reason", MAX_REASON, required=True)
        key = check_key(idempotency_key)
        actor = as_uuid(actor_id, "actor id")

        async def op(s: AsyncSession) -> dict[str, Any]:
            acc, acc_kind, label = await self._resolve_account(s, user_id, account, default="treasury")
            if acc_kind == "issuance":
                raise ProtocolError("invalid_payload", f"cannot {kind} into or out of the mint itself")
            mint = await s.scalar(text("SELECT id FROM ledger_accounts WHERE key = 'mint'"))
            legs = [mint, acc] if kind == "mint" else [acc, mint]
            row = await self._post(s, kind, actor, key, fingerprint(kind, label, amount, reason), reason,
                                   legs, [-amount, amount])
            if not row.was_replayed:
                await record(s, actor_id=actor, action=f"economy.{kind}", target_type="account", target_id=label,
                             reason=reason, details={"amount": amount, "transaction_id": str(row.tx_id),
                                                     "idempotency_key": key})
            return await self._posted(s, row.tx_id, row.was_replayed, row.tx_created_at)

        return await self._in_session(op)

    async def mint(self, amount: Any, *, actor_id: Any, reason: Any, idempotency_key: Any, user_id: Any = None,
                   account: Any = None) -> dict[str, Any]:
        """Create money into a wallet or system account (default: the treasury)."""
        return await self._issue("mint", amount, actor_id=actor_id, reason=reason, idempotency_key=idempotency_key,
                                 user_id=user_id, account=account)

    async def burn(self, amount: Any, *, actor_id: Any, reason: Any, idempotency_key: Any, user_id: Any = None,
                   account: Any = None) -> dict[str, Any]:
        """Destroy money from a wallet or system account (default: the treasury)."""
        return await self._issue("burn", amount, actor_id=actor_id, reason=reason, idempotency_key=idempotency_key,
                                 user_id=user_id, account=account)

    async def set_frozen(self, frozen: bool, *, actor_id: Any, reason: Any, user_id: Any = None,
                         account: Any = None) -> dict[str, Any]:
        """Freeze (or unfreeze) an account: any movement touching a frozen account is refused."""
        reason = check_text(reason, "reason", MAX_REASON, required=True)
        actor = as_uuid(actor_id, "actor id")
        if user_id is None and account is None:
            raise ProtocolError("invalid_payload", "give user_id or account")

        async def op(s: AsyncSession) -> dict[str, Any]:
            acc, _kind, label = await self._resolve_account(s, user_id, account, default="")
            was = await s.scalar(text("SELECT frozen FROM ledger_accounts WHERE id = :a FOR UPDATE"), {"a": acc})
            await s.execute(text("UPDATE ledger_accounts SET frozen = :f WHERE id = :a"), {"f": frozen, "a": acc})
            await record(s, actor_id=actor, action="economy.freeze" if frozen else "economy.unfreeze",
                         target_type="account", target_id=label, reason=reason,
                         details={"account_id": acc, "was_frozen": was})
            return {"account": label, "account_id": acc, "frozen": frozen, "changed": was != frozen}

        return await self._in_session(op)

    async def freeze(self, **kw: Any) -> dict[str, Any]:
        return await self.set_frozen(True, **kw)

    async def unfreeze(self, **kw: Any) -> dict[str, Any]:
        return await self.set_frozen(False, **kw)

    async def reverse(self, transaction_id: Any, *, actor_id: Any, reason: Any, idempotency_key: Any) -> dict[str, Any]:
        """Undo a transaction with a compensating one (purchased goods go back to the shop).
        Reversing twice, or reversing a reversal, is a `conflict`; a reversal that would drive a
        wallet below zero is `insufficient_funds`."""
        tx = as_uuid(transaction_id, "transaction id")
        reason = check_text(reason, "reason", MAX_REASON, required=True)
        key = check_key(idempotency_key)
        actor = as_uuid(actor_id, "actor id")
        memo = f"reversal of {tx}: {reason}"[:MAX_REASON]

        async def op(s: AsyncSession) -> dict[str, Any]:
            row = (await s.execute(text("SELECT * FROM ledger_reverse(:tx, :actor, :key, :fp, :memo)"),
                                   {"tx": tx, "actor": actor, "key": key, "fp": fingerprint("reverse", tx, reason),
                                    "memo": memo})).one()
            if not row.was_replayed:
                await record(s, actor_id=actor, action="economy.reverse", target_type="transaction", target_id=tx,
                             reason=reason, details={"reversal_id": str(row.tx_id), "idempotency_key": key})
            out = await self._posted(s, row.tx_id, row.was_replayed, row.tx_created_at)
            out["reverses"] = str(tx)
            return out

        return await self._in_session(op)

    # -- the starting grant's limits (admin) ---------------------------------------------------
    async def grant_policy(self) -> dict[str, Any]:
        """The grant, its limits and today's use (UTC day): what the admin console shows."""
        row = await self._fetchrow(
            """
            SELECT p.daily_budget, p.per_address_daily, p.updated_at,
                   (SELECT coalesce(sum(c.amount), 0) FROM ledger_grant_claims c WHERE c.created_at >= d.start) AS granted,
                   (SELECT count(*) FROM ledger_grant_claims c WHERE c.created_at >= d.start AND c.amount > 0) AS grants,
                   (SELECT count(*) FROM ledger_grant_claims c WHERE c.created_at >= d.start AND c.refused = 'budget')
                     AS refused_budget,
                   (SELECT count(*) FROM ledger_grant_claims c WHERE c.created_at >= d.start
                                                                 AND c.refused = 'address_cap') AS refused_address
              FROM (SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start) d
              LEFT JOIN ledger_grant_policy p ON p.id
            """)
        budget = row["daily_budget"]
        return {"amount": self.starting_grant, "currency": self.currency, "daily_budget": budget,
                "per_address_per_day": row["per_address_daily"],
                "today": {"granted": int(row["granted"]), "grants": row["grants"],
                          "remaining": None if budget is None else max(0, budget - int(row["granted"])),
                          "refused_budget": row["refused_budget"], "refused_address_cap": row["refused_address"]},
                "updated_at": _iso(row["updated_at"])}

    async def set_grant_policy(self, *, actor_id: Any, reason: Any, **changes: int | None) -> dict[str, Any]:
        """Change `daily_budget` and/or `per_address_per_day` (None: no limit); audited."""
        reason = check_text(reason, "reason", MAX_REASON, required=True)
        actor = as_uuid(actor_id, "actor id")
        if not changes or not set(changes) <= {"daily_budget", "per_address_per_day"}:
            raise ProtocolError("invalid_payload", "give daily_budget and/or per_address_per_day")
        for name, value in changes.items():
            if value is not None and (type(value) is not int or not 0 <= value <= MAX_AMOUNT):
                raise ProtocolError("invalid_payload", f"{name} must be a whole number from 0 to {MAX_AMOUNT}, or null")

        async def op(s: AsyncSession) -> None:
            row = (await s.execute(text("SELECT daily_budget, per_address_daily FROM ledger_grant_policy "
                                        "WHERE id FOR UPDATE"))).first()
            before = {"daily_budget": row.daily_budget if row else None,
                      "per_address_per_day": row.per_address_daily if row else None}
            after = {**before, **changes}
            await s.execute(text("INSERT INTO ledger_grant_policy (id, daily_budget, per_address_daily) "
                                 "VALUES (true, :b, :a) ON CONFLICT (id) DO UPDATE SET daily_budget = :b, "
                                 "per_address_daily = :a, updated_at = now()"),
                            {"b": after["daily_budget"], "a": after["per_address_per_day"]})
            await record(s, actor_id=actor, action="economy.grant_policy", target_type="account",
                         target_id="treasury", reason=reason, details={"before": before, "after": after})

        await self._in_session(op)
        return await self.grant_policy()

    # -- reading (admin) ------------------------------------------------------------------------
    async def transaction(self, transaction_id: Any) -> dict[str, Any]:
        tx = as_uuid(transaction_id, "transaction id")
        found = await self.search(transaction_ids=[tx], limit=1)
        if not found:
            raise ProtocolError("not_found", f"no transaction {tx}")
        return found[0]

    async def search(self, *, kind: str | None = None, user_id: Any = None, initiator_id: Any = None,
                     since: datetime | None = None, until: datetime | None = None, before: Any = None,
                     limit: int = 50, transaction_ids: list[uuid.UUID] | None = None) -> list[dict[str, Any]]:
        """Transactions, newest first, with their entries; `before` is a transaction id (paging)."""
        if not 1 <= limit <= 500:
            raise ProtocolError("invalid_payload", "limit must be from 1 to 500")
        account_id = None
        if user_id is not None:
            row = await self._fetchrow(SQL_BALANCE, as_uuid(user_id))
            if row is None:
                return []
            account_id = row["id"]
        rows = await self._fetch(
            """
            SELECT t.id, t.kind, t.initiator_id, t.idempotency_key, t.memo, t.reverses, t.created_at,
                   (SELECT r.id FROM ledger_transactions r WHERE r.reverses = t.id) AS reversed_by
              FROM ledger_transactions t
             WHERE ($1::text IS NULL OR t.kind = $1)
               AND ($2::bigint IS NULL OR t.id IN (SELECT e.transaction_id FROM ledger_entries e WHERE e.account_id = $2))
               AND ($3::uuid IS NULL OR t.initiator_id = $3)
               AND ($4::timestamptz IS NULL OR t.created_at >= $4)
               AND ($5::timestamptz IS NULL OR t.created_at < $5)
               AND ($6::uuid IS NULL OR (t.created_at, t.id) < (SELECT b.created_at, b.id FROM ledger_transactions b
                                                                WHERE b.id = $6))
               AND ($7::uuid[] IS NULL OR t.id = ANY($7))
             ORDER BY t.created_at DESC, t.id DESC
             LIMIT $8
            """,
            kind, account_id, as_uuid(initiator_id) if initiator_id is not None else None, since, until,
            as_uuid(before, "before") if before is not None else None, transaction_ids, limit)
        if not rows:
            return []
        entries = await self._fetch(SQL_ENTRIES_OF, [r["id"] for r in rows])
        by_tx: dict[uuid.UUID, list] = {}
        for e in entries:
            by_tx.setdefault(e["transaction_id"], []).append(self._entry_json(e))
        return [{**_jsonable(r), "entries": by_tx.get(r["id"], [])} for r in rows]

    async def system_accounts(self) -> list[dict[str, Any]]:
        rows = await self._fetch("SELECT id, kind, key, balance, frozen FROM ledger_accounts "
                                 "WHERE owner_id IS NULL ORDER BY id")
        return [_jsonable(r) for r in rows]

    # -- audit ----------------------------------------------------------------------------------
    async def audit(self, *, max_rows: int = 100) -> AuditReport:
        """Checks every invariant in one consistent snapshot; `ok` is False when any fails."""
        pool = await self.pool()
        async with pool.acquire() as conn:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                checks, figures = await run_checks(conn, max_rows)
        return AuditReport(ok=all(c.ok for c in checks), checks=checks, figures=figures,
                           checked_at=_iso(datetime.now(UTC)))
