"""The accounts domain: sign-up, login, the socket handshake, revoked sessions."""

from server.accounts import handlers, models
from server.domain import Domain

DOMAIN = Domain(
    name="accounts", models=models,
    setup=handlers.setup, startup=handlers.startup, shutdown=handlers.shutdown,
    offers=("accounts.on_user_created", "accounts.on_login"),
)
