"""Browser fixtures: one Debian Chromium per test module (Playwright, never `playwright install`),
one browser context per person, pages logged in by putting their token where the client keeps it
(sessionStorage), and a check that the page broke no Content-Security-Policy rule."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import pytest_asyncio

CHROMIUM = os.environ.get("TOWNSQUARE_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
DIST = Path(__file__).resolve().parents[2] / "client_web" / "dist"
# Screenshots go to test-artifacts/ (ignored by git); TOWNSQUARE_TEST_SCREENSHOTS=1 (`make screenshots`)
# refreshes the ones committed in docs/screenshots. A TEST_ name: tests/conftest.py drops every other
# TOWNSQUARE_ variable so the developer's settings never leak into the servers under test.
_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = _ROOT / ("docs/screenshots" if os.environ.get("TOWNSQUARE_TEST_SCREENSHOTS") == "1" else "test-artifacts/screenshots")
TIMEOUT_MS = 15000


@pytest.fixture(scope="session", autouse=True)
def built_client():
    if not (DIST / "index.html").exists() or not (DIST / "assets").is_dir():
        pytest.fail("the browser client is not built: run `make client` (cd client_web && npm ci && npm run build)")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser():
    from playwright.async_api import async_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make chromium` installs Debian's package")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        await b.close()


class Person:
    """A browser context (one person) and its page."""

    def __init__(self, context, page, account):
        self.context, self.page, self.account = context, page, account
        self.id = account["user"]["id"] if account else None
        self.name = account["user"]["username"] if account else None
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def _console(self, msg) -> None:
        text = msg.text
        if msg.type == "error" and ("Content Security Policy" in text or "Refused to" in text or "unsafe-eval" in text):
            self.problems.append(text)

    def assert_clean(self) -> None:
        assert not self.problems, self.problems

    async def close(self) -> None:
        await self.context.close()


async def new_person(browser, url: str, account: dict | None = None, path: str = "/", viewport=(1200, 780),
                     locale: str = "en-US") -> Person:
    """A fresh context; with an account, already logged in (token in sessionStorage)."""
    context = await browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    if account is not None:
        token, user = json.dumps(account["token"]), json.dumps(json.dumps(account["user"]))
        await context.add_init_script(
            f"if (!sessionStorage.getItem('townsquare.token')) {{"
            f"sessionStorage.setItem('townsquare.token', {token});"
            f"sessionStorage.setItem('townsquare.user', {user}); }}")
    page = await context.new_page()
    person = Person(context, page, account)
    await page.goto(url + path)
    return person


async def enter_room(person: Person, slug: str, name: str) -> None:
    """Be in a room: a new account lands in the Plaza by itself (beside the guide); any other
    room is chosen from the room list (the Rooms menu)."""
    page = person.page
    stage = page.locator(".stage[data-room]")
    await stage.wait_for()
    if await stage.get_attribute("data-room") != slug:
        # By what the buttons do, not their words: the page may speak the account's language.
        await page.locator('.menu button[data-action="rooms"]').click()
        await page.locator(f'.room-item[data-slug="{slug}"] button').click()
        await page.locator(f'.stage[data-room="{slug}"]').wait_for()
    await page.locator(f'.person[data-id="{person.id}"]').wait_for(state="attached")  # a phone's list is in the closed drawer


async def person_in_world(browser, world, slug: str = "plaza", name: str = "The Plaza", **register) -> Person:
    account = await world.register(**register)
    p = await new_person(browser, world.url, account)
    await p.page.locator('.conn-status[data-state="online"]').wait_for()
    await enter_room(p, slug, name)
    return p


def midday_offset(rate: float = 0.25) -> float:
    """`residents_clock_offset_min` that makes the scaled world clock read 10:00 now: the guide
    keeps to the Plaza (world.yaml: 06:00 to 20:00) for a module's whole run, whatever the hour."""
    import time

    return (600 - (time.time() * rate) % 1440) % 1440


def shot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name


async def fresh_room(world, **kw) -> tuple[str, str]:
    """A new public room of its own for a test (people from other tests are not in it)."""
    import uuid

    slug = f"t{uuid.uuid4().hex[:8]}"
    name = f"Room {slug}"
    await world.ctx.rooms.create_room(slug, name, **kw)
    return slug, name


async def open_person(me: Person, other_id: str) -> None:
    """Open the actions of someone from the people list (the keyboard-friendly mirror of the canvas)."""
    await me.page.locator(f'.person[data-id="{other_id}"] button').click()


async def balance(person: Person) -> int:
    value = await person.page.locator(".balance").get_attribute("data-balance")
    return int(value) if value is not None else -1
