"""A node without TOWNSQUARE_INFERENCE_URL runs its models in a supervised child process: the world
process never imports torch, the child is restarted when it dies and stopped with the node, and its
inference metrics appear on the node's registry."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from ai.inference import ModelUnavailable, Priority, default_specs
from ai.inference.child import SupervisedInference

ROOT = Path(__file__).resolve().parents[2]

WORLD = r"""
import asyncio, json, os, sys

async def main():
    from aiohttp import web
    from server.app import create_app
    from server.cli import _seed
    from server.config import Settings
    from server.context import get_ctx

    url, data_dir = sys.argv[1], sys.argv[2]
    settings = Settings(data_dir=data_dir, secret_key="s" * 48, port=0, log_format="json")  # default models
    await _seed(url, settings, only_if_empty=True)
    app = create_app(settings, url)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    ctx = get_ctx(app)
    vec = await ctx.inference.embed("embed", ["where is the market?"], deadline=30)
    out = {"torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules,
           "sklearn": "sklearn" in sys.modules, "moderation": ctx.moderation.status()["bundled_model"], "dim": len(vec[0]),
           "child": ctx.inference.pid, "figures": ctx.live_figures["inference"]()}
    await runner.cleanup()
    out["child_left"] = not os.path.exists(f"/proc/{out['child']}")
    print(json.dumps(out))

asyncio.run(main())
"""


def test_a_default_world_imports_no_torch_and_stops_its_child(db_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")}
    env.update(HF_HUB_OFFLINE="1", TOWNSQUARE_CONFIG=str(tmp_path / "none.toml"))
    out = subprocess.run([sys.executable, "-c", WORLD, db_url, str(tmp_path / "data")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["torch"] is False and result["transformers"] is False
    # moderation's bundled classifier is in the world process, as plain tables without scikit-learn
    assert result["moderation"]["available"] is True and result["sklearn"] is False
    assert result["dim"] == 384  # the bundled embedder answered, from the child
    assert result["figures"]["placement"] == "child"
    assert result["figures"]["models"]["embed"]["state"] == "loaded"
    assert result["figures"]["models"]["embed"]["runs_on"].startswith("unix:")
    assert isinstance(result["child"], int) and result["child_left"]


def _nice_of_threads(pid: int) -> set[int]:
    """The niceness of each thread of a process (/proc/PID/task/TID/stat, field 19)."""
    out = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            out.add(int(f.read().rsplit(")", 1)[1].split()[16]))
    return out


async def _until(cond, timeout: float = 60.0) -> None:
    """Poll a condition the supervisor changes on its own schedule (a process dying, restarting)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_the_child_is_restarted_after_a_crash_and_callers_fall_back_meanwhile():
    inf = SupervisedInference(default_specs(), refresh_s=0.2, threads=1, nice=3)
    await inf.start()
    try:
        assert inf.available("embed")
        first = inf.pid
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert _nice_of_threads(first) == {min(19, mine + 3)}  # every thread of the child, models' included
        if os.path.exists(f"/proc/{first}/autogroup"):  # its own session's CPU share is lowered too
            with open(f"/proc/{first}/autogroup") as f:
                assert f.read().split()[-1] == "3"
        key = {"model": "embed", "priority": "background", "outcome": "ok"}
        before = REGISTRY.get_sample_value("townsquare_inference_requests_total", key) or 0.0
        a = await inf.embed("embed", ["hello"], priority=Priority.BACKGROUND, deadline=30)
        # the child's counters show up in this process's registry (summed with any in-process ones)
        assert REGISTRY.get_sample_value("townsquare_inference_requests_total", key) == before + 1

        os.kill(first, signal.SIGKILL)
        await _until(lambda: not inf.available("embed"))
        started = time.monotonic()
        with pytest.raises(ModelUnavailable):
            await inf.embed("embed", ["hello"], deadline=30)
        assert time.monotonic() - started < 0.5  # no waiting on a dead service
        assert {s["name"]: s["state"] for s in inf.status()}["embed"] in ("unavailable", "loading")

        await _until(lambda: inf.available("embed"))
        assert inf.restarts == 1 and inf.pid != first
        assert _nice_of_threads(inf.pid) == {min(19, mine + 3)}  # a restarted child too
        assert await inf.embed("embed", ["hello"], priority=Priority.BACKGROUND, deadline=30) == a
    finally:
        pid = inf.pid
        await inf.stop()
    assert pid is not None and not os.path.exists(f"/proc/{pid}")
    with pytest.raises(ModelUnavailable):
        await inf.embed("embed", ["hello"])


async def test_stopping_the_node_stops_probing_before_the_child_goes(caplog):
    """A node that stops its own child says nothing about it being unreachable (it was not: it was stopped)."""
    inf = SupervisedInference(default_specs(), refresh_s=0.02, threads=1, nice=3)
    await inf.start()
    assert inf.available("embed")
    with caplog.at_level(logging.WARNING, logger="ai.inference"):
        await inf.stop(drain_timeout=0.5)
    assert not [r for r in caplog.records if "unreachable" in r.getMessage()], caplog.text
