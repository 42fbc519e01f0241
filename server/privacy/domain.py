"""The privacy domain: a person's data exported or erased, from the profile and the admin console.
Last in the list: it reads every domain's tables (found from the schema)."""

from server.domain import Domain
from server.privacy import handlers

DOMAIN = Domain(name="privacy", setup=handlers.setup)
