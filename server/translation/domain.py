"""The translation domain: each chat line in its readers' languages."""

from server.domain import Domain
from server.translation import handlers, models
from server.translation.doctor import doctor_section

DOMAIN = Domain(
    name="translation", models=models,
    setup=handlers.setup, startup=handlers.startup, shutdown=handlers.shutdown,
    doctor=doctor_section,
    uses=("chat.pipeline",),
)
