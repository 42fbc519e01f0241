"""Keep what must not be translated as it is: mentions, URLs, e-mail addresses, code spans, emoji
and emoticons, masked words (###), and the names of the people in the room.

`protect` swaps each such span for a numbered placeholder `[1]`, `[2]`, ... (citation-style
brackets, which translation models copy through), `restore` puts the spans back. A placeholder the
model dropped is appended at the end, one it invented is removed: every protected span comes back
exactly once, whatever the model did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

# Emoji: flags (two regional indicators), pictographs with their modifiers, joiners and selectors.
_EMOJI_CHAR = (
    "\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF\u2190-\u21FF\u25A0-\u25FF"
    "\u3030\u303D\u3297\u3299\u00A9\u00AE\u203C\u2049\u2122\u2139"
)
_EMOJI_TAIL = "\uFE0E\uFE0F\u200D\u20E3\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F"
EMOJI = rf"(?:[{_EMOJI_CHAR}][{_EMOJI_TAIL}]*)+"
EMOTICON = r"(?<!\S)(?:[:;=8][-']?[)(\]\[DPpOo/\\|*3]+|<3+|\^\^|\^_\^|[xX]D+|o/|\\o/|T_T|-_-)(?=\s|$|[.,!?])"

_STATIC = [
    r"```[\s\S]*?```",  # fenced code
    r"`[^`\n]+`",  # code span
    r"(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]",  # URL (trailing punctuation stays text)
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail address
    r"@[\w][\w.-]*[\w]|@[\w]",  # @mention
    EMOJI,
    EMOTICON,
    r"#{2,}",  # words moderation masked
    r"\[\d+\]",  # something that looks like a placeholder already
]
PLACEHOLDER = re.compile(r"\[\s*(\d{1,3})\s*\]")


@dataclass(frozen=True)
class Protected:
    """`text` with each protected span replaced by `[n]` (n counts from 1); `spans` in order."""

    text: str
    spans: tuple[str, ...]

    @property
    def words(self) -> str:
        """The text that a model would actually translate (placeholders removed)."""
        return PLACEHOLDER.sub(" ", self.text).strip()


@lru_cache(maxsize=512)
def _pattern(names: tuple[str, ...]) -> re.Pattern:
    parts = []
    if names:
        # @Display Name with spaces, then bare names (case as written: "Will" is a name, "will" is not)
        alts = "|".join(re.escape(n) for n in names)
        parts.append(rf"@(?i:{alts})(?!\w)")
        parts.append(rf"(?<![\w@])(?:{alts})(?!\w)")
    parts[:0] = _STATIC[:4]
    parts += _STATIC[4:]
    return re.compile("|".join(f"(?:{p})" for p in parts))


def _names(names: Iterable[str]) -> tuple[str, ...]:
    # the same room's names come several times per line (hundreds in a busy room): sorted once
    return _sorted_names(tuple(names))


@lru_cache(maxsize=512)
def _sorted_names(names: tuple[str, ...]) -> tuple[str, ...]:
    # longest first so "Anna Maria" wins over "Anna"; one-letter names would eat every "a"
    unique = {n.strip() for n in names if n and len(n.strip()) >= 2}
    return tuple(sorted(unique, key=lambda n: (-len(n), n)))


def protect(text: str, names: Iterable[str] = ()) -> Protected:
    spans: list[str] = []

    def repl(m: re.Match) -> str:
        spans.append(m.group(0))
        return f"[{len(spans)}]"

    return Protected(_pattern(_names(names)).sub(repl, text), tuple(spans))


def restore(translated: str, spans: Iterable[str]) -> str:
    spans = tuple(spans)
    if not spans:
        return translated
    used: set[int] = set()

    def repl(m: re.Match) -> str:
        i = int(m.group(1))
        if 1 <= i <= len(spans) and i not in used:
            used.add(i)
            return spans[i - 1]
        return ""  # invented or repeated by the model

    out = PLACEHOLDER.sub(repl, translated)
    missing = [s for i, s in enumerate(spans, 1) if i not in used]
    if missing:
        out = f"{out.rstrip()} {' '.join(missing)}"
    return re.sub(r"[ \t]{2,}", " ", out).strip()
