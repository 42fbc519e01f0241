"""Settings -> the inference service's model list. Logical names are what callers ask for:
"embed", "toxicity", "translate", "npc"."""

from __future__ import annotations

from ai.inference import InferenceService, ModelSpec
from ai.translation import translation_specs

from server.config import Settings


def specs_from_settings(settings: Settings) -> list[ModelSpec]:
    m = settings.models
    common = dict(device=m.device, dtype=m.dtype, max_wait_ms=m.max_wait_ms)
    specs = [ModelSpec(name="embed", task="embed", model_id=m.embed, max_batch_size=32, **common)]
    if m.toxicity:
        specs.append(ModelSpec(name="toxicity", task="classify", model_id=m.toxicity, max_batch_size=32, **common))
    # One many-to-many model, or Opus-MT pair templates ("...-{src}-{tgt}") expanded per pair.
    specs += translation_specs(m.translation, settings.languages, pivot=settings.translation_pivot,
                               direct=settings.translation_pairs, max_batch_size=m.max_batch_size, **common)
    if m.npc_base_url:
        specs.append(ModelSpec(name="npc", task="generate", model_id=m.npc or "default", backend="openai",
                               base_url=m.npc_base_url, api_key=m.npc_api_key or None,
                               max_batch_size=m.max_batch_size, **common))
    elif m.npc:
        specs.append(ModelSpec(name="npc", task="generate", model_id=m.npc, max_batch_size=m.max_batch_size, **common))
    return specs


def build_service(settings: Settings) -> InferenceService:
    return InferenceService(specs_from_settings(settings), max_queue=settings.models.max_queue)
