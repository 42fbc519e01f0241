"""The inference service over HTTP: one `InferenceService` (models, queue, workers) behind
OpenAI-compatible routes plus `/v1/classify` and `/v1/translate`, `/healthz` and `/metrics`.

Run it with `townsquare inference serve` or, without the world's settings, `python -m ai.inference.server
--specs specs.json`. Priority and deadline travel per request: the `X-Priority` / `X-Deadline-Ms` headers
or the `priority` / `deadline_ms` body fields (the body wins). See docs/inference.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hmac
import json
import logging
import os
import re
import signal
import struct
import sys
import time
import uuid
from dataclasses import asdict
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from .errors import DeadlineExceeded, InferenceError, ModelUnavailable, Overloaded
from .spec import ModelSpec, Priority

log = logging.getLogger("ai.inference.server")

SERVICE_KEY: web.AppKey = web.AppKey("inference_service", object)
TOKEN_ENV = "TOWNSQUARE_INFERENCE_TOKEN"
MAX_BODY_BYTES = 8 * 1024 * 1024
PRIORITY_NAMES = {p.name.lower(): p for p in Priority}


class BadRequest(ValueError):
    """The request body or headers are wrong; answered 400 and nothing is queued."""


# ---- request fields ------------------------------------------------------------------------------

def parse_priority(value: Any, default: Priority) -> Priority:
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().lower() in PRIORITY_NAMES:
        return PRIORITY_NAMES[value.strip().lower()]
    try:
        return Priority(int(value))
    except (TypeError, ValueError):
        raise BadRequest(f"priority must be 0-3 or one of {', '.join(PRIORITY_NAMES)}, not {value!r}") from None


def parse_deadline(value: Any) -> float | None:
    """Milliseconds from now -> seconds; None when the caller sets none."""
    if value is None or value == "":
        return None
    try:
        ms = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"deadline_ms must be a number of milliseconds, not {value!r}") from None
    if ms != ms or ms in (float("inf"), float("-inf")):
        raise BadRequest("deadline_ms must be finite")
    return ms / 1000.0


def scheduling(request: web.Request, body: dict, default: Priority) -> tuple[Priority, float | None]:
    priority = parse_priority(body.get("priority", request.headers.get("X-Priority")), default)
    deadline = parse_deadline(body.get("deadline_ms", request.headers.get("X-Deadline-Ms")))
    return priority, deadline


def _texts(value: Any, field: str = "input") -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(t, str) for t in value):
        return value
    raise BadRequest(f"{field} must be a string or a non-empty list of strings")


def _int(body: dict, key: str, default: int | None, lo: int = 1, hi: int = 1_000_000) -> int | None:
    v = body.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise BadRequest(f"{key} must be an integer in {lo}..{hi}")
    return v


def _float(body: dict, key: str, default: float | None, lo: float = 0.0, hi: float = 100.0) -> float | None:
    v = body.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise BadRequest(f"{key} must be a number in {lo}..{hi}")
    return float(v)


def _stop(body: dict) -> list[str] | None:
    stop = body.get("stop")
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return stop
    raise BadRequest("stop must be a string or a list of strings")


def sampling(body: dict) -> dict[str, Any]:
    """OpenAI sampling fields (plus vLLM's top_k / repetition_penalty) -> `InferenceService.generate` kwargs."""
    return {
        "max_new_tokens": _int(body, "max_completion_tokens", None) or _int(body, "max_tokens", 64),
        "temperature": _float(body, "temperature", 0.0, 0.0, 5.0) or 0.0,
        "top_p": _float(body, "top_p", None, 0.0, 1.0),
        "top_k": _int(body, "top_k", None, 0),
        "repetition_penalty": _float(body, "repetition_penalty", None, 0.01, 10.0),
        "seed": _int(body, "seed", None, -(2 ** 63), 2 ** 63 - 1),
        "stop": _stop(body),
    }


def chat_messages(value: Any) -> list[dict]:
    """OpenAI messages -> [{"role", "content"}]: content parts joined, a tool call kept as its JSON."""
    if not isinstance(value, list) or not value:
        raise BadRequest("messages must be a non-empty list")
    out = []
    for m in value:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise BadRequest("each message needs a role")
        content = m.get("content")
        if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
            parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
            if len(parts) != len(content) or not all(isinstance(p, str) for p in parts):
                raise BadRequest("only text content parts are supported")
            content = "".join(parts)
        elif content is None and m.get("tool_calls"):
            content = json.dumps([c.get("function") for c in m["tool_calls"] if isinstance(c, dict)])
        if not isinstance(content, str):
            raise BadRequest("message content must be a string or a list of text parts")
        out.append({"role": m["role"], "content": content})
    return out


_TOOL_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)


def tool_calls(text: str, tools: list[dict]) -> list[dict]:
    """Function calls in a model's output: Hermes/Qwen `<tool_call>{...}</tool_call>` blocks, or the
    whole reply as one JSON object; only names of offered tools count."""
    names = {(t.get("function") or {}).get("name") for t in tools if isinstance(t, dict)}
    found = [m.group(1) for m in _TOOL_CALL.finditer(text)] or ([text.strip()] if text.strip().startswith("{") else [])
    calls = []
    for raw in found:
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(obj, dict) or obj.get("name") not in names:
            continue
        args = obj.get("arguments", obj.get("parameters", {}))
        calls.append({"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                      "function": {"name": obj["name"], "arguments": args if isinstance(args, str) else json.dumps(args)}})
    return calls


# ---- errors ---------------------------------------------------------------------------------------

def error_response(status: int, code: str, message: str, **headers: str) -> web.Response:
    body = {"error": {"message": message, "type": code, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def _error_of(exc: BaseException) -> web.Response:
    if isinstance(exc, Overloaded):  # at once, never a hang: the caller may retry elsewhere or later
        return error_response(503, "overloaded", str(exc), **{"Retry-After": "1"})
    if isinstance(exc, DeadlineExceeded):
        return error_response(504, "deadline_exceeded", str(exc))
    if isinstance(exc, ModelUnavailable):
        status = 404 if "is not configured" in str(exc) else 503
        return error_response(status, "model_not_found" if status == 404 else "model_unavailable", str(exc))
    if isinstance(exc, (BadRequest, ValueError, TypeError)):
        return error_response(400, "invalid_request_error", str(exc))
    if isinstance(exc, InferenceError):
        return error_response(500, "inference_error", str(exc))
    log.exception("inference request failed", exc_info=exc)
    return error_response(500, "internal", f"{type(exc).__name__}: {exc}")


@web.middleware
async def _errors(request: web.Request, handler):
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except asyncio.CancelledError:
        raise  # the client went away: its request left the queue with the cancelled task
    except Exception as exc:
        return _error_of(exc)


@web.middleware
async def _queue_header(request: web.Request, handler):
    """Every answer carries the queue depth per priority, so clients spread load without polling."""
    resp = await handler(request)
    svc = request.app[SERVICE_KEY]
    depth = svc.queue_depth()
    if not resp.prepared:
        resp.headers["X-Queue-Depth"] = ",".join(str(depth.get(p, 0)) for p in Priority)
    return resp


def _auth(token: str):
    """Every route wants `Authorization: Bearer <token>` (a service on a network address is not open)."""
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def check(request: web.Request, handler):
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return error_response(401, "unauthorized", "this inference service wants Authorization: Bearer <token> "
                                  f"(the token in its {TOKEN_ENV})", **{"WWW-Authenticate": "Bearer"})
        return await handler(request)

    return check


async def _body(request: web.Request) -> dict:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("model is required")
    return body


def _usage(prompt: int, completion: int) -> dict:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


# ---- routes -------------------------------------------------------------------------------------

async def models(request: web.Request) -> web.Response:
    svc = request.app[SERVICE_KEY]
    created = int(request.app["started_at"])
    data = [{"id": s["name"], "object": "model", "created": created, "owned_by": "townsquare", **s}
            for s in svc.status()]
    return web.json_response({"object": "list", "data": data})


async def healthz(request: web.Request) -> web.Response:
    svc = request.app[SERVICE_KEY]
    return web.json_response({"status": "ok", "pid": os.getpid(), "models": svc.status(),
                              "queue": {int(p): n for p, n in svc.queue_depth().items()},
                              "specs": [{k: v for k, v in asdict(s).items() if k != "api_key"} for s in svc.specs]})


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def chat_completions(request: web.Request) -> web.StreamResponse:
    svc = request.app[SERVICE_KEY]
    body = await _body(request)
    priority, deadline = scheduling(request, body, Priority.NPC_REPLY)
    messages = chat_messages(body.get("messages"))
    kwargs = sampling(body)
    tools = body.get("tools") if body.get("tool_choice") != "none" else None
    if tools is not None and (not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools)):
        raise BadRequest("tools must be a list of objects")
    if body.get("n", 1) != 1:
        raise BadRequest("n must be 1")
    stream = bool(body.get("stream"))
    # Townsquare extension `parse_tool_calls: false`: the caller parses the raw text itself
    parse_calls = bool(tools) and body.get("parse_tool_calls", True) is not False

    def parse(text: str) -> list[dict]:
        return tool_calls(text, tools) if parse_calls else []

    cid, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), body["model"]
    if stream:
        return await _stream_chat(request, svc, cid, created, model, parse, parse_calls, messages,
                                  priority=priority, deadline=deadline, tools=tools or None, **kwargs)
    result = await svc.generate(model, messages, priority=priority, deadline=deadline, tools=tools or None, **kwargs)
    message: dict[str, Any] = {"role": "assistant", "content": result.text}
    finish = result.finish_reason
    calls = parse(result.text)
    if calls:
        message, finish = {"role": "assistant", "content": None, "tool_calls": calls}, "tool_calls"
    return web.json_response({
        "id": cid, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _usage(0, result.tokens)})


_TOOL_OPEN = "<tool_call>"


def streamable_content(text: str, tools_parsed: bool) -> str:
    """How much of a partial reply may be streamed as content: with tools offered, nothing from a
    `<tool_call>` (or what may become one) on, and nothing of a reply that opens as a JSON object."""
    if not tools_parsed:
        return text
    if text.lstrip().startswith("{"):
        return ""
    at = text.find(_TOOL_OPEN)
    if at >= 0:
        return text[:at]
    for n in range(min(len(_TOOL_OPEN) - 1, len(text)), 0, -1):
        if text.endswith(_TOOL_OPEN[:n]):
            return text[:-n]
    return text


async def _stream_chat(request: web.Request, svc, cid: str, created: int, model: str, parse, parse_calls: bool,
                       messages: list[dict], **kwargs) -> web.StreamResponse:
    """Server-sent events as the decode loop makes tokens. The stream opens with the first piece of
    text (or the result), so a request refused or failed before any token still gets its status code."""
    pieces: asyncio.Queue[str | None] = asyncio.Queue()
    call = asyncio.ensure_future(svc.generate(model, messages, on_text=pieces.put_nowait, **kwargs))
    call.add_done_callback(lambda _t: pieces.put_nowait(None))  # after every piece: the loop keeps their order
    try:
        piece = await pieces.get()
        if piece is None and call.exception() is not None:
            raise call.exception()
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        depth = svc.queue_depth()
        resp.headers["X-Queue-Depth"] = ",".join(str(depth.get(p, 0)) for p in Priority)
        await resp.prepare(request)

        async def send(delta: dict, finish: str | None) -> None:
            chunk = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send({"role": "assistant", "content": ""}, None)
        text = sent = ""
        while piece is not None:
            text += piece
            shown = streamable_content(text, parse_calls)
            if len(shown) > len(sent):
                await send({"content": shown[len(sent):]}, None)
                sent = shown
            piece = await pieces.get()
        if call.exception() is not None:  # failed mid-stream: the status is gone, say it in the stream
            exc = call.exception()
            err = json.loads(_error_of(exc).text)
            await resp.write(f"data: {json.dumps(err)}\n\n".encode())
            await resp.write_eof()
            return resp
        result = call.result()
        calls = parse(result.text)
        if calls:
            await send({"tool_calls": [{"index": i, **c} for i, c in enumerate(calls)]}, None)
            await send({}, "tool_calls")
        else:
            if result.text.startswith(sent) and len(result.text) > len(sent):
                await send({"content": result.text[len(sent):]}, None)
            await send({}, result.finish_reason)
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp
    finally:
        if not call.done():  # the client went away: the request leaves the queue or its decode row
            call.cancel()


async def completions(request: web.Request) -> web.Response:
    svc = request.app[SERVICE_KEY]
    body = await _body(request)
    priority, deadline = scheduling(request, body, Priority.NPC_REPLY)
    prompts = _texts(body.get("prompt"), "prompt")
    if body.get("stream"):
        raise BadRequest("stream is supported on /v1/chat/completions only")
    kwargs = sampling(body)
    results = await asyncio.gather(*[
        svc.complete(body["model"], p, priority=priority, deadline=deadline, **kwargs) for p in prompts])
    return web.json_response({
        "id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()),
        "model": body["model"],
        "choices": [{"index": i, "text": r.text, "finish_reason": r.finish_reason, "logprobs": None}
                    for i, r in enumerate(results)],
        "usage": _usage(0, sum(r.tokens for r in results))})


async def embeddings(request: web.Request) -> web.Response:
    svc = request.app[SERVICE_KEY]
    body = await _body(request)
    priority, deadline = scheduling(request, body, Priority.NPC_REPLY)
    texts = _texts(body.get("input"))
    fmt = body.get("encoding_format", "float")
    if fmt not in ("float", "base64"):
        raise BadRequest("encoding_format must be float or base64")
    vectors = await svc.embed(body["model"], texts, priority=priority, deadline=deadline)

    def encode(v: list[float]):  # the openai client asks for base64 (little-endian float32) by default
        return v if fmt == "float" else base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode()

    return web.json_response({
        "object": "list", "model": body["model"],
        "data": [{"object": "embedding", "index": i, "embedding": encode(v)} for i, v in enumerate(vectors)],
        "usage": {"prompt_tokens": 0, "total_tokens": 0}})


async def classify(request: web.Request) -> web.Response:
    svc = request.app[SERVICE_KEY]
    body = await _body(request)
    priority, deadline = scheduling(request, body, Priority.MODERATION)
    scores = await svc.classify(body["model"], _texts(body.get("input")), priority=priority, deadline=deadline)
    return web.json_response({"object": "list", "model": body["model"],
                              "data": [{"index": i, "scores": s} for i, s in enumerate(scores)]})


async def translate(request: web.Request) -> web.Response:
    svc = request.app[SERVICE_KEY]
    body = await _body(request)
    priority, deadline = scheduling(request, body, Priority.TRANSLATION)
    for key in ("source", "target"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise BadRequest(f"{key} is required (a language code)")
    texts = await svc.translate(body["model"], _texts(body.get("input")), source=body["source"],
                                target=body["target"], priority=priority, deadline=deadline,
                                num_beams=_int(body, "num_beams", None), max_new_tokens=_int(body, "max_new_tokens", None))
    return web.json_response({"object": "list", "model": body["model"],
                              "data": [{"index": i, "text": t} for i, t in enumerate(texts)]})


def create_app(service, *, token: str | None = None) -> web.Application:
    """The HTTP app over a started (or starting) `InferenceService`; with a token, every route wants it."""
    middlewares = [_auth(token)] if token else []
    app = web.Application(middlewares=[*middlewares, _queue_header, _errors], client_max_size=MAX_BODY_BYTES)
    app[SERVICE_KEY] = service
    app["started_at"] = time.time()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/completions", completions)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_post("/v1/classify", classify)
    app.router.add_post("/v1/translate", translate)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


# ---- serving ------------------------------------------------------------------------------------

def specs_to_json(specs: list[ModelSpec]) -> str:
    return json.dumps([asdict(s) for s in specs])


def specs_from_json(text: str) -> list[ModelSpec]:
    try:
        items = json.loads(text)
        return [ModelSpec(**item) for item in items]
    except (ValueError, TypeError) as e:
        raise ValueError(f"bad model list: {e}") from None


async def serve(specs: list[ModelSpec], *, host: str = "127.0.0.1", port: int = 8090, unix: str | None = None,
                max_queue: int = 256, stop: asyncio.Event | None = None, announce=None,
                token: str | None = None) -> None:
    """Bind first (so callers see `loading` rather than a refused connection), load every model, serve
    until `stop` is set; then refuse new work and let outstanding requests finish for up to 2 s."""
    from .service import InferenceService

    service = InferenceService(specs, max_queue=max_queue)
    app = create_app(service, token=token)
    # a client that hangs up cancels its handler, and so its request leaves the queue
    runner = web.AppRunner(app, handle_signals=False, access_log=None, handler_cancellation=True, shutdown_timeout=2)
    await runner.setup()
    if unix:
        if os.path.exists(unix):
            os.unlink(unix)
        site: web.BaseSite = web.UnixSite(runner, unix)
        where = f"unix:{unix}"
    else:
        site = web.TCPSite(runner, host, port)
        where = None
    await site.start()
    if where is None:
        bound = runner.addresses[0]
        where = f"http://{bound[0]}:{bound[1]}"
    stop = stop or asyncio.Event()
    if announce:
        announce({"event": "listening", "url": where, "pid": os.getpid()})
    log.info("inference service listening on %s", where)
    await service.start()
    for s in service.status():
        level = logging.INFO if s["state"] in ("loaded", "remote") else logging.WARNING
        log.log(level, "model %s (%s): %s on %s %s", s["name"], s["model_id"], s["state"], s["device"], s["reason"])
    if announce:
        announce({"event": "ready", "models": service.status()})
    try:
        await stop.wait()
    finally:
        await service.stop(drain_timeout=2.0)
        await runner.cleanup()
        if unix and os.path.exists(unix):
            os.unlink(unix)


def _watch_parent(stop: asyncio.Event) -> None:
    """The supervised child keeps a pipe from its parent on stdin: EOF means the node is gone."""
    loop = asyncio.get_running_loop()

    def readable() -> None:
        try:
            data = os.read(sys.stdin.fileno(), 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(sys.stdin.fileno())
            stop.set()

    loop.add_reader(sys.stdin.fileno(), readable)


async def run_cli(specs: list[ModelSpec], args: argparse.Namespace, *, token: str | None = None) -> None:
    """Serve until SIGINT/SIGTERM (or the parent's pipe closes); `token`, else $TOWNSQUARE_INFERENCE_TOKEN,
    is the bearer token every request must carry (none: open, for 127.0.0.1 and private sockets)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if getattr(args, "parent_pipe", False):
        _watch_parent(stop)

    def announce(event: dict) -> None:  # one JSON line per event on stdout, read by the supervising node
        print(json.dumps(event, default=str), flush=True)

    await serve(specs, host=args.host, port=args.port, unix=args.unix, max_queue=args.max_queue, stop=stop,
                announce=announce if args.announce else None, token=token or os.environ.get(TOKEN_ENV) or None)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="TCP port (default 8090; 0 picks a free one)")
    parser.add_argument("--unix", help="listen on this unix socket instead of TCP")
    parser.add_argument("--max-queue", type=int, default=None, help="waiting requests across all models")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--nice", type=int, default=0,
                        help="lower this process's CPU priority by N (0-19) before any model thread starts")
    parser.add_argument("--announce", action="store_true", help="print JSON lines when listening and ready")
    parser.add_argument("--parent-pipe", action="store_true", help="exit when stdin closes (a supervised child)")


def main(argv: list[str] | None = None) -> int:
    """`python -m ai.inference.server --specs FILE`: serve models from a JSON list of ModelSpec fields."""
    parser = argparse.ArgumentParser(prog="python -m ai.inference.server")
    parser.add_argument("--specs", required=True, help="JSON file: a list of ModelSpec fields")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("TOWNSQUARE_LOG_LEVEL", "INFO"), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # serving never downloads
    try:
        with open(args.specs) as f:
            specs = specs_from_json(f.read())
    except (OSError, ValueError) as e:
        print(f"inference: {e}", file=sys.stderr)
        return 2
    if args.max_queue is None:
        args.max_queue = 256
    lower_priority(args.nice)
    set_threads(args.threads)
    asyncio.run(run_cli(specs, args))
    return 0


def lower_priority(n: int) -> None:
    """Raise the niceness by `n` while this is the only thread: threads started later (torch's, the
    workers') inherit it, so on a shared box the world's event loop gets the CPU first."""
    if n <= 0:
        return
    n = min(n, 19)
    os.nice(n)
    # Linux schedules each session's autogroup as one task: a child in a session of its own (the
    # supervised one) got a share equal to its whole node's whatever its nice, so lower the group too.
    if os.getsid(0) == os.getpid():
        try:
            with open("/proc/self/autogroup", "w") as f:
                f.write(str(n))
        except OSError:  # no autogroups (kernel option off, not Linux): the nice above is what counts
            pass


def set_threads(n: int) -> None:
    if n and n > 0:
        import torch

        torch.set_num_threads(n)


if __name__ == "__main__":
    sys.exit(main())
