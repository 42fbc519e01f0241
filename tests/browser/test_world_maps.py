"""The world drawn from Tiled maps, in Chromium: the map served and drawn, a click behind the
fountain walked around it, a door into another room, keyboard walking at the server's speed with
no jump back, and two arrivals on different tiles."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
import pytest_asyncio

from tests.browser.conftest import enter_room, fresh_room, midday_offset, new_person, person_in_world, shot_path
from tests.conftest import make_settings, start_world

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db_url, tmp_path_factory):
    """The seeded world, its clock at mid-morning: the guide is in the Plaza, not yet at the market."""
    server = await start_world(make_settings(tmp_path_factory.mktemp("world-maps"),
                                             residents_clock_offset_min=midday_offset()), db_url)
    yield server
    await server.close_clients()
    await server.runner.cleanup()

FOUNTAIN = (17, 9, 22, 14)  # the plaza's fountain rim: cols 17..21, rows 9..13 (blocked)


async def position(page, pid: str) -> tuple[float, float]:
    """Someone's server position from the people list, x and y read together (one tick)."""
    xy = await page.locator(f'.person[data-id="{pid}"]').evaluate("li => [li.dataset.x, li.dataset.y]")
    return float(xy[0]), float(xy[1])


async def click_tile(page, x: float, y: float) -> None:
    """Click the point (x, y) of the room (in tiles), from the view's scale and offset."""
    host = page.locator(".canvas-host")
    view = await host.get_attribute("data-view")
    scale, ox, oy = (float(v) for v in view.split(","))
    box = await page.locator(".canvas-host canvas").bounding_box()
    await page.mouse.click(box["x"] + ox + x * 32 * scale, box["y"] + oy + y * 32 * scale)


async def track(page, pid: str, until, timeout: float = 15.0) -> list[tuple[float, float, float]]:
    """(time, x, y) of someone's server position until `until(x, y)` holds."""
    seen = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        x, y = await position(page, pid)
        seen.append((time.monotonic(), x, y))
        if until(x, y):
            return seen
        await page.wait_for_timeout(50)
    raise AssertionError(f"not there in time; last {seen[-3:]}")


async def test_plaza_map_is_drawn_and_a_click_behind_the_fountain_is_walked_around(world, browser):
    p = await new_person(browser, world.url, await world.register(), viewport=(1280, 800))
    try:
        await p.page.get_by_text("Online", exact=True).wait_for()
        await enter_room(p, "plaza", "The Plaza")
        await p.page.locator('.canvas-host[data-map="tiled"]').wait_for()
        await p.page.wait_for_timeout(300)  # one frame after the map arrived, for the picture only
        await p.page.screenshot(path=str(shot_path("room-plaza.png")))
        start = await position(p.page, p.id)
        assert start[1] > FOUNTAIN[3]  # south of the fountain
        target = (19.5, 7.5)  # north of it: the straight line crosses the water
        await click_tile(p.page, *target)
        seen = await track(p.page, p.id, lambda x, y: (x, y) == target)
        for _, x, y in seen:
            assert not (FOUNTAIN[0] <= x < FOUNTAIN[2] and FOUNTAIN[1] <= y < FOUNTAIN[3]), (x, y)
        assert any(x < FOUNTAIN[0] or x >= FOUNTAIN[2] for _, x, y in seen if FOUNTAIN[1] <= y < FOUNTAIN[3])
        p.assert_clean()
    finally:
        await p.close()


async def test_walking_onto_a_door_goes_into_the_next_room(world, browser):
    p = await person_in_world(browser, world)
    try:
        await p.page.locator('.canvas-host[data-map="tiled"]').wait_for()
        # Up the road (the view follows), then onto the plaza's north gate, toward the library.
        await click_tile(p.page, 19.5, 5.5)
        await track(p.page, p.id, lambda x, y: (x, y) == (19.5, 5.5))
        await click_tile(p.page, 19.5, 0.5)
        await p.page.locator('.stage[data-room="library"]').wait_for()
        await p.page.locator('.canvas-host[data-map="tiled"]').wait_for()
        x, y = await position(p.page, p.id)
        assert abs(x - 14) + abs(y - 17) <= 3  # at the library's door-side spawn (or beside it)
        await p.page.get_by_text("You are in The Library.").wait_for()
        await p.page.wait_for_timeout(300)
        await p.page.screenshot(path=str(shot_path("room-library.png")))
        # And back: the library's front door leads to the plaza, by the north gate.
        await click_tile(p.page, 13.5, 19.5)
        await p.page.locator('.stage[data-room="plaza"]').wait_for()
        x, y = await position(p.page, p.id)
        assert abs(x - 20) + abs(y - 2) <= 3
        p.assert_clean()
    finally:
        await p.close()


async def test_keyboard_walking_runs_at_server_speed_without_jumping_back(world, browser):
    slug, name = await fresh_room(world, width=30, height=8, spawn=(2.0, 4.0))
    p = await person_in_world(browser, world, slug, name)
    try:
        speed = world.ctx.settings.move_speed
        page = p.page
        await page.locator(".canvas-host").focus()
        x0, _ = await position(page, p.id)
        # Sample where my avatar is drawn, every frame, in the page, and the frame the key came up.
        await page.evaluate("""() => {
            window.__drawn = [];
            const host = document.querySelector('.canvas-host');
            window.addEventListener('keydown', () => { window.__down ??= performance.now(); }, { capture: true });
            window.addEventListener('keyup', () => { window.__released = window.__drawn.length; window.__up = performance.now(); }, { capture: true });
            const loop = () => { window.__drawn.push(parseFloat(host.dataset.me)); if (window.__drawn.length < 5000) requestAnimationFrame(loop); };
            requestAnimationFrame(loop);
        }""")
        held = 2.0
        await page.keyboard.down("ArrowRight")
        await asyncio.sleep(held)
        await page.keyboard.up("ArrowRight")
        # The server comes to rest where the avatar stopped (the same place over half a second).
        seen: list[tuple[float, float]] = []
        for _ in range(100):
            seen.append(await position(page, p.id))
            if len(seen) >= 4 and len(set(seen[-4:])) == 1:
                break
            await page.wait_for_timeout(150)
        x1, _ = seen[-1]
        tiles = x1 - x0
        # How long the key was held as the page saw it (a loaded machine delivers keys late).
        held = await page.evaluate("(window.__up - window.__down) / 1000")
        assert abs(tiles - speed * held) <= 0.2 * speed * held, (tiles, speed * held)
        samples, released = await page.evaluate("[window.__drawn, window.__released]")
        held_part = [x for x in samples[:released] if not math.isnan(x)]
        after = [x for x in samples[released:] if not math.isnan(x)]
        # While the key is held the avatar only ever goes forward.
        backward = [(a, b) for a, b in zip(held_part, held_part[1:]) if b < a - 1e-6]
        assert not backward, backward[:5]
        # After release it may settle onto the server's resting place; on a loaded machine that can
        # be a few hundredths of a tile behind the last predicted frame (never a visible jump: 0.1
        # tile is 3 pixels at 32 px per tile).
        top, settle_back = held_part[-1], 0.0
        for x in after:
            top = max(top, x)
            settle_back = max(settle_back, top - x)
        assert settle_back <= 0.1, (settle_back, after[:10])
        assert abs(after[-1] - x1) < 0.05  # drawn where the server has it: no jump at the end
        p.assert_clean()
    finally:
        await p.close()


async def test_two_arrivals_stand_on_different_tiles(world, browser):
    slug, name = await fresh_room(world, width=12, height=8, spawn=(5.0, 4.0))
    a, b = await asyncio.gather(person_in_world(browser, world, slug, name), person_in_world(browser, world, slug, name))
    try:
        await a.page.locator(f'.person[data-id="{b.id}"]').wait_for()
        pa, pb = await position(a.page, a.id), await position(a.page, b.id)
        assert (int(pa[0]), int(pa[1])) != (int(pb[0]), int(pb[1])), (pa, pb)
        assert (5.0, 4.0) in (pa, pb)
    finally:
        await a.close()
        await b.close()


async def test_an_admin_uploads_a_map_and_a_bad_one_is_refused_with_a_message(world, browser, tmp_path):
    import json as _json

    from server.world.tiled import plain_map

    slug, name = await fresh_room(world, width=8, height=6, spawn=(1.0, 1.0))
    account = await world.register()
    await world.set_role(account, "admin")
    admin = await new_person(browser, world.url, account, path="/admin/rooms", viewport=(1280, 900))
    try:
        page = admin.page
        row = page.locator(f'tr[data-slug="{slug}"]')
        await row.wait_for()
        bad = plain_map(10, 6, [], (1.0, 1.0))
        bad["layers"] = [layer for layer in bad["layers"] if layer["type"] != "objectgroup"]  # no spawn point
        (tmp_path / "bad.tmj").write_text(_json.dumps(bad))
        await row.get_by_label(f"Map file for {name}").set_input_files(str(tmp_path / "bad.tmj"))
        await row.get_by_role("button", name="Upload map").click()
        await row.get_by_role("alert").filter(has_text="no spawn point").wait_for()
        await page.screenshot(path=str(shot_path("admin-map-upload.png")))
        assert world.ctx.rooms.infos[slug].width == 8  # nothing changed
        good = plain_map(10, 6, ["..........", "...##....."], (2.0, 2.0))
        (tmp_path / "good.tmj").write_text(_json.dumps(good))
        await row.get_by_label(f"Map file for {name}").set_input_files(str(tmp_path / "good.tmj"))
        await row.get_by_role("button", name="Upload map").click()
        await row.get_by_text("Map saved: 10 × 6").wait_for()
        assert world.ctx.rooms.infos[slug].width == 10 and world.ctx.rooms.infos[slug].tiles[1][3] == "#"
        admin.assert_clean()
    finally:
        await admin.close()


async def test_the_room_list_says_where_to_begin_and_a_phone_shows_the_drawn_room(world, browser):
    p = await new_person(browser, world.url, await world.register(), viewport=(1280, 800))
    phone = await new_person(browser, world.url, await world.register(), viewport=(390, 844))
    try:
        page = p.page
        # A newcomer lands in the Plaza; once the guide is seen there, the room list says so.
        await page.locator('.stage[data-room="plaza"]').wait_for()
        await page.locator(".person.npc", has_text="Mira").wait_for()
        await enter_room(p, "market", "The Market")
        await page.locator('.canvas-host[data-map="tiled"]').wait_for()
        await page.wait_for_timeout(300)  # one frame after the map arrived, for the picture only
        await page.screenshot(path=str(shot_path("room-market.png")))
        await page.get_by_role("button", name="Rooms", exact=True).click()
        plaza = page.locator('.room-item[data-slug="plaza"]')
        await plaza.get_by_text("Start here").wait_for()
        await plaza.get_by_text("Inside: Mira").wait_for()
        await plaza.get_by_text("a fountain in the middle").wait_for()
        await page.screenshot(path=str(shot_path("room-picker.png")))
        await phone.page.locator('.stage[data-room="plaza"]').wait_for()
        await phone.page.locator('.canvas-host[data-map="tiled"]').wait_for()
        box = await phone.page.locator(".canvas-host canvas").bounding_box()
        assert box["width"] <= 390 and box["height"] > 200
        p.assert_clean()
        phone.assert_clean()
    finally:
        await p.close()
        await phone.close()
