"""Events and quests in the client (real Chromium): an event starts on the world clock and shows
as on now, the person joins it; a quest's steps tick off as they walk in, greet the host and look
at the bookshelf, and its reward is claimed once; the profile's data section."""

from __future__ import annotations

import re
import uuid

import pytest
import pytest_asyncio

from ai.npc import WorldClock
from tests.browser.conftest import balance, new_person, shot_path
from tests.conftest import start_world
from tests.residents.conftest import resident_settings

pytestmark = pytest.mark.browser


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db_url, tmp_path_factory):
    server = await start_world(resident_settings(tmp_path_factory.mktemp("events-browser")), db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()


async def test_an_event_and_a_quest_in_the_client(world, browser):
    minutes = {"now": 10 * 60 + 50}
    world.ctx.events.clock = WorldClock("scaled", 1.0, 0.0, now=lambda: minutes["now"])
    ledger = world.ctx.ledger
    admin = await world.register()
    await ledger.mint(500, actor_id=admin["user"]["id"], reason="quest rewards", idempotency_key=uuid.uuid4().hex)
    await world.ctx.events.budget.set(uuid.UUID(admin["user"]["id"]), 1000, "quest rewards")

    account = await world.register()
    me = await new_person(browser, world.url, account)
    page = me.page
    await page.get_by_text("Online", exact=True).wait_for()
    await page.get_by_role("button", name="Rooms", exact=True).click()
    await page.get_by_role("button", name="Join The Library").click()
    await page.locator('.stage[data-room="library"]').wait_for()
    # the guide's offer ("Welcome to The Plaza! ... Shall I show you around?") is not shown away from the plaza
    offer = page.locator("section.tour")
    assert await offer.locator(".tour-title").text_content() == "Mira offers a short tour" and await offer.is_hidden()
    panel = page.locator("#happening")
    story = panel.locator('.happening-item[data-event="story-hour"]')
    await story.get_by_text(re.compile(r"11:00\sAM in The Library")).wait_for()  # world time in the locale, the room by name
    tour = panel.locator('.quest[data-quest="library-tour"]')
    await tour.locator(".step.done").get_by_text("Walk into the library").wait_for()

    minutes["now"] = 11 * 60  # the world clock reaches story hour
    await page.get_by_text("Story hour has begun in The Library").wait_for()
    await story.get_by_text("on now in The Library").wait_for()
    await page.locator(".chat-log").get_by_text("Story hour begins now").wait_for()  # Odessa announces it
    await story.get_by_role("button", name="Join").click()
    await page.get_by_text("You joined Story hour", exact=True).wait_for()

    chat = page.get_by_role("textbox", name="Message")
    await chat.fill("Hello Odessa!")
    await chat.press("Enter")
    await tour.locator(".step.done").get_by_text("Say hello to Odessa").wait_for()
    await tour.get_by_role("button", name="Look here").click()
    await tour.get_by_text("3/3").wait_for()
    before = await balance(me)
    await tour.get_by_role("button", name="Claim 25 coins").click()
    await tour.get_by_role("button", name="Reward received: 25").wait_for()
    await page.wait_for_function(f"Number(document.querySelector('.balance').dataset.balance) === {before + 25}")
    no_tour = page.get_by_role("button", name="No, thanks")  # the newcomer's tour offer: not this test's subject
    if await no_tour.is_visible():
        await no_tour.click()
    await page.locator("#toasts > *").last.wait_for(state="detached")  # the toasts time out; none over the picture
    await panel.evaluate("p => { p.scrollTop = 0; }")
    assert (await panel.bounding_box())["height"] > 150  # the side column scrolls; the panel is never squeezed
    await panel.screenshot(path=str(shot_path("events-quest.png")))
    await tour.scroll_into_view_if_needed()
    await page.screenshot(path=str(shot_path("events-world.png")))

    # the profile: suggestions on, why, export and delete
    await page.get_by_role("button", name="Profile", exact=True).click()
    data = page.locator(".your-data")
    await data.get_by_text("Download my data").wait_for()
    await data.get_by_text("Why these suggestions?").click()
    await data.locator(".suggestion-why li").filter(has_text=re.compile("Story hour")).first.wait_for()
    await data.screenshot(path=str(shot_path("profile-your-data.png")))
    me.assert_clean()
    await me.close()


async def test_an_admin_approves_a_proposed_event_and_pauses_one_in_the_console(world, browser):
    account = await world.register()
    await world.set_role(account, "admin")
    admin = await new_person(browser, world.url, account, path="/admin/events", viewport=(1280, 900))
    page = admin.page
    page.on("dialog", lambda d: d.accept("the season's plan"))
    await page.get_by_role("tab", name="Events & quests").wait_for()
    market = page.locator('tr[data-event="market-day"]')
    await market.get_by_text("scheduled").wait_for()
    await market.get_by_role("button", name="Pause").click()
    await market.get_by_text("paused").wait_for()
    await page.get_by_role("button", name="Propose an event").click()
    await page.get_by_text("Proposed: it waits for your approval below").wait_for()
    proposed = page.locator("tr").filter(has_text="pending")
    await proposed.get_by_role("button", name="Approve").click()
    await page.locator("tr").filter(has_text="generated").get_by_text("scheduled").wait_for()
    await page.get_by_text("Reward budget:").wait_for()
    await page.screenshot(path=str(shot_path("admin-events.png")))
    events = {e["key"]: e for e in await world.ctx.events.all()}
    assert events["market-day"]["status"] == "paused"
    assert [e["status"] for e in events.values() if e["source"] == "generated"] == ["scheduled"]
    admin.assert_clean()
    await admin.close()
