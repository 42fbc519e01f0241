"""A world configured with a translation model (the tiny random Marian, as `models.translation`):
the real loading, the shared queue batching lines of several senders, and delivery. The model's
output is gibberish, but it is the model's, made through the batched path, and it arrives."""

from __future__ import annotations

import asyncio
import uuid

import pytest_asyncio
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from server.config import ModelsConfig
from server.translation.models import MessageTranslation
from tests.conftest import make_settings, start_world
from tests.translation.conftest import fresh_room, person, say


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db_url, tmp_path_factory, tiny_marian_dir):
    models = ModelsConfig(translation=str(tiny_marian_dir), device="cpu", embed="", max_wait_ms=50)
    server = await start_world(make_settings(tmp_path_factory.mktemp("tiny"), chat_rate="50/second",
                                             models=models), db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


def _batches() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("townsquare_inference_batch_size_count", {"model": "translate"}) or 0.0
    ones = REGISTRY.get_sample_value("townsquare_inference_batch_size_bucket", {"model": "translate", "le": "1.0"})
    return count, ones or 0.0


async def test_lines_are_translated_by_the_tiny_model_in_shared_batches(world):
    svc = world.ctx.translation
    assert world.ctx.inference.available("translate") and svc.available
    room = await fresh_room(world)
    senders = [await person(world, room, "en") for _ in range(3)]
    es, de = await person(world, room, "es"), await person(world, room, "de")
    before = _batches()
    lines = [f"{w} the baker has fresh bread today 🍞 @{senders[0].name}" for w in ("hello", "good", "nice")]
    replies = await asyncio.gather(*[say(s, line) for s, line in zip(senders, lines)])
    more = await asyncio.gather(*[say(s, f"where is the market {w} ?")
                                  for s, w in zip(senders, ("now", "today", "then"))])
    ids = [r["message_id"] for r in replies + more]
    for reader, lang in ((es, "es"), (de, "de")):
        for mid in ids:
            got = await reader.inbox.wait_for("chat:translation", lambda d, m=mid: d["id"] == m, timeout=30)
            assert got["lang"] == lang and isinstance(got["text"], str) and got["text"]
        for mid in ids[:3]:
            text = next(d["text"] for d in reader.translations(mid))
            assert text.count("🍞") == 1 and text.count(f"@{senders[0].name}") == 1
    count, ones = (a - b for a, b in zip(_batches(), before))
    assert count > ones, "no forward batch held more than one line"
    assert svc.translator.requests == 12  # 6 lines x 2 languages, each once

    for _ in range(100):  # stored right after they went out
        async with world.ctx.db.session() as s:
            stored = await s.scalar(select(func.count()).select_from(MessageTranslation)
                                    .where(MessageTranslation.message_id.in_([uuid.UUID(i) for i in ids])))
        if stored == 12:
            break
        await asyncio.sleep(0.05)
    assert stored == 12
    late = await person(world, room, "de")
    hist = {m["id"]: m for m in late.join["history"]}
    for mid in ids:
        assert hist[mid]["translation"]["text"] == next(d["text"] for d in de.translations(mid))
    assert svc.translator.requests == 12


async def test_doctor_finds_the_configured_model(world):
    from server.domains import doctor_sections

    report = doctor_sections()["translation"](world.ctx.settings)
    assert report["model"][0] == "found" and report["delivery"][0] == "ok"
