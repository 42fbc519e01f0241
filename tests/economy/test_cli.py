"""`townsquare economy audit`: exit 0 on a sound ledger, 1 (with the offending rows) when not."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import asyncpg
import pytest

from server.economy.ledger import Ledger
from tests.conftest import make_database


@pytest.fixture(scope="module")
def cli_db(pg_server) -> str:
    """A database of its own: this module corrupts it on purpose."""
    return make_database(pg_server, "economy_cli")


def run_sql(url: str, *statements: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(Ledger.asyncpg_dsn(url))
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()
    asyncio.run(go())


def audit(monkeypatch, capsys, url: str, *extra: str) -> tuple[int, str, str]:
    from server.cli import main

    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", url)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = main(["economy", "audit", *extra])
    finally:  # the CLI configures logging onto the captured stream; give pytest its own back
        root.handlers[:], root.level = handlers, level
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_audit_command_exit_codes(cli_db, monkeypatch, capsys):
    a, b = uuid.uuid4(), uuid.uuid4()
    run_sql(cli_db,
            f"INSERT INTO users (id, username, password_hash) VALUES ('{a}', 'cli_a', 'x'), ('{b}', 'cli_b', 'x')",
            f"SELECT ledger_wallet('{a}', 1000), ledger_wallet('{b}', 1000)",
            f"SELECT * FROM ledger_transfer('{a}', '{b}', 250, 'cli', 'k1', '\\x01', 1000)")
    code, out, _ = audit(monkeypatch, capsys, cli_db)
    assert code == 0, out
    assert "OK" in out and "[FAIL]" not in out and "supply 100000" in out

    # Corrupt a cached balance behind the triggers' back (replica mode skips ordinary triggers;
    # only a superuser can do this, which is exactly what the audit is for).
    run_sql(cli_db, "SET session_replication_role = replica",
            f"UPDATE ledger_accounts SET balance = balance + 5 WHERE owner_id = '{b}'")
    code, out, _ = audit(monkeypatch, capsys, cli_db)
    assert code == 1
    assert "FAILED" in out and "[FAIL] cached_balances" in out and "[FAIL] supply" in out
    assert f"owner_id={b}" in out and "balance=1255" in out and "entries_sum=1250" in out

    code, out, _ = audit(monkeypatch, capsys, cli_db, "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    failed = {c["name"]: c["offending"] for c in report["checks"] if not c["ok"]}
    assert set(failed) == {"cached_balances", "supply"}  # the entries themselves are intact
    assert failed["cached_balances"][0]["balance"] == 1255


def test_audit_command_without_the_economy_tables(pg_server, monkeypatch, capsys):
    url = pg_server.new_database(f"t_economy_cli_empty_{uuid.uuid4().hex[:6]}")
    code, _, err = audit(monkeypatch, capsys, url)
    assert code == 2 and "townsquare db upgrade" in err
