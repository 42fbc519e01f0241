"""The translation domain: each chat line in its readers' languages; `translation langid-eval`."""

from server.domain import Command, Domain
from server.translation import commands, handlers, models
from server.translation.doctor import doctor_section

DOMAIN = Domain(
    name="translation", models=models,
    setup=handlers.setup, startup=handlers.startup, shutdown=handlers.shutdown,
    doctor=doctor_section,
    commands=(Command("translation langid-eval", commands.langid_eval, commands.langid_eval_args,
                      group_help="translation: the language-id eval"),),
    uses=("chat.pipeline",),
)
