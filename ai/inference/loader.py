"""Builds the engine a model spec asks for: the one place that knows every engine class."""

from __future__ import annotations

import logging

from .decode import GenerateEngine
from .devices import resolve_device, resolve_dtype
from .engines import ClassifyEngine, EmbedEngine, TranslateEngine
from .loading import locate
from .spec import ModelSpec

log = logging.getLogger("ai.inference")


def load_engine(spec: ModelSpec):
    """Load the engine for a transformers-backed spec (raises ModelUnavailable/ModelMissing or load errors)."""
    device = resolve_device(spec.device)
    dtype = resolve_dtype(spec.dtype, device)
    path = locate(spec.model_id, spec.revision)
    cls = {"embed": EmbedEngine, "classify": ClassifyEngine, "translate": TranslateEngine,
           "generate": GenerateEngine}[spec.task]
    engine = cls(spec, path, device, dtype)
    log.info("inference: loaded %s (%s, %s) from %s on %s/%s", spec.name, spec.task, spec.model_id, path,
             device, str(dtype).replace("torch.", ""))
    return engine
