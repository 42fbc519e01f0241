"""`townsquare economy audit`: check every ledger invariant; exit 1 (printing the offending rows)
when one fails, 2 when the database cannot be checked."""

from __future__ import annotations

import argparse
import asyncio
import json

from server.config import ConfigError, Settings


def configure(p: argparse.ArgumentParser) -> None:
    p.description = "check the ledger: balanced transactions, cached balances, no negative wallet, supply"
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--max-rows", type=int, default=100, help="offending rows shown per check")


async def _audit(url: str, max_rows: int):
    from server.db import Database
    from server.economy.ledger import Ledger

    db = Database(url, pool_size=1)
    ledger = Ledger(db, pool_size=1)
    try:
        return await ledger.audit(max_rows=max_rows)
    finally:
        await ledger.close()
        await db.dispose()


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Check every ledger invariant; exit 1 with the offending rows when one fails."""
    import asyncpg

    from server.db.resolve import world_database

    with world_database(settings) as url:
        try:
            report = asyncio.run(_audit(url, args.max_rows))
        except asyncpg.UndefinedTableError:
            raise ConfigError("the economy tables are missing: run `townsquare db upgrade`") from None
        except (OSError, asyncpg.PostgresError) as e:
            raise ConfigError(f"cannot audit the ledger: {e.__class__.__name__}: {e}") from None
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format())
    return 0 if report.ok else 1
