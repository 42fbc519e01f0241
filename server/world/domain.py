"""The world domain: rooms, movement, profiles, maps; the room seed lives in `server.world.seed`."""

from server.domain import Domain
from server.world import handlers, models

DOMAIN = Domain(
    name="world", models=models,
    setup=handlers.setup, startup=handlers.startup, shutdown=handlers.shutdown,
)
