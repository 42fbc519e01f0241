"""`InferenceClient`: the world's side of one or more inference services (`townsquare inference serve`).

The same methods as `InferenceService` (generate, classify, translate, embed, available, status,
queue_depth, specs), so callers do not know where the models run. Per service: one pooled HTTP
session (connections reused), a priority-ordered bound on concurrent calls, and the health it last
saw. Each call carries its priority and what is left of its deadline; it goes to the least loaded
service that has the model, a dead one is skipped (and probed again every `refresh_s`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
from prometheus_client import Counter, Histogram

from .errors import DeadlineExceeded, InferenceError, ModelUnavailable, Overloaded
from .spec import REMOTE_BACKENDS, GenerateResult, ModelSpec, Priority

log = logging.getLogger("ai.inference.client")

CLIENT_REQUESTS = Counter(
    "townsquare_inference_client_requests", "Calls to inference services by outcome",
    ["model", "priority", "outcome"],
)
CLIENT_SECONDS = Histogram(
    "townsquare_inference_client_seconds", "Time of a call to an inference service, end to end",
    ["model", "priority"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

_USABLE = ("loaded", "remote")
_ERRORS = {"overloaded": Overloaded, "deadline_exceeded": DeadlineExceeded, "model_not_found": ModelUnavailable,
           "model_unavailable": ModelUnavailable, "invalid_request_error": ValueError}


class PrioritySlots:
    """A semaphore that hands a freed slot to the most urgent waiter (lowest priority number, then FIFO)."""

    def __init__(self, slots: int, max_waiting: int) -> None:
        self.free = slots
        self.max_waiting = max_waiting
        self._waiters: list[tuple[int, int, asyncio.Future]] = []
        self._seq = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, f in self._waiters if not f.done())

    async def acquire(self, priority: int, timeout: float) -> None:
        if self.free > 0 and not self.waiting:
            self.free -= 1
            return
        if self.waiting >= self.max_waiting:
            raise Overloaded(f"{self.waiting} calls already wait for a connection to the inference service")
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (int(priority), next(self._seq), fut))
        try:
            async with asyncio.timeout(timeout):
                await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.release()  # it was handed a slot just as it gave up: pass the slot on
            else:
                fut.cancel()
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)
                return
        self.free += 1


class Endpoint:
    """One inference service: its session, slots and last known health."""

    def __init__(self, url: str, max_concurrency: int, token: str | None = None) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        if url.startswith("unix:"):
            self.path = url[len("unix:"):].removeprefix("//")
            self.base = "http://localhost"
        else:
            self.path = None
            self.base = url.rstrip("/").removesuffix("/v1")
        self.max_concurrency = max_concurrency
        self.slots = PrioritySlots(max_concurrency, max_waiting=max_concurrency * 8)
        self.session: aiohttp.ClientSession | None = None
        self.up = False
        self.error = "not contacted yet"
        self.models: dict[str, dict] = {}
        self.specs: list[dict] = []
        self.depth: dict[int, int] = {int(p): 0 for p in Priority}
        self.in_flight = 0
        self.pid: int | None = None
        self.slow_probes = 0

    def open(self) -> None:
        connector = (aiohttp.UnixConnector(path=self.path, limit=self.max_concurrency) if self.path
                     else aiohttp.TCPConnector(limit=self.max_concurrency, keepalive_timeout=30))
        self.session = aiohttp.ClientSession(connector=connector, headers=self.headers)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    def load(self) -> int:
        return self.in_flight + sum(self.depth.values())

    def has(self, model: str) -> bool:
        return self.up and self.models.get(model, {}).get("state") in _USABLE

    def down(self, why: str) -> None:
        if self.up:
            log.warning("inference service %s is unreachable: %s", self.url, why)
        self.up, self.error = False, why

    def note_depth(self, header: str | None) -> None:
        if header:
            try:
                self.depth = {i: int(n) for i, n in enumerate(header.split(","))}
            except ValueError:
                pass


class InferenceClient:
    """Calls inference services over HTTP; see the module docstring. `specs`: the models this node
    expects (a supervised child's), else whatever the services report."""

    def __init__(self, urls: str | Sequence[str], *, max_concurrency: int = 64, default_deadline_s: float = 60.0,
                 refresh_s: float = 1.0, probe_timeout_s: float = 2.0, specs: Sequence[ModelSpec] | None = None,
                 token: str | None = None) -> None:
        if isinstance(urls, str):
            urls = [u.strip() for u in urls.split(",")]
        urls = [u for u in urls if u]
        if not urls:
            raise ValueError("at least one inference service URL is needed")
        for u in urls:
            if not (u.startswith(("http://", "https://", "unix:"))):
                raise ValueError(f"inference URL must be http(s)://host:port or unix:/path, not {u!r}")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self.endpoints = [Endpoint(u, max_concurrency, token) for u in urls]  # token: sent as a bearer token
        self.default_deadline_s = default_deadline_s
        self.refresh_s = refresh_s
        self.probe_timeout_s = probe_timeout_s
        self._local_specs = list(specs) if specs is not None else None
        self._refresher: asyncio.Task | None = None
        self._started = False
        self._stopped = False

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        for ep in self.endpoints:
            ep.open()
        await self.refresh()
        self._refresher = asyncio.create_task(self._refresh_loop(), name="inference-client-refresh")

    async def stop_probing(self) -> None:
        """No more health probes (the services are about to be stopped on purpose); calls still go out."""
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
            self._refresher = None

    async def stop(self, *, drain_timeout: float = 0.0) -> None:
        self._stopped = True
        await self.stop_probing()
        for ep in self.endpoints:
            await ep.close()

    async def __aenter__(self) -> InferenceClient:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def refresh(self) -> None:
        """Ask every service for its models and queue (also how a dead one is found alive again)."""
        await asyncio.gather(*(self._probe(ep) for ep in self.endpoints))

    async def _probe(self, ep: Endpoint) -> None:
        if ep.session is None:
            return
        try:
            async with ep.session.get(f"{ep.base}/healthz",
                                      timeout=aiohttp.ClientTimeout(total=self.probe_timeout_s)) as r:
                if r.status == 401:
                    raise InferenceError("HTTP 401: the service wants a token (TOWNSQUARE_INFERENCE_TOKEN) "
                                         + ("and refused this one" if ep.headers else "and none is set"))
                if r.status != 200:
                    raise InferenceError(f"HTTP {r.status}")
                data = await r.json()
        except TimeoutError:
            # slow, not gone: a busy service keeps its last known state (a refused connection is what marks it down)
            ep.slow_probes += 1
            if ep.slow_probes >= 5:
                ep.down(f"no answer to /healthz in {self.probe_timeout_s:.0f} s, {ep.slow_probes} times in a row")
            return
        except (aiohttp.ClientError, InferenceError, ValueError, OSError) as e:
            ep.down(f"{type(e).__name__}: {e}".rstrip(": "))
            return
        ep.slow_probes = 0
        if not ep.up:
            log.info("inference service %s is up (pid %s)", ep.url, data.get("pid"))
        ep.up, ep.error, ep.pid = True, "", data.get("pid")
        ep.models = {m["name"]: m for m in data.get("models", [])}
        ep.specs = data.get("specs", [])
        ep.depth = {int(p): int(n) for p, n in (data.get("queue") or {}).items()}

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.refresh()
            except Exception:  # the loop must outlive any one bad answer
                log.exception("refreshing inference service health failed")

    # ---- introspection ------------------------------------------------------------------------

    def available(self, model: str) -> bool:
        return any(ep.has(model) for ep in self.endpoints)

    def status(self) -> list[dict[str, Any]]:
        """Per model, as `InferenceService.status()`: the best state any service reports; while no
        service answers, state `unavailable` with the reason."""
        out: dict[str, dict] = {}
        rank = {"loaded": 0, "remote": 0, "loading": 1, "missing": 2, "error": 3, "stopped": 4}
        for ep in self.endpoints:
            if not ep.up:
                continue
            for name, m in ep.models.items():
                mine = dict(m, service=ep.url)
                if name not in out or rank.get(m["state"], 5) < rank.get(out[name]["state"], 5):
                    out[name] = mine
        why = "; ".join(f"{ep.url}: {ep.error}" for ep in self.endpoints if not ep.up)
        for spec in self.specs:
            if spec.name not in out:
                out[spec.name] = {"name": spec.name, "task": spec.task, "model_id": spec.model_id,
                                  "device": spec.base_url if spec.backend in REMOTE_BACKENDS else spec.device,
                                  "state": "unavailable", "reason": f"inference service unreachable ({why})",
                                  "service": None}
        return list(out.values())

    def queue_depth(self) -> dict[Priority, int]:
        total = {p: 0 for p in Priority}
        for ep in self.endpoints:
            if ep.up:
                for p, n in ep.depth.items():
                    if 0 <= p < len(Priority):
                        total[Priority(p)] += n
        return total

    @property
    def specs(self) -> list[ModelSpec]:
        if self._local_specs is not None:
            return list(self._local_specs)
        seen: dict[str, ModelSpec] = {}
        for ep in self.endpoints:
            for s in ep.specs:
                if s.get("name") not in seen:
                    try:
                        seen[s["name"]] = ModelSpec(**s)
                    except (TypeError, ValueError, KeyError):
                        continue
        return list(seen.values())

    def services(self) -> list[dict[str, Any]]:
        """Each service: url, up, error, pid, in-flight calls, queue depth (for doctor / live figures)."""
        return [{"url": ep.url, "up": ep.up, "error": ep.error, "pid": ep.pid, "in_flight": ep.in_flight,
                 "queue": sum(ep.depth.values())} for ep in self.endpoints]

    # ---- requests -----------------------------------------------------------------------------

    async def generate(
        self, model: str, messages: list[dict], *, max_new_tokens: int = 64, stop: Sequence[str] | None = None,
        temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
        repetition_penalty: float | None = None, seed: int | None = None, num_beams: int = 1,
        priority: Priority = Priority.NPC_REPLY, deadline: float | None = None, tools: list[dict] | None = None,
    ) -> GenerateResult:
        if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages
        ):
            raise ValueError("messages must be a non-empty list of {'role': str, 'content': str}")
        if max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if num_beams != 1:
            raise ValueError("num_beams > 1 is not served over HTTP")
        body: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": int(max_new_tokens),
                                "temperature": float(temperature or 0.0)}
        if isinstance(stop, str):
            stop = [stop]
        for key, value in (("stop", list(stop) if stop else None), ("top_k", top_k), ("top_p", top_p),
                           ("repetition_penalty", repetition_penalty), ("seed", seed), ("tools", tools)):
            if value is not None:
                body[key] = value
        if tools:
            body["parse_tool_calls"] = False  # as in process: the caller gets the model's text and parses it
        data = await self._call(model, "/v1/chat/completions", body, priority, deadline)
        choice = data["choices"][0]
        text = choice["message"].get("content") or ""
        finish = choice.get("finish_reason") or "stop"
        return GenerateResult(text=text, tokens=int((data.get("usage") or {}).get("completion_tokens") or 0),
                              finish_reason=finish if finish in ("stop", "length") else "stop")

    async def classify(self, model: str, texts: list[str], *, priority: Priority = Priority.MODERATION,
                       deadline: float | None = None) -> list[dict[str, float]]:
        texts = _texts(texts)
        if not texts:
            return []
        data = await self._call(model, "/v1/classify", {"model": model, "input": texts}, priority, deadline)
        return [d["scores"] for d in sorted(data["data"], key=lambda d: d["index"])]

    async def translate(self, model: str, texts: list[str], *, source: str, target: str,
                        priority: Priority = Priority.TRANSLATION, deadline: float | None = None,
                        num_beams: int | None = None, max_new_tokens: int | None = None) -> list[str]:
        texts = _texts(texts)
        if not texts:
            return []
        body = {"model": model, "input": texts, "source": source, "target": target}
        if num_beams is not None:
            body["num_beams"] = num_beams
        if max_new_tokens is not None:
            body["max_new_tokens"] = max_new_tokens
        data = await self._call(model, "/v1/translate", body, priority, deadline)
        return [d["text"] for d in sorted(data["data"], key=lambda d: d["index"])]

    async def embed(self, model: str, texts: list[str], *, priority: Priority = Priority.NPC_REPLY,
                    deadline: float | None = None) -> list[list[float]]:
        texts = _texts(texts)
        if not texts:
            return []
        data = await self._call(model, "/v1/embeddings", {"model": model, "input": texts}, priority, deadline)
        return [d["embedding"] for d in sorted(data["data"], key=lambda d: d["index"])]

    # ---- internals ----------------------------------------------------------------------------

    async def _call(self, model: str, route: str, body: dict, priority: Priority, deadline: float | None) -> dict:
        priority = Priority(priority)
        label = (model, priority.name.lower())
        started = time.monotonic()
        outcome = "error"
        try:
            result = await self._route(model, route, body, priority, deadline)
            outcome = "ok"
            return result
        except Overloaded:
            outcome = "shed"
            raise
        except DeadlineExceeded:
            outcome = "expired"
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            CLIENT_REQUESTS.labels(*label, outcome).inc()
            CLIENT_SECONDS.labels(*label).observe(time.monotonic() - started)

    async def _route(self, model: str, route: str, body: dict, priority: Priority, deadline: float | None) -> dict:
        if not self._started or self._stopped:
            raise ModelUnavailable("inference client is not started" if not self._stopped else "inference service stopped")
        budget = self.default_deadline_s if deadline is None else float(deadline)
        if budget <= 0:
            raise DeadlineExceeded(f"model {model!r}: deadline already passed; not sent")
        deadline_at = time.monotonic() + budget
        tried: set[int] = set()
        last: InferenceError | None = None
        while True:
            candidates = [ep for i, ep in enumerate(self.endpoints) if i not in tried and ep.has(model)]
            if not candidates:
                if last is not None:
                    raise last
                raise ModelUnavailable(self._why_unavailable(model))
            ep = min(candidates, key=Endpoint.load)
            tried.add(self.endpoints.index(ep))
            try:
                return await self._post(ep, route, body, priority, deadline_at)
            except _Unreachable as e:  # nothing was computed there: try the next service
                ep.down(str(e))
                last = ModelUnavailable(f"model {model!r}: inference service {ep.url} unreachable: {e}")
            except Overloaded as e:  # another service may have room
                last = e

    def _why_unavailable(self, model: str) -> str:
        for ep in self.endpoints:
            if ep.up and model in ep.models:
                m = ep.models[model]
                return f"model {model!r} is {m['state']}: {m.get('reason') or ''}".rstrip(": ")
        if all(not ep.up for ep in self.endpoints):
            why = "; ".join(f"{ep.url}: {ep.error}" for ep in self.endpoints)
            return f"model {model!r}: no inference service reachable ({why})"
        return f"model {model!r} is not configured on any inference service"

    async def _post(self, ep: Endpoint, route: str, body: dict, priority: Priority, deadline_at: float) -> dict:
        left = deadline_at - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded(f"model {body['model']!r}: deadline passed before it was sent; not computed")
        try:
            await ep.slots.acquire(priority, left)
        except TimeoutError:
            raise DeadlineExceeded(f"model {body['model']!r}: deadline passed waiting for a connection; not sent") from None
        ep.in_flight += 1
        try:
            left = deadline_at - time.monotonic()
            headers = {"X-Priority": str(int(priority)), "X-Deadline-Ms": f"{left * 1000:.0f}"}
            try:
                async with ep.session.post(f"{ep.base}{route}", json=body, headers=headers,
                                           timeout=aiohttp.ClientTimeout(total=left + 0.05)) as r:
                    ep.note_depth(r.headers.get("X-Queue-Depth"))
                    data = await r.json(content_type=None)
            except TimeoutError:
                raise DeadlineExceeded(f"model {body['model']!r}: no answer from {ep.url} before the deadline") from None
            except (aiohttp.ClientConnectionError, OSError) as e:
                raise _Unreachable(f"{type(e).__name__}: {e}".rstrip(": ")) from None
            except ValueError:
                raise InferenceError(f"model {body['model']!r}: {ep.url} answered HTTP {r.status} without JSON") from None
        finally:
            ep.in_flight -= 1
            ep.slots.release()
        if r.status == 200:
            return data
        err = (data or {}).get("error") or {}
        message = err.get("message") or f"HTTP {r.status}"
        raise _ERRORS.get(err.get("code"), InferenceError)(message)


class _Unreachable(Exception):
    """The service could not be reached (or went away mid-call)."""


def _texts(texts: Any) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise TypeError("texts must be a list of strings")
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a list of strings")
    return list(texts)
