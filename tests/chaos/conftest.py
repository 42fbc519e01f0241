"""Chaos cases: the fast ones run with the suite; those marked `chaos` only under `make chaos`
(`TOWNSQUARE_TEST_CHAOS=1`), since they restart databases and fill disks."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import make_settings

FIGURES = Path(os.environ.get("TOWNSQUARE_CHAOS_FIGURES", "test-artifacts/chaos-figures.jsonl"))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("TOWNSQUARE_TEST_CHAOS") == "1":
        return
    skip = pytest.mark.skip(reason="heavy chaos case: run it with `make chaos`")
    for item in items:
        if item.get_closest_marker("chaos") is not None:
            item.add_marker(skip)


def record_figures(case: str, figures: dict) -> None:
    """Append one case's measured figures (the README's table is made from these)."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a") as f:
        f.write(json.dumps({"case": case, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **figures}) + "\n")
    print(f"\nchaos figures {case}: {json.dumps(figures)}")


async def seed(db_url: str, tmp: Path) -> None:
    from server.cli import _seed

    await _seed(db_url, make_settings(tmp), only_if_empty=True)
