"""HTTP under bad input: half-sent requests, slow bodies, absurd JSON, huge numbers, control
characters, and the security headers on every response (errors and static files too)."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
import pytest_asyncio

from tests.conftest import make_settings, start_world


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def short(db_url, tmp_path_factory):
    """A world whose HTTP timeouts are short enough to watch."""
    server = await start_world(make_settings(tmp_path_factory.mktemp("short"), http_keepalive_s=1.0,
                                             http_body_timeout_s=1.0), db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


async def _request(world, method, path, **kw):
    # One connection per request: the short keep-alive must not race a reused connection.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        async with http.request(method, f"{world.url}{path}", **kw) as r:
            body = await r.read()
            return r.status, r.headers, body


async def _raw(world, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", world.port)
    writer.write(data)
    await writer.drain()
    return reader, writer


async def _admin(world) -> dict:
    acct = await world.register()
    await world.ctx.accounts.set_role(uuid.UUID(acct["user"]["id"]), "admin")
    # A fresh login: a role change may end the sessions issued before it.
    status, _, body = await _request(world, "POST", "/api/auth/login",
                                     json={"username": acct["user"]["username"], "password": acct["password"]})
    assert status == 200, body
    return {"Authorization": f"Bearer {json.loads(body)['token']}"}


async def test_a_half_sent_request_line_is_closed(short):
    reader, writer = await _raw(short, b"GET /heal")  # a slowloris: half a request line, then nothing
    try:
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the server, nothing sent
    finally:
        writer.close()


async def test_half_sent_headers_are_closed(short):
    reader, writer = await _raw(short, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    try:
        assert await asyncio.wait_for(reader.read(), 10) == b""
    finally:
        writer.close()


async def test_a_body_that_never_arrives_gets_408(short):
    head = (b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200\r\n\r\n{\"username\": ")
    reader, writer = await _raw(short, head)

    async def response() -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        return head + await reader.readexactly(length)

    try:
        reply = await asyncio.wait_for(response(), 10)
    finally:
        writer.close()
    assert reply.startswith(b"HTTP/1.1 408")
    assert b"invalid_payload" in reply and b"nosniff" in reply


async def test_deeply_nested_json_is_invalid_payload_not_500(short):
    status, _, body = await _request(short, "POST", "/api/auth/login", data=b"[" * 60000,
                                     headers={"Content-Type": "application/json"})
    assert status == 400 and b"invalid_payload" in body


async def test_huge_numbers_are_invalid_payload_not_500(short):
    auth = await _admin(short)
    status, _, body = await _request(short, "GET", f"/api/admin/audit?before={2**70}", headers=auth)
    assert status == 400 and b"invalid_payload" in body
    status, _, body = await _request(short, "GET", "/api/admin/audit?before=5", headers=auth)
    assert status == 200  # an ordinary cursor still works
    status, _, body = await _request(short, "POST", "/api/auth/login",
                                     json={"username": "someone", "password": 2**70})
    assert status == 400 and b"invalid_payload" in body


async def test_control_characters_in_rest_text_are_invalid_payload(short):
    auth = await _admin(short)
    for path, body in [("/api/auth/register", {"username": "nul\x00name", "password": "correct-horse-9"}),
                       ("/api/auth/register", {"username": "okname_" + uuid.uuid4().hex[:6],
                                               "password": "correct-horse-9", "display_name": "A\x00B"}),
                       ("/api/auth/login", {"username": "nul\x00name", "password": "whatever-123"}),
                       ("/api/auth/login", {"username\x07": "x", "password": "whatever-123"})]:
        status, _, reply = await _request(short, "POST", path, json=body)
        assert status == 400 and b"invalid_payload" in reply, (path, body, reply)
    status, _, reply = await _request(short, "GET", "/api/admin/audit?action=a%00b", headers=auth)
    assert status == 400 and b"invalid_payload" in reply


async def test_every_response_carries_the_security_headers(short):
    cases = [("GET", "/healthz", 200), ("GET", "/api/me", 401), ("GET", "/api/nothing-here", 404),
             ("GET", "/no/such/page", 404), ("GET", "/assets/missing.js", 404), ("GET", "/", 200),
             ("POST", "/api/auth/login", 400)]
    for method, path, expected in cases:
        status, headers, _ = await _request(short, method, path, data=b"{bad")
        assert status == expected, (path, status)
        assert headers.get("X-Content-Type-Options") == "nosniff", path
        assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), path
        assert headers.get("Referrer-Policy") == "no-referrer", path
