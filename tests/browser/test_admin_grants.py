"""The admin console's economy tab shows the starting grant's limits and sets them (real Chromium)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import new_person

pytestmark = pytest.mark.browser


async def test_an_admin_sees_and_sets_the_grant_budget(world, browser):
    admin = await world.set_role(await world.register(), "admin")
    person = await new_person(browser, world.url, admin, path="/admin/economy", viewport=(1280, 900))
    page = person.page
    section = page.locator("section.admin-section", has_text="Starting grant")
    await section.locator("dd", has_text=f"{world.ctx.settings.starting_grant} coins").wait_for()

    form = section.get_by_role("form", name="Set the grant limits")
    await form.get_by_label("Daily budget (coins)").fill("25000")
    await form.get_by_label("Grants per address per day").fill("4")
    await form.get_by_label("Reason").fill("launch week")
    await form.get_by_role("button", name="Save limits").click()
    await form.locator(".status-line.ok", has_text="budget 25000").wait_for()
    await section.locator("dd", has_text="25000").first.wait_for()

    policy = await world.ctx.ledger.grant_policy()
    assert policy["daily_budget"] == 25000 and policy["per_address_per_day"] == 4
    person.assert_clean()
    await person.close()
