"""Persistence: declarative base, engine and sessions, embedded PostgreSQL."""

from server.db.base import Base, new_uuid, utcnow
from server.db.engine import Database

__all__ = ["Base", "Database", "utcnow", "new_uuid"]
