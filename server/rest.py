"""REST plumbing: routes with pydantic bodies, JSON errors in the protocol's codes, OpenAPI.

Each domain declares its routes through `Api.route`; the same declarations produce the
OpenAPI document served at /api/openapi.json, so the docs cannot drift from the code.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from server.context import get_ctx
from server.protocol import HTTP_STATUS, ProtocolError
from server.text import bad_character

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, default=str))


def error_response(code: str, message: str, **extra: Any) -> web.Response:
    return json_response({"error": {"code": code, "message": message, **extra}}, status=HTTP_STATUS[code])


def validation_message(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self' ws: wss:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'")
INT64 = 2**63 - 1  # PostgreSQL's bigint: a larger integer is refused here, not by the database


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response (errors, static files, aiohttp's own 404s) gets these.
    Not a websocket's 101: no document or resource is loaded from it, and each open websocket would
    keep the three headers in its response for its whole life (~0.4 KB a connection)."""
    if response.status == 101:
        return
    # A strict CSP: only our own scripts and styles, no inline script, no framing.
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")


def body_timeout(timeout_s: float):
    """A request body must arrive within `timeout_s` (a slow sender would hold a handler forever)."""

    @web.middleware
    def read_body_in_time(request: web.Request, handler) -> Awaitable[web.StreamResponse]:
        # Not a coroutine: a request without a body (every websocket, open for hours) is handed on
        # as is, with no frame of this middleware kept alive around it (~0.35 KB a websocket).
        if not request.body_exists:
            return handler(request)
        return timed(request, handler)

    async def timed(request: web.Request, handler) -> web.StreamResponse:
        try:
            if request.path.startswith("/socket.io"):
                # engine.io reads the body stream itself; its polling POST handler is short.
                async with asyncio.timeout(timeout_s):
                    return await handler(request)
            async with asyncio.timeout(timeout_s):
                await request.read()  # cached on the request: handlers read it from memory
        except TimeoutError:
            resp = json_response({"error": {"code": "invalid_payload",
                                            "message": "the request body did not arrive in time"}}, status=408)
            resp.force_close()
            return resp
        return await handler(request)

    return read_body_in_time


def check_json(value: Any, depth: int = 0) -> None:
    """The text rule (server/text.py: no control characters but tab and newline) for every string,
    integers within bigint, and sane nesting, over a whole decoded JSON value: a net under the
    per-field types, so a NUL or a 2^70 is `invalid_payload` here and never reaches the database."""
    if depth > 32:
        raise ProtocolError("invalid_payload", "nested too deeply")
    t = type(value)
    if t is str:
        bad = bad_character(value, newlines=True)
        if bad is not None:
            raise ProtocolError("invalid_payload", f"text has a control character (U+{ord(bad):04X})")
    elif t is int:
        if not -INT64 - 1 <= value <= INT64:
            raise ProtocolError("invalid_payload", "a number is out of range")
    elif t is dict:
        for k, v in value.items():
            check_json(k, depth + 1)
            check_json(v, depth + 1)
    elif t is list:
        for v in value:
            check_json(v, depth + 1)


def check_query_numbers(model: BaseModel) -> None:
    for name, v in model:
        if type(v) is int and not -INT64 - 1 <= v <= INT64:
            raise ProtocolError("invalid_payload", f"{name} is out of range")


@web.middleware
def error_middleware(request: web.Request, handler) -> Awaitable[web.StreamResponse]:
    # Not a coroutine: a websocket upgrade (engine.io answers its own handshake errors, and once
    # upgraded there is no response left to turn an error into) is handed on without a frame of
    # this middleware kept alive around it for the connection's life (~0.3 KB a websocket).
    if request.path.startswith("/socket.io") and request.headers.get("Upgrade", "").lower() == "websocket":
        return handler(request)
    return _errors_as_json(request, handler)


async def _errors_as_json(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ProtocolError as e:
        return error_response(e.code, e.message, **e.extra)
    except ValidationError as e:
        return error_response("invalid_payload", validation_message(e))
    except web.HTTPException as e:
        if request.path.startswith("/api/") and e.status >= 400:
            code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "invalid_payload",
                    413: "invalid_payload"}.get(e.status, "internal")
            return error_response(code, e.reason)
        raise
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response("internal", "internal error")


class Api:
    """Collects routes and their OpenAPI description."""

    def __init__(self) -> None:
        self.routes = web.RouteTableDef()
        self.paths: dict[str, dict[str, Any]] = {}
        self.schemas: dict[str, Any] = {}

    def route(
        self,
        method: str,
        path: str,
        *,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        summary: str = "",
        tag: str = "world",
        auth: str | None = None,
        response: type[BaseModel] | None = None,
    ) -> Callable[[Handler], Handler]:
        """`auth` is None (public), "user", "moderator" or "admin"; the handler gets
        (request, body?, query?) and returns JSON-able data or a Response."""

        def deco(fn: Handler) -> Handler:
            async def endpoint(request: web.Request) -> web.StreamResponse:
                args: list[Any] = [request]
                if auth is not None:
                    await get_ctx(request.app).auth.require(request, auth)
                if body is not None:
                    try:
                        raw = await request.json()
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        raise ProtocolError("invalid_payload", "body is not valid JSON") from None
                    except (RecursionError, ValueError):  # nesting past the parser's depth, a 5000-digit number
                        raise ProtocolError("invalid_payload", "body is nested too deeply or has a huge number") from None
                    check_json(raw)
                    args.append(body.model_validate(raw))
                if query is not None:
                    raw_query = dict(request.query)
                    check_json(raw_query)
                    q = query.model_validate(raw_query)
                    check_query_numbers(q)
                    args.append(q)
                result = await fn(*args)
                if isinstance(result, web.StreamResponse):
                    return result
                return json_response(result)

            endpoint.__name__ = fn.__name__
            self.routes.route(method, path)(endpoint)
            self._describe(method, path, fn, body, query, summary, tag, auth, response)
            return fn

        return deco

    def _ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            self.schemas[name] = sub
        self.schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def _describe(self, method, path, fn, body, query, summary, tag, auth, response) -> None:
        op: dict[str, Any] = {
            "summary": summary or (fn.__doc__ or "").strip().split("\n")[0],
            "tags": [tag],
            "operationId": fn.__name__,
            "responses": {"200": {"description": "OK"}, "default": {"$ref": "#/components/responses/Error"}},
        }
        if response is not None:
            op["responses"]["200"]["content"] = {"application/json": {"schema": self._ref(response)}}
        if auth:
            op["security"] = [{"bearer": []}]
            op["description"] = f"Requires role: {auth}."
        if body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": self._ref(body)}}}
        if query is not None:
            props = query.model_json_schema().get("properties", {})
            op["parameters"] = [{"name": k, "in": "query", "schema": v} for k, v in props.items()]
        params = [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]
        if params:
            op.setdefault("parameters", []).extend(
                {"name": p.split(":")[0], "in": "path", "required": True, "schema": {"type": "string"}} for p in params
            )
        clean = "/".join(("{" + s[1:-1].split(":")[0] + "}") if s.startswith("{") else s for s in path.split("/"))
        self.paths.setdefault(clean, {})[method.lower()] = op

    def openapi(self, version: str) -> dict[str, Any]:
        return {
            "openapi": "3.1.0",
            "info": {"title": "Townsquare API", "version": version},
            "paths": self.paths,
            "components": {
                "schemas": self.schemas,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                "responses": {
                    "Error": {
                        "description": "Error in the protocol's codes",
                        "content": {"application/json": {"schema": {
                            "type": "object",
                            "properties": {"error": {"type": "object", "properties": {
                                "code": {"type": "string"}, "message": {"type": "string"}}}},
                        }}},
                    }
                },
            },
        }
