"""The inference domain: the shared model service started with the world, `models` and `inference` commands."""

from server.domain import Command, Domain
from server.inference import commands, handlers
from server.inference.doctor import doctor_section

DOMAIN = Domain(
    name="inference",
    setup=handlers.setup, startup=handlers.startup, shutdown=handlers.shutdown,
    doctor=doctor_section,
    commands=(
        Command("models pull", commands.models_pull, group_help="the configured AI models: pull (needs internet), list"),
        Command("models list", commands.models_list),
        Command("inference serve", commands.inference_serve, commands.serve_args,
                group_help="the inference service: serve (models, queue and workers over HTTP)"),
    ),
)
