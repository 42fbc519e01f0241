"""Stage 3: the bundled alt-profanity-check model."""

import os

from ai.moderation import Action, Lexicon, ModerationRules, Moderator
from ai.moderation.bundled import BundledModel, get_bundled_model


def test_bundled_model_loads_and_scores():
    b = get_bundled_model()
    assert b.available, b.error
    hi, lo = b.line_scores(["you fucking idiot", "nice weather for fishing"])
    assert hi > 0.9 and lo < 0.5
    assert b.word_score("fuck") > 0.97 and b.word_score("fishing") < 0.5
    assert b.word_score("notaword123") == 0.0
    assert b.line_scores(["", "  "]) == [0.0, 0.0]


def test_bundled_model_masks_profane_words_the_lexicon_lacks(moderator):
    v = moderator.check_sync("what a jerk, seriously")
    assert v.action is Action.MASK and v.stage == "bundled_model"
    assert v.masked_text == "what a ###, seriously"


def test_bundled_model_alone_still_masks_profanity():
    m = Moderator(ModerationRules(use_lexicon=False))
    v = m.check_sync("fuck this lag")
    assert v.action is Action.MASK and v.stage == "bundled_model" and v.masked_text == "### this lag"


def test_game_words_the_model_overrates_are_not_scored(moderator):
    # the raw model gives "kill the boss" about 0.95; the world's neutral words are taken out
    assert get_bundled_model().line_scores(["kill the boss"])[0] > 0.9
    v = moderator.check_sync("kill the boss")
    assert v.action is Action.ALLOW and v.categories["toxicity"] < 0.5


def test_line_score_flags_when_high():
    m = Moderator(lexicon=Lexicon({}), bundled_word_threshold=1.1)  # no lexicon, no word masking
    v = m.check_sync("you stupid idiot moron")
    assert v.action is Action.FLAG and v.categories["toxicity"] >= 0.9 and v.stage == "bundled_model"


def test_status_reports_the_bundled_model(moderator):
    st = moderator.status()["bundled_model"]
    assert st["enabled"] and st["available"] and st["name"] == "alt-profanity-check" and st["reason"] is None
    st = Moderator(use_bundled_model=False).status()["bundled_model"]
    assert not st["enabled"] and "disabled" in st["reason"]


def test_missing_bundled_model_is_reported_and_moderation_goes_on():
    m = Moderator()
    broken = BundledModel()
    broken._loaded, broken.error = True, "ModuleNotFoundError: No module named 'profanity_check'"
    m.bundled = broken
    st = m.status()["bundled_model"]
    assert st["available"] is False and "profanity_check" in st["reason"]
    v = m.check_sync("fuck this")
    assert v.action is Action.MASK and "bundled model unavailable" in v.reasons
    assert "bundled model unavailable" in m.check_sync("hello").reasons


def test_fast_path_gives_the_same_probabilities_as_predict_prob():
    import json
    from pathlib import Path

    from profanity_check import predict_prob

    b = get_bundled_model()
    assert b.fast_path
    eval_file = Path(__file__).resolve().parents[2] / "data" / "moderation_eval.jsonl"
    texts = [json.loads(line)["text"] for line in eval_file.open(encoding="utf-8")]
    texts = [t for t in texts if t.strip()] + ["FUCK", "Ünïcode wörds", "zzqx"]
    for got, want in zip(b.line_scores(texts), predict_prob(texts)):
        assert abs(got - float(want)) < 1e-9


def test_tables_are_extracted_once_into_the_cache_and_need_no_sklearn(tmp_path, monkeypatch):
    import subprocess
    import sys

    from ai.moderation import profanity_table

    monkeypatch.setenv("TOWNSQUARE_CACHE_DIR", str(tmp_path))
    b = BundledModel()
    assert b.load() and b.fast_path and not b.in_process_sklearn
    assert profanity_table.cache_path().parent == tmp_path and profanity_table.cache_path().exists()
    shared = get_bundled_model()
    texts = ["you fucking idiot", "nice weather for fishing", "what a jerk, seriously", ""]
    assert b.line_scores(texts) == shared.line_scores(texts)
    assert b.word_score("jerk") == shared.word_score("jerk") and b.word_score("notaword123") == 0.0
    # a fresh process scores from the cached file without importing scikit-learn, scipy or numpy
    probe = ("import sys; from ai.moderation.bundled import BundledModel; b = BundledModel(); b.load(); "
             "print(b.available, b.in_process_sklearn, [m for m in ('sklearn', 'scipy', 'numpy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "TOWNSQUARE_CACHE_DIR": str(tmp_path)})
    assert out.stdout.split() == ["True", "False", "[]"], out.stderr[-2000:]


def test_without_the_tables_the_pickles_are_loaded_in_process(monkeypatch):
    from ai.moderation import bundled

    def broken():
        raise RuntimeError("no tables here")

    monkeypatch.setattr(bundled, "load_table", broken)
    b = BundledModel()
    assert b.load() and b.in_process_sklearn and b.fast_path
    assert b.line_scores(["you fucking idiot"])[0] > 0.9 and b.word_score("fuck") > 0.97
