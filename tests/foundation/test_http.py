"""The world server's HTTP surface: health, metrics, OpenAPI, accounts over REST."""

import aiohttp

from tests.conftest import call


async def test_healthz_reports_database(world):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world.url}/healthz") as r:
            assert r.status == 200
            body = await r.json()
    assert body["status"] == "ok" and body["database"] == "ok"


async def test_metrics_is_prometheus_text(world):
    account, client = await world.user()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world.url}/metrics") as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain")
            text = await r.text()
    assert "townsquare_connections 1.0" in text
    assert "# TYPE townsquare_socket_events_total counter" in text


def _sample(text: str, name: str) -> float:
    """A sample's value in Prometheus text (0 when the series is not there yet)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


async def test_metrics_count_and_time_every_event(world):
    account, client = await world.user()
    ok = 'townsquare_socket_events_total{event="room:list",result="ok"}'
    refused = 'townsquare_socket_events_total{event="room:list",result="invalid_payload"}'
    timed = 'townsquare_socket_event_seconds_count{event="room:list"}'
    fast = 'townsquare_socket_event_seconds_bucket{event="room:list",le="+Inf"}'
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world.url}/metrics") as r:
            before = await r.text()
        for _ in range(3):
            assert (await call(client, "room:list", {}))["ok"]
        assert (await call(client, "room:list", {"x": 1}))["error"]["code"] == "invalid_payload"
        async with http.get(f"{world.url}/metrics") as r:
            after = await r.text()
    assert _sample(after, ok) - _sample(before, ok) == 3
    assert _sample(after, refused) - _sample(before, refused) == 1
    assert _sample(after, timed) - _sample(before, timed) == 4  # refused ones are timed too
    assert _sample(after, fast) == _sample(after, timed)  # the +Inf bucket holds every one
    assert "# TYPE townsquare_socket_event_seconds histogram" in after


async def test_openapi_lists_auth_routes(world):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world.url}/api/openapi.json") as r:
            doc = await r.json()
    assert doc["openapi"].startswith("3.")
    assert "post" in doc["paths"]["/api/auth/register"]
    assert "RegisterIn" in doc["components"]["schemas"]


async def test_register_login_me_and_errors(world):
    acct = await world.register("carol_1", language="es-MX")
    assert acct["user"]["language"] == "es"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{world.url}/api/auth/register", json={"username": "carol_1", "password": "whatever12"}) as r:
            assert r.status == 409 and (await r.json())["error"]["code"] == "conflict"
        async with http.post(f"{world.url}/api/auth/register", json={"username": "x", "password": "whatever12"}) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_payload"
        async with http.post(f"{world.url}/api/auth/register", data=b"{not json") as r:
            assert (await r.json())["error"]["code"] == "invalid_payload"
        async with http.post(f"{world.url}/api/auth/login", json={"username": "carol_1", "password": "wrong-pass"}) as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "unauthorized"
        async with http.post(f"{world.url}/api/auth/login", json={"username": "carol_1", "password": acct["password"]}) as r:
            token = (await r.json())["token"]
        async with http.get(f"{world.url}/api/me", headers={"Authorization": f"Bearer {token}"}) as r:
            me = await r.json()
            assert me["user"]["username"] == "carol_1" and me["avatar"]["display_name"] == "carol_1"
        async with http.get(f"{world.url}/api/me", headers={"Authorization": "Bearer nope"}) as r:
            assert r.status == 401


async def test_login_is_rate_limited_per_name(world):
    await world.register("dave_rl")
    codes = []
    async with aiohttp.ClientSession() as http:
        for _ in range(12):
            async with http.post(f"{world.url}/api/auth/login", json={"username": "dave_rl", "password": "bad-password"}) as r:
                codes.append((await r.json())["error"]["code"])
    assert codes[:10] == ["unauthorized"] * 10
    assert codes[10:] == ["rate_limited"] * 2


async def test_socket_refuses_bad_token(world):
    import socketio

    client = socketio.AsyncClient(reconnection=False)
    errors = []
    client.on("connect_error", lambda data: errors.append(data))
    try:
        await client.connect(world.url, auth={"token": "garbage"}, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        pass
    assert errors and errors[0]["data"]["code"] == "unauthorized"
    assert not client.connected


async def test_unknown_socket_user_gets_ack_errors(world):
    account, client = await world.user()
    # A payload with unknown fields for a registered event is refused, and the connection stays.
    if "room:list" in world.ctx.hub.handlers:
        reply = await call(client, "room:list", {"bogus": 1})
        assert reply == {"ok": False, "error": {"code": "invalid_payload", "message": reply["error"]["message"]}}
    assert client.connected


async def test_client_assets_are_served_and_nothing_outside_them(world):
    from server.app import CLIENT_DIR

    async with aiohttp.ClientSession() as http:
        assets = sorted((CLIENT_DIR / "dist" / "assets").glob("*.js"))
        assert assets, "make test builds the client first"
        name = assets[0].name
        async with http.get(f"{world.url}/assets/{name}") as r:
            assert r.status == 200 and "immutable" in r.headers["Cache-Control"]
            assert (await r.read()) == assets[0].read_bytes()
        for bad in ("/assets/..%2F..%2F..%2Fpyproject.toml", "/assets/nope.js", "/assets/%2e%2e/index.html"):
            async with http.get(f"{world.url}{bad}") as r:
                assert r.status == 404, bad
