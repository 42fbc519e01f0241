"""Quality gate on the hand-labeled game-chat set (tests/data/moderation_eval.jsonl).

Targets: F1 >= 0.85 for "block or mask" and <= 5% of benign lines blocked or masked, on the
held-out test split. bench/moderation.py prints the full figures.
"""

import collections
import json
from pathlib import Path

import pytest

from ai.moderation import Action

EVAL = Path(__file__).resolve().parents[2] / "data" / "moderation_eval.jsonl"


@pytest.fixture(scope="module")
def rows():
    with EVAL.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_eval_set_shape(rows):
    assert len(rows) >= 320
    assert len({r["text"] for r in rows}) == len(rows)
    assert {r["label"] for r in rows} == {"ok", "act"}
    assert {r["split"] for r in rows} == {"dev", "test"}
    splits = collections.Counter(r["split"] for r in rows)
    assert 0.4 <= splits["test"] / len(rows) <= 0.6
    langs = {r["lang"] for r in rows}
    assert {"en", "es", "de", "fr", "pt"} <= langs
    for lang in ("es", "de", "fr", "pt"):
        assert {r["label"] for r in rows if r["lang"] == lang} == {"ok", "act"}


def score(moderator, rows):
    verdicts = moderator.check_many_sync([r["text"] for r in rows])
    tp = sum(1 for r, v in zip(rows, verdicts) if r["label"] == "act" and v.action in (Action.BLOCK, Action.MASK))
    fp = sum(1 for r, v in zip(rows, verdicts) if r["label"] == "ok" and v.action in (Action.BLOCK, Action.MASK))
    fn = sum(1 for r, v in zip(rows, verdicts) if r["label"] == "act" and v.action not in (Action.BLOCK, Action.MASK))
    benign = sum(1 for r in rows if r["label"] == "ok")
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2 * precision * recall / (precision + recall), fp / benign


def test_quality_targets_on_test_split(moderator, rows):
    f1, benign_rate = score(moderator, [r for r in rows if r["split"] == "test"])
    assert f1 >= 0.85, f1
    assert benign_rate <= 0.05, benign_rate


def test_quality_targets_on_all_lines(moderator, rows):
    f1, benign_rate = score(moderator, rows)
    assert f1 >= 0.85 and benign_rate <= 0.05, (f1, benign_rate)
