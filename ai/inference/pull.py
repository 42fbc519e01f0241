"""`townsquare models pull`: fetch configured Hugging Face models into the local cache, with progress."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import ModelUnavailable
from .loading import BUNDLED_EMBEDDER_IDS, bundled_embedder_path, looks_like_path
from .spec import ModelSpec

#: weight formats the transformers backend never loads
IGNORE_PATTERNS = [
    "*.onnx", "*.onnx_data", "onnx/*", "openvino/*", "*.tflite", "*.msgpack", "*.h5", "*.ot",
    "*.gguf", "coreml/*", "*.mlmodel", "rust_model.ot",
]


class PullFailed(ModelUnavailable):
    """Some models could not be downloaded; `results` has the per-model outcome."""

    def __init__(self, message: str, results: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.results = results


def _why(exc: Exception) -> str:
    from huggingface_hub import errors

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set: run `townsquare models pull` on a machine with internet and without it"
    if isinstance(exc, errors.GatedRepoError):
        return "the model is gated: accept its licence on huggingface.co and log in with `hf auth login`"
    if isinstance(exc, errors.RepositoryNotFoundError):
        return "no such model on the Hugging Face Hub (or it is private: log in with `hf auth login`)"
    if isinstance(exc, errors.RevisionNotFoundError):
        return "no such revision of the model"
    first = (str(exc).strip().splitlines() or [""])[0][:160]
    return f"cannot download from the Hugging Face Hub (no internet?): {type(exc).__name__}: {first}"


def _download(model_id: str, revision: str | None) -> str:
    from huggingface_hub import HfApi, snapshot_download

    ignore = list(IGNORE_PATTERNS)
    files = HfApi().list_repo_files(model_id, revision=revision)
    if any(f.endswith(".safetensors") for f in files):
        ignore += ["*.bin", "*.pt", "*.pth"]  # safetensors present: skip the duplicate pickles
    return snapshot_download(model_id, revision=revision, ignore_patterns=ignore)


def pull_models(
    specs: Iterable[ModelSpec], progress: bool = True, *, raise_on_error: bool = True,
) -> list[dict[str, Any]]:
    """Download every transformers-backed model of `specs` (tqdm progress bars when `progress`).

    Returns one dict per spec: name, model_id, status ("downloaded" | "already local" | "bundled" |
    "remote" | "failed"), path, reason. With raise_on_error, any failure raises PullFailed (a
    ModelUnavailable) whose message names each failed model and why, after trying all of them.
    """
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    results: list[dict[str, Any]] = []
    was_disabled = are_progress_bars_disabled()
    if not progress:
        disable_progress_bars()
    try:
        for spec in specs:
            entry: dict[str, Any] = {"name": spec.name, "model_id": spec.model_id, "status": "", "path": None,
                                     "reason": ""}
            results.append(entry)
            if spec.backend != "transformers":
                entry.update(status="remote", reason=f"served by {spec.base_url}")
            elif spec.model_id in BUNDLED_EMBEDDER_IDS:
                try:
                    entry.update(status="bundled", path=str(bundled_embedder_path()))
                except ModelUnavailable as exc:
                    entry.update(status="failed", reason=str(exc))
            elif looks_like_path(spec.model_id):
                path = Path(spec.model_id).expanduser()
                if path.exists():
                    entry.update(status="already local", path=str(path))
                else:
                    entry.update(status="failed", reason=f"{spec.model_id}: no such directory")
            else:
                try:
                    entry.update(status="downloaded", path=_download(spec.model_id, spec.revision))
                except Exception as exc:
                    entry.update(status="failed", reason=_why(exc))
    finally:
        if not progress and not was_disabled:
            enable_progress_bars()
    failed = [r for r in results if r["status"] == "failed"]
    if failed and raise_on_error:
        detail = "; ".join(f"{r['name']} ({r['model_id']}): {r['reason']}" for r in failed)
        raise PullFailed(f"could not pull {len(failed)} model(s): {detail}", results)
    return results
