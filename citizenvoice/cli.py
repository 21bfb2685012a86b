"""The ``citizenvoice`` command: serve, migrate and user here; backup, restore, check, purge, erase,
export, demo and queue-report from the ops/ modules, which register themselves when imported below."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from citizenvoice import db as database
from citizenvoice.domain import accounts, sitesettings, twofactor
from citizenvoice.ops import demo, maintenance, moving, reports  # noqa: F401  (each registers its commands)
from citizenvoice.ops.commands import CLI_ACTOR, COMMANDS, command, run_async
from citizenvoice.settings import Settings, SettingsError, ensure_secret_key
from citizenvoice.store import admin as admin_store
from citizenvoice.store import users as user_store


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--log-level", default="info")
    p.add_argument("--allow-local-links", action="store_true",
                   help="serve other machines although CITIZENVOICE_BASE_URL names this one (links will not work for them)")


@command("serve", "serve the site with uvicorn", _serve_args)
def serve(args: argparse.Namespace, settings: Settings) -> int:
    from citizenvoice import serving, startup
    from citizenvoice.web import logs

    logs.configure_logging(settings.log_level)
    problem = startup.base_url_warning(settings, args.host)
    if problem and not args.allow_local_links:
        # Every share card, feed, sitemap and message to an author would carry a link nobody can open.
        print(startup.refusal(problem), file=sys.stderr)
        return 1
    # Done once here, before workers start, so they neither race to migrate nor to create the key,
    # and the first-admin link and the base-URL warning are printed once however many there are.
    database.migrate_or_report(settings.database, logging.getLogger("citizenvoice.db"))
    ensure_secret_key(settings)
    startup.announce(settings, host=args.host, port=args.port)
    return serving.run("citizenvoice.app:create_app", host=args.host, port=args.port, workers=args.workers,
                       log_level=args.log_level, log_config=logs.uvicorn_log_config(settings.log_level))  # fmt: skip


@command("migrate", "apply pending database migrations")
def migrate(args: argparse.Namespace, settings: Settings) -> int:
    applied = database.migrate(settings.database)
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def _user_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="user_command", required=True)
    add = sub.add_parser("add", help="add a staff user")
    add.add_argument("name")
    add.add_argument("--role", action="append", choices=accounts.ROLES, required=True)
    add.add_argument("--display-name", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    disable = sub.add_parser("disable", help="disable a user and end their sessions")
    disable.add_argument("name")
    sub.add_parser("list", help="list users")
    reset = sub.add_parser("reset-2fa", help="remove a user's second factor (lost phone) and end their sessions")
    reset.add_argument("name")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码 / password: ")
    if first != getpass.getpass("再次输入 / again: "):
        raise SystemExit("两次输入的密码不一致 / passwords differ")
    return first


@command("user", "manage staff users", _user_args)
def user(args: argparse.Namespace, settings: Settings) -> int:
    if args.user_command == "add":
        password = _read_password(args.password_stdin)

        async def add(db: database.Database) -> int:
            async with db.read() as conn:
                if await user_store.get_by_username(conn, args.name):
                    print(f"用户已存在 / user exists: {args.name}", file=sys.stderr)
                    return 1
                site = await sitesettings.load(conn, settings)
            try:
                accounts.check_password(password, username=args.name, avoid=(site.paper_name, site.site_name))
            except accounts.WeakPassword as exc:
                print(exc, file=sys.stderr)
                return 2
            password_hash = accounts.hash_password(password)
            async with db.write() as conn:
                await user_store.create_user(conn, args.name, password_hash, set(args.role), args.display_name)
                # An operator's change is an admin change too: it goes to the same audit trail.
                after = {"username": args.name, "display_name": args.display_name, "roles": sorted(set(args.role))}
                await admin_store.record_audit(conn, actor_id=None, actor_name=CLI_ACTOR, action="user.add",
                                               target=f"user:{args.name}", after=after)
            print(f"added {args.name} ({', '.join(sorted(set(args.role)))})")
            return 0

        return run_async(settings, add)
    if args.user_command == "disable":

        async def disable(db: database.Database) -> int:
            async with db.write() as conn:
                record = await user_store.get_by_username(conn, args.name)
                if record is None:
                    print(f"no such user: {args.name}", file=sys.stderr)
                    return 1
                await user_store.set_disabled(conn, record.user.id, True)
                if not record.user.disabled:
                    await admin_store.record_audit(conn, actor_id=None, actor_name=CLI_ACTOR, action="user.disable",
                                                   target=f"user:{args.name}", before={"disabled": False},
                                                   after={"disabled": True})
            print(f"disabled {args.name}")
            return 0

        return run_async(settings, disable)
    if args.user_command == "reset-2fa":
        return run_async(settings, lambda db: _reset_two_factor(db, args.name))

    async def list_all(db: database.Database) -> int:
        async with db.read() as conn:
            for u in await user_store.list_users(conn):
                state = "disabled" if u.disabled else "active"
                print(f"{u.username}\t{','.join(sorted(u.roles))}\t{state}")
        return 0

    return run_async(settings, list_all)


async def _reset_two_factor(db: database.Database, name: str) -> int:
    """For when no other admin can reset it at /admin/users/<id>: e.g. the only admin lost their phone."""
    async with db.write() as conn:
        record = await user_store.get_by_username(conn, name)
        if record is None:
            print(f"no such user: {name}", file=sys.stderr)
            return 1
        if not await twofactor.reset(conn, record.user, actor_id=None, actor_name=CLI_ACTOR):
            print(f"{name} has no second factor; nothing to reset")
            return 0
    print(f"reset the second factor of {name} and ended their sessions; they sign in with the password and enrol again")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="citizenvoice", description="写给下一个五年 — CitizenVoice")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, arguments, help_text) in sorted(COMMANDS.items()):
        arguments(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"citizenvoice: {exc}", file=sys.stderr)
        return 1
    return COMMANDS[args.command][0](args, settings)


if __name__ == "__main__":
    sys.exit(main())
