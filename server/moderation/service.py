"""ModerationService (`ctx.moderation`): one Verdict for every public text, with the world's rules,
the bundled model and, when the shared inference queue has one, the optional toxicity model.

When the toxicity model is not configured or not loaded, texts are moderated by the rules, the
curated lexicon and the bundled model alone; the world keeps delivering and says so (a log line,
`townsquare doctor`, and `moderation.model` stored with every line).
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from typing import Any

from prometheus_client import Counter

from ai.moderation import Moderator, Verdict
from server.moderation.rules_store import RulesStore
from server.protocol import ProtocolError

log = logging.getLogger(__name__)

VERDICTS = Counter("townsquare_moderation_verdicts_total", "Moderation verdicts", ["kind", "action"])

TOXICITY = "toxicity"  # the logical model name in the shared inference queue
NOTES = frozenset({"model unavailable", "bundled model unavailable"})


def public_kind(kind: str) -> str:
    """The callers' kinds (name, display_name, room, room_name, room_description ...) -> the
    Moderator's (name, room, chat)."""
    if kind in ("name", "display_name", "username"):
        return "name"
    if kind.startswith("room"):
        return "room"
    return kind if kind in ("chat", "whisper", "npc") else "name"


def acting_reasons(verdict: Verdict) -> str:
    reasons = [r for r in verdict.reasons if r not in NOTES]
    return "; ".join(reasons) or str(verdict.action)


class ModerationService:
    def __init__(self, rules: RulesStore, *, inference: Any = None, model_deadline_s: float = 0.5,
                 use_bundled_model: bool = True):
        self.rules = rules
        self.inference = inference
        self.model_deadline_s = model_deadline_s
        self.moderator = Moderator(rules.world, use_bundled_model=use_bundled_model)
        rules.on_change.append(self._rules_changed)
        self.tally: Tally = Tally()

    def _rules_changed(self, world) -> None:
        self.moderator.rules = world
        self.moderator._room_rules.clear()  # the per-room merge cache was built on the old world rules

    # -- the optional model -------------------------------------------------------------------
    def model_state(self) -> tuple[str, str]:
        """("loaded" | "missing" | "error" | "loading" ..., why) of the optional toxicity model."""
        inf = self.inference
        if inf is None:
            return "missing", "no inference service: rules plus the bundled model moderate alone"
        status = {s["name"]: s for s in inf.status()}.get(TOXICITY)
        if status is None:
            return "missing", "not configured (models.toxicity): rules plus the bundled model moderate alone"
        if inf.available(TOXICITY):
            return "loaded", f"{status['model_id']} on {status['device']}"
        return status["state"], f"{status['reason'] or status['state']}: rules plus the bundled model moderate alone"

    async def _classify(self, texts: list[str]) -> list[dict[str, float]]:
        from ai.inference import Priority

        return await self.inference.classify(TOXICITY, texts, priority=Priority.MODERATION,
                                             deadline=self.model_deadline_s)

    def _wire_model(self) -> bool:
        use = self.inference is not None and self.inference.available(TOXICITY)
        self.moderator.model_classify = self._classify if use else None
        return use

    # -- checks -------------------------------------------------------------------------------
    async def check(self, text: str, *, kind: str = "chat", sender: str | None = None, room_id: Any = None) -> Verdict:
        """The verdict on one text (for other domains: NPC plans, shop item names ...)."""
        return (await self.assess(text, kind=kind, sender=sender, room_id=room_id))[0]

    async def assess(self, text: str, *, kind: str = "chat", sender: str | None = None,
                     room_id: Any = None) -> tuple[Verdict, dict[str, Any]]:
        """The verdict, and what is stored with the line (`ChatDraft.moderation`)."""
        used = self._wire_model()
        verdict = await self.moderator.check(text, sender=sender, kind=kind,
                                             room_rules=self.rules.room_override(room_id))
        VERDICTS.labels(kind, str(verdict.action)).inc()
        self.tally[str(verdict.action)] += 1
        stored = verdict.to_dict()
        stored.pop("masked_text", None)
        if used and "model unavailable" not in verdict.reasons:
            stored["model"] = TOXICITY
        else:
            state, why = self.model_state()
            if used:
                state, why = "unavailable", "the toxicity model did not answer in time"
            stored["model"] = None
            stored["model_missing"] = f"{state}: {why}"
        return verdict, stored

    async def check_public_text(self, text: str, *, kind: str = "name", **_: Any) -> str:
        """`ctx.check_public_text`: display names, room names and descriptions. A name that
        would be blocked or masked is refused (a name cannot be shown with holes in it)."""
        if not isinstance(text, str) or not text.strip():
            return text
        verdict = await self.check(text, kind=public_kind(kind))
        if str(verdict.action) in ("block", "mask"):
            raise ProtocolError("invalid_payload", f"that name is not allowed: {acting_reasons(verdict)}")
        if str(verdict.action) == "flag":
            log.info("public text flagged but allowed (%s): %s", kind, acting_reasons(verdict))
        return text

    def status(self) -> dict[str, Any]:
        state, why = self.model_state()
        out = self.moderator.status()
        out["model"].update(state=state, why=why)
        out["rules"]["source"] = self.rules.world_source
        out["rules"]["room_overrides"] = len(self.rules.rooms)
        out["verdicts"] = dict(self.tally)
        return out
