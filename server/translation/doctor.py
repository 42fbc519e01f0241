"""`townsquare doctor` section: language id, the translation model(s), and what readers get."""

from __future__ import annotations

from typing import Any

Status = tuple[str, str]

UNTRANSLATED = ("lines are delivered untranslated; readers of another language get "
                "chat:translation {text: null, unavailable: true}")


def doctor_section(settings: Any) -> dict[str, Status]:
    from ai.translation import LanguageIdentifier, is_template, model_ids, pair_name, pairs_for
    from server.doctor import model_presence

    out: dict[str, Status] = {}
    out["language id"] = LanguageIdentifier(settings.languages, settings.default_language,
                                            accuracy=settings.translation_langid_accuracy).status
    setting = settings.models.translation
    if not setting:
        out["model"] = ("missing", "not configured (TOWNSQUARE_MODELS__TRANSLATION, e.g. facebook/m2m100_418M, "
                                   f"then `townsquare models pull`): {UNTRANSLATED}")
        out["delivery"] = ("ok", "chat works without translation; each line still carries its language")
        return out
    if not is_template(setting):
        state, why = model_presence(setting)
        out["model"] = (state, f"{setting}: {why}")
        out["delivery"] = (("ok", f"every pair of {', '.join(settings.languages)} through {setting}")
                           if state == "found" else ("degraded", UNTRANSLATED))
        return out
    # one model per pair, through the pivot language
    pivot = settings.translation_pivot
    pairs = pairs_for(settings.languages, pivot, settings.translation_pairs)
    ids = model_ids(setting, settings.languages, pivot=pivot, direct=settings.translation_pairs)
    found, missing = [], []
    for (s, t), mid in zip(pairs, ids):
        (found if model_presence(mid)[0] == "found" else missing).append(f"{s}-{t}")
    out["model"] = ("found" if not missing else ("missing" if not found else "partial"),
                    f"{setting}: {len(found)} of {len(pairs)} pairs present"
                    + (f"; missing {', '.join(missing)} (`townsquare models pull`)" if missing else ""))
    try:
        from server.inference.specs import specs_from_settings

        names = {spec.name for spec in specs_from_settings(settings)}
    except Exception as e:  # reported, not raised
        names = set()
        out["inference"] = ("error", f"{type(e).__name__}: {e}")
    if not any(pair_name(s, t) in names for s, t in pairs):
        out["inference"] = ("error", "the inference domain does not load per-pair models for this template "
                                     "(it must use ai.translation.translation_specs): " + UNTRANSLATED)
    ok = set(found)
    langs = [lang for lang in settings.languages]
    routed = [f"{s}-{t}" for s in langs for t in langs if s != t and (
        f"{s}-{t}" in ok or (pivot not in (s, t) and f"{s}-{pivot}" in ok and f"{pivot}-{t}" in ok))]
    total = len(langs) * (len(langs) - 1)
    out["delivery"] = ("ok" if len(routed) == total else "degraded",
                       f"{len(routed)} of {total} language pairs translatable (through {pivot} where no direct pair)")
    return out
