"""`danvan report`, `danvan register` and `danvan apikey`: the documents officials file and the keys
other systems use. Registered on the main parser by bot.main.cli."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path


def parse_cli_date(value: str) -> date:
    """YYYY-MM-DD, or dd/mm/yyyy as Vietnamese offices write dates (every CLI date argument)."""
    try:
        if "/" in value:
            day, month, year = (int(part) for part in value.strip().split("/"))
            return date(year, month, day)
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD or dd/mm/yyyy): {value!r}") from None


def _open(args: argparse.Namespace):  # noqa: ANN202
    from bot.main.services import build_services
    from bot.config.settings import load_settings

    return build_services(load_settings(args.config))


def cmd_report(args: argparse.Namespace) -> int:
    """Write the 6-month or annual petition report (.docx, NĐ 30/2020 layout) from the database."""
    from bot.documents.report_docx import write_report_docx
    from bot.documents.statistics import build_report, report_period
    from storage.engine import read_session

    services = _open(args)
    today = services.clock.now().astimezone(services.settings.commune.tz).date()
    period = report_period(args.period, args.year or today.year, start=args.date_from, end=args.date_to, today=today)
    with read_session(services.engine) as session:
        report = build_report(session, services.settings, period)
    out = write_report_docx(report, Path(args.out), settings=services.settings, texts=services.texts, today=today)
    print(f"report {period.start:%d/%m/%Y}–{period.end:%d/%m/%Y}: {report.total} petitions → {out}")
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    """Write the petition register (sổ theo dõi đơn, .xlsx) for tickets received in a date range."""
    from bot.documents.register_xlsx import write_register
    from storage.engine import read_session

    services = _open(args)
    if args.date_to < args.date_from:
        raise SystemExit("danvan: --to is before --from")
    with read_session(services.engine) as session:
        out = write_register(session, services.settings, services.texts, args.date_from, args.date_to, Path(args.out))
    print(f"register {args.date_from:%d/%m/%Y}–{args.date_to:%d/%m/%Y} → {out}")
    return 0


def cmd_apikey(args: argparse.Namespace) -> int:
    """Create, list or revoke the API keys other systems use to POST Open311 requests."""
    from bot.interop.api_keys import create_api_key, list_api_keys, revoke_api_key
    from storage.engine import read_session, write_session

    services = _open(args)
    now = services.clock.now()
    if args.action == "create":
        if not args.name:
            raise SystemExit("danvan: apikey create needs a NAME")
        with write_session(services.engine) as session:
            row, plain = create_api_key(session, name=args.name, now=now)
        print(f"API key #{row.id} for {row.name} (shown once, keep it secret):\n{plain}")
    elif args.action == "list":
        with read_session(services.engine) as session:
            for row in list_api_keys(session):
                state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
                print(f"#{row.id}\t{row.name}\t{row.created_at:%Y-%m-%d}\t{state}")
    else:
        with write_session(services.engine) as session:
            ok = revoke_api_key(session, int(args.name), now=now)
        if not ok:
            raise SystemExit(f"danvan: no active API key #{args.name}")
        print(f"API key #{args.name} revoked")
    return 0


def add_document_commands(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    """Add report, register and apikey to the `danvan` parser."""
    report = sub.add_parser("report", help="write the petition report (.docx)")
    report.add_argument("--period", choices=["6m", "year"], default="6m")
    report.add_argument("--year", type=int)
    report.add_argument("--from", dest="date_from", type=parse_cli_date)
    report.add_argument("--to", dest="date_to", type=parse_cli_date)
    report.add_argument("--out", required=True)
    report.set_defaults(func=cmd_report)
    register = sub.add_parser("register", help="write the petition register (.xlsx)")
    register.add_argument("--from", dest="date_from", type=parse_cli_date, required=True)
    register.add_argument("--to", dest="date_to", type=parse_cli_date, required=True)
    register.add_argument("--out", required=True)
    register.set_defaults(func=cmd_register)
    apikey = sub.add_parser("apikey", help="API keys for Open311 clients")
    apikey.add_argument("action", choices=["create", "list", "revoke"])
    apikey.add_argument("name", nargs="?", help="NAME for create, key id for revoke")
    apikey.set_defaults(func=cmd_apikey)
