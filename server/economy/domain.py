"""The economy domain: the ledger, wallets, shops; the starting grant on sign-up; `economy audit`."""

from server.domain import Command, Domain
from server.economy import commands, handlers, models
from server.economy.shops import seed_shops

DOMAIN = Domain(
    name="economy", models=models,
    setup=handlers.setup, startup=handlers.startup, shutdown=handlers.shutdown,
    seed=(seed_shops,),
    commands=(Command("economy audit", commands.run, commands.configure, group_help="the ledger: audit every invariant"),),
    offers=("shops.npc_resolvers", "shops.on_purchase"),
    uses=("accounts.on_user_created",),
)
