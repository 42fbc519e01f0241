"""Models on another server: generation and embeddings on any OpenAI-compatible server (vLLM, TGI,
llama.cpp, `transformers serve`), classification and translation on another Townsquare inference
service (its documented `/v1/classify` and `/v1/translate`).

Requests still go through the shared queue (priorities, deadlines, shedding); the service hands
a request to this client only while fewer than `max_concurrency` calls are in flight, so the
queue acts as a priority-aware semaphore in front of the server. The server does the batching.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from .errors import DeadlineExceeded, InferenceError
from .spec import GenerateResult, ModelSpec


def chat_completions_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/chat/completions"


def v1_url(base_url: str, route: str) -> str:
    base = base_url.rstrip("/").removesuffix("/chat/completions")
    return (base if base.endswith("/v1") else base + "/v1") + route


class OpenAIChatBackend:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.url = chat_completions_url(spec.base_url or "")
        self.in_flight = 0
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        headers = {"Authorization": f"Bearer {self.spec.api_key}"} if self.spec.api_key else {}
        self._session = aiohttp.ClientSession(headers=headers)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def payload(self, messages: list[dict], params: dict) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.spec.model_id,
            "messages": messages,
            "max_tokens": params["max_new_tokens"],
            "temperature": float(params["temperature"] or 0.0),
            "stream": False,
        }
        if params["top_p"] is not None:
            body["top_p"] = params["top_p"]
        if params["stop"]:
            body["stop"] = list(params["stop"])
        if params["seed"] is not None:
            body["seed"] = params["seed"]
        # not in the OpenAI API, understood by vLLM/TGI-style servers: only sent when asked for
        if params["top_k"] is not None:
            body["top_k"] = params["top_k"]
        if params["repetition_penalty"] is not None:
            body["repetition_penalty"] = params["repetition_penalty"]
        return body

    async def call(self, op: str, payload: Any, params: dict, timeout: float | None, priority: int) -> Any:
        """One queued request on the server: generate, or a batch call for embed / classify / translate."""
        if op == "generate":
            return await self.generate(payload, params, timeout)
        model = self.spec.model_id
        if op == "embed":
            data = await self._post(v1_url(self.spec.base_url or "", "/embeddings"),
                                    {"model": model, "input": payload, "encoding_format": "float"}, timeout, priority)
            vectors = [d["embedding"] for d in sorted(data["data"], key=lambda d: d["index"])]
            return [[x / n for x in v] for v in vectors for n in [max(sum(x * x for x in v) ** 0.5, 1e-12)]]
        if op == "classify":
            data = await self._post(v1_url(self.spec.base_url or "", "/classify"), {"model": model, "input": payload},
                                    timeout, priority)
            return [d["scores"] for d in sorted(data["data"], key=lambda d: d["index"])]
        body = {"model": model, "input": payload, "source": params["source"], "target": params["target"]}
        for key in ("num_beams", "max_new_tokens"):
            if params.get(key) is not None:
                body[key] = params[key]
        data = await self._post(v1_url(self.spec.base_url or "", "/translate"), body, timeout, priority)
        return [d["text"] for d in sorted(data["data"], key=lambda d: d["index"])]

    async def _post(self, url: str, body: dict, timeout: float | None, priority: int) -> dict:
        if self._session is None:
            raise InferenceError(f"model {self.spec.name!r}: remote client is closed")
        budget = timeout if timeout is not None else self.spec.request_timeout_s
        headers = {"X-Priority": str(int(priority))}  # understood by a Townsquare service, ignored elsewhere
        if timeout is not None:
            headers["X-Deadline-Ms"] = f"{timeout * 1000:.0f}"
        try:
            async with self._session.post(url, json=body, headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=budget)) as resp:
                if resp.status != 200:
                    detail = (await resp.text())[:200].replace("\n", " ")
                    raise InferenceError(f"model {self.spec.name!r}: {url} answered HTTP {resp.status}: {detail}")
                data = await resp.json(content_type=None)
        except TimeoutError:
            if timeout is not None:
                raise DeadlineExceeded(f"model {self.spec.name!r}: no answer from {url} before the deadline") from None
            raise InferenceError(f"model {self.spec.name!r}: {url} did not answer in {budget:.0f}s") from None
        except aiohttp.ClientError as exc:
            raise InferenceError(f"model {self.spec.name!r}: cannot reach {url}: {type(exc).__name__}: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise InferenceError(f"model {self.spec.name!r}: unexpected reply from {url}")
        return data

    async def generate(self, messages: list[dict], params: dict, timeout: float | None) -> GenerateResult:
        if self._session is None:
            raise InferenceError(f"model {self.spec.name!r}: remote client is closed")
        budget = timeout if timeout is not None else self.spec.request_timeout_s
        try:
            async with self._session.post(
                self.url, json=self.payload(messages, params), timeout=aiohttp.ClientTimeout(total=budget)
            ) as resp:
                if resp.status != 200:
                    detail = (await resp.text())[:200].replace("\n", " ")
                    raise InferenceError(f"model {self.spec.name!r}: {self.url} answered HTTP {resp.status}: {detail}")
                data = await resp.json(content_type=None)
        except TimeoutError:
            if timeout is not None:
                raise DeadlineExceeded(f"model {self.spec.name!r}: no answer from {self.url} before the deadline") from None
            raise InferenceError(f"model {self.spec.name!r}: {self.url} did not answer in {budget:.0f}s") from None
        except aiohttp.ClientError as exc:
            raise InferenceError(f"model {self.spec.name!r}: cannot reach {self.url}: {type(exc).__name__}: {exc}") from None
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
            finish = choice.get("finish_reason") or "stop"
            tokens = int((data.get("usage") or {}).get("completion_tokens") or 0)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise InferenceError(f"model {self.spec.name!r}: unexpected reply from {self.url}") from None
        if finish not in ("stop", "length"):
            finish = "stop"
        return GenerateResult(text=text.strip(), tokens=tokens, finish_reason=finish)
