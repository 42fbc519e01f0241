"""The client's message catalogues (client_web/src/locales): every world language has every
message English has (plural forms aside), no message the code asks for is missing, and each
message keeps the placeholders of its English original (a translation that drops {{amount}}
would show the wrong words, not an error)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "client_web" / "src"
LANGUAGES = ("en", "es", "de", "fr", "pt")
PLURAL = re.compile(r"_(zero|one|two|few|many|other)$")


def flat(tree: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def catalogue(lang: str) -> dict[str, str]:
    return flat(json.loads((SRC / "locales" / f"{lang}.json").read_text(encoding="utf-8")))


def base(key: str) -> str:
    return PLURAL.sub("", key)


@pytest.mark.parametrize("lang", LANGUAGES[1:])
def test_every_language_has_every_message_with_its_placeholders(lang):
    en, other = catalogue("en"), catalogue(lang)
    assert {base(k) for k in other} == {base(k) for k in en}
    placeholders = {base(k): set(re.findall(r"\{\{(\w+)\}\}", v)) for k, v in en.items()}
    for key, text in other.items():
        assert set(re.findall(r"\{\{(\w+)\}\}", text)) == placeholders[base(key)], (lang, key, text)
    assert "other" in {PLURAL.search(k).group(1) for k in other if PLURAL.search(k)}


def test_every_message_the_client_asks_for_exists():
    en = {base(k) for k in catalogue("en")}
    asked = set()
    for path in SRC.rglob("*.js"):  # the world client and the admin console
        asked |= set(re.findall(r"""\bt\(\s*["']([a-z_]+(?:\.[a-z_]+)+)["']""", path.read_text(encoding="utf-8")))
    missing = sorted(asked - en)
    assert not missing, missing
    assert len(asked) > 150


def test_messages_named_at_run_time_exist():
    """Keys the code builds from a name (assistant.tool.<tool>, suggest.<key> from the server,
    admin.tab.<id>) are in the catalogues too: a missing one would show English, or the key."""
    from ai.assistant.tools import TOOLS

    en = {base(k) for k in catalogue("en")}
    server = (SRC.parents[1] / "server" / "events" / "suggestions.py").read_text(encoding="utf-8")
    tabs = "".join(p.read_text(encoding="utf-8") for p in (SRC / "admin" / "tabs").glob("*.js"))
    wanted = ({f"assistant.tool.{tool.name}" for tool in TOOLS}
              | {f"suggest.{key}" for key in re.findall(r'_say\("(\w+)"', server)}
              | {f"admin.tab.{tab}" for tab in re.findall(r'^  id: "(\w+)",', tabs, re.M)})
    assert len(wanted) > 25
    assert sorted(wanted - en) == []
