"""Moved to `server/audit.py` (the shared layer: every domain writes the audit log); this name
stays only while code in flight still imports it here. New code imports `server.audit`."""

from server.audit import AuditEntry, recent, record

__all__ = ["AuditEntry", "recent", "record"]
