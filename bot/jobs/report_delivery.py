"""Leaders receive the report draft in chat on schedule: on the configured day before each legal
deadline the draft is written and queued (summary + .docx) to every leader chat, once per kind and year.
A daily scheduler job calls `deliver_due_report`; `danvan report --send` does it by hand."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from bot.core.domain import Attachment, Channel, Reply
from bot.documents.report_docx import write_report_docx
from bot.documents.statistics import build_report, report_deadline, report_due, report_period
from bot.service.transactions import Services
from storage.engine import read_session, write_session
from storage.models import ReportDraft
from storage.outbox import enqueue_message

log = logging.getLogger(__name__)
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def deadline_of(services: Services, kind: str, year: int) -> date | None:
    return report_deadline(services.settings, kind, year)


def send_report_draft(services: Services, *, kind: str, today: date, folder: Path) -> Path | None:
    """Write the draft and queue it to the leaders; None when this kind/year was already sent."""
    settings, now = services.settings, services.clock.now()
    period = report_period(kind, today.year, today=today)
    with read_session(services.engine) as session:
        report = build_report(session, settings, period)
    name = f"bao-cao-{'6-thang' if kind == '6m' else 'nam'}-{today.year}.docx"
    path = write_report_docx(report, folder / name, settings=settings, texts=services.texts, today=today)
    text = services.texts.render("report/draft_ready", kind=kind, year=today.year, report=report,
                                 deadline=deadline_of(services, kind, today.year))
    reply = Reply(text=text, attachments=(Attachment(kind="document", path=str(path), name=name, mime=DOCX_MIME,
                                                     size=path.stat().st_size),))
    try:
        with write_session(services.engine) as session:
            session.add(ReportDraft(kind=kind, year=today.year, path=str(path), created_at=now))
            session.flush()
            for chat_id in settings.reports.leader_chat_ids:
                enqueue_message(session, channel=str(Channel.TELEGRAM), chat_id=chat_id, payload=reply.to_json(),
                                now=now)
    except IntegrityError:
        return None
    log.info("report draft %s/%s queued to %d leader chats", kind, today.year, len(settings.reports.leader_chat_ids))
    return path


def deliver_due_report(services: Services) -> Path | None:
    """The scheduler's daily call: send the draft that falls due today, if any."""
    today = services.clock.now().astimezone(services.settings.commune.tz).date()
    kind = report_due(services.settings, today)
    folder = Path(services.settings.reports.output_dir)
    return send_report_draft(services, kind=kind, today=today, folder=folder) if kind else None
