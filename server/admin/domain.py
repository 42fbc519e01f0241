"""The admin domain: rooms and users over REST, the audit log, live figures."""

from server.admin import handlers, models
from server.domain import Domain

DOMAIN = Domain(name="admin", models=models, setup=handlers.setup)
