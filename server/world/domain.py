"""The world domain: rooms, movement, profiles, maps. Its setup builds `ctx.rooms` (server/world/rooms.py)
from the catalogue, access, presence and ownership services and registers its control messages
(server/world/controls.py) on `ctx.realtime`; the room seed lives in `server.world.seed`."""

from server.domain import Domain
from server.world import handlers, models

DOMAIN = Domain(
    name="world", models=models,
    setup=handlers.setup, startup=handlers.startup, shutdown=handlers.shutdown,
)
