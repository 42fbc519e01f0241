"""The client survives a server restart: it shows that it is offline, reconnects by itself on
the same address and puts the person back in their room."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from tests.browser.conftest import enter_room, new_person
from tests.conftest import free_port, make_settings

pytestmark = pytest.mark.browser


async def serve(settings, db_url: str, port: int) -> web.AppRunner:
    from server.app import create_app

    runner = web.AppRunner(create_app(settings, db_url), handle_signals=False, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def test_the_client_reconnects_after_the_server_restarts(db_url, tmp_path_factory, browser):
    from server.cli import _seed

    settings = make_settings(tmp_path_factory.mktemp("restart"))
    await _seed(db_url, settings, only_if_empty=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    runner = await serve(settings, db_url, port)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}/api/auth/register",
                                 json={"username": "restarter", "password": "correct-horse-9"}) as r:
                account = await r.json()
                assert r.status == 200, account
        person = await new_person(browser, url, account)
        page = person.page
        await page.get_by_text("Online", exact=True).wait_for()
        await enter_room(person, "library", "The Library")

        await runner.cleanup()  # the server goes away
        await page.get_by_text("You are offline. Reconnecting…").wait_for()
        await asyncio.sleep(1.0)
        runner = await serve(settings, db_url, port)  # and comes back on the same port

        await page.get_by_text("Online", exact=True).wait_for(timeout=20000)
        await page.locator(".offline-banner").wait_for(state="hidden")
        await page.locator('.stage[data-room="library"]').wait_for()
        await page.locator(f'.person[data-id="{person.id}"]').wait_for()
        # Really back in: the room hears us.
        box = page.get_by_role("textbox", name="Message")
        await box.fill("back again")
        await box.press("Enter")
        await page.locator(".chat-log .line.mine", has_text="back again").wait_for()
        person.assert_clean()
        await person.close()
    finally:
        await runner.cleanup()
