"""The ledger's invariants as SQL checks, run by `Ledger.audit()` in one read-only snapshot.

Each check returns the offending rows (at most `max_rows`); an empty list means it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg


@dataclass
class AuditCheck:
    name: str
    ok: bool
    description: str
    offending: list[dict[str, Any]] = field(default_factory=list)


CHECKS: list[tuple[str, str, str]] = [
    ("balanced", "every transaction's entries sum to zero", """
        SELECT transaction_id, sum(amount) AS sum, count(*) AS entries
          FROM ledger_entries GROUP BY transaction_id HAVING sum(amount) <> 0
         ORDER BY transaction_id LIMIT $1"""),
    ("has_entries", "every transaction has entries", """
        SELECT t.id AS transaction_id, t.kind FROM ledger_transactions t
         WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id)
         ORDER BY t.id LIMIT $1"""),
    ("cached_balances", "each account's cached balance equals the sum of its entries", """
        SELECT a.id AS account_id, a.kind, a.key, a.owner_id, a.balance, coalesce(s.total, 0) AS entries_sum
          FROM ledger_accounts a
          LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_entries GROUP BY account_id) s
            ON s.account_id = a.id
         WHERE a.balance <> coalesce(s.total, 0)
         ORDER BY a.id LIMIT $1"""),
    ("running_balances", "each entry's balance_after is its account's running sum", """
        SELECT account_id, id AS entry_id, transaction_id, amount, balance_after, running
          FROM (SELECT e.*, sum(e.amount) OVER (PARTITION BY e.account_id ORDER BY e.id) AS running
                  FROM ledger_entries e) x
         WHERE running <> balance_after
         ORDER BY account_id, id LIMIT $1"""),
    ("no_negative_balance", "no wallet or system account below zero (only the mint is negative)", """
        SELECT id AS account_id, kind, key, owner_id, balance FROM ledger_accounts
         WHERE kind <> 'issuance' AND balance < 0 ORDER BY id LIMIT $1"""),
    ("issuance_only_by_mint_and_burn", "money enters and leaves only through mint, burn (or their reversal)", """
        SELECT e.transaction_id, t.kind, e.amount FROM ledger_entries e
          JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'issuance'
          JOIN ledger_transactions t ON t.id = e.transaction_id
         WHERE t.kind NOT IN ('mint', 'burn', 'reversal')
         ORDER BY e.id LIMIT $1"""),
    ("reversals_mirror", "each reversal exactly negates the transaction it reverses", """
        SELECT r.id AS reversal_id, r.reverses, x.account_id, x.net
          FROM ledger_transactions r
          JOIN LATERAL (SELECT account_id, sum(amount) AS net FROM ledger_entries
                         WHERE transaction_id IN (r.id, r.reverses)
                         GROUP BY account_id HAVING sum(amount) <> 0) x ON true
         WHERE r.kind = 'reversal'
         ORDER BY r.id LIMIT $1"""),
    ("purchases_recorded", "each purchase paid its shop qty x unit price and recorded what it bought", """
        SELECT t.id AS transaction_id, t.kind, p.shop_key, p.sku, p.qty, p.unit_price
          FROM ledger_transactions t
          LEFT JOIN shop_purchases p ON p.transaction_id = t.id
         WHERE t.kind IN ('purchase', 'npc_sale')
           AND (p.transaction_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM ledger_entries e JOIN shops s ON s.account_id = e.account_id AND s.key = p.shop_key
                 WHERE e.transaction_id = t.id AND e.amount = p.qty * p.unit_price))
         ORDER BY t.id LIMIT $1"""),
    ("grants_recorded", "each starting grant has its claim record (per-address caps and the daily budget count them)", """
        SELECT t.id AS transaction_id, t.initiator_id AS user_id, e.amount, c.amount AS claimed
          FROM ledger_transactions t
          JOIN ledger_entries e ON e.transaction_id = t.id AND e.amount > 0
          LEFT JOIN ledger_grant_claims c ON c.transaction_id = t.id AND c.user_id = t.initiator_id
         WHERE t.kind = 'grant' AND c.amount IS DISTINCT FROM e.amount
         ORDER BY t.id LIMIT $1"""),
]

SQL_FIGURES = """
SELECT (SELECT count(*) FROM ledger_accounts) AS accounts,
       (SELECT count(*) FROM ledger_accounts WHERE kind = 'issuance') AS issuance_accounts,
       (SELECT count(*) FROM ledger_transactions) AS transactions,
       (SELECT count(*) FROM ledger_entries) AS entries,
       (SELECT coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0) FROM ledger_entries e
          JOIN ledger_accounts a ON a.id = e.account_id WHERE a.kind = 'issuance') AS minted,
       (SELECT coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0) FROM ledger_entries e
          JOIN ledger_accounts a ON a.id = e.account_id WHERE a.kind = 'issuance') AS burned,
       (SELECT coalesce(-sum(balance), 0) FROM ledger_accounts WHERE kind = 'issuance') AS mint_outstanding,
       (SELECT coalesce(sum(balance), 0) FROM ledger_accounts WHERE kind <> 'issuance') AS circulating,
       (SELECT coalesce(sum(balance), 0) FROM ledger_accounts WHERE kind = 'user') AS in_wallets
"""


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    out = {}
    for k, v in dict(row).items():
        if isinstance(v, Decimal):
            v = int(v)
        elif v is not None and not isinstance(v, (int, str, bool, float)):
            v = str(v)
        out[k] = v
    return out


async def run_checks(conn: asyncpg.Connection, max_rows: int = 100):
    checks = []
    for name, description, sql in CHECKS:
        rows = [_plain(r) for r in await conn.fetch(sql, max_rows)]
        checks.append(AuditCheck(name=name, ok=not rows, description=description, offending=rows))
    f = _plain(await conn.fetchrow(SQL_FIGURES))
    f["supply"] = f["minted"] - f["burned"]
    offending = []
    if f["issuance_accounts"] != 1:
        offending.append({"problem": "there must be exactly one issuance (mint) account",
                          "issuance_accounts": f["issuance_accounts"]})
    if f["circulating"] != f["supply"]:
        offending.append({"problem": "money in accounts differs from minted - burned",
                          "circulating": f["circulating"], "minted": f["minted"], "burned": f["burned"]})
    if f["mint_outstanding"] != f["supply"]:
        offending.append({"problem": "the mint's balance differs from minus (minted - burned)",
                          "mint_balance": -f["mint_outstanding"], "supply": f["supply"]})
    checks.append(AuditCheck(name="supply", ok=not offending,
                             description="total supply (all accounts but the mint) equals minted minus burned",
                             offending=offending))
    return checks, f
