"""Documents from the back office: the register (.xlsx), the 6-month/annual report (.docx) and the
weekly plan (.xlsx) for a chosen period, built by bot.documents exactly as the command line does;
each download is an audit event (who, which document, which period)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from bot.backoffice.desk import Desk
from bot.documents.register_xlsx import write_register
from bot.documents.report_docx import write_report_docx
from bot.documents.statistics import build_report, report_period
from bot.documents.weekly_plan_xlsx import XLSX_MIME, write_plan_xlsx
from bot.jobs.weekly_plan import build_plan
from storage.models import TicketEvent

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAX_REGISTER_DAYS = 3 * 366


@dataclass(frozen=True)
class Document:
    name: str
    mime: str
    body: bytes


class BadPeriod(ValueError):
    """The period asked for makes no sense (end before start, too long)."""


def register(desk: Desk, start: date, end: date) -> Document:
    if end < start or (end - start).days > MAX_REGISTER_DAYS:
        raise BadPeriod("period")
    with tempfile.TemporaryDirectory() as folder:
        out = write_register(desk.session, desk.settings, desk.texts, start, end, Path(folder) / "so.xlsx")
        body = out.read_bytes()
    return Document(f"so-theo-doi-don-{start:%Y%m%d}-{end:%Y%m%d}.xlsx", XLSX_MIME, body)


def report(desk: Desk, kind: str, year: int, start: date | None = None, end: date | None = None) -> Document:
    try:
        period = report_period(kind if kind in ("6m", "year") else "6m", year, start=start, end=end, today=desk.today)
    except ValueError as exc:
        raise BadPeriod("period") from exc
    built = build_report(desk.session, desk.settings, period)
    with tempfile.TemporaryDirectory() as folder:
        out = write_report_docx(built, Path(folder) / "bao-cao.docx", settings=desk.settings, texts=desk.texts,
                                today=desk.today)
        body = out.read_bytes()
    return Document(f"bao-cao-{period.start:%Y%m%d}-{period.end:%Y%m%d}.docx", DOCX_MIME, body)


def weekly_plan(desk: Desk, day: date) -> Document:
    """The plan of the week containing `day`: a leader's covers every office, anyone else's their own."""
    monday = day - timedelta(days=day.weekday())
    office = None if desk.is_leader else desk.official.office_code
    plans = build_plan(desk.session, desk.settings, monday=monday, today=max(monday, min(desk.today, monday +
                                                                                           timedelta(days=6))),
                       office=office)
    label = desk.settings.office(office).name if office else ""
    with tempfile.TemporaryDirectory() as folder:
        out = write_plan_xlsx(desk.texts, plans, monday=monday, office=label, commune=desk.settings.commune.name,
                              path=Path(folder) / "ke-hoach.xlsx")
        body = out.read_bytes()
    return Document(f"ke-hoach-tuan-{monday:%Y%m%d}{'-' + office.lower() if office else ''}.xlsx", XLSX_MIME, body)


def audit_download(desk: Desk, kind: str, detail: str) -> None:
    desk.session.add(TicketEvent(ticket_id=None, at=desk.now, actor=desk.actor, action="web_download",
                                 note=f"document={kind} {detail}"))
