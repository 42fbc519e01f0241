"""`InferenceService`: the one entry point through which the world runs models.

Callers submit typed requests with a priority and a deadline and await the result; the queue
batches them per model for the worker thread that owns the model (or, for a remote model, hands
them to an OpenAI-compatible server under a concurrency bound).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import metrics
from .decode import group_key
from .errors import DeadlineExceeded, InferenceError, ModelUnavailable, Overloaded
from .loading import DEFAULT_EMBED_MODEL_ID
from .queue import Request, RequestQueue
from .remote import OpenAIChatBackend
from .spec import REMOTE_BACKENDS, GenerateResult, ModelSpec, Priority
from .worker import ModelWorker

log = logging.getLogger("ai.inference")


def default_specs() -> list[ModelSpec]:
    """What runs with no configuration: the bundled sentence embedder as "embed"."""
    return [ModelSpec(name="embed", task="embed", model_id=DEFAULT_EMBED_MODEL_ID, max_batch_size=32)]


class InferenceService:
    """Owns every configured model; see the module docstring and docs/inference.md."""

    def __init__(self, specs: Iterable[ModelSpec], *, max_queue: int = 256) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"model name {spec.name!r} is configured twice")
            self._specs[spec.name] = spec
        self._queue = RequestQueue(max_queue)
        self._status: dict[str, dict[str, Any]] = {
            name: {"name": name, "task": s.task, "model_id": s.model_id,
                   "device": s.base_url if s.backend in REMOTE_BACKENDS else s.device,
                   "state": "loading", "reason": "not started"}
            for name, s in self._specs.items()
        }
        self._workers: dict[str, ModelWorker] = {}
        self._remote: dict[str, OpenAIChatBackend] = {}
        self._outstanding: set[Request] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False
        self._stopped = False

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Load every model in its worker thread; a model that fails is recorded, never fatal."""
        if self._started:
            return
        self._started = True
        self._loop = loop = asyncio.get_running_loop()
        loaded: list[asyncio.Future] = []
        for name, spec in self._specs.items():
            self._queue.add_model(name)
            status = self._status[name]
            if spec.backend in REMOTE_BACKENDS:
                if spec.backend == "openai" and spec.task != "generate":
                    status.update(state="error", reason=f"backend openai serves task generate only, not {spec.task} "
                                                        "(backend service: any task)")
                elif not spec.base_url:
                    status.update(state="error", reason="backend openai needs base_url")
                else:
                    backend = OpenAIChatBackend(spec)
                    await backend.start()
                    self._remote[name] = backend
                    status.update(state="remote", reason="")
                continue
            status.update(state="loading", reason="")
            done = loop.create_future()
            loaded.append(done)

            def report(state: str, reason: str, device: str, _name=name, _done=done) -> None:
                def apply() -> None:
                    self._loaded(_name, state, reason, device)
                    if not _done.done():
                        _done.set_result(None)
                try:
                    loop.call_soon_threadsafe(apply)
                except RuntimeError:
                    pass

            worker = ModelWorker(spec, self._queue, report)
            self._workers[name] = worker
            worker.start()
        if loaded:
            await asyncio.gather(*loaded)

    def _loaded(self, name: str, state: str, reason: str, device: str) -> None:
        self._status[name].update(state=state, reason=reason, device=device)
        if state != "loaded":  # fail whatever was queued while it was loading
            error = ModelUnavailable(f"model {name!r} is {state}: {reason}")
            while True:
                batch = self._queue.take(name, 1_000_000, 0.0, block=False)
                if not batch:
                    break
                for req in batch:
                    req.fail(error)

    async def stop(self, *, drain_timeout: float = 0.0) -> None:
        """Optionally let outstanding requests finish for `drain_timeout` seconds, then fail the
        rest, stop the workers and release the models."""
        if self._stopped or not self._started:
            self._stopped = True
            return
        self._stopped = True
        if drain_timeout > 0 and self._outstanding:
            await asyncio.wait([r.future for r in self._outstanding], timeout=drain_timeout)
        error = ModelUnavailable("inference service stopped")
        for req in self._queue.close():
            req.fail(error)
        for req in list(self._outstanding):
            if req.task is not None:
                req.task.cancel()
        for worker in self._workers.values():
            await asyncio.to_thread(worker.join)
        for backend in self._remote.values():
            await backend.close()
        for status in self._status.values():
            if status["state"] in ("loaded", "remote", "loading"):
                status.update(state="stopped", reason="service stopped")
        # futures whose results were posted by the workers settle on the next loop iterations
        await asyncio.sleep(0)
        for req in list(self._outstanding):
            if not req.future.done():
                req.future.set_exception(error)
        self._workers.clear()

    async def __aenter__(self) -> InferenceService:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # ---- introspection ------------------------------------------------------------------------

    def available(self, model: str) -> bool:
        status = self._status.get(model)
        return bool(status) and status["state"] in ("loaded", "remote")

    def status(self) -> list[dict[str, Any]]:
        """One dict per model: name, task, model_id, device, state, reason (for `townsquare doctor`).
        state: loaded | missing | error | remote (and transiently loading / stopped)."""
        return [dict(s) for s in self._status.values()]

    def queue_depth(self) -> dict[Priority, int]:
        return self._queue.depth()

    @property
    def specs(self) -> list[ModelSpec]:
        return list(self._specs.values())

    # ---- requests -----------------------------------------------------------------------------

    async def generate(
        self, model: str, messages: list[dict], *, max_new_tokens: int = 64, stop: Sequence[str] | None = None,
        temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
        repetition_penalty: float | None = None, seed: int | None = None, num_beams: int = 1,
        priority: Priority = Priority.NPC_REPLY, deadline: float | None = None, tools: list[dict] | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> GenerateResult:
        """Chat completion: `messages` is [{"role", "content"}, ...]; temperature 0 means greedy.
        `tools` (OpenAI function specs) go to the chat template; the caller parses any call out of the text.
        `on_text(delta)` is called on the event loop with each new piece of the reply as the decode loop
        makes it (all before the result; their concatenation is a prefix of `result.text`)."""
        spec = self._check(model, "generate")
        if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages
        ):
            raise ValueError("messages must be a non-empty list of {'role': str, 'content': str}")
        if tools is not None and (not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools)):
            raise ValueError("tools must be a list of objects")
        messages = [{"role": m["role"], "content": m["content"]} for m in messages]
        params = self._generate_params(max_new_tokens, stop, temperature, top_k, top_p, repetition_penalty, seed,
                                       num_beams)
        if tools:
            if spec.backend in REMOTE_BACKENDS:
                raise InferenceError(f"model {model!r} is remote: send tools to its server directly")
            params["tools"] = tuple(tools)
        if on_text is not None:
            params["on_text"] = on_text
        approx = sum(len(m["content"]) for m in messages) // 4
        group = group_key(params, spec.continuous_batching, approx)
        return await self._submit(spec, "generate", messages, params, group, 1, priority, deadline)

    async def complete(
        self, model: str, prompt: str, *, max_new_tokens: int = 64, stop: Sequence[str] | None = None,
        temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
        repetition_penalty: float | None = None, seed: int | None = None, num_beams: int = 1,
        priority: Priority = Priority.NPC_REPLY, deadline: float | None = None,
    ) -> GenerateResult:
        """Plain text completion of `prompt` (no chat template), batched with chat requests of the model."""
        spec = self._check(model, "generate")
        if not isinstance(prompt, str) or not prompt:
            raise ValueError("prompt must be a non-empty string")
        if spec.backend in REMOTE_BACKENDS:
            raise InferenceError(f"model {model!r} is remote: raw completions need a local model")
        params = self._generate_params(max_new_tokens, stop, temperature, top_k, top_p, repetition_penalty, seed,
                                       num_beams)
        params["prompt"] = prompt
        group = group_key(params, spec.continuous_batching, len(prompt) // 4)
        return await self._submit(spec, "generate", [], params, group, 1, priority, deadline)

    @staticmethod
    def _generate_params(max_new_tokens, stop, temperature, top_k, top_p, repetition_penalty, seed,
                         num_beams) -> dict:
        if max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if num_beams < 1:
            raise ValueError("num_beams must be >= 1")
        if isinstance(stop, str):
            stop = [stop]
        return {
            "max_new_tokens": int(max_new_tokens), "stop": tuple(stop or ()), "temperature": float(temperature or 0.0),
            "top_k": top_k, "top_p": top_p, "repetition_penalty": repetition_penalty, "seed": seed,
            "num_beams": int(num_beams),
        }

    async def classify(
        self, model: str, texts: list[str], *, priority: Priority = Priority.MODERATION,
        deadline: float | None = None,
    ) -> list[dict[str, float]]:
        """Scores per label for each text: sigmoid for multi-label models, softmax otherwise."""
        spec = self._check(model, "classify")
        texts = _texts(texts)
        if not texts:
            return []
        return await self._submit(spec, "classify", texts, {}, ("classify",), len(texts), priority, deadline)

    async def translate(
        self, model: str, texts: list[str], *, source: str, target: str,
        priority: Priority = Priority.TRANSLATION, deadline: float | None = None,
        num_beams: int | None = None, max_new_tokens: int | None = None,
    ) -> list[str]:
        """Translate each text from `source` to `target` (ISO codes; FLORES codes for NLLB also work).
        num_beams defaults to the model's generation config; max_new_tokens to about the text's length."""
        spec = self._check(model, "translate")
        texts = _texts(texts)
        if not texts:
            return []
        bucket = max(len(t) for t in texts).bit_length()  # similar lengths batch together
        params = {"source": source, "target": target, "num_beams": num_beams, "max_new_tokens": max_new_tokens,
                  "length_bucket": bucket}
        group = ("translate", source, target, num_beams, max_new_tokens, bucket)
        return await self._submit(spec, "translate", texts, params, group, len(texts), priority, deadline)

    async def embed(
        self, model: str, texts: list[str], *, priority: Priority = Priority.NPC_REPLY,
        deadline: float | None = None,
    ) -> list[list[float]]:
        """Unit-length sentence vectors, one per text."""
        spec = self._check(model, "embed")
        texts = _texts(texts)
        if not texts:
            return []
        return await self._submit(spec, "embed", texts, {}, ("embed",), len(texts), priority, deadline)

    # ---- internals ----------------------------------------------------------------------------

    def _check(self, model: str, task: str) -> ModelSpec:
        spec = self._specs.get(model)
        if spec is None:
            configured = ", ".join(sorted(self._specs)) or "none"
            raise ModelUnavailable(f"model {model!r} is not configured (configured: {configured})")
        if spec.task != task:
            raise InferenceError(f"model {model!r} serves task {spec.task}, not {task}")
        if not self._started:
            raise ModelUnavailable(f"model {model!r} is not loaded: inference service not started")
        if self._stopped:
            raise ModelUnavailable("inference service stopped")
        status = self._status[model]
        if status["state"] not in ("loaded", "remote", "loading"):
            raise ModelUnavailable(f"model {model!r} is {status['state']}: {status['reason']}")
        return spec

    async def _submit(
        self, spec: ModelSpec, op: str, payload: Any, params: dict, group: Any, size: int,
        priority: Priority, deadline: float | None,
    ) -> Any:
        loop = asyncio.get_running_loop()
        priority = Priority(priority)
        label = (spec.name, priority.name.lower())
        if deadline is not None and deadline <= 0:
            metrics.EXPIRED.labels(*label).inc()
            metrics.REQUESTS.labels(*label, "expired").inc()
            raise DeadlineExceeded(f"model {spec.name!r}: deadline already passed; not computed")
        future = loop.create_future()
        req = Request(
            model=spec.name, op=op, payload=payload, params=params, group=group, size=size, priority=priority,
            deadline_at=None if deadline is None else time.monotonic() + deadline, loop=loop, future=future,
        )
        try:
            self._queue.put(req)
        except Overloaded:
            metrics.SHED.labels(*label).inc()
            metrics.REQUESTS.labels(*label, "shed").inc()
            raise
        self._outstanding.add(req)
        if deadline is not None:
            req.timer = loop.call_later(deadline, self._expire, req)
        future.add_done_callback(lambda _f, _r=req: self._finished(_r))
        if spec.name in self._remote:
            self._pump(spec.name)
        return await future  # a cancelled caller cancels the future: _finished drops the request

    def _expire(self, req: Request) -> None:
        if req.future.done():
            return
        queued = self._queue.remove(req)
        req.abandoned = True
        metrics.EXPIRED.labels(req.model, req.priority.name.lower()).inc()
        where = "in the queue; not computed" if queued else "while computing; result dropped"
        req.future.set_exception(DeadlineExceeded(
            f"model {req.model!r}: deadline passed after {time.monotonic() - req.enqueued:.3f}s {where}"
        ))

    def _finished(self, req: Request) -> None:
        future = req.future
        self._outstanding.discard(req)
        if req.timer is not None:
            req.timer.cancel()
        if future.cancelled():
            outcome = "cancelled"
        else:
            exc = future.exception()  # marks it retrieved even if the caller is gone
            outcome = ("ok" if exc is None else "expired" if isinstance(exc, DeadlineExceeded)
                       else "shed" if isinstance(exc, Overloaded) else "error")
        if outcome != "ok" and not self._queue.remove(req):
            req.abandoned = True  # a worker has it: it drops the row at its next step
            if req.task is not None and not req.task.done():
                req.task.cancel()
        metrics.REQUESTS.labels(req.model, req.priority.name.lower(), outcome).inc()
        if req.taken_at is not None and outcome in ("ok", "error"):
            metrics.COMPUTE_TIME.labels(req.model, req.priority.name.lower()).observe(
                time.monotonic() - req.taken_at
            )

    def _pump(self, name: str) -> None:
        """Start remote calls, highest priority first, while fewer than max_concurrency are in flight."""
        backend = self._remote.get(name)
        if backend is None or self._queue.closed:
            return
        while backend.in_flight < backend.spec.max_concurrency:
            batch = self._queue.take(name, 1, 0.0, block=False)
            if not batch:
                return
            req = batch[0]
            if req.future.done():
                continue
            backend.in_flight += 1
            req.task = asyncio.get_running_loop().create_task(self._call_remote(backend, req))

    async def _call_remote(self, backend: OpenAIChatBackend, req: Request) -> None:
        try:
            timeout = None if req.deadline_at is None else max(req.deadline_at - time.monotonic(), 0.001)
            result = await backend.call(req.op, req.payload, req.params, timeout, int(req.priority))
        except asyncio.CancelledError:
            pass
        except InferenceError as exc:
            if not req.future.done():
                req.future.set_exception(exc)
        except Exception as exc:  # never leave a caller hanging
            if not req.future.done():
                req.future.set_exception(InferenceError(f"model {req.model!r}: {type(exc).__name__}: {exc}"))
        else:
            if not req.future.done():
                req.future.set_result(result)
        finally:
            req.state = "done"
            backend.in_flight -= 1
            self._pump(req.model)


def _texts(texts: Any) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise TypeError("texts must be a list of strings")
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a list of strings")
    return list(texts)
