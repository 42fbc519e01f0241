"""The ledger's SQL functions from server/economy/ledger.sql, the file that keeps them readable.

0003 made them and 0007 changed ledger_grant; the file holds the same definitions, so this
revision changes nothing in a database already at 0007, and from here on the file is the truth:
a change to a money rule is an edit of ledger.sql plus a revision that calls
`load_ledger_sql()` again (tests/economy/test_ledger_sql.py fails until the database agrees).

Revision ID: 0013_ledger_sql
Revises: 0007_account_security
"""
from __future__ import annotations

from alembic import op

from server.economy.ledger_sql import statements

revision = "0013_ledger_sql"
down_revision = "0007_account_security"
branch_labels = None
depends_on = None


def load_ledger_sql() -> None:
    for stmt in statements():  # asyncpg: one statement per execute
        op.execute(stmt)


def upgrade() -> None:
    load_ledger_sql()


def downgrade() -> None:
    pass  # the definitions are 0007's: nothing to undo
