"""The assistant in real Chromium: `/ask` in the chat box takes the person to the market (and is
never said to the room); a tip asked in the assistant panel waits for Confirm, then moves 20."""

from __future__ import annotations

import uuid

import pytest

from tests.browser.conftest import balance, person_in_world, shot_path
from tests.conftest import call

pytestmark = pytest.mark.browser



async def test_ask_in_chat_and_confirm_a_tip_in_the_panel(world, browser):
    ana_name = f"ana{uuid.uuid4().hex[:6]}"
    ana = await world.register(ana_name)
    me = await person_in_world(browser, world)
    page = me.page

    # "/ask ..." in the chat box: the assistant takes me to the market; the room never hears it.
    box = page.locator("#chat-input")
    await box.fill("/ask take me to the market")
    await box.press("Enter")
    await page.locator('.stage[data-room="market"]').wait_for()
    await page.locator(".chat .line.system", has_text="You are in The Market now.").wait_for()
    assert await page.locator(".chat .line:not(.system)", has_text="/ask").count() == 0

    # The panel lists what it can do: the server's declared tools, those that ask first marked.
    await page.get_by_text("What can I ask?").click()
    await page.locator('.assistant-tools li[data-tool="tip"]', has_text="(asks you first)").wait_for()
    await page.get_by_text("What can I ask?").click()

    # In the panel: a tip is shown and held until Confirm.
    ask = page.get_by_label("What do you want to do?")
    await ask.fill(f"tip {ana_name} 20 coins for the help")
    await ask.press("Enter")
    pending = page.locator(".assistant-line.pending", has_text=f"Give 20 coins to {ana_name}")
    await pending.wait_for()
    assert await balance(me) == 1000
    await page.locator("#assistant").screenshot(path=str(shot_path("assistant.png")))
    await pending.get_by_role("button", name="Confirm").click()
    await pending.get_by_text(f"Sent 20 coins to {ana_name}. You have 980 coins.").wait_for()
    await page.locator('.balance[data-balance="980"]').wait_for()
    a = await world.connect(ana["token"])
    assert (await call(a, "wallet:balance"))["balance"] == 1020
    no_tour = page.get_by_role("button", name="No, thanks")  # the newcomer's tour, long shown by now
    if await no_tour.is_visible():
        await no_tour.click()
    await page.screenshot(path=str(shot_path("assistant-world.png")))
    me.assert_clean()
    await me.close()
