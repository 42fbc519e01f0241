"""Language id on short lines with the sender's language as the prior, lines that need no
translation, and protection of mentions, links, emoji, code and names."""

import pytest

from ai.translation import LanguageIdentifier, needs_translation, protect, restore

WORLD = ["en", "es", "de", "fr", "pt"]


@pytest.fixture(scope="module", params=["high", "low"])
def langid(request):
    """Both accuracies (translation_langid_accuracy) must get clear lines and the rules right."""
    li = LanguageIdentifier(WORLD, "en", accuracy=request.param)
    li.warm()
    return li


@pytest.fixture(scope="module")
def precise():
    li = LanguageIdentifier(WORLD, "en")
    li.warm()
    return li


@pytest.mark.parametrize("text,prior,lang", [
    ("¿Dónde está el mercado hoy?", "en", "es"),
    ("Wo ist der Markt heute?", "en", "de"),
    ("Je cherche le boulanger, il est où ?", "de", "fr"),
    ("Obrigado pela ajuda com a loja", "en", "pt"),
    ("I totally agree with you", "es", "en"),
    ("see you at the market tomorrow", "fr", "en"),
])
def test_clear_lines_are_detected_whatever_the_prior(langid, text, prior, lang):
    found = langid.detect(text, prior)
    assert found.lang == lang and found.translatable and found.reason == "detected"


def test_short_and_ambiguous_lines_lean_on_the_senders_language(precise):
    # high accuracy only: with trigrams alone lingua is sure enough that "sure" is French to outvote the prior
    # lingua alone calls "sure", "nice" and "cool" something else; the prior keeps them
    for word, prior in [("sure", "es"), ("nice", "de"), ("cool", "fr"), ("sure", "en")]:
        found = precise.detect(word, prior)
        assert found.lang == prior and found.translatable
    assert precise.detect("sure", "es").reason == "prior"
    # whole-line greetings are known per language: "hello" from a German speaker is English
    assert precise.detect("hello", "de").lang == "en"
    assert precise.detect("hola", "en").lang == "es"
    assert precise.detect("merci", "en").lang == "fr"
    # "no" is English and Spanish: the prior decides
    assert precise.detect("no", "es").lang == "es" and precise.detect("no", "en").lang == "en"
    # a language the world does not speak is no prior; the world default is
    assert precise.detect("sure", "ja").lang == "en"


@pytest.mark.parametrize("text", ["ok", "OK!", "gg", "lol", "LOL 😂", "hahaha", "jajaja", "kkkkk", "😀👍🏽",
                                  "123", "12:30", "+1", "@bob", "https://example.com/x", "`make test`",
                                  "ok lol gg", "### ###", ":) <3"])
def test_lines_that_read_the_same_everywhere_are_not_translatable(langid, text):
    found = langid.detect(text, "es")
    assert found.lang == "es" and not found.translatable
    assert not needs_translation(text)


def test_words_that_look_like_laughter_are_still_words():
    assert needs_translation("hi") and needs_translation("he") and needs_translation("so")
    assert not needs_translation("hahaha") and not needs_translation("rsrs")


def test_a_name_alone_is_not_translatable(langid):
    assert needs_translation("Rosalind")
    assert not needs_translation("Rosalind", names=["Rosalind"])
    assert not langid.detect("Rosalind!", "de", names=["Rosalind"]).translatable


def test_detection_with_one_world_language_is_the_prior():
    li = LanguageIdentifier(["en"])
    assert li.detect("¿Dónde está el mercado?", "en").lang == "en"
    assert li.status[0] == "missing"


def test_protect_and_restore_every_kind_of_span():
    text = ("hey @bob_99, see https://example.com/a?b=1. run `rm -rf x` 😀👍🏽 ### :) "
            "ask Anna Maria or Will, they will know [3]")
    p = protect(text, names=["Anna Maria", "Anna", "Will", "x"])
    assert p.spans == ("@bob_99", "https://example.com/a?b=1", "`rm -rf x`", "😀👍🏽", "###", ":)", "Anna Maria",
                       "Will", "[3]")
    assert "will know" in p.text  # "will" is a word, "Will" a name
    assert "@" not in p.text and "http" not in p.text and "`" not in p.text
    assert restore(p.text, p.spans) == text


def test_restore_survives_a_model_that_moves_drops_or_invents_placeholders():
    p = protect("thanks @ana for the 🍞 at https://x.org", names=[])
    assert p.text == "thanks [1] for the [2] at [3]"
    assert restore("gracias [ 2 ] [1] en", p.spans) == "gracias 🍞 @ana en https://x.org"  # moved, spaced, dropped
    assert restore("[7] gracias [1] [1]", p.spans) == "gracias @ana 🍞 https://x.org"  # invented, repeated


def test_the_accuracy_is_reported_and_checked(langid):
    assert langid.status == ("found", f"lingua ({langid.accuracy} accuracy) over 5 world languages")
    with pytest.raises(ValueError):
        LanguageIdentifier(WORLD, accuracy="medium")
