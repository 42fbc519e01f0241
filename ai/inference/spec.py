"""Request priorities, model configuration and result types."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal


class Priority(IntEnum):
    """Lower number = served first; BACKGROUND is shed first when the queue is full."""

    MODERATION = 0
    TRANSLATION = 1
    NPC_REPLY = 2
    BACKGROUND = 3


Task = Literal["generate", "classify", "translate", "embed"]
TASKS: tuple[str, ...] = ("generate", "classify", "translate", "embed")
BACKENDS: tuple[str, ...] = ("transformers", "openai", "service")
#: backends whose model runs on another server (openai: generation only; service: any task)
REMOTE_BACKENDS: tuple[str, ...] = ("openai", "service")


@dataclass
class ModelSpec:
    """One configured model. `name` is the logical name callers use ("npc", "embed", ...)."""

    name: str
    task: Task
    model_id: str
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    dtype: str = "auto"  # auto | float32 | bfloat16 | float16
    max_batch_size: int = 8
    max_wait_ms: float = 10.0
    backend: str = "transformers"  # transformers | openai (generate) | service (embed/classify/translate/generate)
    # openai backend (generate only): POST {base_url}/v1/chat/completions
    base_url: str | None = None
    api_key: str | None = None
    max_concurrency: int = 8
    request_timeout_s: float = 120.0  # for remote calls without a deadline
    # transformers backend
    revision: str | None = None
    trust_remote_code: bool = False
    max_input_tokens: int | None = None  # prompt/text truncation; default: the model's limit
    continuous_batching: bool = True  # generate: admit/drop sequences between decode steps
    extra: dict[str, Any] = field(default_factory=dict)  # passed to from_pretrained

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"model {self.name!r}: task must be one of {TASKS}, not {self.task!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"model {self.name!r}: backend must be one of {BACKENDS}, not {self.backend!r}")
        if self.max_batch_size < 1:
            raise ValueError(f"model {self.name!r}: max_batch_size must be >= 1")
        if self.max_wait_ms < 0:
            raise ValueError(f"model {self.name!r}: max_wait_ms must be >= 0")
        if self.max_concurrency < 1:
            raise ValueError(f"model {self.name!r}: max_concurrency must be >= 1")


@dataclass
class GenerateResult:
    """Generated text, the number of generated tokens, and why generation ended ("stop" | "length")."""

    text: str
    tokens: int
    finish_reason: str
