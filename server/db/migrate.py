"""Alembic, driven from Python: `townsquare db ...`, `serve` and the tests call these.

Domains add revisions off the one they build on, so the tree may have several heads;
upgrading goes to all of them ("heads").
"""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str, stdout=None) -> Config:
    cfg = Config(stdout=stdout or io.StringIO())
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' in URLs would be read as interpolation by configparser.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def heads(url: str = "postgresql+asyncpg://x@/x") -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


async def current(db) -> set[str]:
    """The revisions the database is at (empty when never migrated)."""
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads()))
