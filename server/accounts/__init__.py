"""Accounts: users, password hashes, roles and tokens."""
