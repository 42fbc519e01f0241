"""`townsquare doctor` section: the rules, the bundled model, the optional toxicity model, and
whether the pipeline still delivers (it does without the optional model, and says so)."""

from __future__ import annotations

from typing import Any

Status = tuple[str, str]


def doctor_section(settings: Any) -> dict[str, Status]:
    from ai.moderation import ModerationRules, Moderator, default_lexicon
    from server.doctor import model_presence
    from server.world.seed import load_world_file

    out: dict[str, Status] = {}
    try:
        data = (load_world_file(settings.world_file) or {}).get("moderation")
        rules = ModerationRules.from_dict(data or {})
        where = "world file" if data else "defaults"
        out["rules"] = ("ok", f"{where}: {len(rules.block_words)} blocked, {len(rules.mask_words)} masked words, "
                              f"links {rules.link_policy}; admins' edits (PUT /api/admin/moderation/rules) "
                              "are kept in the database and apply at once")
    except Exception as e:  # a bad world file is reported, not raised
        out["rules"] = ("error", f"moderation rules in the world file: {e}")
    try:
        lexicon = default_lexicon()
        out["lexicon"] = ("found", f"{lexicon.term_count} terms")
    except Exception as e:
        out["lexicon"] = ("missing", f"{e.__class__.__name__}: {e}")
    bundled = Moderator(use_bundled_model=True).status()["bundled_model"]
    if bundled["available"]:
        out["bundled model"] = ("found", f"{bundled['name']} {bundled['version'] or ''}".strip())
    else:
        out["bundled model"] = ("missing", f"{bundled['reason']}: rules and the lexicon moderate alone")
    model_id = settings.models.toxicity
    if not model_id:
        optional: Status = ("missing", "not configured (TOWNSQUARE_MODELS__TOXICITY)")
    else:
        optional = model_presence(model_id)
    out["toxicity model (optional)"] = optional
    stages = ["rules", "lexicon"] + (["bundled model"] if bundled["available"] else [])
    if optional[0] == "found":
        out["pipeline"] = ("ok", f"delivers after {', '.join(stages)} and the toxicity model")
    else:
        out["pipeline"] = ("ok", f"the pipeline still delivers when the optional model is missing: "
                                 f"{' plus '.join(stages)} moderate every line, and each stored line says so")
    return out
