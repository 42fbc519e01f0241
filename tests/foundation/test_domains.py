"""The wiring is stated: each domain declares one `Domain`, `server.domains.DOMAINS` lists them in
order, hooks are used only after the domain that offers them, and a new domain is its own folder
plus its entry in that list (a toy domain added to a copy of the tree, and one run in a world)."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
import textwrap
from operator import attrgetter
from pathlib import Path

import aiohttp
import pytest_asyncio

from server.domain import Command, Domain
from server.domains import DOMAINS, commands, doctor_sections, seed_steps
from tests.conftest import call, make_settings, start_world
from tests.foundation.test_layering import layering_violations

ROOT = Path(__file__).resolve().parents[2]
# Hooks the context, the hub and the realtime facade offer to every domain.
CORE_HOOKS = {"public_text_checks", "live_figures", "session_fields", "hub.on_connect", "hub.on_disconnect",
              "realtime.observe", "realtime.handle"}


def test_each_domain_is_its_folder_and_uses_only_hooks_offered_before_it():
    names = [d.name for d in DOMAINS]
    assert len(set(names)) == len(names)
    offered = set(CORE_HOOKS)
    for d in DOMAINS:
        assert (ROOT / "server" / d.name / "domain.py").is_file(), d.name
        assert set(d.uses) <= offered, f"{d.name} uses {set(d.uses) - offered} before anyone offers it"
        offered |= set(d.offers)


def test_nothing_is_wired_by_importing_it():
    """No importlib in the wiring and no module-level registry filled by imports."""
    for path in ("server/app.py", "server/cli.py", "server/domains.py", "server/db/models.py",
                 "server/doctor.py", "server/world/seed.py"):
        text = (ROOT / path).read_text()
        assert "import_module" not in text and "register_seed_step" not in text, path
    assert {"inference", "moderation", "translation", "residents"} <= set(doctor_sections())
    steps = [s.__name__ for s in seed_steps()]
    assert steps.index("seed_shops") < steps.index("seed_residents")  # in domain order


def test_the_cli_offers_every_declared_command():
    from server.cli import build_parser

    parser = build_parser()
    for c in commands():
        args = parser.parse_args(c.name.split(" "))
        assert args.fn is c.run, c.name


async def test_every_offered_hook_is_there_on_a_running_world(world):
    for hook in CORE_HOOKS | {h for d in DOMAINS for h in d.offers}:
        assert attrgetter(hook)(world.ctx) is not None, hook  # a list, a dict, or the chat pipeline


# -- a toy domain -------------------------------------------------------------------------------
TOY_HANDLERS = '''
"""The toy domain's handlers: one socket event, one REST route."""

from server.realtime.hub import Connection, Empty


def setup(ctx) -> None:
    @ctx.hub.on("toy:ping", Empty, rate="5/second")
    async def ping(conn: Connection, _: Empty) -> dict:
        return {"pong": conn.username}
'''
TOY_DOMAIN = '''
"""A toy domain: one event, one command, one doctor line."""

from server.domain import Command, Domain
from server.toy import handlers


def hello(settings, args) -> int:
    """Say hello."""
    print("hello from the toy")
    return 0


DOMAIN = Domain(name="toy", setup=handlers.setup, doctor=lambda settings: {"toy": ("ok", "here")},
                commands=(Command("toy hello", hello),), uses=("accounts.on_login",))
'''


def add_toy_domain(tree: Path) -> None:
    """What docs/TEAM.md ("Add a domain") says to do: a folder, then its entry in server/domains.py."""
    pkg = tree / "server" / "toy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "handlers.py").write_text(TOY_HANDLERS.lstrip())
    (pkg / "domain.py").write_text(TOY_DOMAIN.lstrip())
    domains = tree / "server" / "domains.py"
    text = domains.read_text()
    text = text.replace("from server.world.domain import DOMAIN as world\n",
                        "from server.toy.domain import DOMAIN as toy\nfrom server.world.domain import DOMAIN as world\n")
    head, sep, tail = text.partition("DOMAINS: tuple[Domain, ...] = (\n")
    text = head + sep + tail.replace("\n)\n", "\n    toy,\n)\n", 1)
    domains.write_text(text)


def test_a_toy_domain_is_its_folder_plus_its_entry_in_the_list(tmp_path):
    tree = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("server", "ai"):
        shutil.copytree(ROOT / part, tree / part, ignore=ignore)
    before = (tree / "server" / "domains.py").read_text().splitlines()
    add_toy_domain(tree)
    changed = [p.relative_to(tree).as_posix() for p in tree.rglob("*.py")
               if not (ROOT / p.relative_to(tree)).is_file() or (ROOT / p.relative_to(tree)).read_text() != p.read_text()]
    assert sorted(changed) == ["server/domains.py", "server/toy/__init__.py", "server/toy/domain.py",
                               "server/toy/handlers.py"]
    added = [line for line in difflib.unified_diff(before, (tree / "server" / "domains.py").read_text().splitlines(),
                                                   lineterm="", n=0)
             if line.startswith("+") and not line.startswith("+++")]
    assert added == ["+from server.toy.domain import DOMAIN as toy", "+    toy,"]
    assert layering_violations(tree) == []
    # The copy's CLI and doctor see the toy; nothing else was told about it.
    script = textwrap.dedent("""
        from server.cli import main
        from server.domains import DOMAINS, doctor_sections
        assert DOMAINS[-1].name == "toy" and doctor_sections()["toy"](None) == {"toy": ("ok", "here")}
        raise SystemExit(main(["toy", "hello"]))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=tree, capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert "hello from the toy" in out.stdout


@pytest_asyncio.fixture(loop_scope="session")
async def toy_world(db_url, tmp_path):
    """A world with one more domain that records its lifecycle and seeds nothing."""
    calls: list[str] = []

    def setup(ctx) -> None:
        calls.append("setup")

        @ctx.api.route("GET", "/api/toy", tag="toy")
        async def toy(request):
            """The toy's one route."""
            return {"toy": ctx.rooms is not None}

    async def startup(ctx) -> None:
        calls.append("startup")

    async def shutdown(ctx) -> None:
        calls.append("shutdown")

    toy = Domain(name="toy", setup=setup, startup=startup, shutdown=shutdown,
                 commands=(Command("toy", lambda s, a: 0),))
    server = await start_world(make_settings(tmp_path), db_url, domains=(*DOMAINS, toy))
    yield server, calls
    await server.close_clients()
    await server.runner.cleanup()
    assert calls == ["setup", "startup", "shutdown"]


async def test_a_toy_domain_runs_in_a_world_after_the_others(toy_world):
    server, calls = toy_world
    assert calls == ["setup", "startup"]
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/api/toy") as r:
        assert r.status == 200 and await r.json() == {"toy": True}
    _, c = await server.user()
    assert (await call(c, "room:list"))["ok"]  # the other domains are all there
