"""The chat domain: chat lines through a pipeline of stages other domains add to, emotes."""

from server.chat import handlers, models
from server.domain import Domain

DOMAIN = Domain(
    name="chat", models=models,
    setup=handlers.setup, shutdown=handlers.shutdown,
    offers=("chat.pipeline",),
)
