"""The world's domains, in the order their setup and startup run (shutdown runs in reverse).
A domain may use the services and hooks of the domains before it. To add one: write
`server/<name>/domain.py` with its `DOMAIN` and add it here (docs/TEAM.md, "Add a domain")."""

from __future__ import annotations

from server.accounts.domain import DOMAIN as accounts
from server.admin.domain import DOMAIN as admin
from server.assistant.domain import DOMAIN as assistant
from server.chat.domain import DOMAIN as chat
from server.domain import Command, Domain
from server.economy.domain import DOMAIN as economy
from server.events.domain import DOMAIN as events
from server.inference.domain import DOMAIN as inference
from server.moderation.domain import DOMAIN as moderation
from server.privacy.domain import DOMAIN as privacy
from server.residents.domain import DOMAIN as residents
from server.translation.domain import DOMAIN as translation
from server.world.domain import DOMAIN as world

DOMAINS: tuple[Domain, ...] = (
    inference,
    accounts,
    world,
    chat,
    economy,
    moderation,
    translation,
    residents,
    assistant,
    admin,
    events,
    privacy,
)


def seed_steps(domains: tuple[Domain, ...] = DOMAINS) -> list:
    """Every domain's world-file seed steps, in domain order (rooms are seeded before them)."""
    return [step for d in domains for step in d.seed]


def doctor_sections(domains: tuple[Domain, ...] = DOMAINS) -> dict:
    """`townsquare doctor`'s section per domain that declares one."""
    return {d.name: d.doctor for d in domains if d.doctor is not None}


def commands(domains: tuple[Domain, ...] = DOMAINS) -> list[Command]:
    return [c for d in domains for c in d.commands]
