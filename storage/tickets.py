"""Queries for tickets, their sequence numbers, citizens and identities (add/flush only)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, or_, select

from storage.engine import upsert_insert
from storage.models import ChannelIdentity, Citizen, Office, ReporterIdentity, Ticket, TicketSequence


def next_ticket_number(session: Session, *, prefix: str, year: int) -> int:
    """Reserve the next number for prefix/year in one upsert; the row lock serialises concurrent writers.

    An UPDATE falling back to an INSERT lost tickets on PostgreSQL: two first tickets of a year
    both found no row and one INSERT failed on the primary key. The upsert cannot race.
    """
    stmt = (upsert_insert(session)(TicketSequence).values(prefix=prefix, year=year, last_value=1)
            .on_conflict_do_update(index_elements=["prefix", "year"],
                                   set_={"last_value": TicketSequence.last_value + 1})
            .returning(TicketSequence.last_value))
    return int(session.execute(stmt).scalar_one())


def find_ticket(session: Session, code: str) -> Ticket | None:
    """The ticket with this code (codes are stored upper case)."""
    return session.exec(select(Ticket).where(Ticket.code == code.upper())).first()


def tickets_of_citizen(session: Session, citizen_id: int, *, limit: int = 5) -> list[Ticket]:
    """A citizen's latest tickets, including tố cáo linked through the identity table."""
    reported = select(ReporterIdentity.ticket_id).where(ReporterIdentity.citizen_id == citizen_id)
    stmt = (select(Ticket)
            .where(or_(Ticket.citizen_id == citizen_id, col(Ticket.id).in_(reported)))
            .order_by(col(Ticket.id).desc()).limit(limit))
    return list(session.exec(stmt))


def citizen_owns_ticket(session: Session, citizen_id: int, ticket: Ticket) -> bool:
    """True when the ticket was filed by this citizen (directly or as a tố cáo author)."""
    if ticket.citizen_id == citizen_id:
        return True
    row = reporter_identity(session, ticket.id)
    return row is not None and row.citizen_id == citizen_id


def reporter_identity(session: Session, ticket_id: int | None) -> ReporterIdentity | None:
    """The author of a ticket kept apart from it (a tố cáo's identity table), if any."""
    return session.exec(select(ReporterIdentity).where(ReporterIdentity.ticket_id == ticket_id)).first()


def open_tickets_of_assignee(session: Session, assignee_id: int | None, *, statuses: list[str],
                             limit: int) -> list[Ticket]:
    """An official's tickets in one of `statuses` (the caller's open set), earliest deadline first."""
    return list(session.exec(select(Ticket).where(Ticket.assignee_id == assignee_id, col(Ticket.status).in_(statuses))
                             .order_by(col(Ticket.resolve_due), col(Ticket.id)).limit(limit)).all())


def tickets_by_deadline(session: Session, *, statuses: list[str], office_code: str | None,
                        limit: int) -> list[Ticket]:
    """Tickets in one of `statuses`, of one office when `office_code` is given, earliest deadline first."""
    stmt = select(Ticket).where(col(Ticket.status).in_(statuses))
    if office_code:
        stmt = stmt.where(Ticket.office_code == office_code)
    return list(session.exec(stmt.order_by(col(Ticket.resolve_due), col(Ticket.id)).limit(limit)).all())


def newest_tickets(session: Session, *, office_code: str | None, limit: int) -> list[Ticket]:
    """The newest `limit` tickets, of one office unless `office_code` is None (every office)."""
    stmt = select(Ticket)
    if office_code is not None:
        stmt = stmt.where(Ticket.office_code == office_code)
    return list(session.exec(stmt.order_by(col(Ticket.id).desc()).limit(limit)))


def find_identity(session: Session, *, channel: str, user_id: str) -> ChannelIdentity | None:
    """How this channel user is known to us, if at all."""
    return session.exec(select(ChannelIdentity).where(ChannelIdentity.channel == channel,
                                                      ChannelIdentity.user_id == user_id)).first()


# last_seen_at feeds day-scale rules (Zalo's 7-day window, retention); refreshing it at most once
# a minute saves an UPDATE on nearly every message of a conversation.
LAST_SEEN_GRANULARITY = timedelta(seconds=60)


def touch_identity(session: Session, *, channel: str, user_id: str, now: datetime) -> None:
    """Refresh an existing identity's last_seen_at (an official who is also a citizen wrote as an
    official: Zalo's 7-day window opened for that account all the same)."""
    identity = find_identity(session, channel=channel, user_id=user_id)
    if identity is not None and (now - _aware(identity.last_seen_at, now) >= LAST_SEEN_GRANULARITY
                                 or now < _aware(identity.last_seen_at, now)):
        identity.last_seen_at = now


def _aware(moment: datetime, like: datetime) -> datetime:
    return moment.replace(tzinfo=like.tzinfo) if moment.tzinfo is None and like.tzinfo is not None else moment


def ensure_citizen(session: Session, *, channel: str, user_id: str, chat_id: str, now: datetime) -> Citizen:
    """The citizen behind a channel user, created on first contact (no personal fields yet).

    One query loads the identity and its citizen together.
    """
    found = session.exec(select(ChannelIdentity, Citizen)
                         .join(Citizen, col(Citizen.id) == ChannelIdentity.citizen_id)
                         .where(ChannelIdentity.channel == channel, ChannelIdentity.user_id == user_id)).first()
    if found is not None:
        identity, citizen = found
        seen = identity.last_seen_at
        if seen.tzinfo is None and now.tzinfo is not None:
            seen = seen.replace(tzinfo=now.tzinfo)
        if now - seen >= LAST_SEEN_GRANULARITY or now < seen:
            identity.last_seen_at = now
        if identity.chat_id != chat_id:
            identity.chat_id = chat_id
        return citizen
    citizen = Citizen(created_at=now, updated_at=now)
    session.add(citizen)
    session.flush()
    session.add(ChannelIdentity(citizen_id=citizen.id, channel=channel, user_id=user_id, chat_id=chat_id,
                                last_seen_at=now))
    session.flush()
    return citizen


def sync_offices(session: Session, offices: list[tuple[str, str, str]]) -> None:
    """Make the offices table match config (code, name, telegram chat id)."""
    for code, name, chat_id in offices:
        row = session.get(Office, code)
        if row is None:
            session.add(Office(code=code, name=name, telegram_chat_id=chat_id))
        else:
            row.name, row.telegram_chat_id = name, chat_id
    session.flush()


def office_names(session: Session) -> dict[str, str]:
    """Every office's name by code."""
    return {o.code: o.name for o in session.exec(select(Office).order_by(col(Office.code))).all()}
