"""The admin console in real Chromium: a moderator resolves a report and the person is muted;
someone who is not staff is refused (the page and the API); live figures for an admin."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from tests.browser.conftest import fresh_room, new_person, person_in_world, shot_path

pytestmark = pytest.mark.browser


async def staff(world, role: str, **extra) -> dict:
    account = await world.register(f"{role[:3]}{uuid.uuid4().hex[:8]}", **extra)
    await world.set_role(account, role)
    account["user"]["role"] = role
    return account


async def test_a_moderator_resolves_a_report_in_admin_and_the_user_is_muted(world, browser):
    slug, name = await fresh_room(world)
    offender = await person_in_world(browser, world, slug, name)
    reporter = await person_in_world(browser, world, slug, name)
    text = f"everyone come to my stall, only scams today {uuid.uuid4().hex[:4]}"
    box = offender.page.get_by_role("textbox", name="Message")
    await box.fill(text)
    await box.press("Enter")

    # The reporter reports the line from the chat panel.
    line = reporter.page.locator(".chat-log .line", has_text=text)
    await line.wait_for()
    await line.hover()
    await line.get_by_role("button", name=f"Report this message from {offender.name}").click()
    await reporter.page.get_by_label("Reason").fill("he is scamming people")
    await reporter.page.get_by_role("button", name="Send report").click()
    await reporter.page.locator(".toast", has_text="Your report was sent").wait_for()

    # A moderator finds it in the queue with its context and upholds it with a mute.
    mod = await new_person(browser, world.url, await staff(world, "moderator"), path="/admin/moderation",
                           viewport=(1280, 900))
    page = mod.page
    card = page.locator(".queue-item", has_text=text).first
    await card.wait_for()
    assert "he is scamming people" in await card.inner_text()
    await card.get_by_label("Outcome").select_option("upheld")
    await card.get_by_label("Action on the person").select_option("mute")
    await card.get_by_label("Minutes (mute or ban)").fill("30")
    await card.get_by_label("Note").fill("scam advertising")
    await page.screenshot(path=str(shot_path("admin.png")))
    await card.get_by_role("button", name="Resolve").click()
    await card.locator(".status-line.ok", has_text="mute applied").wait_for()

    # The offender is told, and cannot talk; the reporter hears back.
    await offender.page.locator(".chat-log .line.system", has_text="You are muted").wait_for()
    await offender.page.locator(".muted-banner", has_text="scam advertising").wait_for()
    await box.fill("can I still talk?")
    await box.press("Enter")
    await offender.page.locator(".chat-log .line.system-error", has_text="You are muted").wait_for()
    assert await box.input_value() == "can I still talk?"  # not lost
    await reporter.page.locator(".chat-log .line.system", has_text="Your report was reviewed: action was taken").wait_for()

    # The moderator sees the mute on the person's record and can lift it.
    await page.get_by_role("tab", name="Users").click()
    await page.get_by_label("Find a user").fill(offender.name)
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("button", name=f"Open {offender.name}").click()
    sanction = page.locator(".sanction.mute", has_text="scam advertising")
    await sanction.wait_for()
    await sanction.get_by_role("button", name="Lift the mute").click()
    await offender.page.locator(".chat-log .line.system", has_text="Your mute was lifted").wait_for()
    for p in (offender, reporter, mod):
        p.assert_clean()
        await p.close()


async def test_someone_who_is_not_staff_cannot_open_admin(world, browser):
    account = await world.register()
    person = await new_person(browser, world.url, account, path="/admin")
    await person.page.get_by_role("heading", name="Not for you, sorry").wait_for()
    await person.page.get_by_text("The admin console is for moderators and admins.").wait_for()
    assert await person.page.locator('[role="tab"]').count() == 0
    # The API refuses too.
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world.url}/api/admin/live",
                            headers={"Authorization": f"Bearer {account['token']}"}) as r:
            assert r.status == 403
            assert (await r.json())["error"]["code"] == "forbidden"
    person.assert_clean()
    await person.close()

    # Nobody logged in: the console asks for a login first.
    anon = await new_person(browser, world.url, None, path="/admin")
    await anon.page.get_by_text("log in with a moderator or admin account").wait_for()
    await anon.close()


async def test_a_spanish_moderator_gets_the_consoles_frame_in_spanish(world, browser):
    """The console follows the account's language for its frame: top bar, tabs, section headings."""
    account = await staff(world, "moderator", language="es")
    mod = await new_person(browser, world.url, account, path="/admin/moderation")
    page = mod.page
    await page.get_by_role("tab", name="Moderación").wait_for()
    assert await page.get_by_role("tab").all_inner_texts() == [
        "En directo", "Moderación", "Usuarios", "Salas", "Economía", "Residentes", "Eventos y misiones"]
    await page.get_by_role("heading", name="Cola de revisión").wait_for()
    await page.get_by_text(f"{account['user']['username']} (moderador)").wait_for()
    await page.get_by_role("button", name="Salir", exact=True).wait_for()
    assert await page.evaluate("document.documentElement.lang") == "es"
    assert (await page.title()).startswith("Moderación · ")
    mod.assert_clean()
    await mod.close()


async def test_an_admin_sees_live_figures_and_creates_a_room(world, browser):
    someone = await person_in_world(browser, world)
    admin = await new_person(browser, world.url, await staff(world, "admin"), path="/admin", viewport=(1280, 900))
    page = admin.page
    figure = page.locator('[data-figure="connections"] .figure-value')
    await figure.wait_for()
    assert int(await figure.inner_text()) >= 1
    await page.get_by_role("table", name="People per room").filter(has_text="plaza").wait_for()
    await page.screenshot(path=str(shot_path("admin-live.png")))

    await page.get_by_role("tab", name="Rooms").click()
    slug = f"garden{uuid.uuid4().hex[:4]}"
    form = page.get_by_role("form", name="New room")
    await form.get_by_label("Slug").fill(slug)
    await form.get_by_label("Name").fill("The Garden")
    await form.get_by_role("button", name="Create room").click()
    await form.locator(".status-line.ok", has_text="Created The Garden").wait_for()
    row = page.locator(f'tr[data-slug="{slug}"]')
    await row.wait_for()
    await row.get_by_label("Capacity of The Garden").fill("12")
    await row.get_by_role("button", name="Save").click()
    await row.locator(".status-line.ok", has_text="Saved").wait_for()
    assert (await world.ctx.rooms.get_room(slug)).name == "The Garden"

    # Residents: their persona and memories (or, on a server without residents, the API's words).
    await page.get_by_role("tab", name="Residents").click()
    if getattr(world.ctx, "residents", None) is not None:
        tobin = page.locator('.resident[data-key="tobin"]')
        await tobin.locator("summary").click()
        persona = tobin.get_by_label("Persona of Tobin")
        await tobin.locator(".status-line", has_text="memories").wait_for()
        assert "lantern" in await persona.input_value()
        await tobin.get_by_role("button", name="Show memories").click()
        await tobin.locator(".memories table, .memories p").first.wait_for()
    else:
        await page.locator(".tab-residents .status-line.error", has_text="Not found").wait_for()
    for p in (someone, admin):
        p.assert_clean()
        await p.close()


async def test_an_admin_mints_coins_and_the_balance_updates_live(world, browser):
    someone = await person_in_world(browser, world)
    start = world.ctx.settings.starting_grant
    await someone.page.locator(f'.balance[data-balance="{start}"]').wait_for()
    admin = await new_person(browser, world.url, await staff(world, "admin"), path="/admin/economy", viewport=(1280, 900))
    page = admin.page
    mint = page.get_by_role("form", name="Mint")
    await mint.get_by_label("Amount (whole coins)").fill("75")
    # The person is picked by name (the console never shows ids to type).
    await mint.get_by_label("Into / from").fill(someone.name[:6])
    await mint.get_by_role("option", name=f"@{someone.name}").click()
    await mint.get_by_label("Reason").fill("event prize")
    await mint.get_by_role("button", name="Mint").click()
    await mint.locator(".status-line.ok", has_text="Minted 75").wait_for()
    await someone.page.locator(f'.balance[data-balance="{start + 75}"]').wait_for()
    await someone.page.locator(".toast", has_text="75 coins").wait_for()
    # The audit passes, and the ledger search finds the mint.
    await page.get_by_role("button", name="Run the audit").click()
    await page.get_by_text("All checks passed").wait_for()
    search = page.get_by_role("form", name="Search the ledger")
    await search.get_by_label("Kind").select_option("mint")
    await search.get_by_label("Person").fill(someone.name)
    await search.get_by_role("button", name="Search").click()
    await page.locator(".ledger-results table", has_text="event prize").wait_for()
    for p in (someone, admin):
        p.assert_clean()
        await p.close()


async def test_an_admin_opens_a_shop_and_prices_an_item(world, browser):
    admin = await new_person(browser, world.url, await staff(world, "admin"), path="/admin/economy", viewport=(1280, 900))
    page = admin.page
    key = f"stall{uuid.uuid4().hex[:6]}"
    opened = page.get_by_role("form", name="Open a shop")
    await opened.get_by_label("Key").fill(key)
    await opened.get_by_label("Name").fill("Kite stall")
    await opened.get_by_label("Reason").fill("market day")
    await opened.get_by_role("button", name="Open").click()
    await opened.locator(".status-line.ok", has_text=f"revenue account shop:{key}").wait_for()
    shop = page.locator(".shop-admin", has=page.get_by_role("heading", name=f"Kite stall ({key}) · revenue 0"))
    await shop.get_by_text("No items yet.").wait_for()
    item = page.get_by_role("form", name="Add or change an item")
    await item.get_by_label("Shop").select_option(key)
    await item.get_by_label("Item (sku)").fill("kite")
    await item.get_by_label("Name").fill("Red kite")
    await item.get_by_label("Price").fill("30")
    await item.get_by_label("Stock").fill("2")
    await item.get_by_label("Reason").fill("new stock")
    await item.get_by_role("button", name="Save item").click()
    await item.locator(".status-line.ok", has_text="Red kite: 30 each, 2 in stock.").wait_for()
    await shop.locator("td", has_text="Red kite (kite)").wait_for()
    assert await world.ctx.shops.items(key) == [{"sku": "kite", "name": "Red kite", "price": 30, "stock": 2}]
    admin.assert_clean()
    await admin.close()
