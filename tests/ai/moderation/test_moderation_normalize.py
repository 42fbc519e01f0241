"""Stage 1: each obfuscation trick folds to the plain word, and spans map back to the original."""

import pytest

from ai.moderation import Action, normalize


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ＦＵＣＫ", "fuck"),  # fullwidth (NFKC)
        ("FuCk", "fuck"),  # case
        ("fuсk", "fuck"),  # Cyrillic с
        ("shіt", "shit"),  # Cyrillic і
        ("рussy", "pussy"),  # Cyrillic р
        ("αss", "ass"),  # Greek α
        ("fück", "fuck"),  # accent
        ("ﬁne", "fine"),  # ligature
        ("$h1t", "shit"),  # leetspeak
        ("@ss", "ass"),
        ("f4ck", "fack"),
        ("y0u 1d10t", "you idiot"),
        ("sh!t", "shit"),
        ("ni99er", "nigger"),
        ("fuuuuuuck", "fuuck"),  # stretched letters shortened (matching tolerates the rest)
        ("f u c k", "fuck"),  # spaced out
        ("f.u.c.k", "fuck"),
        ("f-u-c-k", "fuck"),
        ("f_u_c_k", "fuck"),
        ("s h 1 t", "shit"),
        ("fu\u200bck", "fuck"),  # zero-width space
        ("f\u200du\u2060c\ufeffk", "fuck"),  # ZWJ, word joiner, BOM
        ("fu\u0301ck", "fuck"),  # combining accent
    ],
)
def test_tricks_fold_to_the_plain_word(text, expected):
    assert normalize(text).text == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("room 101 has 5 gold", "room 101 has 5 gold"),  # numbers alone are not leetspeak
        ("wow!", "wow!"),  # a trailing ! is punctuation
        ("u r a noob", "u r a noob"),  # chat shorthand is not a spelled-out word
        ("1 2 3", "1 2 3"),
        ("привет мир", "привет мир"),  # real Cyrillic words are left alone
        ("gg wp", "gg wp"),
    ],
)
def test_clean_text_is_left_alone(text, expected):
    assert normalize(text).text == expected


def test_offset_map_points_at_the_original_characters():
    original = "ok ｆｕ\u200bｃｋ you"
    norm = normalize(original)
    assert norm.text == "ok fuck you"
    start = norm.text.index("fuck")
    s, e = norm.original_span(start, start + 4)
    assert original[s:e] == "ｆｕ\u200bｃｋ"
    s, e = norm.original_span(norm.text.index("you"), len(norm.text))
    assert original[s:e] == "you"


def test_offset_map_covers_stretched_and_spaced_letters():
    original = "well fuuuuuck and f . u . c . k it"
    norm = normalize(original)
    assert norm.text == "well fuuck and fuck it"
    i = norm.text.index("fuuck")
    assert original[slice(*norm.original_span(i, i + 5))] == "fuuuuuck"
    j = norm.text.index("fuck ")
    assert original[slice(*norm.original_span(j, j + 4))] == "f . u . c . k"
    assert norm.joined and norm.text[slice(*norm.joined[0])] == "fuck"


def test_ligature_expands_but_maps_to_one_original_character():
    norm = normalize("ﬁ")
    assert norm.text == "fi"
    assert norm.original_span(0, 1) == (0, 1) and norm.original_span(1, 2) == (0, 1)


@pytest.mark.parametrize(
    "text",
    ["ＦＵＣＫ this", "fuсk this", "fu\u200bck this", "fuuuuuck this", "f.u.c.k this", "f u c k this", "f4ck this",
     "$h1t happens", "@ss"],
)
def test_each_trick_is_caught_end_to_end(moderator, text):
    v = moderator.check_sync(text)
    assert v.action is Action.MASK, (text, v)
    assert "###" in v.masked_text
