"""Starts the shared inference service with the world and stops it after the last caller."""

from __future__ import annotations

import logging

from server.inference.specs import build_service, placement

log = logging.getLogger(__name__)


def setup(ctx) -> None:
    ctx.inference = build_service(ctx.settings)
    ctx.live_figures["inference_queue"] = lambda: {int(p): n for p, n in ctx.inference.queue_depth().items()}
    ctx.live_figures["models"] = lambda: {s["name"]: s["state"] for s in ctx.inference.status()}
    ctx.live_figures["inference"] = lambda: where_models_run(ctx)


def where_models_run(ctx) -> dict:
    """Placement, each service's health and, per model, where it runs (admin console, doctor)."""
    inf = ctx.inference
    services = inf.services() if hasattr(inf, "services") else []
    models = {}
    for s in inf.status():
        runs = s.get("service") or ("this process" if not services else services[0]["url"])
        if s.get("state") == "remote" or str(s.get("device", "")).startswith("http"):
            runs = s.get("device")
        models[s["name"]] = {"state": s["state"], "runs_on": runs, "model_id": s["model_id"]}
    return {"placement": placement(ctx.settings), "services": services, "models": models}


async def startup(ctx) -> None:
    log.info("inference: %s", placement(ctx.settings))
    await ctx.inference.start()
    for s in ctx.inference.status():
        if s["state"] in ("loaded", "remote"):
            log.info("model %s (%s) %s on %s", s["name"], s["model_id"], s["state"], s["device"])
        else:
            log.warning("model %s (%s) %s: %s", s["name"], s["model_id"], s["state"], s["reason"])


async def shutdown(ctx) -> None:
    await ctx.inference.stop(drain_timeout=2.0)
