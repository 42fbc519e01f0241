"""`mentions`: a name said as a word (any case, or as @name), not inside another word."""

from __future__ import annotations

import pytest

from ai.npc.state import mentions


@pytest.mark.parametrize(
    ("text", "name", "said"),
    [
        ("Mira, where is the library?", "Mira", True),
        ("where is the library, MIRA?", "mira", True),
        ("ask @Odessa about books", "Odessa", True),
        ("Admiral Mirage", "Mira", False),  # inside another word
        ("write to mira@example.org", "example", True),  # @name counts, even mid-address
        ("good morning everyone", "Mira", False),
        ("bot 3fa2c1 said hi", "bot 3fa2c1", True),  # a name with a space
        ("ÖZLEM, hi", "özlem", True),  # any case, beyond ASCII
        ("anything", "", False),
    ],
)
def test_mentions(text, name, said):
    assert mentions(text, name) is said
