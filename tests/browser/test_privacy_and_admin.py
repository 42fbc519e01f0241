"""Issue 13 in real Chromium: a whisper whose person left never reaches the room; the admin console
picks people by name, lists automatic actions (and undoes a wrong mute), shows other figures as
labelled tables and logs no console error on any tab; a world without translation says so once."""

from __future__ import annotations

import uuid

import pytest

from tests.browser.conftest import enter_room, fresh_room, new_person, person_in_world, shot_path

pytestmark = pytest.mark.browser


async def staff(world, role: str) -> dict:
    account = await world.register(f"{role[:3]}{uuid.uuid4().hex[:8]}")
    await world.set_role(account, role)
    account["user"]["role"] = role
    return account


def console_errors(person) -> list[str]:
    """Every console error and page error of this page from now on."""
    errors: list[str] = []
    person.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    person.page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


async def test_a_whisper_to_someone_who_left_is_not_sent_to_the_room(world, browser):
    slug, name = await fresh_room(world)
    ana, bo, cy = [await person_in_world(browser, world, slug, name) for _ in range(3)]
    page = ana.page
    await page.locator(f'.person[data-id="{bo.id}"] button').click()
    await page.get_by_role("button", name="Whisper").click()
    box = page.get_by_role("textbox", name="Message")
    await box.fill("meet me by the fountain")
    await bo.close()  # Bo leaves while Ana is typing to him
    await page.locator(".chat-log .line.system-warn", has_text="is not in this room any more").wait_for()
    await page.locator(".chat-form.whisper-gone").wait_for()
    await page.screenshot(path=str(shot_path("whisper-gone.png")))
    await box.press("Enter")
    await page.locator(".chat-log .line.system-warn", has_text="your whisper was not sent").wait_for()
    assert await box.input_value() == "meet me by the fountain"  # kept, not sent
    assert await page.locator(".chat-form.whispering, .chat-form.whisper-gone").count() == 0
    assert await page.get_by_role("combobox", name="Send to").input_value() == ""
    # Nothing of it reached the room; the next line (sent knowingly) does.
    await box.fill("hello everyone")
    await box.press("Enter")
    await cy.page.locator(".chat-log .line", has_text="hello everyone").wait_for()
    assert await cy.page.locator(".chat-log .line", has_text="fountain").count() == 0
    assert await page.locator(".chat-log .line:not(.system)", has_text="fountain").count() == 0
    for p in (ana, cy):
        p.assert_clean()
        await p.close()


async def test_admin_tabs_log_no_console_errors_and_show_other_figures_as_tables(world, browser):
    admin = await new_person(browser, world.url, await staff(world, "admin"), path="/admin", viewport=(1280, 900))
    errors = console_errors(admin)
    page = admin.page
    await page.locator('[data-figure="connections"] .figure-value').wait_for()
    group = page.locator('.figure-group[data-group="moderation"]')
    await group.locator("table").wait_for()
    assert await group.get_by_role("heading", name="Moderation").count() == 1
    assert "Optional model" in await group.inner_text()
    for cell in await page.locator(".figure-group td").all_inner_texts():
        assert not cell.startswith("{") and not cell.startswith("["), cell  # no raw JSON
    await page.screenshot(path=str(shot_path("admin-live-figures.png")), full_page=True)
    for tab in ("Moderation", "Users", "Rooms", "Economy", "Residents", "Live"):
        await page.get_by_role("tab", name=tab).click()
        await page.locator(f'#admin-panel[data-tab="{tab.lower()}"]').wait_for()
        if tab == "Rooms":
            slug = page.get_by_role("form", name="New room").get_by_label("Slug")
            await slug.fill("a-b_c")  # the pattern is compiled and checked
            assert await slug.evaluate("n => n.checkValidity()")
            await slug.fill("Bad Slug!")
            assert not await slug.evaluate("n => n.checkValidity()")
        await page.locator(".status-line").first.wait_for(state="attached")
    await page.locator('[data-figure="connections"]').wait_for()
    assert errors == [], errors
    admin.assert_clean()
    await admin.close()


async def test_freeze_and_mint_by_name_and_an_unknown_name_is_explained(world, browser):
    someone = await person_in_world(browser, world)
    admin = await new_person(browser, world.url, await staff(world, "admin"), path="/admin/economy", viewport=(1280, 900))
    page = admin.page
    freeze = page.get_by_role("form", name="Freeze an account", exact=True)
    await freeze.get_by_label("Account").fill("nobody-by-this-name")
    await freeze.get_by_label("Reason").fill("testing")
    await freeze.get_by_role("button", name="Freeze").click()
    await freeze.locator(".status-line.error", has_text="No user or system account named").wait_for()
    await freeze.get_by_label("Account").fill(someone.name[:7])
    option = freeze.get_by_role("option", name=f"@{someone.name}")
    await option.wait_for()
    await page.screenshot(path=str(shot_path("admin-user-picker.png")))
    await option.click()
    await freeze.locator(".picked", has_text=someone.name).wait_for()
    await freeze.get_by_role("button", name="Freeze").click()
    await freeze.locator(".status-line.ok", has_text="Frozen").wait_for()
    unfreeze = page.get_by_role("form", name="Unfreeze an account")
    await unfreeze.get_by_label("Account").fill(someone.name)  # typed in full: resolved without picking
    await unfreeze.get_by_label("Reason").fill("done testing")
    await unfreeze.get_by_role("button", name="Unfreeze").click()
    await unfreeze.locator(".status-line.ok", has_text="Unfrozen").wait_for()
    for p in (someone, admin):
        p.assert_clean()
        await p.close()


async def test_automatic_block_and_mute_are_in_the_queue_and_the_mute_is_undone(world, browser):
    slug, name = await fresh_room(world)
    rude = await person_in_world(browser, world, slug, name)
    box = rude.page.get_by_role("textbox", name="Message")
    for i, text in enumerate(("you are an idiot", "kys", "nobody likes you")):
        await box.fill(text)
        await box.press("Enter")
        await rude.page.locator(".chat-log .line.system-warn", has_text="Your message was not sent").nth(i).wait_for()
    await rude.page.locator(".muted-banner:not([hidden])").wait_for()
    mod = await new_person(browser, world.url, await staff(world, "moderator"), path="/admin/moderation",
                           viewport=(1280, 900))
    page = mod.page
    mute = page.locator(".queue-item[data-kind='auto']", has_text=rude.name).filter(has_text="automatic mute")
    await mute.wait_for()
    blocks = page.locator(".queue-item[data-kind='auto']", has_text="automatic block").filter(has_text=rude.name)
    await blocks.first.wait_for()
    assert await page.get_by_text("Quiet day").count() == 0
    await page.screenshot(path=str(shot_path("admin-automatic-actions.png")), full_page=True)
    await mute.get_by_label("Outcome").select_option("dismissed")
    await mute.get_by_label("Note").fill("friends joking")
    await mute.get_by_role("button", name="Resolve").click()
    await mute.locator(".status-line.ok", has_text="the mute is lifted").wait_for()
    await rude.page.locator(".chat-log .line.system", has_text="Your mute was lifted").wait_for()
    await box.fill("sorry all")
    await box.press("Enter")
    await rude.page.locator(".chat-log .line.mine", has_text="sorry all").wait_for()
    for p in (rude, mod):
        p.assert_clean()
        await p.close()


async def test_without_translation_the_client_says_so_once_and_marks_no_line_in_red(world, browser):
    assert not world.ctx.translation.available
    # Sign-up promises nothing the world does not do.
    visitor = await new_person(browser, world.url)
    await visitor.page.get_by_role("tab", name="Sign up").click()
    await visitor.page.get_by_text("This world does not translate chat yet").wait_for()
    await visitor.close()

    slug, name = await fresh_room(world)
    de = await person_in_world(browser, world, slug, name, language="de")
    # A new account lands in the Plaza: the notice comes there, with the first room's lines.
    en = await new_person(browser, world.url, await world.register(language="en"))
    notice = en.page.locator(".chat-log .line.system", has_text="This world does not translate chat")
    await notice.wait_for()
    await enter_room(en, slug, name)
    box = de.page.locator(".chat-input")  # her interface speaks German
    await box.fill("Wo ist der Bäcker heute? Ich brauche frisches Brot.")
    await box.press("Enter")
    line = en.page.locator(".chat-log .line", has_text="Wo ist der Bäcker heute?")
    await line.locator(".lang-tag", has_text="de").wait_for()
    assert await line.locator(".not-translated, .translating").count() == 0
    color = await line.locator(".lang-tag").evaluate("n => getComputedStyle(n).color")
    assert color != "rgb(255, 180, 162)"  # not the alarm colour
    await en.page.screenshot(path=str(shot_path("chat-no-translation.png")))
    # Once: going into another room does not repeat it.
    slug2, name2 = await fresh_room(world)
    await en.page.get_by_role("button", name="Rooms").click()
    await en.page.get_by_role("button", name=f"Join {name2}").click()
    await en.page.locator(f'.stage[data-room="{slug2}"]').wait_for()
    await en.page.locator(".chat-log .line.system", has_text=f"You are in {name2}").wait_for()
    assert await en.page.locator(".chat-log .line.system", has_text="does not translate").count() == 0

    # The admin console says how to turn it on.
    admin = await new_person(browser, world.url, await staff(world, "admin"), path="/admin", viewport=(1280, 900))
    banner = admin.page.locator(".admin-banner", has_text="Translation is off")
    await banner.wait_for()
    assert "TOWNSQUARE_MODELS__TRANSLATION" in await banner.inner_text()
    await admin.page.screenshot(path=str(shot_path("admin-translation-banner.png")))
    for p in (de, en, admin):
        p.assert_clean()
        await p.close()
