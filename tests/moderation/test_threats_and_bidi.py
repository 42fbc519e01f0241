"""Issue 13: threats of violence are their own rule set (five languages, benign near-misses pass),
and moderation judges the text a browser draws, not the order it is stored in."""

import pytest

from ai.moderation import Action, Moderator
from ai.moderation.normalize import displayed


@pytest.fixture(scope="module")
def moderator():
    return Moderator()


@pytest.mark.parametrize("text", [
    "I will find where you live and hurt you",
    "i'll find out where u live and kill you",
    "i'll find your address and kill you",
    "I'll hurt you when I find where you live",
    "gonna find where you live and beat you up",
    "voy a averiguar donde vives y matarte",
    "ich finde heraus wo du wohnst und tu dir weh",
    "je vais trouver où tu habites et te tuer",
    "vou descobrir onde você mora e te matar",
])
def test_threats_of_violence_are_blocked(moderator, text):
    v = moderator.check_sync(text)
    assert v.action is Action.BLOCK, (text, v)
    assert v.categories.get("threat", 0) >= 0.85 and any("threat" in r for r in v.reasons), v


@pytest.mark.parametrize("text", [
    "I will find where you live on the map",
    "find where you live on the map and kill the dragon there",
    "I found where you live in the game, nice house",
    "kill the boss when you find where it lives",
    "find your house on the map and kill the boss",
    "dime donde vives en el mapa",
    "wo du wohnst ist auf der Karte markiert",
    "je vais trouver où tu habites sur la carte",
    "onde você mora no mapa?",
])
def test_near_misses_are_allowed(moderator, text):
    v = moderator.check_sync(text)
    assert v.action is Action.ALLOW, (text, v)


def test_a_right_to_left_override_cannot_hide_a_slur(moderator):
    hidden = "\u202ereggin\u202c you"  # drawn as the slur
    assert displayed(hidden) == "nigger you"
    assert moderator.check_sync(hidden).action is Action.BLOCK
    masked = moderator.check_sync("look at this \u202etihs\u202c")
    assert masked.action is Action.MASK and masked.masked_text == "look at this ###"
    # Controls that only nest direction change nothing a reader sees: dropped, words kept in order.
    assert displayed("a \u2067b\u2069 c\u202a d\u202c") == "a b c d"
    assert displayed("ab\u202ecd\nef") == "abdc\nef"  # an override ends with its line
    assert moderator.check_sync("hello \u202eoof\u202c bar").action is Action.ALLOW
