"""The language-id eval (ai/translation/evals/cases.yaml): its cases cover every world language and
category, both accuracies pass it, the default (low) scores as well as high where the sender's
language is right, a detector that only trusts the prior fails it, and the CLI prints the figures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ai.translation import Detection, LanguageIdentifier
from ai.translation.evals.runner import CATEGORIES, load_cases, run, wrong_prior
from server.config import Settings

WORLD = ["en", "es", "de", "fr", "pt"]
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def reports():
    cases = load_cases()
    out = {}
    for accuracy in ("high", "low"):
        langid = LanguageIdentifier(WORLD, "en", accuracy=accuracy)
        langid.warm()
        out[accuracy] = run(cases, langid)
    return out


def test_the_cases_cover_every_language_and_category():
    cases = load_cases()
    assert len(cases) >= 150
    for lang in WORLD:
        for cat in CATEGORIES:
            assert sum(c["lang"] == lang and c["cat"] == cat for c in cases) >= 10, (lang, cat)
    assert len({c["say"] for c in cases}) == len(cases) - 1  # "de nada" is Spanish and Portuguese
    # the wrong prior is another world language, and not one the line is also in
    for c in cases:
        assert wrong_prior(c, WORLD) not in {c["lang"], *c.get("also", ())}


@pytest.mark.parametrize("accuracy", ["high", "low"])
def test_both_accuracies_pass_the_eval(reports, accuracy):
    rates = reports[accuracy].rates("bucket")
    for cat in CATEGORIES:
        passed, n = rates[f"{cat}/right"]
        assert passed / n >= 0.97, (cat, reports[accuracy].format())
    # with a wrong prior, sentences are still read right; only short lines lean on the prior
    passed, n = rates["sentence/wrong"]
    assert passed / n >= 0.97
    passed, n = reports[accuracy].rates("prior")["wrong"]
    assert passed / n >= 0.85, reports[accuracy].format()


def test_the_default_low_accuracy_is_as_good_as_high_with_the_senders_language(reports):
    assert Settings.model_fields["translation_langid_accuracy"].default == "low"
    low, high = reports["low"].rates("prior"), reports["high"].rates("prior")
    assert low["right"][0] >= high["right"][0] - 1
    assert reports["low"].passed >= reports["high"].passed - 6  # the figures in docs/translation.md


def test_english_chat_words_keep_a_short_english_line_english():
    """A resident answered "ok gimme 1 map then" in German: lingua's trigrams read it so (0.56)."""
    langid = LanguageIdentifier(WORLD, "en", accuracy="low")
    for line in ("ok gimme 1 map then", "i wanna buy some tea", "can u give me a map"):
        assert langid.detect(line, prior="en").lang == "en", line


def test_a_detector_that_only_trusts_the_prior_fails_the_eval():
    class PriorOnly(LanguageIdentifier):
        def detect(self, text, prior=None, names=()):
            return Detection(prior or self.default, True, 1.0, "prior")

    cases = load_cases()
    report = run(cases, PriorOnly(WORLD, "en"))
    assert report.rates("prior")["right"] == (len(cases), len(cases))
    assert report.rates("prior")["wrong"][0] <= 2  # only the lines in two languages
    assert "FAIL [es short, prior" in report.format()


def test_the_cli_prints_pass_rates_per_category_and_language(tmp_path):
    env = dict(os.environ, TOWNSQUARE_CONFIG=str(tmp_path / "none.toml"))
    env.pop("TOWNSQUARE_TRANSLATION_LANGID_ACCURACY", None)
    out = subprocess.run([sys.executable, "-m", "server.cli", "translation", "langid-eval"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"(low accuracy): {len(load_cases())} lines" in out.stdout
    for word in ("short", "sentence", "names", "prior right", "prior wrong", *WORLD):
        assert word in out.stdout
    bad = subprocess.run([sys.executable, "-m", "server.cli", "translation", "langid-eval", "--cases",
                          str(tmp_path / "missing.yaml")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "cannot read the cases" in bad.stdout
