"""Issue 13 item 18: the world says plainly whether chat is translated (GET /api/translation and
the `session` event), with the one setting that turns it on."""

import aiohttp

from tests.conftest import Inbox


async def status(world) -> dict:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world.url}/api/translation") as r:
            assert r.status == 200
            return await r.json()


async def test_without_a_model_the_world_says_chat_is_not_translated(world):
    from ai.translation import NoBackend
    from tests.ai.translation.fakes import FakeBackend

    off = await status(world)
    assert off["available"] is False and off["configured"] is False
    assert "does not translate" in off["words"]
    assert "TOWNSQUARE_MODELS__TRANSLATION" in off["enable"] and "townsquare models pull" in off["enable"]
    svc = world.ctx.translation
    svc.use_backend(FakeBackend())
    try:
        on = await status(world)
        assert on["available"] is True and on["words"] == "Chat from others is translated into your language."
    finally:
        svc.use_backend(NoBackend())


async def test_the_session_event_carries_the_translation_status(world):
    import socketio

    account = await world.register()
    client = socketio.AsyncClient(reconnection=False)
    inbox = Inbox(client, "session")
    await client.connect(world.url, auth={"token": account["token"]}, transports=["websocket"])
    try:
        session = await inbox.wait_for("session")
        assert session["translation"] == {"available": False,
                                          "words": "This world does not translate chat: lines from others are "
                                                   "shown as written."}
    finally:
        await client.disconnect()
