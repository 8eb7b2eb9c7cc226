"""Queries for satisfaction surveys: a ticket's rounds, the surveys due for a reminder or closing, the
answers counted by /thongke and the CLI (add/flush only; callers own the transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from storage.models import SatisfactionSurvey, Ticket


def last_round(session: Session, ticket_id: int | None) -> int | None:
    """The highest survey round of a ticket (None before its first survey)."""
    return session.exec(select(func.max(SatisfactionSurvey.round))
                        .where(SatisfactionSurvey.ticket_id == ticket_id)).one()


def surveys_in_status(session: Session, ticket_id: int | None, status: str) -> list[SatisfactionSurvey]:
    """A ticket's surveys in one status."""
    return list(session.exec(select(SatisfactionSurvey).where(SatisfactionSurvey.ticket_id == ticket_id,
                                                              SatisfactionSurvey.status == status)))


def latest_survey(session: Session, ticket_id: int | None) -> SatisfactionSurvey | None:
    """A ticket's survey of the highest round."""
    return session.exec(select(SatisfactionSurvey).where(SatisfactionSurvey.ticket_id == ticket_id)
                        .order_by(col(SatisfactionSurvey.round).desc())).first()


def surveys_due(session: Session, *, statuses: list[str], ticket_status: str,
                asked_before: datetime) -> list[tuple[SatisfactionSurvey, Ticket]]:
    """(survey, ticket) for surveys in one of `statuses`, asked at or before `asked_before`, whose
    ticket is in `ticket_status`, oldest survey first."""
    return list(session.exec(select(SatisfactionSurvey, Ticket).join(Ticket, Ticket.id == SatisfactionSurvey.ticket_id)
                             .where(col(SatisfactionSurvey.status).in_(statuses), Ticket.status == ticket_status,
                                    SatisfactionSurvey.asked_at <= asked_before)
                             .order_by(col(SatisfactionSurvey.id))).all())


def surveys_asked_since(session: Session, since: datetime | None) -> list[SatisfactionSurvey]:
    """Every survey, or those asked at or after `since`."""
    stmt = select(SatisfactionSurvey)
    if since is not None:
        stmt = stmt.where(SatisfactionSurvey.asked_at >= since)
    return list(session.exec(stmt))


def surveys_of_office(session: Session, office_code: str) -> list[SatisfactionSurvey]:
    """Every survey about a ticket of this office."""
    office_tickets = select(Ticket.id).where(Ticket.office_code == office_code)
    return list(session.exec(select(SatisfactionSurvey).where(col(SatisfactionSurvey.ticket_id).in_(office_tickets))))
