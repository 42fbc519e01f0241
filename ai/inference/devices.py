"""Device and dtype selection: auto picks CUDA, then MPS, then CPU."""

from __future__ import annotations

from .errors import ModelUnavailable


def _mps_available(torch) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(pref: str | None = "auto") -> str:
    """Turn a device preference into a torch device string; an unusable explicit choice raises."""
    import torch

    pref = (pref or "auto").strip().lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if _mps_available(torch):
            return "mps"
        return "cpu"
    if pref == "cpu":
        return "cpu"
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelUnavailable(f"device {pref!r} requested but CUDA is not available")
        if ":" in pref:
            index = int(pref.split(":", 1)[1])
            if index >= torch.cuda.device_count():
                raise ModelUnavailable(f"device {pref!r} requested but only {torch.cuda.device_count()} GPU(s)")
        return pref
    if pref == "mps":
        if not _mps_available(torch):
            raise ModelUnavailable("device 'mps' requested but MPS is not available")
        return "mps"
    raise ModelUnavailable(f"unknown device {pref!r} (use auto, cpu, cuda, cuda:N or mps)")


_DTYPES = {
    "float32": "float32", "fp32": "float32", "float": "float32",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
    "float16": "float16", "fp16": "float16", "half": "float16",
}


def resolve_dtype(pref: str | None, device: str):
    """"auto" gives bf16 (or fp16 without bf16 support) on GPU and fp32 on CPU."""
    import torch

    pref = (pref or "auto").strip().lower()
    if pref == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device == "mps":
            return torch.float16
        return torch.float32
    if pref not in _DTYPES:
        raise ModelUnavailable(f"unknown dtype {pref!r} (use auto, float32, bfloat16 or float16)")
    return getattr(torch, _DTYPES[pref])
