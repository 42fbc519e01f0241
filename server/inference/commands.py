"""`townsquare models pull` / `models list`."""

from __future__ import annotations

import os

from server.inference.specs import specs_from_settings


def models_pull(settings, args) -> int:
    """Download every configured model with progress bars (needs internet)."""
    from ai.inference import pull_models
    from ai.inference.pull import PullFailed

    os.environ.pop("HF_HUB_OFFLINE", None)  # the one command allowed to reach the hub
    try:
        results = pull_models(specs_from_settings(settings), progress=True)
    except PullFailed as e:
        results = e.results
    failed = 0
    for r in results:
        print(f"{r['name']:<10} {r['model_id']:<40} {r['status']:<14} {r.get('reason') or r.get('path') or ''}")
        failed += r["status"] == "failed"
    return 1 if failed else 0


def models_list(settings, args) -> int:
    """The configured models and whether each is present on this machine."""
    from server.doctor import model_presence

    for spec in specs_from_settings(settings):
        state, why = ("remote", spec.base_url) if spec.backend in ("openai", "service") else model_presence(spec.model_id)
        print(f"{spec.name:<10} {spec.task:<10} {spec.model_id:<40} {state:<8} {why}")
    return 0


def serve_args(parser) -> None:
    from ai.inference.server import add_arguments

    add_arguments(parser)


def inference_serve(settings, args) -> int:
    """Serve the configured models over HTTP: the OpenAI routes, /v1/classify, /v1/translate, /metrics.
    The bearer token is the settings' `inference_token` (townsquare.toml or TOWNSQUARE_INFERENCE_TOKEN),
    the same one the nodes send."""
    import asyncio

    from ai.inference.server import lower_priority, run_cli, set_threads

    if args.max_queue is None:
        args.max_queue = settings.models.max_queue
    lower_priority(args.nice)
    set_threads(args.threads or settings.models.threads)
    asyncio.run(run_cli(specs_from_settings(settings), args, token=settings.inference_token or None))
    return 0
