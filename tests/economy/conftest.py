"""Economy fixtures: a Ledger and Shops over the module's fresh, migrated database."""

from __future__ import annotations

import uuid

import asyncpg
import pytest_asyncio

from server.economy.ledger import Ledger
from server.economy.shops import Shops, seed_shops
from server.world.seed import load_world_file


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ledger(db):
    led = Ledger(db, starting_grant=1000, pool_size=8)
    await led.start()
    yield led
    await led.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shops(db, ledger):
    async with db.session() as s:
        await seed_shops(s, load_world_file())
    return Shops(ledger)


@pytest_asyncio.fixture(loop_scope="session")
async def raw(db_url):
    """A plain asyncpg connection to the test database (for SQL the service would never send)."""
    conn = await asyncpg.connect(Ledger.asyncpg_dsn(db_url))
    yield conn
    await conn.close()


async def make_users(ledger: Ledger, n: int, prefix: str = "u") -> list[uuid.UUID]:
    """Users inserted directly (as the CLI does: no registration hook, so no wallet yet)."""
    ids = [uuid.uuid4() for _ in range(n)]
    pool = await ledger.pool()
    await pool.executemany("INSERT INTO users (id, username, password_hash) VALUES ($1, $2, 'x')",
                           [(u, f"{prefix}{u.hex[:12]}") for u in ids])
    return ids


async def balances(ledger: Ledger, users) -> list[int]:
    return [await ledger.balance(u) for u in users]


def key() -> str:
    return str(uuid.uuid4())
