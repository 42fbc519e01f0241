"""`townsquare doctor` section: which brain each resident has, and why."""

from __future__ import annotations

import asyncio
from typing import Any

Status = tuple[str, str]


def _llm_state(settings: Any) -> Status:
    from server.doctor import model_presence

    m = settings.models
    if m.npc_base_url:
        return ("llm", f"OpenAI-compatible server at {m.npc_base_url} ({m.npc or 'default model'})")
    if not m.npc:
        return ("retrieval", "no npc model configured (models.npc / models.npc_base_url): answers from persona "
                             "knowledge, memories, live stock and real rooms with the bundled embedder")
    state, why = model_presence(m.npc)
    if state == "found":
        return ("llm", f"{m.npc} ({why})")
    return ("retrieval", f"npc model {m.npc} {state}: {why}")


def _residents(settings: Any) -> list[dict[str, Any]]:
    """Residents from the world's database when it is reachable, else from the world file."""
    try:
        from sqlalchemy import text

        from server.db import Database
        from server.db.resolve import world_database

        with world_database(settings) as url:
            async def fetch() -> list[dict[str, Any]]:
                db = Database(url, pool_size=1)
                try:
                    async with db.session() as s:
                        rows = (await s.execute(text("SELECT key, name, role, brain, status FROM residents "
                                                     "ORDER BY key"))).all()
                    return [dict(r._mapping) for r in rows]
                finally:
                    await db.dispose()

            return asyncio.run(asyncio.wait_for(fetch(), 20))
    except Exception:
        from server.world.seed import load_world_file

        world = load_world_file(settings.world_file)
        return [{"key": r.get("key"), "name": r.get("name"), "role": r.get("role"), "brain": "auto",
                 "status": "active (world file)"} for r in world.get("residents") or []]


def doctor_section(settings: Any) -> dict[str, Status]:
    default = settings.residents_brain
    llm_kind, llm_why = _llm_state(settings)
    out: dict[str, Status] = {}
    for r in _residents(settings):
        label = f"{r['name']} ({r['key']})"
        if str(r.get("status", "")).startswith("retired"):
            out[label] = ("retired", "not in the world")
            continue
        pref = r.get("brain") or "auto"
        pref = default if pref == "auto" else pref
        if pref == "retrieval":
            out[label] = ("retrieval", "chosen (brain: retrieval)")
        else:
            out[label] = (llm_kind, llm_why)
    rate = settings.residents_clock_rate
    clock = (f"scaled: 1 real minute = {rate:g} world hour{'' if rate == 1 else 's'}"
             if settings.residents_clock == "scaled" else "real UTC time of day")
    out["world clock"] = ("ok", clock)
    out["budgets"] = ("ok", f"{settings.residents_calls_per_minute:g} model calls per resident per minute, "
                            f"{settings.residents_world_calls_per_minute:g} for the world")
    return out
