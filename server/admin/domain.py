"""The admin domain: rooms and users over REST, reading the audit log (server/audit.py), live figures."""

from server.admin import handlers
from server.domain import Domain

DOMAIN = Domain(name="admin", setup=handlers.setup)
