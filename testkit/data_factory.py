"""Test and benchmark data: single tickets through the real core (create_ticket), and a bulk
generator of realistic ticket sets (statuses, deadlines, resolutions) for digests and benchmarks."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config.settings import TICKET_TYPE_CODES, Settings
from bot.core.deadlines import compute_deadlines
from bot.core.domain import TicketStatus
from bot.core.routing import route_ticket
from bot.tickets.records import Draft, create_ticket
from bot.core.workdays import WorkingCalendar
from storage.engine import write_session
from storage.models import Official, Ticket

SUBJECTS = ("đường bê tông", "cầu tràn", "đèn đường", "cống thoát nước", "bãi rác", "trạm y tế", "điểm trường",
            "nhà văn hóa", "kênh mương", "đường dây điện", "giếng nước", "chợ", "sân bóng", "nghĩa trang")
PROBLEMS = ("bị hỏng", "bị ngập", "xuống cấp", "gây ô nhiễm", "mất an toàn", "bị lấn chiếm", "không sử dụng được",
            "bốc mùi", "sạt lở", "thiếu ánh sáng")
CHANNELS = ("telegram", "telegram", "telegram", "zalo", "zalo", "web", "console")


def add_ticket(session: Session, settings: Settings, calendar: WorkingCalendar, *, now: datetime,
               type: str = "phan_anh", category: str = "ha_tang", hamlet: str = "", cosigners: int = 1,
               description: str = "Đường bê tông vào thôn bị sụt lún, xe máy đi lại rất nguy hiểm",
               status: str | None = None, assignee_id: int | None = None, citizen_id: int | None = None,
               channel: str = "telegram") -> Ticket:
    """One ticket created by the real core on `now`, optionally moved to a status / assigned."""
    draft = Draft(type=type, description=description, category=category, hamlet=hamlet, cosigners=cosigners,
                  contact_mode="anonymous")
    ticket = create_ticket(session, settings=settings, calendar=calendar, draft=draft, channel=channel,
                           citizen_id=citizen_id, now=now).ticket
    if status:
        ticket.status = status
        if status in (TicketStatus.ACCEPTED, TicketStatus.IN_PROGRESS):
            ticket.accepted_at = now
    ticket.assignee_id = assignee_id
    session.flush()
    return ticket


def add_official(session: Session, *, role: str, user_id: str, office_code: str | None = None,
                 name: str = "Cán bộ", now: datetime | None = None) -> Official:
    """A registered official (issue 3 adds the registration flow; tests seed rows directly)."""
    official = Official(role=role, user_id=user_id, office_code=office_code, display_name=name, channel="telegram",
                        created_at=now or datetime.now(timezone.utc))
    session.add(official)
    session.flush()
    return official


def generate_tickets(engine: Engine, settings: Settings, calendar: WorkingCalendar, *, count: int, start: date,
                     days: int, seed: int = 7, now: datetime | None = None) -> int:
    """Insert `count` tickets received over `days` days from `start`, in bulk; returns the count.

    Statuses, acceptances and resolutions are drawn so that every branch of the counts occurs:
    on-time and late resolutions, overdue open tickets, tickets resolved after the window.
    """
    rng = random.Random(seed)
    tz = settings.commune.tz
    now = now or datetime.combine(start + timedelta(days=days), time(12), tzinfo=tz).astimezone(timezone.utc)
    cats = [c.code for c in settings.categories]
    rows = []
    cache: dict = {}
    year_numbers: dict[int, int] = {}
    rules = {t: settings.ticket_type(t).type_rules(settings.deadlines.rule_set) for t in TICKET_TYPE_CODES}
    for i in range(count):
        day = start + timedelta(days=rng.randrange(days))
        received_at = datetime.combine(day, time(rng.randrange(6, 22), rng.randrange(60)), tzinfo=tz) \
            .astimezone(timezone.utc)
        type_ = rng.choices(TICKET_TYPE_CODES, weights=(50, 25, 10, 10, 5))[0]
        category = rng.choice(cats)
        hamlet = rng.choice(settings.hamlets + ("",))
        due = cache.get((type_, day))
        if due is None:
            due = cache[(type_, day)] = compute_deadlines(rules[type_], received=day, calendar=calendar)
        roll = rng.random()
        accepted_at = resolved_at = closed_at = None
        if roll < 0.55:
            status = str(rng.choice([TicketStatus.RESOLVED, TicketStatus.CLOSED]))
            resolved_at = received_at + timedelta(hours=rng.uniform(2, 24 * 40))
            if resolved_at > now:
                resolved_at, status = None, str(TicketStatus.IN_PROGRESS)
            accepted_at = received_at + timedelta(hours=rng.uniform(1, 48))
        elif roll < 0.75:
            status = str(rng.choice([TicketStatus.ACCEPTED, TicketStatus.IN_PROGRESS, TicketStatus.REOPENED,
                                     TicketStatus.WAITING_CITIZEN]))
            accepted_at = received_at + timedelta(hours=rng.uniform(1, 48))
        elif roll < 0.80:
            status = str(rng.choice([TicketStatus.TRANSFERRED, TicketStatus.REFUSED]))
        else:
            status = str(TicketStatus.RECEIVED)
        if accepted_at is not None and accepted_at > now:
            accepted_at = None
        year_numbers[day.year] = year_numbers.get(day.year, 0) + 1
        rows.append(dict(
            code=f"{settings.commune.code_prefix}-{day.year}-9{year_numbers[day.year]:05d}", pin_hash="x" * 64,
            type=type_, category=category, hamlet=hamlet,
            office_code=route_ticket(settings, ticket_type=type_, category=category, hamlet=hamlet),
            status=status, description=f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(PROBLEMS)} (đơn mẫu {i})", channel=rng.choice(CHANNELS), source="electronic",
            citizen_id=None, anonymous=True, contact_name="", contact_phone="",
            cosigners=rng.choices((1, 2, 6), weights=(90, 8, 2))[0], received_at=received_at, received_date=day,
            answer_due=due.answer_due, accept_due=due.accept_due, resolve_due=due.resolve_due,
            accepted_at=accepted_at, resolved_at=resolved_at, closed_at=closed_at, assignee_id=None,
            created_at=received_at, updated_at=received_at))
    with write_session(engine) as session:
        connection = session.connection()
        for chunk in range(0, len(rows), 5000):
            connection.execute(Ticket.__table__.insert(), rows[chunk:chunk + 5000])  # Core executemany: fast
    return len(rows)
