"""`townsquare doctor`'s inference section: where the models run (per model kind) and whether the
services this node would use answer."""

from __future__ import annotations

import json
from urllib.error import URLError
from urllib.request import urlopen

from server.config import Settings
from server.inference.specs import placement, specs_from_settings


def _probe(url: str) -> tuple[dict | None, str]:
    if url.startswith("unix:"):
        return None, "unix socket: not probed by doctor"
    try:
        with urlopen(f"{url.rstrip('/').removesuffix('/v1')}/healthz", timeout=3) as r:
            return json.loads(r.read()), ""
    except (URLError, OSError, ValueError) as e:
        return None, f"{type(e).__name__}: {getattr(e, 'reason', e)}"


def doctor_section(settings: Settings) -> dict[str, tuple[str, str]]:
    where = placement(settings)
    out: dict[str, tuple[str, str]] = {}
    if where == "remote":
        out["placement"] = ("remote", f"inference service(s) at {settings.inference_url}")
        for url in [u.strip() for u in settings.inference_url.split(",") if u.strip()]:
            health, why = _probe(url)
            if health is None:
                out[f"service {url}"] = ("error", why)
                continue
            queue = sum(health.get("queue", {}).values())
            out[f"service {url}"] = ("ok", f"pid {health.get('pid')}, {len(health.get('models', []))} models, "
                                           f"{queue} waiting")
            for m in health.get("models", []):
                out[f"{m['name']} ({m['task']})"] = (m["state"], f"{m['model_id']} on {m['device']} at {url}")
        return out
    out["placement"] = (where, "a child process of each node (`townsquare inference serve`), no torch in the world"
                        if where == "child" else "inside the world process")
    for spec in specs_from_settings(settings):
        remote = spec.backend in ("openai", "service")
        runs = (f"{'OpenAI-compatible server' if spec.task in ('generate', 'embed') else 'inference service'} at "
                f"{spec.base_url}" if remote
                else "this node's inference child" if where == "child" else "this process")
        out[f"{spec.name} ({spec.task})"] = ("remote" if remote else "local", f"{spec.model_id}: {runs}")
    return out
