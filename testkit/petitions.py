"""Builds a small, known set of tickets through the real core (create_ticket, change_status), at
chosen moments, so report, register, public page and Open311 tests can check exact numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from bot.core.domain import TicketStatus as S
from bot.service.transactions import Services
from bot.tickets.records import Draft, change_status, create_ticket
from storage.engine import write_session
from storage.models import Ticket

VN = timezone(timedelta(hours=7))
DENOUNCER_NAME = "Hoàng Văn Bímật"
DENOUNCER_PHONE = "0912000111"


@dataclass(frozen=True)
class Spec:
    type: str
    category: str
    hamlet: str
    received: datetime
    path: tuple[tuple[S, datetime], ...] = ()
    contact: tuple[str, str] = ("", "")
    cosigners: int = 1
    description: str = "Đường liên thôn bị sạt lở nặng sau mưa lớn, xe máy không đi được"
    answer: str = "Đã sửa xong đoạn đường, đổ bê tông lại mặt đường."


def at(day: int, month: int, year: int = 2026, hour: int = 9) -> datetime:
    """A local (Hà Nội) moment as aware UTC."""
    return datetime(year, month, day, hour, tzinfo=VN).astimezone(timezone.utc)


def create(services: Services, spec: Spec, *, channel: str = "telegram") -> Ticket:
    """One ticket created at spec.received, then moved along spec.path with audited events."""
    settings = services.settings
    draft = Draft(type=spec.type, description=spec.description, category=spec.category, hamlet=spec.hamlet,
                  contact_mode="manual" if spec.contact[0] else "anonymous", contact_name=spec.contact[0],
                  contact_phone=spec.contact[1], cosigners=spec.cosigners)
    with write_session(services.engine) as session:
        created = create_ticket(session, settings=settings, calendar=services.calendar, draft=draft, channel=channel,
                                citizen_id=None, now=spec.received)
        ticket = created.ticket
        for target, moment in spec.path:
            note = spec.answer if target in (S.RESOLVED, S.REFERRED, S.REFUSED) else ""
            change_status(session, ticket, target, actor="official:test", action=str(target), now=moment, note=note)
            if target == S.RESOLVED:
                ticket.resolved_at = moment
    return ticket


def hamlet(services: Services, index: int) -> str:
    return services.settings.hamlets[index]


def seed_period(services: Services) -> list[Ticket]:
    """Eleven tickets around the first half of 2026 (see the test for the expected numbers)."""
    h0, h1, h2 = hamlet(services, 0), hamlet(services, 1), hamlet(services, 2)
    specs = [
        # carried over from 2025, resolved on time in January
        Spec("phan_anh", "ha_tang", h0, at(10, 12, 2025), ((S.ACCEPTED, at(11, 12, 2025)), (S.RESOLVED, at(5, 1)))),
        # carried over, finished in 2025: not counted
        Spec("kien_nghi", "an_sinh", h1, at(1, 12, 2025), ((S.ACCEPTED, at(2, 12, 2025)), (S.RESOLVED, at(8, 12, 2025)))),
        # new, resolved on time
        Spec("phan_anh", "ha_tang", h0, at(5, 2), ((S.ACCEPTED, at(6, 2)), (S.RESOLVED, at(10, 2))),
             contact=("Nguyễn Văn An", "0987654321")),
        Spec("phan_anh", "ha_tang", h0, at(9, 3), ((S.ACCEPTED, at(9, 3)), (S.RESOLVED, at(12, 3)))),
        Spec("phan_anh", "ha_tang", h0, at(16, 3)),                     # open, overdue by 30/6
        # late resolution (due ~ 15 working days)
        Spec("kien_nghi", "moi_truong", h1, at(2, 3), ((S.ACCEPTED, at(3, 3)), (S.RESOLVED, at(20, 5)))),
        Spec("gop_y", "van_hoa", h2, at(10, 6)),                        # open, not yet due
        # khiếu nại accepted and resolved on time
        Spec("khieu_nai", "dat_dai", h1, at(4, 4), ((S.ACCEPTED, at(8, 4)), (S.RESOLVED, at(28, 4))),
             contact=("Trần Thị Bình", "0911222333")),
        # tố cáo with an identified author: identity kept apart
        Spec("to_cao", "can_bo", h2, at(6, 5), ((S.ACCEPTED, at(7, 5)),),
             contact=(DENOUNCER_NAME, DENOUNCER_PHONE)),
        # anonymous tố cáo: information only
        Spec("to_cao", "an_ninh", "", at(7, 5)),
        # mass petition, referred outside the commune (not within its competence)
        Spec("kien_nghi", "dat_dai", h0, at(20, 5), ((S.REFERRED, at(22, 5)),), cosigners=12,
             description="=HYPERLINK(\"http://evil\",\"bấm\") nhiều hộ dân đề nghị xem xét việc thu hồi đất"),
        # after the period: not counted
        Spec("phan_anh", "ha_tang", h0, at(2, 7)),
    ]
    return [create(services, spec) for spec in specs]
