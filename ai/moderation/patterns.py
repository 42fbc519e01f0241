"""Compile word-list entries into regular expressions over normalized text.

An entry is plain words with a little syntax, so admins and the lexicon share one notation:

- ``fuck*``   ``*`` at either end of a word: any continuation of letters (fucking, bullshit)
- ``(a|b)``   alternatives, ``(...)?`` an optional group
- ``{you}``   a macro from the lexicon (second person pronouns and the like)
- ``...``     a gap of up to 40 characters between two parts of a phrase
- ``'`` and ``-`` inside a word: optional separator (you're / youre / you re, v-bucks)
- a blank between words: any run of blanks or punctuation

Every letter tolerates being stretched (``f+u+c+k+``), ``l`` also matches ``i`` (a ``1`` was
read as ``i``) and a vowel also matches ``*`` (``f*ck``). Entries match on word boundaries
unless compiled for substring search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .normalize import normalize_term

__all__ = ["compile_term", "TermSet", "TermMatch"]

_SEP = r"[\W_]+"
_GAP = r"[\W_]+(?:.{0,40}?[\W_])?"
_WILD = r"[^\W_]*"
_VOWELS = set("aeiou")
_MACRO = re.compile(r"\{(\w+)\}")


def _letter(c: str) -> str:
    if c == "l":
        return "[li]+"
    if c in _VOWELS:
        return f"[{c}*]+"
    if c.isalpha() and c.isascii():
        return f"{c}+"
    return re.escape(c)


def compile_term(term: str, macros: dict[str, str] | None = None, *, _depth: int = 0) -> str:
    """Regex body (no boundaries) for one entry."""
    if _depth > 5:
        raise ValueError(f"macro nesting too deep in {term!r}")
    macros = macros or {}
    term = " ".join(term.strip().split())
    out: list[str] = []
    i = 0
    n = len(term)
    groups: list[int] = []  # indexes in `out` of open groups
    last_group = -1
    while i < n:
        c = term[i]
        if c == "{":
            m = _MACRO.match(term, i)
            if not m or m.group(1) not in macros:
                raise ValueError(f"unknown macro at {term[i:]!r}")
            last_group = len(out)
            out += ["(?:", compile_term(macros[m.group(1)], macros, _depth=_depth + 1), ")"]
            i = m.end()
        elif term.startswith("...", i):
            # a gap swallows the blanks around it
            while out and out[-1] == _SEP:
                out.pop()
            out.append(_GAP)
            i += 3
            while i < n and term[i] == " ":
                i += 1
        elif c == " ":
            if out and out[-1] not in (_SEP, _GAP):
                out.append(_SEP)
            i += 1
        elif c == "(":
            groups.append(len(out))
            out.append("(?:")
            i += 1
        elif c == ")":
            if not groups:
                raise ValueError(f"unbalanced ')' in {term!r}")
            last_group = groups.pop()
            out.append(")")
            i += 1
        elif c == "|":
            out.append("|")
            i += 1
        elif c == "?":
            if not out or out[-1] != ")":
                raise ValueError(f"'?' must follow a group in {term!r}")
            # an optional group takes the blank next to it inside, so that "a (b)? c"
            # matches "a c" as well as "a b c"
            if i + 1 < n and term[i + 1] == " ":
                out.insert(last_group, "(?:")
                out += [_SEP, ")", "?"]
                i += 2
                continue
            if last_group > 0 and out[last_group - 1] == _SEP:
                del out[last_group - 1]
                out[last_group - 1 : last_group - 1] = ["(?:", _SEP]
                out += [")", "?"]
            else:
                out.append("?")
            i += 1
        elif c == "*":
            out.append(_WILD)
            i += 1
        elif c in "'-":
            out.append(r"[\W_]?")
            i += 1
        else:
            for folded in normalize_term(c):
                out.append(_letter(folded))
            i += 1
    if groups:
        raise ValueError(f"unbalanced '(' in {term!r}")
    return "".join(out)


def bounded(body: str) -> str:
    return rf"(?<![^\W_])(?:{body})(?![^\W_])"


@dataclass(frozen=True, slots=True)
class TermMatch:
    term: str
    start: int
    end: int
    index: int  # which entry of the set matched


class TermSet:
    """A list of entries compiled into one alternation; finds every non-overlapping match."""

    def __init__(
        self,
        terms: list[str],
        macros: dict[str, str] | None = None,
        *,
        substring: bool = False,
    ) -> None:
        self.terms = [t for t in (str(t).strip() for t in terms) if t]
        parts = []
        for idx, term in enumerate(self.terms):
            try:
                body = compile_term(term, macros)
            except ValueError as exc:
                raise ValueError(f"bad word-list entry {term!r}: {exc}") from None
            parts.append(f"(?P<t{idx}>{body})" if substring else rf"(?P<t{idx}>{body})(?![^\W_])")
        # longer entries first so a phrase wins over a word inside it
        order = sorted(range(len(parts)), key=lambda k: -len(self.terms[k]))
        alternation = "|".join(parts[k] for k in order)
        if not substring:
            # one boundary test per position instead of one per entry
            alternation = rf"(?<![^\W_])(?:{alternation})"
        self._regex = re.compile(alternation, re.S) if parts else None

    def __len__(self) -> int:
        return len(self.terms)

    def finditer(self, text: str, start: int = 0, end: int | None = None) -> list[TermMatch]:
        if self._regex is None:
            return []
        end = len(text) if end is None else end
        out = []
        for m in self._regex.finditer(text, start, end):
            if m.end() == m.start():
                continue
            idx = int(m.lastgroup[1:])
            out.append(TermMatch(self.terms[idx], m.start(), m.end(), idx))
        return out
