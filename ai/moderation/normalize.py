"""Stage 1: turn a chat line into a canonical form that word lists can match.

Undoes the usual tricks (fullwidth and homoglyph letters, accents, zero-width characters,
leetspeak, stretched letters, letters spaced out with blanks or punctuation) and keeps, for
every character of the result, the span of the original text it came from, so a match on the
canonical text can be masked in the original without touching the clean words around it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Normalized", "normalize", "normalize_term", "displayed", "BIDI_CONTROLS"]

# Bidi embeddings, overrides and isolates; PDF (U+202C) and PDI (U+2069) close them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_RLO, _PDF = "\u202e", "\u202c"

# Format characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen, bidi marks ...) are
# category "Cf"; a few invisible fillers are not, so they are listed.
_INVISIBLE_EXTRA = {"\u034f", "\u115f", "\u1160", "\u3164", "\uffa0", "\u180e"}

_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'", "\u2032": "'"}

# Letters from other scripts that look like Latin ones (lower case, after casefold).
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "һ": "h", "ԛ": "q", "ԝ": "w", "ь": "b", "ѵ": "v", "ӏ": "l", "п": "n",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "s", "σ": "o", "ϲ": "c",
    # Latin look-alikes that NFKD does not decompose
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t", "ɡ": "g", "ɑ": "a",
    "æ": "ae", "œ": "oe", "ʋ": "u", "ɩ": "i",
    # Armenian, Cherokee-free subset
    "ո": "n", "ս": "u", "օ": "o",
    # symbols used as letters
    "€": "e", "¢": "c", "£": "l", "©": "c", "®": "r", "¥": "y", "ß": "ss",
}

# Leetspeak, applied only inside tokens that contain at least one letter.
_LEET = {"4": "a", "@": "a", "3": "e", "1": "i", "0": "o", "5": "s", "$": "s", "7": "t", "9": "g"}
# These only count as letters when a letter follows them ("sh!t", "!diot", but not "wow!").
_LEET_BEFORE_LETTER = {"!": "i", "|": "l"}

# Letters spaced out to dodge a word list: "f u c k", "f.u.c.k", "s-h-i-t", "k y s".
_SINGLE = r"(?:[^\W_]|[$@!])"
_SEP = r"[\s.\-_*,/|~·•+:]{1,3}"
_SPACED_RUN = re.compile(
    rf"(?<![^\W_$@!]){_SINGLE}(?:{_SEP}{_SINGLE}(?![^\W_$@!])){{2,}}"
)
_SEP_CHARS = set(" \t.-_*,/|~·•+:")
# A run made only of these is chat shorthand ("u r a noob", "i o u"), not a spelled word.
_SHORTHAND = set("uraioyn")

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Normalized:
    """Canonical text plus, per character, the original span [start, end) it stands for."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    joined: tuple[tuple[int, int], ...] = ()  # spans of `text` that were spaced-out letters
    prejoin_words: frozenset[str] = frozenset()  # words before spaced letters were joined

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of `text` back to the smallest span of `original` that produced it."""
        if not self.text or end <= start:
            return (0, 0)
        return self.starts[start], self.ends[end - 1]

    def words(self) -> list[tuple[str, int, int]]:
        """Words of the canonical text with their spans in it."""
        return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(self.text)]


class _Buf:
    """Characters with their original spans; deleting one folds its span into a neighbour."""

    __slots__ = ("chars", "starts", "ends")

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def append(self, c: str, start: int, end: int) -> None:
        self.chars.append(c)
        self.starts.append(start)
        self.ends.append(end)

    def text(self) -> str:
        return "".join(self.chars)

    def delete(self, drop: set[int]) -> None:
        """Remove the characters at the given indexes; the previous kept one absorbs the span."""
        if not drop:
            return
        chars, starts, ends = [], [], []
        pending_start = None
        for i, c in enumerate(self.chars):
            if i in drop:
                if ends:
                    ends[-1] = max(ends[-1], self.ends[i])
                elif pending_start is None:
                    pending_start = self.starts[i]
                continue
            chars.append(c)
            starts.append(self.starts[i] if pending_start is None else pending_start)
            ends.append(self.ends[i])
            pending_start = None
        self.chars, self.starts, self.ends = chars, starts, ends


def _fold_char(ch: str) -> str:
    """NFKC, casefold and strip accents from one character."""
    if ch.isascii():
        return ch.lower() if ch.isalpha() else ch
    s = unicodedata.normalize("NFKC", ch).casefold()
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    out = []
    for c in s:
        if c in _APOSTROPHES:
            out.append(_APOSTROPHES[c])
        elif c.isspace():
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)


def _is_invisible(ch: str) -> bool:
    if ch.isascii():
        return False
    return unicodedata.category(ch) in ("Cf", "Mn", "Me") or ch in _INVISIBLE_EXTRA


def _token_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def _deconfuse(buf: _Buf) -> None:
    """Map homoglyphs to Latin inside tokens that mix scripts or could be Latin in disguise."""
    text = buf.text()
    if text.isascii():
        return
    replace: dict[int, str] = {}
    for start, end in _token_spans(text):
        tok = text[start:end]
        letters = [c for c in tok if c.isalpha()]
        if not letters or all(c.isascii() for c in letters):
            continue
        has_latin = any(c.isascii() for c in letters)
        all_confusable = all(c.isascii() or c in CONFUSABLES for c in letters)
        if has_latin or all_confusable:
            for i in range(start, end):
                if text[i] in CONFUSABLES:
                    replace[i] = CONFUSABLES[text[i]]
    if not replace:
        return
    chars, starts, ends = [], [], []
    for i, c in enumerate(buf.chars):
        rep = replace.get(i)
        if rep is None:
            chars.append(c), starts.append(buf.starts[i]), ends.append(buf.ends[i])
        else:
            for r in rep:
                chars.append(r), starts.append(buf.starts[i]), ends.append(buf.ends[i])
    buf.chars, buf.starts, buf.ends = chars, starts, ends


def _deleet(buf: _Buf) -> None:
    """Replace digits and symbols used as letters, inside tokens that have a letter."""
    text = buf.text()
    for start, end in _token_spans(text):
        tok = text[start:end]
        if not any(c.isalpha() for c in tok):
            continue
        for k in range(start, end):
            c = text[k]
            if c in _LEET:
                buf.chars[k] = _LEET[c]
            elif c in _LEET_BEFORE_LETTER and k + 1 < end and text[k + 1].isalpha():
                buf.chars[k] = _LEET_BEFORE_LETTER[c]


def _join_spaced(buf: _Buf) -> list[tuple[int, int]]:
    """Join letters spaced out with blanks or punctuation; returns the joined spans."""
    text = buf.text()
    drop: set[int] = set()
    runs: list[tuple[int, int]] = []
    for m in _SPACED_RUN.finditer(text):
        seg = m.group()
        letters = [c for c in seg if c not in _SEP_CHARS]
        if all(c.isdigit() for c in letters) or set(letters) <= _SHORTHAND:
            continue
        seps = {m.start() + i for i, c in enumerate(seg) if c in _SEP_CHARS}
        drop |= seps
        runs.append((m.start(), m.end()))
    if not drop:
        return []
    # translate run spans to positions after deletion
    kept_before = []
    count = 0
    for i in range(len(text) + 1):
        kept_before.append(count)
        if i < len(text) and i not in drop:
            count += 1
    buf.delete(drop)
    return [(kept_before[s], kept_before[e]) for s, e in runs]


def _collapse_repeats(buf: _Buf, keep: int = 2) -> None:
    """Shorten runs of one repeated character to `keep` ("fuuuuck" -> "fuuck")."""
    drop: set[int] = set()
    run = 0
    for i, c in enumerate(buf.chars):
        if i and c == buf.chars[i - 1] and not c.isspace():
            run += 1
            if run >= keep:
                drop.add(i)
        else:
            run = 0
    buf.delete(drop)


def normalize(text: str) -> Normalized:
    """Canonical, matchable form of `text` with a map back to the original characters."""
    buf = _Buf()
    pending_start: int | None = None
    for i, ch in enumerate(text):
        if _is_invisible(ch):
            if buf.chars:
                buf.ends[-1] = i + 1
            elif pending_start is None:
                pending_start = i
            continue
        folded = _fold_char(ch)
        if not folded:
            if buf.chars:
                buf.ends[-1] = i + 1
            continue
        start = i if pending_start is None else pending_start
        pending_start = None
        for c in folded:
            buf.append(" " if c.isspace() else c, start, i + 1)
    _deconfuse(buf)
    _deleet(buf)
    prejoin_words = frozenset(_WORD.findall(buf.text()))
    runs = _join_spaced(buf)
    if runs:
        _deleet(buf)
    # remember joined runs by their original spans: collapsing below shifts positions
    run_origins = [(buf.starts[s], buf.ends[e - 1]) for s, e in runs if e > s]
    _collapse_repeats(buf)
    joined = []
    for o_start, o_end in run_origins:
        idx = [i for i, st in enumerate(buf.starts) if st >= o_start and buf.ends[i] <= o_end]
        if idx:
            joined.append((idx[0], idx[-1] + 1))
    return Normalized(
        original=text,
        text=buf.text(),
        starts=tuple(buf.starts),
        ends=tuple(buf.ends),
        joined=tuple(joined),
        prejoin_words=prejoin_words,
    )


def displayed(text: str) -> str:
    """The text in the order a browser draws it, without bidi controls: what a right-to-left
    override (U+202E ... U+202C, or to the end of the line) covers is reversed ("\u202ereggin"
    is drawn "nigger"). Other controls only nest direction, so they are dropped."""
    if not any(c in BIDI_CONTROLS for c in text):
        return text
    out: list[str] = []
    stack: list[list[str]] = []  # open overrides, innermost last

    def close() -> None:
        seg = stack.pop()
        (stack[-1] if stack else out).extend(reversed(seg))

    for ch in text:
        if ch == _RLO:
            stack.append([])
        elif ch == _PDF and stack:
            close()
        elif ch in BIDI_CONTROLS:
            continue
        elif ch in "\n\u2029":
            while stack:  # a paragraph ends every override
                close()
            out.append(ch)
        else:
            (stack[-1] if stack else out).append(ch)
    while stack:
        close()
    return "".join(out)


def normalize_term(term: str) -> str:
    """Fold a word-list entry the way chat text is folded (case, accents, homoglyphs)."""
    out = []
    for ch in term:
        if _is_invisible(ch):
            continue
        for c in _fold_char(ch):
            out.append(CONFUSABLES.get(c, c))
    return "".join(out)
