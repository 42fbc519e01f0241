"""What moderation decides about one text: the action, the scores behind it and why."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Action", "Verdict", "Evidence", "STAGES"]

# Stage names, in the order they run.
STAGES = ("rules", "lexicon", "bundled_model", "model")


class Action(enum.StrEnum):
    """What happens to a message. Ordered by severity: allow < mask < flag < block.

    - allow: deliver as written.
    - mask: deliver `masked_text` (offending spans replaced with ``###``).
    - flag: queue for human review; deliver (the masked text where there is one) or hold,
      as the server is configured.
    - block: do not deliver.
    """

    ALLOW = "allow"
    MASK = "mask"
    FLAG = "flag"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @classmethod
    def worst(cls, *actions: Action) -> Action:
        return max(actions, key=lambda a: _SEVERITY[a], default=cls.ALLOW)


_SEVERITY = {Action.ALLOW: 0, Action.MASK: 1, Action.FLAG: 2, Action.BLOCK: 3}


@dataclass(slots=True)
class Evidence:
    """One finding of one stage: a category score, optionally with spans to mask.

    `action` is set when the finding decides on its own (a blocked word, a link policy, flood);
    otherwise the category thresholds turn `score` into an action.
    """

    category: str
    score: float
    reason: str
    stage: str
    spans: list[tuple[int, int]] = field(default_factory=list)  # in the ORIGINAL text
    action: Action | None = None


@dataclass(slots=True)
class Verdict:
    """The outcome of moderating one text."""

    action: Action
    categories: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    masked_text: str | None = None
    stage: str = "rules"
    spans: list[tuple[int, int]] = field(default_factory=list)  # masked spans, original text

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": str(self.action),
            "categories": {k: round(float(v), 4) for k, v in sorted(self.categories.items())},
            "reasons": list(self.reasons),
            "masked_text": self.masked_text,
            "stage": self.stage,
            "spans": [list(s) for s in self.spans],
        }
