"""Language id and machine translation for chat: which language a line is in (`LanguageIdentifier`),
what must stay as written (`protect`/`restore`), and `Translator` over the shared inference queue
with an LRU cache and pivoting. See docs/translation.md."""

from .cache import TranslationCache, cache_key, text_hash
from .langid import CHAT_TOKENS, Detection, LanguageIdentifier, needs_translation
from .models import SINGLE, is_template, model_ids, pair_name, pairs_for, translation_specs
from .protect import Protected, protect, restore
from .translator import Backend, InferenceBackend, NoBackend, TranslationUnavailable, Translator

__all__ = [
    "Backend", "CHAT_TOKENS", "Detection", "InferenceBackend", "LanguageIdentifier", "NoBackend", "Protected",
    "SINGLE", "TranslationCache", "TranslationUnavailable", "Translator", "cache_key", "is_template", "model_ids",
    "needs_translation", "pair_name", "pairs_for", "protect", "restore", "text_hash", "translation_specs",
]
