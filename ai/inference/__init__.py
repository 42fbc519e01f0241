"""The shared inference queue: every model the world runs, behind one batching scheduler.

Callers submit typed requests (generate, classify, translate, embed) with a priority and a
deadline and await the result. See docs/inference.md.
"""

from .devices import resolve_device, resolve_dtype
from .errors import DeadlineExceeded, InferenceError, ModelUnavailable, Overloaded
from .loading import BUNDLED_EMBEDDER_IDS, DEFAULT_EMBED_MODEL_ID, bundled_embedder_path
from .pull import pull_models
from .service import InferenceService, default_specs
from .spec import GenerateResult, ModelSpec, Priority

__all__ = [
    "BUNDLED_EMBEDDER_IDS",
    "DEFAULT_EMBED_MODEL_ID",
    "DeadlineExceeded",
    "GenerateResult",
    "InferenceError",
    "InferenceService",
    "ModelSpec",
    "ModelUnavailable",
    "Overloaded",
    "Priority",
    "bundled_embedder_path",
    "default_specs",
    "pull_models",
    "resolve_device",
    "resolve_dtype",
]
