"""The world client in real Chromium: two people see each other walk and talk, whispers,
translation (and its absence), tips, and buying from a shopkeeper."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from playwright.async_api import Error as PlaywrightError

from tests.browser.conftest import balance, enter_room, fresh_room, new_person, open_person, person_in_world, shot_path

pytestmark = pytest.mark.browser


async def position(page, pid: str) -> tuple[float, float]:
    li = page.locator(f'.person[data-id="{pid}"]')
    return float(await li.get_attribute("data-x")), float(await li.get_attribute("data-y"))


async def until_at(page, pid: str, condition, timeout: float = 10_000) -> tuple[float, float]:
    """Wait until the page shows the person where `condition(x, y)` holds (checked here: the page's
    CSP forbids evaluating strings, so no JS is built from text)."""
    li = page.locator(f'.person[data-id="{pid}"]')
    deadline = asyncio.get_running_loop().time() + timeout / 1000
    while True:
        try:
            x, y = float(await li.get_attribute("data-x", timeout=1000)), float(await li.get_attribute("data-y", timeout=1000))
        except (TypeError, PlaywrightError):
            x = y = None
        if x is not None and condition(x, y):
            return x, y
        assert asyncio.get_running_loop().time() < deadline, f"{pid} never where asked; last at {(x, y)}"
        await page.wait_for_timeout(50)  # the position is re-rendered each frame: poll it


async def frames_drawn(page, n: int = 3) -> None:
    """Wait for `n` animation frames: whatever the last events changed is on the canvas."""
    await page.evaluate("n => new Promise(done => { const step = k => k ? requestAnimationFrame(() => step(k - 1)) "
                        ": done(); step(n); })", n)


async def test_two_people_see_each_other_walk_and_talk(world, browser):
    # Ana signs up through the form, shown in the browser's language (Spanish here, and so is the
    # Language picked); choosing English turns the form English, keeping what she typed.
    ana = await new_person(browser, world.url, locale="es-ES")
    page = ana.page
    name = f"ana{uuid.uuid4().hex[:6]}"
    await page.get_by_role("tab", name="Registrarse").click()
    await page.get_by_label("Nombre de usuario").fill(name)
    await page.get_by_label("Contraseña").fill("correct-horse-9")
    assert await page.get_by_label("Idioma").input_value() == "es"
    await page.get_by_label("Idioma").select_option("en")
    assert await page.get_by_label("Username").input_value() == name
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_text("Online", exact=True).wait_for()
    token = await page.evaluate("sessionStorage.getItem('townsquare.token')")
    assert token and token not in page.url
    ana.id = await page.evaluate("JSON.parse(sessionStorage.getItem('townsquare.user')).id")
    await enter_room(ana, "plaza", "The Plaza")

    bo = await person_in_world(browser, world)
    # Each sees the other.
    await page.locator(f'.person[data-id="{bo.id}"]').wait_for()
    await bo.page.locator(f'.person[data-id="{ana.id}"]').wait_for()
    await page.get_by_text(f"{bo.name} came in.").wait_for()

    # Ana walks by keyboard; Bo's view follows the server's ticks.
    start = await position(bo.page, ana.id)
    await page.locator(".canvas-host").focus()
    await page.keyboard.down("ArrowLeft")
    await asyncio.sleep(0.8)  # how long the key is held (what the person does), not a wait for a result
    await page.keyboard.up("ArrowLeft")
    await until_at(bo.page, ana.id, lambda x, y: x < start[0] - 1)

    # Bo clicks a tile: he walks there (click-to-walk), and Ana sees it.
    box = await bo.page.locator(".canvas-host canvas").bounding_box()
    before = await position(page, bo.id)
    await bo.page.mouse.click(box["x"] + box["width"] * 0.85, box["y"] + box["height"] * 0.75)
    await until_at(page, bo.id, lambda x, y: abs(x - before[0]) > 2)

    # Chat: Enter sends; both read it.
    await bo.page.get_by_role("textbox", name="Message").fill("Hello from Bo!")
    await bo.page.get_by_role("textbox", name="Message").press("Enter")
    await page.locator(".chat-log .line", has_text="Hello from Bo!").wait_for()
    await bo.page.locator(".chat-log .line", has_text="Hello from Bo!").wait_for()
    assert await bo.page.get_by_role("textbox", name="Message").input_value() == ""

    # An emote shows for both.
    await page.get_by_role("button", name="wave", exact=True).click()
    await bo.page.locator(".chat-log .line.system", has_text=f"{name} waves").wait_for()

    await frames_drawn(bo.page)  # the wave's bubble and the labels are on the canvas
    await bo.page.screenshot(path=str(shot_path("world.png")))
    ana.assert_clean()
    bo.assert_clean()
    renderer = await bo.page.locator(".stage").get_attribute("data-renderer")
    assert renderer in ("webgl", "canvas", "webgpu")
    await ana.close()
    await bo.close()


async def test_a_whisper_reaches_only_its_target(world, browser):
    slug, name = await fresh_room(world)
    ana, bo, cy = [await person_in_world(browser, world, slug, name) for _ in range(3)]
    await ana.page.locator(f'.person[data-id="{bo.id}"]').wait_for()
    await open_person(ana, bo.id)
    await ana.page.get_by_role("button", name="Whisper").click()
    box = ana.page.get_by_role("textbox", name="Message")
    await box.fill("psst, only for you")
    await box.press("Enter")
    line = bo.page.locator(".chat-log .line.whisper", has_text="psst, only for you")
    await line.wait_for()
    assert "whispers to you" in await line.inner_text()
    await ana.page.locator(".chat-log .line.whisper", has_text=f"whispers to {bo.name}").wait_for()
    # Cy hears the next room line but never the whisper.
    await box.press("Escape")
    await box.fill("hello everyone")
    await box.press("Enter")
    await cy.page.locator(".chat-log .line", has_text="hello everyone").wait_for()
    assert await cy.page.locator(".chat-log .line", has_text="psst").count() == 0
    for p in (ana, bo, cy):
        p.assert_clean()
        await p.close()


async def test_a_line_in_another_language_is_translated_with_the_original_one_click_away(world, browser):
    from ai.translation import NoBackend
    from tests.ai.translation.fakes import FakeBackend

    svc = world.ctx.translation
    svc.use_backend(FakeBackend())
    try:
        slug, name = await fresh_room(world)
        en = await person_in_world(browser, world, slug, name, language="en")
        es = await person_in_world(browser, world, slug, name, language="es")
        box = en.page.get_by_role("textbox", name="Message")
        await box.fill("Where is the baker today? I need fresh bread.")
        await box.press("Enter")
        translated = es.page.locator(".chat-log .line", has_text="<es> Where is the baker today?")
        await translated.wait_for()
        line = es.page.locator(f'.chat-log .line[data-id="{await translated.get_attribute("data-id")}"]')
        toggle = line.get_by_role("button", name=re.compile("Ver original"))  # her interface speaks Spanish
        await toggle.click()
        await es.page.locator(".chat-log .line .text", has_text=re.compile(r"^Where is the baker today\? I need fresh bread\.$")).wait_for()
        await line.get_by_role("button", name=re.compile("Ver traducción")).wait_for()
        # The writer reads their own words, untranslated and unmarked.
        mine = en.page.locator(".chat-log .line.mine", has_text="Where is the baker")
        await mine.wait_for()
        assert await mine.locator(".not-translated").count() == 0
        for p in (en, es):
            p.assert_clean()
            await p.close()
    finally:
        svc.use_backend(NoBackend())


async def test_without_a_translation_model_a_line_shows_its_language_quietly(world, browser):
    assert not world.ctx.translation.available
    slug, name = await fresh_room(world)
    de = await person_in_world(browser, world, slug, name, language="de")
    en = await person_in_world(browser, world, slug, name, language="en")
    box = de.page.get_by_role("textbox", name="Nachricht")  # his interface speaks German
    await box.fill("Wo ist der Bäcker heute? Ich brauche frisches Brot.")
    await box.press("Enter")
    line = en.page.locator(".chat-log .line", has_text="Wo ist der Bäcker heute?")
    await line.locator(".lang-tag", has_text="de").wait_for()  # the world said once that it does not translate
    for p in (de, en):
        p.assert_clean()
        await p.close()


async def test_a_tip_updates_both_balances(world, browser):
    slug, name = await fresh_room(world)
    ana = await person_in_world(browser, world, slug, name)
    bo = await person_in_world(browser, world, slug, name)
    start = world.ctx.settings.starting_grant
    assert await balance(ana) == start and await balance(bo) == start
    await ana.page.locator(f'.person[data-id="{bo.id}"]').wait_for()
    await open_person(ana, bo.id)
    await ana.page.get_by_role("button", name="Tip coins").click()
    await ana.page.get_by_label("Amount").fill("50")
    await ana.page.get_by_label("Note (optional)").fill("for the map")
    await ana.page.get_by_role("dialog").get_by_role("button", name="Send").click()
    await ana.page.locator(f'.balance[data-balance="{start - 50}"]').wait_for()
    await bo.page.locator(f'.balance[data-balance="{start + 50}"]').wait_for()
    await bo.page.locator(".toast", has_text="sent you 50").wait_for()
    # Bo's history shows it.
    await bo.page.locator(".balance").click()
    await bo.page.locator("dialog table", has_text="for the map").wait_for()
    await bo.page.keyboard.press("Escape")
    for p in (ana, bo):
        p.assert_clean()
        await p.close()


async def test_buying_from_a_shopkeeper(world, browser):
    slug, name = await fresh_room(world)
    await world.ctx.rooms.add_npc(slug, "tobin", "Tobin", {"body": "#c68642", "shirt": "#e76f51", "hat": "cap"}, 6, 5)
    ana = await person_in_world(browser, world, slug, name)
    page = ana.page
    await page.locator('.person[data-id="tobin"]').wait_for()
    await open_person(ana, "tobin")
    await page.get_by_role("button", name="Shop", exact=True).click()
    await page.get_by_role("button", name="Buy Brass lantern").click()
    await page.get_by_text("Buy 1 × Brass lantern for 120 coins?").wait_for()
    await page.get_by_role("button", name="Pay 120 coins").click()
    await page.get_by_text("You bought 1 × Brass lantern for 120 coins.").wait_for()
    start = world.ctx.settings.starting_grant
    await page.locator(f'.balance[data-balance="{start - 120}"]').wait_for()
    await page.screenshot(path=str(shot_path("shop.png")))
    await page.get_by_role("button", name="Done").click()
    await page.get_by_role("button", name="Inventory").click()
    await page.locator("dialog li", has_text="Brass lantern").wait_for()
    ana.assert_clean()
    await ana.close()


async def test_the_world_fits_a_phone(world, browser):
    account = await world.register()
    phone = await new_person(browser, world.url, account, viewport=(390, 780))
    page = phone.page
    await page.get_by_text("Online", exact=True).wait_for()
    await enter_room(phone, "plaza", "The Plaza")
    await page.locator(".drawer-toggle").click()  # the chat is a drawer on a phone
    box = page.get_by_role("textbox", name="Message")
    await box.fill("hi from my phone")
    await box.press("Enter")
    await page.locator(".chat-log .line", has_text="hi from my phone").wait_for()
    # Nothing wider than the screen; the room, the people and the chat box are all reachable.
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    canvas = await page.locator(".canvas-host canvas").bounding_box()
    assert canvas["width"] <= 390 and canvas["height"] > 200
    # The room was joined with what the phone's screen shows, in tiles at the smallest zoom (32 px x 0.8):
    # its area in rooms large enough for interest management, instead of a desktop's.
    views = [c.view for c in world.ctx.hub.connections.values() if str(c.user_id) == account["user"]["id"]]
    assert views and views[-1] is not None, views
    assert abs(views[-1][0] - canvas["width"] / 25.6) <= 1.5 and abs(views[-1][1] - canvas["height"] / 25.6) <= 1.5, views
    portrait = views[-1]
    await page.evaluate("window.scrollTo(0, 0)")
    await page.get_by_role("button", name="Rooms").focus()  # nothing scrolls the page back down
    await page.screenshot(path=str(shot_path("world-phone.png")))
    await box.scroll_into_view_if_needed()
    assert await box.is_visible()
    # The phone turns: the server hears what the screen shows now, once the layout has settled.
    await page.set_viewport_size({"width": 780, "height": 390})
    conns = [c for c in world.ctx.hub.connections.values() if str(c.user_id) == account["user"]["id"]]

    async def shown() -> tuple[float, float]:
        canvas = await page.locator(".canvas-host canvas").bounding_box()
        return canvas["width"] / 25.6, canvas["height"] / 25.6

    for _ in range(100):
        w, h = await shown()
        turned = conns[-1].view
        if turned != portrait and abs(turned[0] - w) <= 1.5 and abs(turned[1] - h) <= 1.5:
            break
        await asyncio.sleep(0.1)
    assert turned != portrait and abs(turned[0] - w) <= 1.5 and abs(turned[1] - h) <= 1.5, (portrait, turned, (w, h))
    assert turned[1] < portrait[1]
    phone.assert_clean()
    await phone.close()


async def test_keyboard_only(world, browser):
    other = await person_in_world(browser, world, "library", "The Library")
    account = await world.register()
    me = await new_person(browser, world.url, account)
    page = me.page
    # A newcomer lands in the Plaza; the Rooms menu opens the list with its first Join focused
    # (rooms by slug: the library first).
    await page.locator('.stage[data-room="plaza"]').wait_for()
    await page.get_by_role("button", name="Rooms", exact=True).focus()
    await page.keyboard.press("Enter")
    join = page.get_by_role("button", name="Join The Library")
    await join.wait_for()
    assert await join.evaluate("b => b === document.activeElement")
    await page.keyboard.press("Enter")
    await page.locator('.stage[data-room="library"]').wait_for()
    # The skip link leads to the chat box; Enter sends.
    await page.evaluate("(b => { b.tabIndex = -1; b.focus(); b.removeAttribute('tabindex'); })(document.body)")  # Tab from the top (the list gave focus back to Rooms)
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to chat"
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "chat-input"
    await page.keyboard.type("typed without a mouse")
    await page.keyboard.press("Enter")
    await other.page.locator(".chat-log .line", has_text="typed without a mouse").wait_for()
    # Someone in the people list: Enter opens their menu, Escape closes it.
    await page.locator(f'.person[data-id="{other.id}"] button').focus()
    await page.keyboard.press("Enter")
    await page.get_by_role("dialog", name=other.name).wait_for()
    await page.keyboard.press("Escape")
    await page.get_by_role("dialog").wait_for(state="detached")
    for p in (me, other):
        p.assert_clean()
        await p.close()


async def test_a_new_name_and_look_reach_the_room(world, browser):
    slug, name = await fresh_room(world)
    ana = await person_in_world(browser, world, slug, name)
    bo = await person_in_world(browser, world, slug, name)
    await ana.page.get_by_role("button", name="Profile").click()
    dialog = ana.page.get_by_role("dialog", name="Your profile")
    await dialog.get_by_label("Display name").fill("Ana the Bold")
    await dialog.get_by_label("Hat").select_option("crown")
    await dialog.get_by_role("button", name="Save").click()
    await ana.page.locator(".toast", has_text="Profile saved").wait_for()
    await bo.page.locator(f'.person[data-id="{ana.id}"]', has_text="Ana the Bold").wait_for()
    for p in (ana, bo):
        p.assert_clean()
        await p.close()


async def test_masked_and_blocked_lines_are_explained(world, browser):
    slug, name = await fresh_room(world)
    ana = await person_in_world(browser, world, slug, name)
    bo = await person_in_world(browser, world, slug, name)
    box = ana.page.get_by_role("textbox", name="Message")
    await box.fill("what the fuck is this")
    await box.press("Enter")
    masked = bo.page.locator(".chat-log .line", has_text="what the ### is this")
    await masked.wait_for()
    await masked.locator(".marker.masked").wait_for()
    await ana.page.locator(".chat-log .line.system", has_text="Some words in your message were hidden").wait_for()
    await box.fill("you are an idiot")
    await box.press("Enter")
    await ana.page.locator(".chat-log .line.system-warn", has_text="Your message was not sent").wait_for()
    await box.fill("sorry about that")
    await box.press("Enter")
    await bo.page.locator(".chat-log .line", has_text="sorry about that").wait_for()
    assert await bo.page.locator(".chat-log .line", has_text="idiot").count() == 0
    assert await bo.page.locator(".chat-log .line", has_text="fuck").count() == 0
    for p in (ana, bo):
        p.assert_clean()
        await p.close()
