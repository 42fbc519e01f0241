"""Migrations, seeding and settings against a real PostgreSQL."""

import asyncio

import pytest
from sqlalchemy import func, select, text

from server.db import Database
from server.db.migrate import current, downgrade, heads, upgrade
from server.world.models import Room
from server.world.seed import load_world_file, seed_world
from tests.conftest import make_settings


async def _tables(url: str) -> set[str]:
    db = Database(url, pool_size=1)
    try:
        async with db.session() as s:
            rows = await s.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            return {r[0] for r in rows}
    finally:
        await db.dispose()


async def test_migrations_up_and_down_on_empty_database(pg_server):
    url = pg_server.new_database("t_migrations_updown")
    assert await _tables(url) == set()
    await asyncio.to_thread(upgrade, url)
    tables = await _tables(url)
    assert {"users", "rooms", "avatars", "audit_log", "alembic_version"} <= tables
    db = Database(url, pool_size=1)
    try:
        assert await current(db) == heads()
        async with db.session() as s:
            ext = await s.scalar(text("SELECT extname FROM pg_extension WHERE extname = 'vector'"))
        assert ext == "vector"
    finally:
        await db.dispose()
    await asyncio.to_thread(downgrade, url, "base")
    assert await _tables(url) <= {"alembic_version"}
    # And back up again: every revision's downgrade really undid its upgrade.
    await asyncio.to_thread(upgrade, url)
    assert {"users", "rooms", "avatars"} <= await _tables(url)


async def test_seed_is_idempotent(db):
    from server.domains import seed_steps

    world = load_world_file()
    async with db.session() as s:
        first = await seed_world(s, world, steps=seed_steps())
    assert first.extra_added > 0  # the domains' steps ran (shops, residents)
    assert {"plaza", "market", "library"} <= set(first.rooms_added)
    async with db.session() as s:
        count = await s.scalar(select(func.count()).select_from(Room))
        second = await seed_world(s, world, steps=seed_steps())
    assert not second.changed
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Room)) == count
        plaza = await s.scalar(select(Room).where(Room.slug == "plaza"))
    assert plaza.width == 40 and plaza.capacity == 200 and "fountain" in plaza.description


async def test_audit_log_is_append_only(db):
    from server.audit import record

    async with db.session() as s:
        await record(s, actor_id=None, action="test.act", reason="because")
    with pytest.raises(Exception, match="append-only"):
        async with db.session() as s:
            await s.execute(text("UPDATE audit_log SET reason = 'changed'"))
    with pytest.raises(Exception, match="append-only"):
        async with db.session() as s:
            await s.execute(text("DELETE FROM audit_log"))


def test_settings_precedence(tmp_path, monkeypatch):
    from server.config import load_settings

    toml = tmp_path / "townsquare.toml"
    toml.write_text('port = 9001\nhost = "0.0.0.0"\ntick_hz = 5.0\n[models]\ndevice = "cpu"\n')
    monkeypatch.setenv("TOWNSQUARE_CONFIG", str(toml))
    s = load_settings()
    assert (s.port, s.host, s.tick_hz, s.models.device) == (9001, "0.0.0.0", 5.0, "cpu")
    monkeypatch.setenv("TOWNSQUARE_PORT", "9002")
    monkeypatch.setenv("TOWNSQUARE_MODELS__DEVICE", "cuda")
    s = load_settings()
    assert (s.port, s.host, s.models.device) == (9002, "0.0.0.0", "cuda")  # env beats the file
    assert load_settings(port=9003).port == 9003  # explicit beats env
    monkeypatch.delenv("TOWNSQUARE_PORT")
    monkeypatch.delenv("TOWNSQUARE_CONFIG")
    assert load_settings().port == 8080  # the default when nothing says otherwise


def test_bad_settings_are_one_clear_line(monkeypatch):
    from server.config import ConfigError, load_settings

    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", "not a url")
    with pytest.raises(ConfigError, match="TOWNSQUARE_DATABASE_URL"):
        load_settings()
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", "mysql://x@y/z")
    with pytest.raises(ConfigError, match="only PostgreSQL"):
        load_settings()
    monkeypatch.delenv("TOWNSQUARE_DATABASE_URL")
    monkeypatch.setenv("TOWNSQUARE_PORT", "99999")
    with pytest.raises(ConfigError, match="TOWNSQUARE_PORT"):
        load_settings()


def test_secret_key_is_generated_once_and_kept(tmp_path):
    s = make_settings(tmp_path, secret_key=None)
    key = s.resolved_secret_key()
    assert len(key) > 40
    assert make_settings(tmp_path, secret_key=None).resolved_secret_key() == key
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


async def test_a_pooled_connection_the_server_closed_is_replaced_at_checkout(db_url):
    """No pre-ping round trip: a connection whose backend is gone (a restarted server) is
    recognised by its closed socket at checkout and replaced, so the next session just works."""
    import asyncpg

    from tests.conftest import eventually

    database = Database(db_url, pool_size=1)
    try:
        async with database.session() as s:
            pid = await s.scalar(text("SELECT pg_backend_pid()"))
            raw = (await (await s.connection()).get_raw_connection()).driver_connection
        other = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await other.close()
        await eventually(raw.is_closed, what="asyncpg saw the server hang up")
        async with database.session() as s:
            assert await s.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await database.dispose()
