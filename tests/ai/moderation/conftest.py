"""Fixtures for moderation tests: one Moderator per module (the bundled model loads once)."""

import pytest

from ai.moderation import Moderator


@pytest.fixture(scope="module")
def moderator():
    return Moderator()
