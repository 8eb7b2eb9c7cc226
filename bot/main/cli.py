"""The `danvan` command: run the bot, chat in the terminal, migrate, compute deadlines, classify."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from datetime import date

from bot.main import log_redaction as redaction
from bot.main.cli_documents import parse_cli_date
from storage.crypto import DataKeyError
from bot.config.settings import ConfigError, Settings, load_settings
from storage.crypto import is_production, missing_secrets

def _say(template: str, **context: object) -> str:
    """A terminal text from templates/vi/cli/ (every user-facing text lives in templates)."""
    from bot.core.render import Texts, html_to_plain

    return html_to_plain(Texts().render(f"cli/{template}", **context))


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_run(args: argparse.Namespace) -> int:
    """Serve every configured channel (Telegram, Zalo, both) with the web and the scheduler; with no
    channel at all, the web front and the console chat."""
    from bot.main.composition import channel_report, log_channels

    settings = _settings(args)
    if not any(on for _, on, _ in channel_report(settings)):
        log_channels(settings)
        return cmd_local(args, banner=_say("no_token"))
    from telegram.error import InvalidToken

    from bot.main.composition import run_telegram

    try:
        asyncio.run(run_telegram(settings))
    except InvalidToken:
        print("danvan: Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN", file=sys.stderr)
        return 2
    return 0


def cmd_chat(args: argparse.Namespace, *, banner: str = "") -> int:
    """The citizen conversation in this terminal."""
    from bot.main.services import build_services
    from bot.main.console import run_console

    settings = _settings(args)
    if not args.verbose:
        logging.getLogger().setLevel(logging.WARNING)
    services = build_services(settings)
    user_id = getattr(args, "user", None) or "console"
    if getattr(args, "as_role", None) not in (None, "", "citizen"):
        from bot.main.officials_cli import console_identity
        from storage.engine import write_session

        with write_session(services.engine) as session:
            user_id = console_identity(session, args.as_role, now=services.clock.now(),
                                       offices={o.code for o in settings.offices})
    try:
        asyncio.run(run_console(services, user_id=user_id, banner=banner))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_local(args: argparse.Namespace, *, banner: str = "") -> int:
    """No Telegram token: serve the web front in the background and chat in this terminal."""
    from bot.main.composition import run_local

    settings = _settings(args)
    if not args.verbose:
        logging.getLogger().setLevel(logging.WARNING)
    try:
        asyncio.run(run_local(settings, banner=banner))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """Schema migrations."""
    from storage.engine import make_engine
    from storage.migrate import downgrade_database, upgrade_database

    engine = make_engine(_settings(args).database_url)
    if args.action == "upgrade":
        upgrade_database(engine, args.revision or "head")
    else:
        downgrade_database(engine, args.revision or "-1")
    print(f"database {args.action}d to {args.revision or ('head' if args.action == 'upgrade' else '-1')}")
    return 0


def cmd_deadline(args: argparse.Namespace) -> int:
    """Print the due dates of a ticket type received (and maybe accepted) on given dates."""
    from bot.core.deadlines import compute_deadlines, deadlines_to_json
    from bot.core.workdays import WorkingCalendar

    settings = _settings(args)
    rule_set = args.rules or settings.deadlines.rule_set
    spec = settings.ticket_type(args.type)
    if rule_set not in spec.rules:
        raise SystemExit(f"danvan: rule set {rule_set!r} is not configured for {args.type}")
    calendar = WorkingCalendar(extra_days_off=settings.calendar.extra_days_off,
                               extra_working_days=settings.calendar.extra_working_days)
    due = compute_deadlines(spec.type_rules(rule_set), received=args.received, accepted=args.accepted,
                            calendar=calendar)
    if args.json:
        print(json.dumps(deadlines_to_json(due)))
    else:
        print(_say("deadline", type_name=spec.name, received=args.received, rule_set=rule_set, due=due))
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Load and validate the configuration; list the channels and the offices nobody would hear from."""
    from bot.main.composition import channel_report

    settings = _settings(args)
    print(f"config OK: {settings.commune.full_name}, {len(settings.offices)} offices, "
          f"{len(settings.categories)} categories, rule set {settings.deadlines.rule_set}")
    for channel, on, why in channel_report(settings):
        print(f"channel {channel}: {'on' if on else 'off'} ({why})")
    try:
        from bot.tickets.recipients import unheard_offices
        from storage.engine import read_session

        services = _services(args)
        with read_session(services.engine) as session:
            unheard = unheard_offices(session, settings)
    except Exception as exc:  # noqa: BLE001 - the database is optional for a config check
        print(f"warning: could not read the database to check who hears each office ({type(exc).__name__})")
        return check_secrets()
    if unheard:
        print("warning: nobody will hear of new petitions for offices: " + ", ".join(unheard)
              + " (no group on any channel, no registered official, no leader; see README,"
              " who hears about an office's petitions)")
    else:
        print("every office is reached (a group, a registered official or a leader)")
    return check_secrets()


def check_secrets(environ: dict[str, str] | None = None) -> int:
    """Name the secrets not set: required (exit 1) when DANVAN_ENV=production, else generated locally."""
    missing = missing_secrets(environ)
    production = is_production(environ)
    for name, purpose in missing:
        if production:
            print(f"missing secret: {name} ({purpose}) is required when DANVAN_ENV=production", file=sys.stderr)
        else:
            print(f"note: {name} ({purpose}) not set: a local file is generated (set it in production)")
    return 1 if production and missing else 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Check the audit log's hash chain; exit 1 when a row was changed or deleted."""
    from storage.audit import verify_chain
    from storage.engine import make_engine

    report = verify_chain(make_engine(_settings(args).database_url))
    if report.ok:
        print(f"audit log OK: {report.events} events, chain intact")
        return 0
    print(f"audit log BROKEN at event {report.broken_at}: {report.reason} ({report.events} events verified before it)")
    return 1


def cmd_zalo(args: argparse.Namespace) -> int:
    """First authorisation of the Zalo OA (OAuth v4 with PKCE): print the URL, then trade the code."""
    from bot.core.clock import SystemClock
    from notifications.zalo.api import ZaloApiError, ZaloClient
    from notifications.zalo.tokens import TokenUnavailable, ZaloTokens
    from storage.engine import make_engine
    from storage.migrate import upgrade_database

    settings = _settings(args)
    zalo = settings.zalo
    if args.action == "group":
        from bot.main.zalo_groups_cli import cmd_zalo_group

        return cmd_zalo_group(args, _services(args))
    if not zalo.app_id or not zalo.app_secret:
        print("danvan: set ZALO_APP_ID and ZALO_APP_SECRET first", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    upgrade_database(engine)
    client = ZaloClient(zalo)
    tokens = ZaloTokens(engine, SystemClock(), client, zalo)
    if args.action == "auth-url":
        if not zalo.redirect_uri:
            print("danvan: warning: zalo.redirect_uri is empty; Zalo needs the callback URL registered for the app",
                  file=sys.stderr)
        print(tokens.authorization_url())
        print("Open this link while logged in as the OA's admin, approve, then run: danvan zalo exchange CODE",
              file=sys.stderr)
        return 0
    if not args.code:
        print("danvan: give the code from the redirect: danvan zalo exchange CODE", file=sys.stderr)
        return 2

    async def exchange() -> object:
        try:
            return await tokens.exchange_code(args.code)
        finally:
            await client.close()

    try:
        expires = asyncio.run(exchange())
    except (ZaloApiError, TokenUnavailable) as exc:
        print(f"danvan: Zalo refused the code: {exc}", file=sys.stderr)
        return 1
    print(f"Zalo OA authorised; access token valid until {expires:%Y-%m-%d %H:%M} UTC, refreshed automatically.")
    return 0


def _week(value: str) -> date:
    from bot.jobs.office_hours import parse_week

    try:
        return parse_week(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _services(args: argparse.Namespace):  # noqa: ANN202 - Services, imported lazily
    from bot.main.services import build_services

    return build_services(_settings(args))


def cmd_plan(args: argparse.Namespace) -> int:
    """Print the weekly petition-handling plan (all offices, or one)."""
    from bot.jobs.weekly_plan import build_plan, render_plan
    from bot.core.render import html_to_plain
    from storage.engine import read_session

    services = _services(args)
    monday = args.week
    with read_session(services.engine) as session:
        plans = build_plan(session, services.settings, monday=monday, office=args.office)
    if args.office and not plans:
        print(f"danvan: unknown office {args.office!r}", file=sys.stderr)
        return 2
    print(html_to_plain(render_plan(services.texts, plans, monday=monday, consolidated=False)))
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    """Write the leaders' weekly digest (text and chart PNG) for a week into a folder."""
    from pathlib import Path

    from bot.jobs.digest import build_digest, office_names, render_digest, write_chart
    from bot.jobs.office_hours import week_label
    from bot.core.render import html_to_plain
    from storage.engine import read_session

    services = _services(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    label = week_label(args.week)
    with read_session(services.engine) as session:
        digest = build_digest(session, services.settings, monday=args.week, now=services.clock.now())
        text = html_to_plain(render_digest(services.texts, services.settings, digest,
                                           office_names=office_names(session)))
    (out / f"digest-{label}.txt").write_text(text + "\n", encoding="utf-8")
    png = write_chart(services.settings, digest, out / f"digest-{label}.png")
    print(text)
    print(f"\n-> {out / f'digest-{label}.txt'}\n-> {png}")
    return 0


def cmd_hotspots(args: argparse.Namespace) -> int:
    """Print the current hot spots: mass petitions, hamlet clusters, near-duplicate groups."""
    from bot.jobs.hotspots import find_hotspots
    from storage.engine import read_session

    services = _services(args)
    settings = services.settings
    with read_session(services.engine) as session:
        spots = find_hotspots(session, settings, services.clock.now(), days=args.days)
    print(_say("hotspots", spots=spots, days=args.days,
               category_names={c.code: c.name for c in settings.categories}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="danvan", description="danvan: the citizen-feedback system of a commune People's Committee")
    parser.add_argument("--config", help="path to config.yaml (default: ./config.yaml or DANVAN_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the bot (console chat when no Telegram token)").set_defaults(func=cmd_run)
    chat = sub.add_parser("chat", help="talk to danvan in this terminal")
    chat.add_argument("--user", default="console", help="console user id (to play several citizens)")
    chat.add_argument("--as", dest="as_role", default="citizen",
                      help="citizen | official:KT | head:KT | leader (officials are seeded for the console)")
    chat.set_defaults(func=cmd_chat)
    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(func=cmd_db)
    dl = sub.add_parser("deadline", help="print the legal due dates")
    dl.add_argument("--type", required=True, choices=["phan_anh", "kien_nghi", "gop_y", "khieu_nai", "to_cao"])
    dl.add_argument("--received", required=True, type=parse_cli_date)
    dl.add_argument("--accepted", type=parse_cli_date)
    dl.add_argument("--rules", choices=["2011", "2026"])
    dl.add_argument("--json", action="store_true")
    dl.set_defaults(func=cmd_deadline)
    from bot.main.cli_classify import add_classify_command

    add_classify_command(sub)
    sub.add_parser("check-config", help="validate config.yaml").set_defaults(func=cmd_check_config)
    audit = sub.add_parser("audit", help="audit log tools")
    audit.add_argument("action", choices=["verify"])
    audit.set_defaults(func=cmd_audit)
    from bot.main.officials_cli import add_subcommands

    add_subcommands(sub)
    from bot.main.cli_documents import add_document_commands

    add_document_commands(sub)

    zalo = sub.add_parser("zalo", help="Zalo OA authorisation (PKCE) and office groups")
    zalo.add_argument("action", choices=["auth-url", "exchange", "group"])
    zalo.add_argument("code", nargs="?",
                      help="exchange: the authorisation code from the redirect; group: create | link | list")
    from bot.main.zalo_groups_cli import add_group_arguments

    add_group_arguments(zalo)
    zalo.set_defaults(func=cmd_zalo)

    plan = sub.add_parser("plan", help="print the weekly petition-handling plan")
    plan.add_argument("--week", required=True, type=_week, help="ISO week, e.g. 2026-W24")
    plan.add_argument("--office", help="one office code (default: all)")
    plan.set_defaults(func=cmd_plan)
    digest = sub.add_parser("digest", help="write the leaders' weekly digest (text + PNG chart)")
    digest.add_argument("--week", required=True, type=_week, help="ISO week, e.g. 2026-W24")
    digest.add_argument("--out", required=True, help="folder for the text and the PNG")
    digest.set_defaults(func=cmd_digest)
    hot = sub.add_parser("hotspots", help="print current hot spots and mass petitions")
    hot.add_argument("--days", type=int, default=14)
    hot.set_defaults(func=cmd_hotspots)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "aiohttp.access", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    redaction.install()               # no secret in any log line, whoever logs it
    if getattr(args, "func", None) is None:
        args.func = cmd_run
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"danvan: configuration error: {redaction.redact(str(exc), redaction.secret_values(os.environ))}",
              file=sys.stderr)
        return 2
    except DataKeyError as exc:
        print(f"danvan: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        if args.func is cmd_deadline:
            print(f"danvan: {exc}", file=sys.stderr)
            return 2
        return _crashed(exc)
    except Exception as exc:  # noqa: BLE001 - logged (scrubbed) instead of a raw traceback on stderr
        return _crashed(exc)


def _crashed(exc: BaseException) -> int:
    """An unexpected error: its traceback goes through logging, whose filter removes secrets
    (library errors quote them: python-telegram-bot's InvalidToken prints the whole token)."""
    logging.getLogger("danvan").critical("danvan stopped: %s: %s", type(exc).__name__, exc, exc_info=exc)
    return 1


if __name__ == "__main__":
    sys.exit(main())
