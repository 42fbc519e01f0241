"""The residents domain: AI residents who live in the rooms, talk, remember and sell; `residents` commands."""

from server.domain import Command, Domain
from server.residents import commands, handlers, models
from server.residents.doctor import doctor_section
from server.residents.seed import seed_residents

DOMAIN = Domain(
    name="residents", models=models,
    setup=handlers.setup, startup=handlers.startup, shutdown=handlers.shutdown,
    seed=(seed_residents,),
    doctor=doctor_section,
    commands=(
        Command("residents list", commands.residents_list, group_help="the NPC residents: list, eval"),
        Command("residents eval", commands.residents_eval, commands.eval_args),
    ),
    uses=("chat.pipeline", "shops.npc_resolvers", "shops.on_purchase"),
)
