"""Persistence: declarative base, engine and sessions, embedded PostgreSQL."""

from server.db.base import Base, utcnow, new_uuid
from server.db.engine import Database

__all__ = ["Base", "Database", "utcnow", "new_uuid"]
