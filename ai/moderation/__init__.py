"""Text moderation for Townsquare: normalization, world rules, a curated lexicon, the bundled
profanity model and an optional transformer model, combined into one Verdict per text.

    moderator = Moderator(ModerationRules(block_words=["badword"]))
    verdict = await moderator.check("hello", sender=user_id)
"""

from .lexicon import Lexicon, default_lexicon
from .moderator import KINDS, MASK, MODEL_LABELS, ModelClassify, Moderator
from .normalize import Normalized, normalize
from .rules import DEFAULT_THRESHOLDS, LINK_POLICIES, ModerationRules
from .verdict import Action, Verdict

__all__ = [
    "Action",
    "Verdict",
    "ModerationRules",
    "Moderator",
    "ModelClassify",
    "KINDS",
    "MASK",
    "MODEL_LABELS",
    "DEFAULT_THRESHOLDS",
    "LINK_POLICIES",
    "Lexicon",
    "default_lexicon",
    "Normalized",
    "normalize",
]
