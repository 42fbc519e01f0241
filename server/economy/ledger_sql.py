"""`ledger.sql`, the ledger's SQL functions as they are now, read as statements: the migration that
loads it runs them one by one (asyncpg: one statement per execute), and a test compares them with
what the database holds."""

from __future__ import annotations

import re
from importlib import resources

STATEMENT = re.compile(r"CREATE OR REPLACE FUNCTION\s+(\w+)\s*\(.*?\bAS \$\$(.*?)\$\$;", re.S)


def ledger_sql() -> str:
    return resources.files("server.economy").joinpath("ledger.sql").read_text()


def statements(text: str | None = None) -> list[str]:
    """Each `CREATE OR REPLACE FUNCTION ... $$;` of the file, without its semicolon."""
    return [m.group(0)[:-1] for m in STATEMENT.finditer(text if text is not None else ledger_sql())]


def bodies(text: str | None = None) -> dict[str, str]:
    """function name -> its body (the text between `$$`), as PostgreSQL keeps it in pg_proc.prosrc."""
    return {m.group(1): m.group(2) for m in STATEMENT.finditer(text if text is not None else ledger_sql())}
