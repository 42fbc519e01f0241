"""The economy: a double-entry currency ledger in PostgreSQL, shops and inventories."""
