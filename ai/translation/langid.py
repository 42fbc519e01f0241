"""Which language a chat line is in, among the world's languages (lingua), with the sender's own
language as the prior for short or ambiguous lines.

Lines that need no translation ("ok", "gg", "lol", emoji, numbers, a lone mention or link) get
the prior as their language and `translatable=False`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .protect import protect

log = logging.getLogger("ai.translation")

# Said the same way in every language of a chat room: never translated.
CHAT_TOKENS = frozenset("""
ok okay okey oki okie k kk kay gg ggs ggwp wp gl hf glhf lol lool lols lel lul kek lmao lmfao rofl xd omg omfg
wtf brb afk bbl gtg g2g np ty tyvm thx thnx pls plz idk imo imho btw irl nvm ikr tbh smh fyi asap yay yey wow
oh ah eh uh um umm hm hmm hmmm mm mhm oops ooh aah ugh meh bruh yo sup hehe hihi huhu muah xoxo owo uwu pog
poggers ez rip gz grats gratz ayy ayyy yup yep nope nah ya yas mdr ptdr jk
""".split())
_LAUGH = re.compile(r"^(?:(?:h+[aeiou]+){2,}h*|(?:j+[aeiou]+){2,}j*|k{3,}|(?:rs){2,}|(?:lo)+l+|x+d+|w{3,})$")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")

# Short lines lingua cannot tell apart ("hello" looks Spanish to it): whole-line greetings and
# thanks per language. A line found here for one world language is in that language.
SHORT_LINES: dict[str, set[str]] = {
    "en": {"hello", "hi", "hey", "thanks", "thank you", "bye", "goodbye", "good morning", "good night",
           "good evening", "yes", "no", "sorry", "please", "welcome", "see you", "cheers", "how are you"},
    "es": {"hola", "gracias", "muchas gracias", "adios", "adiós", "buenos dias", "buenos días", "buenas noches",
           "buenas tardes", "si", "sí", "no", "perdón", "perdon", "por favor", "bienvenido", "bienvenida",
           "hasta luego", "qué tal", "que tal", "vale", "claro"},
    "de": {"hallo", "danke", "danke schön", "danke schon", "tschüss", "tschuss", "guten morgen", "gute nacht",
           "guten abend", "guten tag", "ja", "nein", "bitte", "entschuldigung", "willkommen", "servus", "moin",
           "bis später", "genau", "na"},
    "fr": {"bonjour", "salut", "merci", "merci beaucoup", "au revoir", "bonsoir", "bonne nuit", "oui", "non",
           "pardon", "désolé", "desole", "s'il te plaît", "bienvenue", "à plus", "a plus", "coucou", "ça va",
           "ca va", "d'accord"},
    "pt": {"olá", "ola", "oi", "obrigado", "obrigada", "muito obrigado", "muito obrigada", "tchau", "bom dia",
           "boa noite", "boa tarde", "sim", "não", "nao", "desculpa", "por favor", "bem-vindo", "bem vindo",
           "até logo", "tudo bem", "valeu"},
    "it": {"ciao", "grazie", "grazie mille", "buongiorno", "buonasera", "buonanotte", "arrivederci", "sì", "no",
           "prego", "scusa", "per favore", "benvenuto"},
    "nl": {"hallo", "hoi", "dank je", "dankjewel", "bedankt", "doei", "goedemorgen", "goedenavond", "ja", "nee",
           "alsjeblieft", "welkom"},
}


@dataclass(frozen=True)
class Detection:
    lang: str
    translatable: bool
    confidence: float  # posterior of `lang` after the prior (1.0 where a rule decided)
    reason: str  # detected | prior | short-line | no-words | chat-token | single-language


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def needs_translation(text: str, names: Iterable[str] = ()) -> bool:
    """False for lines that read the same in every language: no words once mentions, links, emoji,
    code and numbers are set aside, or only chat tokens ("ok", "gg", "lol", "hahaha")."""
    words = words_of(protect(text, names).words)
    if not words:
        return False
    return not all(w in CHAT_TOKENS or _LAUGH.match(w) for w in words)


def _prior_weight(letters: int) -> float:
    """How much more likely the sender's own language is, before looking at the line."""
    if letters <= 5:
        return 8.0
    if letters <= 12:
        return 4.0
    if letters <= 30:
        return 2.0
    return 1.25


class LanguageIdentifier:
    """Built once per world; `detect` is thread-safe and takes well under a millisecond.

    `accuracy="low"`: lingua's trigram models only, ~20 MiB for five languages instead of ~150 MiB
    (all n-gram models preloaded); with the sender's language as the prior the two agree on almost
    every chat line (docs/translation.md, "language id")."""

    def __init__(self, languages: Sequence[str], default: str = "en", *, accuracy: str = "high"):
        if accuracy not in ("high", "low"):
            raise ValueError("accuracy must be high or low")
        self.accuracy = accuracy
        self.languages = [lang.lower() for lang in languages]
        self.default = default if default in self.languages else (self.languages[0] if self.languages else default)
        self._detector = None
        self._codes: dict[object, str] = {}  # lingua Language -> our code
        self._lock = threading.Lock()
        self.unsupported: list[str] = []  # world languages lingua does not know
        self.error: str | None = None

    # -- building -------------------------------------------------------------------------
    def warm(self) -> None:
        """Build the detector now (about a second with five languages) rather than on first use."""
        self._get()

    def _get(self):
        if self._detector is not None or self.error is not None:
            return self._detector
        with self._lock:
            if self._detector is not None or self.error is not None:
                return self._detector
            try:
                from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
            except ImportError as e:
                self.error = f"lingua-language-detector not installed ({e})"
                log.warning("language id off: %s", self.error)
                return None
            langs = []
            for code in self.languages:
                iso = getattr(IsoCode639_1, code.upper(), None)
                if iso is None:
                    self.unsupported.append(code)
                    continue
                lang = Language.from_iso_code_639_1(iso)
                langs.append(lang)
                self._codes[lang] = code
            if self.unsupported:
                log.warning("language id: lingua does not know %s; lines are never detected as those",
                            ", ".join(self.unsupported))
            if len(langs) < 2:
                self.error = "fewer than two world languages known to lingua: every line is in the sender's language"
                return None
            builder = LanguageDetectorBuilder.from_languages(*langs)
            if self.accuracy == "low":
                builder = builder.with_low_accuracy_mode()
            self._detector = builder.with_preloaded_language_models().build()
        return self._detector

    @property
    def status(self) -> tuple[str, str]:
        self._get()
        if self._detector is None:
            return ("missing", self.error or "not built")
        known = len(self.languages) - len(self.unsupported)
        extra = f" (unknown to lingua: {', '.join(self.unsupported)})" if self.unsupported else ""
        return ("found", f"lingua ({self.accuracy} accuracy) over {known} world languages{extra}")

    # -- detecting ------------------------------------------------------------------------
    def detect(self, text: str, prior: str | None = None, names: Iterable[str] = ()) -> Detection:
        prior = prior.lower() if prior else None
        if prior not in self.languages:
            prior = self.default
        words = words_of(protect(text, names).words)
        if not words:
            return Detection(prior, False, 1.0, "no-words")
        if all(w in CHAT_TOKENS or _LAUGH.match(w) for w in words):
            return Detection(prior, False, 1.0, "chat-token")
        line = " ".join(words)
        if len(words) <= 3:
            hits = [lang for lang in self.languages if line in SHORT_LINES.get(lang, ())]
            if prior in hits:
                return Detection(prior, True, 1.0, "short-line")
            if len(hits) == 1:
                return Detection(hits[0], True, 1.0, "short-line")
        detector = self._get()
        if detector is None:
            return Detection(prior, True, 1.0, "single-language")
        values = detector.compute_language_confidence_values(line)
        weight = _prior_weight(sum(len(w) for w in words))
        scores = {self._codes[v.language]: v.value * (weight if self._codes[v.language] == prior else 1.0)
                  for v in values if v.language in self._codes}
        total = sum(scores.values())
        if total <= 0:
            return Detection(prior, True, 0.0, "prior")
        best = max(scores, key=scores.get)
        raw_best = max(values, key=lambda v: v.value).language if values else None
        reason = "prior" if best == prior and self._codes.get(raw_best) != prior else "detected"
        return Detection(best, True, scores[best] / total, reason)
