"""server/economy/ledger.sql is the current truth of the ledger's SQL functions: after
`upgrade heads` every function the database has for the ledger and shops is the file's, body for
body, and the file holds nothing the database lacks."""

from sqlalchemy import text

from server.economy.ledger_sql import bodies, statements

MIGRATION_ONLY = {"ledger_new_id"}  # its body depends on the server's version (0003)


async def test_the_database_functions_are_the_files(db):
    in_file = bodies()
    assert len(statements()) == len(in_file) >= 10
    async with db.session() as s:
        rows = (await s.execute(text(
            "SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND (p.proname LIKE 'ledger\\_%' OR p.proname LIKE 'shop\\_%')"
        ))).all()
    in_db = {name: src for name, src in rows if name not in MIGRATION_ONLY}
    assert set(in_db) == set(in_file)
    for name, body in in_file.items():
        assert in_db[name] == body, f"{name} in the database differs from server/economy/ledger.sql"

