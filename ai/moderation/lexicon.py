"""The curated lexicon: categorized terms for game chat and the rules for who a term targets."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .normalize import Normalized, normalize_term
from .patterns import TermSet

__all__ = ["Lexicon", "LexHit", "Group", "default_lexicon"]

_SENTENCE_BREAK = re.compile(r"[.!?;\n]")
_CLAUSE_BREAK = re.compile(r"[.!?;,:\n]")
_MENTION = re.compile(r"(?<!\w)@\w")


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    category: str
    score: float
    targeted_score: float | None
    adjective: bool
    terms: TermSet


@dataclass(frozen=True, slots=True)
class LexHit:
    group: str
    category: str
    score: float
    term: str
    start: int  # span in the normalized text
    end: int
    targeted: bool = False


def _word_set(values: Any) -> frozenset[str]:
    return frozenset(normalize_term(str(v)) for v in (values or []))


class Lexicon:
    """Compiled lexicon; `scan` finds every term of every group in a normalized text."""

    def __init__(self, data: dict[str, Any], source: str = "<dict>") -> None:
        self.source = source
        self.macros: dict[str, str] = {str(k): str(v) for k, v in (data.get("macros") or {}).items()}
        self.groups: list[Group] = []
        for g in data.get("groups") or []:
            self.groups.append(
                Group(
                    name=str(g["name"]),
                    category=str(g["category"]),
                    score=float(g["score"]),
                    targeted_score=(
                        float(g["targeted_score"]) if g.get("targeted_score") is not None else None
                    ),
                    adjective=bool(g.get("adjective", False)),
                    terms=TermSet(list(g.get("terms") or []), self.macros),
                )
            )
        self.substrings: list[tuple[str, float, TermSet]] = [
            (str(s["category"]), float(s["score"]), TermSet(list(s["terms"]), substring=True))
            for s in data.get("substrings") or []
        ]
        self.allow = TermSet([str(w).strip("*") for w in data.get("allow") or []], substring=True)
        self.neutral = _word_set(data.get("neutral"))
        self.second_person = _word_set(data.get("second_person"))
        self.first_person = _word_set(data.get("first_person"))
        self.fillers = _word_set(data.get("fillers"))
        self.things = _word_set(data.get("things"))

    @classmethod
    def from_file(cls, path: str | Path) -> Lexicon:
        text = Path(path).read_text(encoding="utf-8")
        return cls(yaml.safe_load(text) or {}, source=str(path))

    @property
    def term_count(self) -> int:
        return sum(len(g.terms) for g in self.groups)

    # -- matching ---------------------------------------------------------------------------

    def scan(self, norm: Normalized, *, substrings: bool = False) -> list[LexHit]:
        """All lexicon hits in `norm`, with targeted scores applied.

        With `substrings` (names, room titles) the strong terms are also searched inside words;
        they always are inside letters that were spaced out ("u r a c u n t").
        """
        text = norm.text
        hits: list[LexHit] = []
        allowed = self.allow.finditer(text)
        ctx = _Context(self, norm) if any(g.targeted_score is not None for g in self.groups) else None
        for g in self.groups:
            for m in g.terms.finditer(text):
                if any(a.start <= m.start and m.end <= a.end for a in allowed):
                    continue
                targeted = False
                score = g.score
                if g.targeted_score is not None and ctx is not None:
                    targeted = ctx.targeted(m.start, m.end, adjective=g.adjective)
                    if targeted:
                        score = max(score, g.targeted_score)
                hits.append(LexHit(g.name, g.category, score, m.term, m.start, m.end, targeted))
        regions = [(0, len(text))] if substrings else list(norm.joined)
        if regions and self.substrings:
            for category, score, terms in self.substrings:
                for r_start, r_end in regions:
                    for m in terms.finditer(text, r_start, r_end):
                        if any(a.start <= m.start and m.end <= a.end for a in allowed):
                            continue
                        if any(
                            h.category == category and h.start <= m.start and m.end <= h.end
                            for h in hits
                        ):
                            continue
                        hits.append(
                            LexHit("substring", category, score, m.term, m.start, m.end, False)
                        )
        return hits

    def allowed_spans(self, norm: Normalized) -> list[tuple[int, int]]:
        """Spans of built-in allow words (Scunthorpe and friends) in the normalized text."""
        return [(m.start, m.end) for m in self.allow.finditer(norm.text)]


class _Context:
    """Word positions of one text, to tell whether a term is aimed at a person."""

    def __init__(self, lex: Lexicon, norm: Normalized) -> None:
        self.lex = lex
        self.words = norm.words()
        self.starts = [start for _, start, _ in self.words]
        text = norm.text
        self.sentence: list[int] = []
        self.clause: list[int] = []
        s = c = 0
        prev_end = 0
        second: set[int] = set()
        content: dict[int, int] = {}  # clause -> words that are not fillers
        for w, start, end in self.words:
            gap = text[prev_end:start]
            if _SENTENCE_BREAK.search(gap):
                s += 1
            if _CLAUSE_BREAK.search(gap):
                c += 1
            self.sentence.append(s)
            self.clause.append(c)
            if w in lex.second_person:
                second.add(s)
            if w not in lex.fillers:
                content[c] = content.get(c, 0) + 1
            prev_end = end
        self.second_sentences = second
        self.content = content
        self.single_sentence = s == 0
        self.prejoin_second = bool(norm.prejoin_words & lex.second_person)
        self.mention = bool(_MENTION.search(norm.original))

    def targeted(self, start: int, end: int, *, adjective: bool) -> bool:
        words, lex = self.words, self.lex
        first = max(0, bisect.bisect_right(self.starts, start) - 1)
        if first < len(words) and words[first][2] <= start:
            first += 1
        last = bisect.bisect_left(self.starts, end) - 1
        if first >= len(words) or last < first:
            return False
        sentence = self.sentence[first]
        # "stupid boss": the adjective describes a thing
        if adjective and last + 1 < len(words) and self.clause[last + 1] == self.clause[last]:
            if words[last + 1][0] in lex.things:
                return False
        # "I'm such an idiot": aimed at oneself
        for j in range(max(0, first - 3), first):
            w = words[j][0]
            if self.sentence[j] != sentence:
                continue
            if w in lex.second_person:
                break
            if w in lex.first_person:
                return False
        # second person in the same sentence ("you idiot", "ur a retard")
        if sentence in self.second_sentences:
            return True
        if self.mention or (self.single_sentence and self.prejoin_second):
            return True
        # a term on its own in its clause is a form of address ("nice try, dipshit")
        clause = self.clause[first]
        inside = sum(1 for j in range(first, last + 1) if words[j][0] not in lex.fillers)
        return self.content.get(clause, 0) - inside == 0


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The lexicon shipped in this package (ai/moderation/lexicon.yaml)."""
    ref = resources.files(__package__) / "lexicon.yaml"
    return Lexicon(yaml.safe_load(ref.read_text(encoding="utf-8")) or {}, source=str(ref))
