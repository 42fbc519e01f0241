"""The moderation domain: every chat line and public name checked, sanctions, reviews, appeals; `moderate`."""

from server.domain import Command, Domain
from server.moderation import commands, handlers, models
from server.moderation.doctor import doctor_section

DOMAIN = Domain(
    name="moderation", models=models,
    setup=handlers.setup, startup=handlers.startup,
    doctor=doctor_section,
    commands=(Command("moderate", commands.run, commands.configure),),
    uses=("accounts.on_login", "chat.pipeline"),
)
