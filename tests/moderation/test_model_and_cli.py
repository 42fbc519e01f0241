"""The optional toxicity model wired through the shared inference queue (a tiny random classifier
built offline), its absence reported by doctor, and `townsquare moderate` on stdin."""

import json
import os
import subprocess
import sys

import pytest_asyncio

from server.config import ModelsConfig
from tests.conftest import call, make_settings, start_world
from tests.moderation.conftest import fresh_room, person, stored


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world_with_model(db_url, tmp_path_factory):
    from ai.inference import tiny

    model_dir = tiny.build_tiny_bert_classifier(tmp_path_factory.mktemp("tiny-toxicity"))
    settings = make_settings(tmp_path_factory.mktemp("w"), models=ModelsConfig(toxicity=str(model_dir)))
    server = await start_world(settings, db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


async def test_the_toxicity_model_scores_every_line_through_the_inference_queue(world_with_model):
    world = world_with_model
    assert world.ctx.inference.available("toxicity")
    room = await fresh_room(world)
    a, ca, ia, _ = await person(world, room.slug)
    r = await call(ca, "chat:send", {"text": "good morning everyone"})
    assert r["ok"], r
    row = await stored(world, r["message_id"])
    assert row.moderation["model"] == "toxicity"
    # The tiny model's labels (ok / toxic / spam) are among the stored scores.
    assert "ok" in row.moderation["categories"]
    assert world.ctx.moderation.status()["model"]["state"] == "loaded"
    # Rules still decide what they always decide.
    r = await call(ca, "chat:send", {"text": "what the fuck is this"})
    assert r["text"] == "what the ### is this"


async def test_a_configured_but_missing_model_is_reported_by_doctor(tmp_path):
    from server.moderation.doctor import doctor_section

    report = doctor_section(make_settings(tmp_path, models=ModelsConfig(toxicity="/nonexistent/toxic-bert")))
    assert report["toxicity model (optional)"][0] == "missing"
    assert "still delivers" in report["pipeline"][1]
    assert report["rules"][0] == "ok" and report["lexicon"][0] == "found"


def test_townsquare_moderate_reads_lines_and_writes_verdicts(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TOWNSQUARE_DATA_DIR": str(tmp_path),
           "TOWNSQUARE_CONFIG": "/nonexistent/townsquare.toml", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "server.cli", "moderate"], capture_output=True, text=True, env=env,
                         input="hello there\nwhat the fuck is this\n\nyou are an idiot\n", timeout=60)
    assert out.returncode == 0, out.stderr
    verdicts = [json.loads(line) for line in out.stdout.splitlines()]
    assert [v["action"] for v in verdicts] == ["allow", "mask", "block"]
    assert verdicts[1]["masked_text"] == "what the ### is this" and verdicts[2]["reasons"]
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"block_words": ["zorblax"]}))
    out = subprocess.run([sys.executable, "-m", "server.cli", "moderate", "--rules", str(rules), "--kind", "name"],
                         capture_output=True, text=True, env=env, input="zorblax\nFriendly Fern\n", timeout=60)
    assert [json.loads(x)["action"] for x in out.stdout.splitlines()] == ["block", "allow"]
