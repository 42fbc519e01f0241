"""What a domain declares: one `Domain` object per folder (`server/<name>/domain.py`), listed in
order by `server/domains.py`. Nothing registers itself by being imported; app.py, the CLI, seeding
and the doctor read these declarations."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.config import Settings
    from server.context import AppContext
    from server.doctor import Section
    from server.world.seed import SeedStep


def no_args(parser: argparse.ArgumentParser) -> None:
    """A command without options."""


@dataclass(frozen=True)
class Command:
    """A `townsquare` subcommand: `name` is one word or "group sub" (e.g. "economy audit");
    `run(settings, args)` returns the exit code and its docstring's first line is the help."""

    name: str
    run: Callable[[Settings, argparse.Namespace], int]
    configure: Callable[[argparse.ArgumentParser], None] = no_args
    group_help: str = ""  # the help of the group ("economy"), given by its first command


@dataclass(frozen=True)
class Domain:
    """One domain's wiring. `setup(ctx)` builds its services and registers its handlers;
    `startup` / `shutdown` run in list order / reverse order. `offers` names the hooks its
    services expose for later domains (attribute paths such as "accounts.on_user_created");
    `uses` names the hooks of earlier domains it adds to (tests/foundation/test_domains.py holds
    that every use is offered earlier in the list)."""

    name: str
    models: ModuleType | None = None  # its SQLAlchemy models, so Base.metadata is complete for Alembic
    setup: Callable[[AppContext], None] | None = None
    startup: Callable[[AppContext], Awaitable[None]] | None = None
    shutdown: Callable[[AppContext], Awaitable[None]] | None = None
    seed: tuple[SeedStep, ...] = ()
    doctor: Section | None = None
    commands: tuple[Command, ...] = ()
    offers: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
