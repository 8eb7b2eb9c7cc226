"""Mediation cases as the scheduler reads them (grassroots mediation, bot.officials.mediation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from storage.models import Ticket, TicketEvent

MEDIATION_STATUS = "mediation"


@dataclass(frozen=True)
class OpenMediation:
    """A ticket with its hamlet's mediation team: when it was referred and whether mediators are named."""

    ticket_id: int
    code: str
    office_code: str
    hamlet: str
    started_at: datetime
    assigned: bool


def open_mediations(session: Session) -> list[OpenMediation]:
    """Every ticket now in mediation, with its latest referral and whether mediators were assigned
    since (two grouped reads: a handful of rows even in a large commune)."""
    started = (select(TicketEvent.ticket_id, func.max(TicketEvent.at).label("at"))
               .join(Ticket, col(Ticket.id) == col(TicketEvent.ticket_id))
               .where(Ticket.status == MEDIATION_STATUS, TicketEvent.action == "mediation_started")
               .group_by(col(TicketEvent.ticket_id)).subquery())
    assigned = (select(TicketEvent.ticket_id).join(started, and_(started.c.ticket_id == col(TicketEvent.ticket_id),
                                                                 col(TicketEvent.at) >= started.c.at))
                .where(TicketEvent.action == "mediators_assigned"))
    named = set(session.exec(assigned).all())
    rows = session.execute(select(Ticket.id, Ticket.code, Ticket.office_code, Ticket.hamlet, started.c.at)
                           .join(started, started.c.ticket_id == col(Ticket.id)).order_by(col(Ticket.id))).all()
    return [OpenMediation(ticket_id=r[0], code=r[1], office_code=r[2], hamlet=r[3], started_at=r[4],
                          assigned=r[0] in named)
            for r in rows]
