"""Settings -> the inference service's model list. Logical names are what callers ask for:
"embed", "toxicity", "translate", "npc"."""

from __future__ import annotations

from ai.inference import ModelSpec
from ai.translation import translation_specs
from server.config import Settings


def specs_from_settings(settings: Settings) -> list[ModelSpec]:
    m = settings.models
    common = dict(device=m.device, dtype=m.dtype, max_wait_ms=m.max_wait_ms)
    ours = {"api_key": settings.inference_token or None}  # another Townsquare service takes the fleet's token
    specs = []
    if m.embed_base_url:  # any OpenAI-compatible /v1/embeddings
        specs.append(_remote("embed", "embed", m.embed or "embed", m.embed_base_url, **common))
    elif m.embed:
        specs.append(ModelSpec(name="embed", task="embed", model_id=m.embed, max_batch_size=32, **common))
    if m.toxicity_base_url:  # another Townsquare inference service's /v1/classify
        specs.append(_remote("toxicity", "classify", m.toxicity or "toxicity", m.toxicity_base_url, **ours,
                             **common))
    elif m.toxicity:
        specs.append(ModelSpec(name="toxicity", task="classify", model_id=m.toxicity, max_batch_size=32, **common))
    if m.translation_base_url:  # another Townsquare inference service's /v1/translate
        specs.append(_remote("translate", "translate", "translate", m.translation_base_url, **ours, **common))
    else:  # one many-to-many model, or Opus-MT pair templates ("...-{src}-{tgt}") expanded per pair
        specs += translation_specs(m.translation, settings.languages, pivot=settings.translation_pivot,
                                   direct=settings.translation_pairs, max_batch_size=m.max_batch_size, **common)
    if m.npc_base_url:
        specs.append(ModelSpec(name="npc", task="generate", model_id=m.npc or "default", backend="openai",
                               base_url=m.npc_base_url, api_key=m.npc_api_key or None,
                               max_batch_size=m.max_batch_size, **common))
    elif m.npc:
        specs.append(ModelSpec(name="npc", task="generate", model_id=m.npc, max_batch_size=m.max_batch_size, **common))
    return specs


def _remote(name: str, task: str, model_id: str, base_url: str, **common) -> ModelSpec:
    return ModelSpec(name=name, task=task, model_id=model_id, backend="service", base_url=base_url, max_batch_size=32,
                     **common)


def placement(settings: Settings) -> str:
    """Where this node's models run: "remote" (TOWNSQUARE_INFERENCE_URL), "child" (a supervised
    `inference serve` of its own) or "process" (inside the world process)."""
    if settings.inference_url.strip():
        return "remote"
    specs = specs_from_settings(settings)
    # every model elsewhere (or none): nothing heavy to isolate, the forwarding runs in the world process
    if settings.inference_local == "process" or all(s.backend in ("openai", "service") for s in specs):
        return "process"
    return "child"


def build_service(settings: Settings):
    """What `ctx.inference` is: the same methods (generate, classify, translate, embed, available,
    status, queue_depth, specs) whichever placement."""
    where = placement(settings)
    if where == "remote":
        from ai.inference.client import InferenceClient

        return InferenceClient(settings.inference_url, max_concurrency=settings.inference_max_concurrency,
                               token=settings.inference_token or None)
    specs = specs_from_settings(settings)
    if where == "child":
        from ai.inference.child import SupervisedInference

        return SupervisedInference(specs, max_queue=settings.models.max_queue, threads=settings.models.threads,
                                   nice=settings.inference_child_nice,
                                   start_timeout_s=settings.inference_start_timeout_s,
                                   max_concurrency=settings.inference_max_concurrency)
    from ai.inference import InferenceService

    if settings.models.threads and specs:
        from ai.inference.server import set_threads

        set_threads(settings.models.threads)
    return InferenceService(specs, max_queue=settings.models.max_queue)
