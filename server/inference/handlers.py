"""Starts the shared inference service with the world and stops it after the last caller."""

from __future__ import annotations

import logging

from server.inference.specs import build_service

log = logging.getLogger(__name__)


def setup(ctx) -> None:
    ctx.inference = build_service(ctx.settings)
    ctx.live_figures["inference_queue"] = lambda: {int(p): n for p, n in ctx.inference.queue_depth().items()}
    ctx.live_figures["models"] = lambda: {s["name"]: s["state"] for s in ctx.inference.status()}


async def startup(ctx) -> None:
    await ctx.inference.start()
    for s in ctx.inference.status():
        if s["state"] in ("loaded", "remote"):
            log.info("model %s (%s) %s on %s", s["name"], s["model_id"], s["state"], s["device"])
        else:
            log.warning("model %s (%s) %s: %s", s["name"], s["model_id"], s["state"], s["reason"])


async def shutdown(ctx) -> None:
    await ctx.inference.stop(drain_timeout=2.0)
