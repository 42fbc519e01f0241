"""The events domain: events on the world clock hosted by residents, quests with rewards from the
treasury within a budget, each person's activity and the suggestions drawn from it."""

from server.domain import Domain
from server.events import handlers, models
from server.events.seed import seed_events

DOMAIN = Domain(
    name="events", models=models,
    setup=handlers.setup, startup=handlers.startup, shutdown=handlers.shutdown,
    seed=(seed_events,),
    uses=("chat.pipeline", "realtime.observe", "shops.on_purchase"),
)
