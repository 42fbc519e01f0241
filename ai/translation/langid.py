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


# Everyday words (articles, pronouns, common verb forms, question words, yes/no/thanks) per language.
# A word listed for exactly one world language is evidence for it in a short line, where lingua's
# n-gram scores are least sure (with trigrams only, "check this out" reads as Portuguese to it).
COMMON_WORDS: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in {
    "en": """the this that these those is are was were be been am i i'm you you're your it it's we they he she
             what what's where when who why how which with and but or not don't can't can will would should
             have has had do does did just really very thanks thank please yes yeah hello hey good great see
             know think want need going gonna let's my our their there here out up about from of for at to no
             then than gimme wanna gotta pls plz thx u ur dont cant wont give take get buy some any much many""",
    "es": """el la los las un una unos unas que qué y es son está están estoy estás soy eres muy pero para por
             con sin yo tú él ella nosotros ustedes hola gracias sí bueno buena buenos buenas bien también
             dónde cómo cuándo quién aquí ahora hoy mañana nada todo todos algo alguien hay tengo tiene
             quiero puedo mucho mucha muchas muchos oye verdad del al mi tu su a o no como para de en""",
    "de": """der die das den dem des ein eine einen und ist sind bin bist hast habe hab hat ich du er sie es
             wir ihr nicht kein keine ja nein danke bitte hallo gut gute guten schön auch noch schon hier wo
             wie was wer wann warum mit für auf zu von mal doch alles jemand heute morgen gleich echt geht
             gerade mein dein uns euch na mich dich mir dir zum zur im ins man kann gibt machen""",
    "fr": """le la les un une des du et est sont suis je tu il elle nous vous ils elles on pas ne oui non merci
             bonjour salut bien très aussi où ça c'est qui quoi quand comment pourquoi avec pour dans sur
             chez mais tout tous moi toi j'ai ici aujourd'hui demain quelqu'un bonne bon ce cette mon ma ton
             ta au aux que a de en""",
    "pt": """o os a as um uma e é está estão estou sou eu você vocês ele ela nós não sim obrigado obrigada olá
             oi bom boa bem também muito muita onde como quando quem aqui agora hoje amanhã tudo todos
             alguém vou tenho tem com sem pra pro para mas isso esse essa isto mais até já então né do da no
             na meu minha que de em por tão porque""",
}.items()}
_WORD_WEIGHT = 3.0  # how much one word of a single language's list weighs, in lines of up to 30 letters

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

    `accuracy="low"` (the world's default): lingua's trigram models only, ~17 MiB for five languages
    instead of ~156 MiB (all n-gram models preloaded); with the sender's language as the prior and the
    everyday words, the two agree on every eval line (docs/translation.md, "language id")."""

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
        owners: dict[str, set[str]] = {}
        for lang in self.languages:
            for word in COMMON_WORDS.get(lang, ()):
                owners.setdefault(word, set()).add(lang)
        # a word common in two world languages ("no", "a", "está") is evidence for neither
        self._word_lang = {w: next(iter(langs)) for w, langs in owners.items() if len(langs) == 1}
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
        letters = sum(len(w) for w in words)
        weight = _prior_weight(letters)
        # trigrams alone are overconfident on a few words (0.8 "Portuguese" for "check this out"): flatten
        temper = 0.5 if self.accuracy == "low" and letters <= 30 else 1.0
        scores = {self._codes[v.language]: v.value ** temper * (weight if self._codes[v.language] == prior else 1.0)
                  for v in values if v.language in self._codes}
        if letters <= 30:
            for w in words:
                lang = self._word_lang.get(w)
                if lang in scores:
                    scores[lang] *= _WORD_WEIGHT
        total = sum(scores.values())
        if total <= 0:
            return Detection(prior, True, 0.0, "prior")
        best = max(scores, key=scores.get)
        raw_best = max(values, key=lambda v: v.value).language if values else None
        reason = "prior" if best == prior and self._codes.get(raw_best) != prior else "detected"
        return Detection(best, True, scores[best] / total, reason)
