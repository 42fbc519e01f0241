"""A newcomer's first minutes, in Chromium: a new account lands in the Plaza beside the guide, who
greets them and offers a short tour whose steps tick off as they happen, and a line typed while
the join is under way is sent once; a Spanish account sees the interface in Spanish, its assistant and events panels included (and German
once the profile says so); a phone shows the room with the chat in a drawer that counts unread
lines, walks by touch; the fountain takes exactly one coin per toss."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
import pytest_asyncio

from tests.browser.conftest import Person, balance, midday_offset, new_person, shot_path
from tests.conftest import make_settings, start_world

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db_url, tmp_path_factory):
    server = await start_world(make_settings(tmp_path_factory.mktemp("newcomers-browser"),
                                             residents_clock_offset_min=midday_offset()), db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


async def guide_id(world) -> str:
    """Mira's id once she stands in the Plaza (the residents start with the world)."""
    rooms = world.ctx.rooms
    for _ in range(300):
        mira = next((p for p in rooms.occupants("plaza") if p.get("name") == "Mira"), None)
        if mira:
            return mira["id"]
        await asyncio.sleep(0.1)  # polling the world's state for her arrival
    raise AssertionError("Mira never came to the plaza")


async def position(page, pid: str) -> tuple[float, float]:
    xy = await page.locator(f'.person[data-id="{pid}"]').evaluate("li => [li.dataset.x, li.dataset.y]")
    return float(xy[0]), float(xy[1])


async def click_tile(page, x: float, y: float) -> None:
    """Click the point (x, y) of the room (in tiles), from the view's scale and offset."""
    view = await page.locator(".canvas-host").get_attribute("data-view")
    scale, ox, oy = (float(v) for v in view.split(","))
    box = await page.locator(".canvas-host canvas").bounding_box()
    await page.mouse.click(box["x"] + ox + x * 32 * scale, box["y"] + oy + y * 32 * scale)


async def free_tile_near(page, world, slug: str, x: float, y: float) -> tuple[float, float]:
    """The centre of a walkable tile three steps from (x, y) with nobody and no object on it (a tap
    there walks; a tap on a person or the notice board opens them instead)."""
    info = world.ctx.rooms.infos[slug]
    people = await page.locator(".person").evaluate_all("ps => ps.map(p => [+p.dataset.x, +p.dataset.y])")
    for dx, dy in ((3, 0), (-3, 0), (0, 3), (0, -3), (3, 3), (-3, 3), (3, -3), (-3, -3)):
        c, r = int(x) + dx, int(y) + dy
        on_thing = any(o.x - 1 <= c <= o.x + o.width and o.y - 1 <= r <= o.y + o.height for o in info.objects)
        near_someone = any(abs(c + 0.5 - px) < 2 and abs(r + 0.5 - py) < 2 for px, py in people)  # sprites are taller than a tile
        if 0 <= c < info.width and 0 <= r < info.height and not info.tile_blocked(c, r) and not near_someone and not on_thing:
            return c + 0.5, r + 0.5
    raise AssertionError(f"no free tile near {(x, y)}")


async def test_a_new_account_lands_beside_the_guide_who_greets_and_offers_a_tour(world, browser):
    mira = await guide_id(world)
    account = await world.register()
    p = await new_person(browser, world.url, account, viewport=(1280, 800))
    try:
        page = p.page
        # Typed at once, while the page connects and joins: sent once the join is done, never lost.
        box = page.get_by_role("textbox", name="Message")
        await box.fill("hello everybody")
        await box.press("Enter")
        await page.locator('.stage[data-room="plaza"]').wait_for()
        mine = page.locator(".chat-log .line.mine", has_text="hello everybody")
        await mine.wait_for()
        assert await box.input_value() == ""
        await page.locator(f'.person[data-id="{mira}"]').wait_for()
        me, her = await position(page, p.id), await position(page, mira)
        assert abs(me[0] - her[0]) + abs(me[1] - her[1]) <= 2.5, (me, her)
        # Mira greets the newcomer by name, in chat, and offers the tour.
        await page.locator(".chat-log .line.npc", has_text=p.name).first.wait_for(timeout=25000)
        # Side by side, both speaking: the two bubbles are drawn one above the other, never overlapping.
        await box.fill("hi Mira, nice hat")
        await box.press("Enter")
        host = page.locator(".canvas-host")
        await page.wait_for_function("(document.querySelector('.canvas-host').dataset.bubbles || '').split(';').length >= 2")
        for attr in ("data-bubbles", "data-labels"):  # and their names under their feet, one below the other
            rects = [[int(v) for v in r.split(",")] for r in (await host.get_attribute(attr)).split(";")]
            assert len(rects) >= 2, (attr, rects)
            for i, (x, y, w, h) in enumerate(rects):
                for (x2, y2, w2, h2) in rects[i + 1:]:
                    assert not (x < x2 + w2 and x2 < x + w and y < y2 + h2 and y2 < y + h), (attr, rects)
        tour = page.get_by_role("region", name="Mira offers a short tour")
        await tour.wait_for()
        await page.screenshot(path=str(shot_path("onboarding-offer.png")))
        await tour.get_by_role("button", name="Show me around").click()
        tour = page.get_by_role("region", name="Tour with Mira")
        assert await mine.count() == 1  # sent exactly once
        await tour.locator('.tour-step.done[data-step="say"]').wait_for()  # the hello counted
        await tour.get_by_role("button", name="Open the wallet").click()
        await page.get_by_role("dialog", name="Wallet").wait_for()
        await page.keyboard.press("Escape")
        await tour.locator('.tour-step.done[data-step="wallet"]').wait_for()
        await page.screenshot(path=str(shot_path("onboarding-tour.png")))
        # The last step walks to the market door, and through it.
        await tour.get_by_role("button", name="Walk there").click()
        await page.locator('.stage[data-room="market"]').wait_for()
        await page.get_by_role("region", name="You know your way around").wait_for()
        # Reporting is one tab stop for the whole log, however many lines (roving tabindex).
        assert await page.locator('.chat-log .report-line[tabindex="0"]').count() <= 1
        p.assert_clean()
    finally:
        await p.close()


async def test_a_spanish_account_sees_the_interface_in_spanish_and_can_switch(world, browser):
    account = await world.register(language="es")
    p = await new_person(browser, world.url, account, viewport=(1280, 800))
    try:
        page = p.page
        await page.get_by_text("En línea", exact=True).wait_for()
        await page.locator('.stage[data-room="plaza"]').wait_for()
        assert await page.evaluate("document.documentElement.lang") == "es"
        await page.get_by_role("button", name="Salas", exact=True).wait_for()
        await page.get_by_role("textbox", name="Mensaje").wait_for()
        await page.locator(".chat-log .line.system", has_text="Estás en The Plaza.").wait_for()
        assert "monedas" in await page.locator(".balance").inner_text()
        # The assistant and the events panels speak Spanish too: labels, placeholder, tool list, states.
        assistant = page.get_by_role("region", name="Asistente")
        ask = assistant.get_by_role("textbox", name="¿Qué quieres hacer?")
        assert await ask.get_attribute("placeholder") == "Pide: llévame al mercado"
        await assistant.get_by_role("button", name="Pedir", exact=True).wait_for()
        await assistant.get_by_text("«llévame al mercado», «¿cuántas monedas tengo?»").wait_for()
        await assistant.get_by_text("¿Qué puedo pedir?").click()
        await assistant.locator('.assistant-tools li[data-tool="go_to"]', has_text="Te lleva a una sala").wait_for()
        await assistant.locator('.assistant-tools li[data-tool="tip"]', has_text="(te pregunta antes)").wait_for()
        await assistant.get_by_text("¿Qué puedo pedir?").click()
        happening = page.get_by_role("region", name=re.compile("^Qué pasa"))
        await happening.get_by_role("heading", name="Misiones").wait_for()
        await happening.get_by_role("heading", name="Para ti").wait_for()
        await happening.locator('[data-event="market-day"]', has_text="en The Market").wait_for()
        await happening.locator('[data-quest="library-tour"]').get_by_role("button", name="Cobrar 25 monedas").wait_for()
        await happening.locator(".suggestion-list li", has_text=re.compile("Pasea, habla|aún no has estado allí")).first.wait_for()
        shown = await assistant.inner_text() + await happening.inner_text()
        assert not re.search(r"\b(assistant|happening|suggest)\.[a-z_]+", shown), shown  # no raw message key
        # The guide greets her in Spanish, her profile's language, before she has said a word.
        await page.locator(".chat-log .line.npc", has_text=f"¡Hola, {p.name}, bienvenido a The Plaza!").wait_for(timeout=25000)
        things = page.get_by_role("toolbar", name="Cosas aquí")  # the map's things by kind, in her language
        await things.get_by_role("button", name="Tablón de anuncios").wait_for()
        await things.get_by_role("button", name="Fuente").wait_for()
        await page.screenshot(path=str(shot_path("world-spanish.png")))
        # The profile switches it: German, numbers and all.
        await page.get_by_role("button", name="Perfil", exact=True).click()
        dialog = page.get_by_role("dialog", name="Tu perfil")
        await dialog.get_by_label("Idioma").select_option("de")
        await dialog.get_by_role("button", name="Guardar").click()
        await page.get_by_role("button", name="Räume", exact=True).wait_for()
        await page.get_by_text("Online", exact=True).wait_for()
        assert await page.evaluate("document.documentElement.lang") == "de"
        assert "Münzen" in await page.locator(".balance").inner_text()
        p.assert_clean()
    finally:
        await p.close()


async def test_a_phone_shows_the_room_with_the_chat_in_a_drawer(world, browser):
    context = await browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    account = await world.register()
    other = await world.register()
    try:
        await context.add_init_script(
            f"sessionStorage.setItem('townsquare.token', {json.dumps(account['token'])});"
            f"sessionStorage.setItem('townsquare.user', {json.dumps(json.dumps(account['user']))});")
        page = await context.new_page()
        phone = Person(context, page, account)
        await page.goto(world.url)
        await page.locator('.stage[data-room="plaza"]').wait_for()
        await page.locator('.canvas-host[data-map="tiled"]').wait_for()
        # The room fills the screen; the chat is a closed drawer; the controls sit at the bottom edge.
        canvas = await page.locator(".canvas-host canvas").bounding_box()
        assert canvas["width"] >= 380 and canvas["height"] >= 400, canvas
        assert not await page.locator(".chat-log").is_visible()
        chat = page.locator(".drawer-toggle")
        toggle = await chat.bounding_box()
        assert toggle["y"] + toggle["height"] >= 844 - 70 and toggle["height"] >= 40, toggle
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        # Someone speaks: the drawer's button counts it.
        them = await world.connect(other["token"])
        assert (await them.call("room:join", {"room": "plaza"}))["ok"]
        assert (await them.call("chat:send", {"text": "welcome, phone person"}))["ok"]
        await page.locator(".chat-log .line", has_text="welcome, phone person").wait_for(state="attached")
        unread = int(await chat.locator(".unread").inner_text())  # theirs, and the guide's greeting
        assert unread >= 1
        assert await chat.get_attribute("aria-label") == f"Chat, {unread} unread message{'s' if unread > 1 else ''}"
        await page.screenshot(path=str(shot_path("phone-plaza.png")))
        # Touch to walk: a tap two tiles to the right of me.
        x0, y0 = await position(page, phone.id)
        view = await page.locator(".canvas-host").get_attribute("data-view")
        scale, ox, oy = (float(v) for v in view.split(","))
        target = await free_tile_near(page, world, "plaza", x0, y0)
        await page.touchscreen.tap(canvas["x"] + ox + target[0] * 32 * scale, canvas["y"] + oy + target[1] * 32 * scale)
        for _ in range(100):
            if await position(page, phone.id) == target:
                break
            await page.wait_for_timeout(50)
        assert await position(page, phone.id) == target
        # Opened, the drawer shows the line and the box, and the count is gone.
        await chat.tap()
        await page.locator(".chat-log .line", has_text="welcome, phone person").wait_for()
        assert await chat.locator(".unread").is_hidden()
        box = page.get_by_role("textbox", name="Message")
        assert await box.is_visible()
        await box.fill("hi from the drawer")
        await box.press("Enter")
        await page.locator(".chat-log .line.mine", has_text="hi from the drawer").wait_for()
        await page.screenshot(path=str(shot_path("phone-chat-drawer.png")))
        await page.keyboard.press("Escape")
        assert not await page.locator(".chat-log").is_visible()
        phone.assert_clean()
    finally:
        await context.close()


async def test_a_coin_in_the_fountain_moves_exactly_one_coin_once(world, browser):
    account = await world.register()
    p = await new_person(browser, world.url, account, viewport=(1280, 800))
    try:
        page = p.page
        await page.locator('.stage[data-room="plaza"]').wait_for()
        await page.locator(f'.person[data-id="{p.id}"]').wait_for()
        await page.locator(".balance[data-balance]").wait_for()
        start = await balance(p)
        assert start > 0
        # Up to the fountain's rim first (a coin is tossed from within a few tiles of it).
        await page.locator('.canvas-host[data-map="tiled"]').wait_for()
        await click_tile(page, 19.5, 14.5)
        for _ in range(150):
            if await position(page, p.id) == (19.5, 14.5):
                break
            await page.wait_for_timeout(50)
        await page.get_by_role("toolbar", name="Things here").get_by_role("button", name="Fountain").click()
        dialog = page.get_by_role("dialog", name="Fountain")
        await dialog.get_by_role("button", name="Toss 1 coin").click()
        await dialog.get_by_role("status").filter(has_text="Splash!").wait_for()
        await page.locator(f'.balance[data-balance="{start - 1}"]').wait_for()
        await page.screenshot(path=str(shot_path("fountain-toss.png")))
        await page.keyboard.press("Escape")
        await page.locator(".balance").click()
        rows = page.get_by_role("dialog", name="Wallet").locator("tbody tr", has_text="the fountain")
        await rows.first.wait_for()
        assert await rows.count() == 1
        assert "-1" in await rows.first.inner_text()
        history = await world.ctx.ledger.history(account["user"]["id"], limit=20)
        assert [e["amount"] for e in history if (e["counterparty"] or {}).get("key") == "fountain"] == [-1]
        assert await balance(p) == start - 1
        p.assert_clean()
    finally:
        await p.close()
