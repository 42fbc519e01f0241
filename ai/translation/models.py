"""Which translation models a world runs, from one setting (`models.translation`):

- one many-to-many model id (`facebook/m2m100_418M`, `facebook/nllb-200-distilled-600M`, a local
  path): one inference model named "translate" serves every pair;
- a template with `{src}` and `{tgt}` (`Helsinki-NLP/opus-mt-{src}-{tgt}`): one model per pair,
  named "translate:<src>-<tgt>"; pairs to and from the pivot language (English) by default, so
  any two languages meet through it, plus any direct pairs asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SINGLE = "translate"


def is_template(model_id: str) -> bool:
    return "{src}" in model_id and "{tgt}" in model_id


def pair_name(source: str, target: str) -> str:
    return f"translate:{source}-{target}"


def pairs_for(languages: Iterable[str], pivot: str = "en", direct: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(source, target) pairs a template world loads: each language to and from the pivot, plus
    `direct` pairs written "es-pt"."""
    langs = [lang for lang in dict.fromkeys(languages)]
    out: list[tuple[str, str]] = []
    for lang in langs:
        if lang != pivot:
            out += [(lang, pivot), (pivot, lang)]
    for pair in direct:
        s, _, t = pair.partition("-")
        if s and t and s != t and (s, t) not in out:
            out.append((s, t))
    return out


def translation_specs(model_id: str, languages: Iterable[str], *, pivot: str = "en", direct: Iterable[str] = (),
                      **spec_kwargs: Any) -> list:
    """ModelSpecs for `ai.inference` from the setting (empty when not configured)."""
    from ai.inference import ModelSpec

    if not model_id:
        return []
    if not is_template(model_id):
        return [ModelSpec(name=SINGLE, task="translate", model_id=model_id, **spec_kwargs)]
    return [ModelSpec(name=pair_name(s, t), task="translate", model_id=model_id.format(src=s, tgt=t), **spec_kwargs)
            for s, t in pairs_for(languages, pivot, direct)]


def model_ids(model_id: str, languages: Iterable[str], *, pivot: str = "en", direct: Iterable[str] = ()) -> list[str]:
    """The Hugging Face ids (or paths) the setting names: for `townsquare doctor` and pulls."""
    if not model_id:
        return []
    if not is_template(model_id):
        return [model_id]
    return [model_id.format(src=s, tgt=t) for s, t in pairs_for(languages, pivot, direct)]
