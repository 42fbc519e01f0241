"""The moderation pipeline: normalize, world rules, curated lexicon, bundled model, optional
model, then one action from per-category thresholds."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .bundled import BundledModel, get_bundled_model
from .history import SenderHistory
from .lexicon import Lexicon, default_lexicon
from .links import find_links, host_allowed
from .normalize import BIDI_CONTROLS, Normalized, displayed, normalize
from .patterns import TermSet
from .rules import ModerationRules
from .verdict import STAGES, Action, Evidence, Verdict

__all__ = ["Moderator", "ModelClassify", "KINDS", "MODEL_LABELS", "MASK"]

log = logging.getLogger(__name__)

ModelClassify = Callable[[list[str]], Awaitable[list[dict[str, float]]]]

KINDS = ("chat", "whisper", "name", "room", "npc")
_NAME_KINDS = frozenset({"name", "room"})  # cannot be masked; words glued together
_SPAM_KINDS = frozenset({"chat", "whisper"})  # counted for repeats and flooding

MASK = "###"

# Labels of common toxicity classifiers (Jigsaw / Detoxify style) -> our categories.
# Labels not listed are kept under their own (lower-case) name.
MODEL_LABELS: dict[str, str] = {
    "toxic": "toxicity",
    "toxicity": "toxicity",
    "severe_toxic": "toxicity",
    "severe_toxicity": "toxicity",
    "obscene": "profanity",
    "profanity": "profanity",
    "threat": "threat",
    "insult": "insult",
    "identity_hate": "hate",
    "identity_attack": "hate",
    "hate": "hate",
    "sexual_explicit": "sexual",
    "sexual": "sexual",
    "harassment": "harassment",
    "self_harm": "self_harm",
    "spam": "spam",
}

_GROUP_REASONS = {
    "profanity": "profanity",
    "sexual_terms": "sexual term",
    "sexual_phrases": "sexual content",
    "insult_words": "insult",
    "insult_adjectives": "insult",
    "insult_phrases": "insult aimed at a person",
    "harassment": "harassment",
    "threats": "threat",
    "threats_violence": "threat of violence",
    "threats_weak": "possible threat",
    "hate_slurs": "slur",
    "hate_phrases": "hate speech",
    "spam": "spam",
    "self_promo": "self-promotion",
    "self_harm": "self-harm risk",
}
_STAGE_ORDER = {s: i for i, s in enumerate(STAGES)}
_WORDS = re.compile(r"[^\W_]+")


@lru_cache(maxsize=256)
def _termset(words: tuple[str, ...], substring: bool) -> TermSet:
    if substring:
        words = tuple(w.strip("*") for w in words)
    return TermSet(list(words), substring=substring)


def _model_text(text: str) -> str:
    """What the optional model sees: the original, with width variants and invisible
    characters undone (case and accents kept; transformer models use them)."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


@dataclass(slots=True)
class _Work:
    """One text on its way through the stages."""

    text: str
    kind: str
    rules: ModerationRules
    norm: Normalized | None = None
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    explained: list[tuple[int, int]] = field(default_factory=list)  # original spans
    residual: str = ""  # the words left for the bundled model to score as a line
    blocked: bool = False


class Moderator:
    """Classifies texts (chat lines, whispers, names, room titles, NPC output) into a Verdict.

    `model_classify` is an optional async callable taking a batch of texts and returning,
    per text, label -> probability from a toxicity model; the server wires it to the shared
    inference queue. When it raises, moderation goes on with the other stages.
    """

    def __init__(
        self,
        rules: ModerationRules | None = None,
        *,
        model_classify: ModelClassify | None = None,
        use_bundled_model: bool = True,
        lexicon: Lexicon | None = None,
        bundled_word_threshold: float = 0.97,
        max_senders: int = 10_000,
    ) -> None:
        self.rules = rules if rules is not None else ModerationRules()
        self.model_classify = model_classify
        self.lexicon = lexicon if lexicon is not None else default_lexicon()
        self.use_bundled_model = use_bundled_model
        self.bundled: BundledModel | None = get_bundled_model() if use_bundled_model else None
        self.bundled_word_threshold = bundled_word_threshold
        self.history = SenderHistory(max_senders=max_senders)
        self._room_rules: OrderedDict[str, ModerationRules] = OrderedDict()
        self._lock = threading.Lock()
        self._model_calls = 0
        self._model_failures = 0
        self._model_last_error: str | None = None

    # -- public API ---------------------------------------------------------------------------

    async def check(
        self,
        text: str,
        *,
        sender: str | None = None,
        kind: str = "chat",
        room_rules: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> Verdict:
        """Moderate one text with every stage, the optional model included."""
        verdicts = await self.check_many(
            [text], sender=sender, kind=kind, room_rules=room_rules, now=now
        )
        return verdicts[0]

    async def check_many(
        self,
        texts: Sequence[str],
        *,
        sender: str | None = None,
        kind: str = "chat",
        room_rules: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> list[Verdict]:
        """Moderate a batch (in order, as if sent one after the other by `sender`); the
        bundled model and the optional model each see the batch in one call."""
        works = self._local_stages(texts, sender=sender, kind=kind, room_rules=room_rules, now=now)
        if self.model_classify is not None:
            await self._model_stage(works)
        return [self._decide(w) for w in works]

    def check_sync(
        self,
        text: str,
        *,
        sender: str | None = None,
        kind: str = "chat",
        room_rules: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> Verdict:
        """Moderate one text without the optional model (CLI, names, non-async callers)."""
        return self.check_many_sync([text], sender=sender, kind=kind, room_rules=room_rules, now=now)[0]

    def check_many_sync(
        self,
        texts: Sequence[str],
        *,
        sender: str | None = None,
        kind: str = "chat",
        room_rules: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> list[Verdict]:
        """Batch version of `check_sync`."""
        works = self._local_stages(texts, sender=sender, kind=kind, room_rules=room_rules, now=now)
        return [self._decide(w) for w in works]

    def status(self) -> dict[str, Any]:
        """Which stages are active, for `townsquare doctor`."""
        r = self.rules
        if not self.use_bundled_model:
            bundled = {"enabled": False, "available": False, "reason": "disabled (use_bundled_model=False)"}
        else:
            b = self.bundled
            bundled = {
                "enabled": True,
                "available": bool(b and b.available),
                "name": BundledModel.name,
                "version": b.version if b else None,
                "reason": None if b and b.available else (b.error if b else "not loaded"),
            }
        return {
            "normalize": {"active": True},
            "rules": {
                "active": True,
                "block_words": len(r.block_words),
                "mask_words": len(r.mask_words),
                "allow_words": len(r.allow_words),
                "link_policy": r.link_policy,
                "allowed_domains": len(r.allowed_domains),
                "block_invites": r.block_invites,
                "max_repeats": r.max_repeats,
                "repeat_window_s": r.repeat_window_s,
                "flood": dict(r.flood),
                "senders_tracked": len(self.history),
            },
            "lexicon": {
                "active": r.use_lexicon,
                "terms": self.lexicon.term_count,
                "source": self.lexicon.source,
            },
            "bundled_model": bundled,
            "model": {
                "configured": self.model_classify is not None,
                "calls": self._model_calls,
                "failures": self._model_failures,
                "last_error": self._model_last_error,
            },
        }

    # -- stages -------------------------------------------------------------------------------

    def effective_rules(self, room_rules: dict[str, Any] | None) -> ModerationRules:
        """World rules with a room's override applied (cached per distinct override)."""
        if not room_rules:
            return self.rules
        key = json.dumps(room_rules, sort_keys=True, default=str)
        with self._lock:
            rules = self._room_rules.get(key)
            if rules is not None:
                self._room_rules.move_to_end(key)
                return rules
        rules = self.rules.merged(room_rules)
        with self._lock:
            self._room_rules[key] = rules
            while len(self._room_rules) > 128:
                self._room_rules.popitem(last=False)
        return rules

    def _local_stages(
        self,
        texts: Sequence[str],
        *,
        sender: str | None,
        kind: str,
        room_rules: dict[str, Any] | None,
        now: float | None,
    ) -> list[_Work]:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not one string")
        rules = self.effective_rules(room_rules)
        now = time.monotonic() if now is None else now
        works = []
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"text must be str, not {type(text).__name__}")
            if any(c in BIDI_CONTROLS for c in text):
                text = displayed(text)  # judge what readers see; masks apply to that text
            w = _Work(text=text, kind=kind, rules=rules)
            works.append(w)
            if not text.strip():
                w.stages.append("rules")
                continue
            w.norm = normalize(text)
            self._rules_stage(w, sender, now)
            if not w.blocked and rules.use_lexicon:
                self._lexicon_stage(w)
            if not w.blocked:
                self._bundled_word_stage(w)
        # the bundled model scores the leftover words of every line in one call
        todo = [w for w in works if w.norm is not None and not w.blocked and "bundled_model" in w.stages]
        if todo and self.bundled is not None:
            for w, score in zip(todo, self.bundled.line_scores([w.residual for w in todo])):
                self._add(w, Evidence("toxicity", score, "offensive wording (bundled model)", "bundled_model"))
        return works

    def _allow_spans(self, w: _Work) -> list[tuple[int, int]]:
        norm, rules = w.norm, w.rules
        spans = [(m.start, m.end) for m in _termset(tuple(rules.allow_words), False).finditer(norm.text)]
        if w.kind in _NAME_KINDS and rules.allow_words:
            spans += [(m.start, m.end) for m in _termset(tuple(rules.allow_words), True).finditer(norm.text)]
        return spans

    def _rules_stage(self, w: _Work, sender: str | None, now: float) -> None:
        w.stages.append("rules")
        norm, rules, text = w.norm, w.rules, w.text
        allow = self._allow_spans(w)
        name_kind = w.kind in _NAME_KINDS
        for words, action, reason in (
            (rules.block_words, Action.BLOCK, "blocked word"),
            (rules.mask_words, Action.MASK, "masked word"),
        ):
            if not words:
                continue
            for m in _termset(tuple(words), name_kind).finditer(norm.text):
                if any(a <= m.start and m.end <= b for a, b in allow):
                    continue
                span = norm.original_span(m.start, m.end)
                w.explained.append(span)
                self._add(w, Evidence("custom", 1.0, f'{reason} "{text[span[0]:span[1]]}"', "rules", [span], action))
        for link in find_links(norm):
            span = (link.start, link.end)
            w.explained.append(span)
            if host_allowed(link.host, rules.allowed_domains):
                continue
            if link.invite and rules.block_invites:
                self._add(w, Evidence("spam", 1.0, "server invite not allowed", "rules", [span], Action.BLOCK))
                continue
            policy = rules.link_policy
            if policy == "block":
                self._add(w, Evidence("link", 1.0, "link not allowed", "rules", [span], Action.BLOCK))
            elif policy == "flag":
                self._add(w, Evidence("link", 1.0, "link needs review", "rules", [], Action.FLAG))
            elif policy == "allow_listed":
                self._add(w, Evidence("link", 1.0, "link not allowed", "rules", [span], Action.MASK))
        if sender is not None and w.kind in _SPAM_KINDS:
            fingerprint = hash(" ".join(_WORDS.findall(norm.text)) or norm.text)
            flood_max = int(rules.flood.get("max_messages", 8))
            flood_window = float(rules.flood.get("window_s", 10.0))
            repeats, recent = self.history.record(
                sender, fingerprint, now, repeat_window_s=float(rules.repeat_window_s), flood_window_s=flood_window
            )
            if repeats > rules.max_repeats:
                self._add(w, Evidence(
                    "spam", 1.0, f"repeated message ({repeats} times in {float(rules.repeat_window_s):g} s)",
                    "rules", [], Action.BLOCK,
                ))
            if recent > flood_max:
                self._add(w, Evidence(
                    "spam", 1.0, f"flooding ({recent} messages in {flood_window:g} s)", "rules", [], Action.BLOCK,
                ))

    def _lexicon_stage(self, w: _Work) -> None:
        w.stages.append("lexicon")
        norm, text = w.norm, w.text
        allow = self._allow_spans(w)
        for hit in self.lexicon.scan(norm, substrings=w.kind in _NAME_KINDS):
            if any(a <= hit.start and hit.end <= b for a, b in allow):
                continue
            span = norm.original_span(hit.start, hit.end)
            w.explained.append(span)
            if hit.group == "substring":
                label = f"{hit.category} hidden in a word"
            elif hit.targeted and hit.category == "insult":
                label = "insult aimed at a person"
            elif hit.targeted:
                label = f"{_GROUP_REASONS.get(hit.group, hit.category)} aimed at a person"
            else:
                label = _GROUP_REASONS.get(hit.group, hit.category)
            self._add(w, Evidence(hit.category, hit.score, f'{label} "{text[span[0]:span[1]]}"', "lexicon", [span]))

    def _bundled_word_stage(self, w: _Work) -> None:
        if self.bundled is None:
            return
        if not self.bundled.available:
            w.notes.append("bundled model unavailable")
            return
        w.stages.append("bundled_model")
        norm, text, lex = w.norm, w.text, self.lexicon
        allow = self._allow_spans(w)
        residual = []
        for word, s, e in norm.words():
            span = norm.original_span(s, e)
            if word in lex.neutral or any(a <= s and e <= b for a, b in allow):
                continue
            if any(x < span[1] and span[0] < y for x, y in w.explained):
                continue
            score = self.bundled.word_score(word)
            if score >= self.bundled_word_threshold:
                self._add(w, Evidence(
                    "profanity", score, f'profane word "{text[span[0]:span[1]]}" (bundled model)',
                    "bundled_model", [span],
                ))
                continue
            residual.append(word)
        w.residual = " ".join(residual)

    async def _model_stage(self, works: list[_Work]) -> None:
        todo = [w for w in works if w.norm is not None and not w.blocked]
        if not todo:
            return
        self._model_calls += 1
        try:
            results = await self.model_classify([_model_text(w.text) for w in todo])
            if not isinstance(results, (list, tuple)) or len(results) != len(todo):
                raise ValueError(f"model_classify returned {type(results).__name__} for {len(todo)} texts")
        except Exception as exc:  # overloaded, unavailable, timed out, malformed
            self._model_failures += 1
            self._model_last_error = f"{type(exc).__name__}: {exc}"
            log.warning("moderation model unavailable: %s", self._model_last_error)
            for w in todo:
                w.notes.append("model unavailable")
            return
        for w, labels in zip(todo, results):
            w.stages.append("model")
            scores: dict[str, float] = {}
            for label, value in (labels or {}).items():
                try:
                    value = min(1.0, max(0.0, float(value)))
                except (TypeError, ValueError):
                    continue
                category = MODEL_LABELS.get(str(label).lower(), str(label).lower())
                scores[category] = max(scores.get(category, 0.0), value)
            for category, value in scores.items():
                self._add(w, Evidence(category, value, f"{category} (model {value:.2f})", "model"))

    # -- decision -----------------------------------------------------------------------------

    def _level(self, rules: ModerationRules, ev: Evidence, kind: str) -> Action:
        if ev.action is not None:
            level = ev.action
        else:
            level = Action.ALLOW
            for name, action in (("block", Action.BLOCK), ("flag", Action.FLAG), ("mask", Action.MASK)):
                t = rules.threshold(ev.category, name)
                if t is not None and ev.score >= t:
                    level = action
                    break
            if level is Action.MASK and not ev.spans:
                level = Action.FLAG  # nothing to mask: let a person look at it
        if level is Action.MASK and kind in _NAME_KINDS:
            level = Action.BLOCK  # a name cannot be delivered with holes in it
        return level

    def _add(self, w: _Work, ev: Evidence) -> None:
        w.evidence.append(ev)
        if self._level(w.rules, ev, w.kind) is Action.BLOCK:
            w.blocked = True  # later (dearer) stages are skipped

    def _decide(self, w: _Work) -> Verdict:
        categories: dict[str, float] = {}
        for ev in w.evidence:
            categories[ev.category] = max(categories.get(ev.category, 0.0), round(float(ev.score), 4))
        levels = [(self._level(w.rules, ev, w.kind), ev) for ev in w.evidence]
        final = Action.worst(*(lv for lv, _ in levels)) if levels else Action.ALLOW
        acting = sorted(
            ((lv, ev) for lv, ev in levels if lv is not Action.ALLOW),
            key=lambda p: (-p[0].severity, _STAGE_ORDER.get(p[1].stage, 99)),
        )
        reasons = list(dict.fromkeys(ev.reason for _, ev in acting))
        reasons += [n for n in dict.fromkeys(w.notes) if n not in reasons]
        stage = acting[0][1].stage if acting else (w.stages[-1] if w.stages else "rules")
        masked_text = None
        spans: list[tuple[int, int]] = []
        if final in (Action.MASK, Action.FLAG):
            spans = _merge([s for lv, ev in levels if lv is Action.MASK for s in ev.spans])
            if spans:
                masked_text = _apply_mask(w.text, spans)
        return Verdict(
            action=final,
            categories=categories,
            reasons=reasons,
            masked_text=masked_text,
            stage=stage,
            spans=spans,
        )


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _apply_mask(text: str, spans: list[tuple[int, int]]) -> str:
    parts = []
    pos = 0
    for s, e in spans:
        parts.append(text[pos:s])
        parts.append(MASK)
        pos = e
    parts.append(text[pos:])
    return "".join(parts)
