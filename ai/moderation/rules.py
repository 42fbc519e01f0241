"""World rules that admins edit: word lists, link policy, spam limits and category thresholds."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["ModerationRules", "DEFAULT_THRESHOLDS", "LINK_POLICIES", "LEVELS"]

LINK_POLICIES = ("allow", "block", "flag", "allow_listed")
LEVELS = ("mask", "flag", "block")

# category -> level -> lowest score that triggers the level (a missing level never triggers).
# A score reaching "mask" masks the spans that carry it; with no span to mask it is flagged.
DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    "profanity": {"mask": 0.5},
    "sexual": {"mask": 0.5, "block": 0.85},
    "insult": {"flag": 0.6, "block": 0.85},
    "harassment": {"flag": 0.5, "block": 0.85},
    "threat": {"flag": 0.5, "block": 0.85},
    "hate": {"flag": 0.5, "block": 0.8},
    "spam": {"flag": 0.5, "block": 0.85},
    "link": {"mask": 0.5},
    "self_harm": {"flag": 0.5},
    "toxicity": {"flag": 0.9},
}


def _default_thresholds() -> dict[str, dict[str, float]]:
    return copy.deepcopy(DEFAULT_THRESHOLDS)


def _default_flood() -> dict[str, float]:
    return {"max_messages": 8, "window_s": 10.0}


@dataclass(slots=True)
class ModerationRules:
    """Rules of a world (or, merged with an override, of one room).

    Word lists match the normalized text on word boundaries; ``*`` at either end of an
    entry matches any continuation of letters ("noob*", "*shit"). allow_words win over every
    other list and over the curated lexicon and the bundled model.
    """

    block_words: list[str] = field(default_factory=list)
    allow_words: list[str] = field(default_factory=list)
    mask_words: list[str] = field(default_factory=list)
    link_policy: str = "allow_listed"  # allow | block | flag | allow_listed (others masked)
    allowed_domains: list[str] = field(default_factory=list)  # subdomains included
    block_invites: bool = True  # discord.gg, t.me, chat.whatsapp.com ...
    max_repeats: int = 3  # the same message more often than this within repeat_window_s: block
    repeat_window_s: float = 30.0
    flood: dict[str, float] = field(default_factory=_default_flood)  # max_messages per window_s
    thresholds: dict[str, dict[str, float | None]] = field(default_factory=_default_thresholds)
    use_lexicon: bool = True  # the curated lexicon shipped with Townsquare

    def __post_init__(self) -> None:
        # thresholds and flood given here are laid over the defaults (a level set to None is off)
        if isinstance(self.thresholds, dict):
            merged = _default_thresholds()
            for cat, levels in self.thresholds.items():
                if isinstance(levels, dict):
                    merged.setdefault(cat, {}).update(levels)
                else:
                    merged[cat] = levels
            self.thresholds = merged
        if isinstance(self.flood, dict):
            self.flood = {**_default_flood(), **self.flood}
        self.validate()

    def validate(self) -> None:
        if self.link_policy not in LINK_POLICIES:
            raise ValueError(f"link_policy must be one of {LINK_POLICIES}, not {self.link_policy!r}")
        for name in ("block_words", "allow_words", "mask_words", "allowed_domains"):
            value = getattr(self, name)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{name} must be a list of strings")
        if int(self.max_repeats) < 1:
            raise ValueError("max_repeats must be at least 1")
        if float(self.repeat_window_s) <= 0:
            raise ValueError("repeat_window_s must be positive")
        unknown = set(self.flood) - {"max_messages", "window_s"}
        if unknown:
            raise ValueError(f"unknown flood keys: {sorted(unknown)}")
        if int(self.flood.get("max_messages", 1)) < 1 or float(self.flood.get("window_s", 1)) <= 0:
            raise ValueError("flood needs max_messages >= 1 and window_s > 0")
        for cat, levels in self.thresholds.items():
            if not isinstance(levels, dict):
                raise ValueError(f"thresholds[{cat!r}] must be a mapping of level -> score")
            for level, value in levels.items():
                if level not in LEVELS:
                    raise ValueError(f"thresholds[{cat!r}]: unknown level {level!r} (use {LEVELS})")
                if value is not None and not isinstance(value, (int, float)):
                    raise ValueError(f"thresholds[{cat!r}][{level!r}] must be a number or null")

    def threshold(self, category: str, level: str) -> float | None:
        value = self.thresholds.get(category, {}).get(level)
        return None if value is None else float(value)

    # -- (de)serialization -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ModerationRules:
        """Rules from a mapping; missing keys keep their defaults, unknown keys are an error.

        `thresholds` given here are laid over the defaults per category and level.
        """
        return cls().merged(data or {})

    @classmethod
    def from_file(cls, path: str | Path) -> ModerationRules:
        """Rules from a YAML or JSON file."""
        text = Path(path).read_text(encoding="utf-8")
        if str(path).endswith(".json"):
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
        return cls.from_dict(data or {})

    def merged(self, override: dict[str, Any] | None) -> ModerationRules:
        """These rules with a per-room override applied; self is left unchanged.

        Word lists and allowed_domains are extended (a room adds words; to lift a world word
        in a room, put it in the room's allow_words), thresholds and flood are merged key by
        key (a level set to null is switched off), everything else is replaced.
        """
        data = self.to_dict()
        if not override:
            return ModerationRules(**data)
        known = {f.name for f in fields(self)}
        unknown = set(override) - known
        if unknown:
            raise ValueError(f"unknown moderation rule keys: {sorted(unknown)}")
        for key, value in override.items():
            if key in ("block_words", "allow_words", "mask_words", "allowed_domains"):
                if not isinstance(value, list):
                    raise ValueError(f"{key} must be a list of strings")
                data[key] = list(dict.fromkeys([*data[key], *value]))
            elif key == "thresholds":
                if not isinstance(value, dict):
                    raise ValueError("thresholds must be a mapping")
                for cat, levels in value.items():
                    if not isinstance(levels, dict):
                        raise ValueError(f"thresholds[{cat!r}] must be a mapping")
                    data["thresholds"].setdefault(cat, {}).update(levels)
            elif key == "flood":
                if not isinstance(value, dict):
                    raise ValueError("flood must be a mapping")
                data["flood"].update(value)
            else:
                data[key] = value
        return ModerationRules(**data)
